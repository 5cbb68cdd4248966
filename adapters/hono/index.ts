// stepmark/hono: Hono 4 middleware. Web-standard APIs only (Request, Response, Headers,
// ReadableStream, performance): it runs wherever Hono runs (Node, Bun, Deno, workers). Only
// types come from hono.
import type { Context, MiddlewareHandler, Next } from 'hono';
import { runTrace } from '../../runtime/core.js';
import { collect, enabled } from '../../runtime/index.js';
import type { RecorderTrace } from '../../runtime/trace.js';
import {
  AdapterCore,
  type RequestAccess,
  type StepmarkAdapterOptions,
  type TraceStart,
  type TriggeredBy,
} from '../core/index.js';

export type { Trace } from '../../runtime/types.js';
export { type AdapterErrorSource, StepmarkConfigError, type StepmarkConfigErrorCode } from '../core/index.js';

export type StepmarkHonoOptions = StepmarkAdapterOptions<Context>;

const access: RequestAccess<Context> = {
  header: (c, name) => c.req.raw.headers.get(name) ?? undefined,
  query: (c, name) => c.req.query(name),
};

const traits = { entry: 'stepmark/hono', query: true, maxHeaderBytes: 8192 };

/**
 * Hono middleware. `app.use` it first. Traces a request when it carries the trigger header
 * (default `x-stepmark`), the `query` parameter, or passes `trigger`; every other request costs
 * one header lookup. With `record`, every request is traced into that recorder.
 *
 * The trace's meta has `request_id`, `method`, `path`, `route` (the pattern of the handler that
 * responded), `status` and `duration_ms`. For authorised requests it goes into the
 * `responseHeader` once the handlers have produced the response; `onFinish(trace, c)` runs when
 * the response body has been sent to the end (or the client went away).
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { stepmarkMiddleware } from 'stepmark/hono';
 *
 * const app = new Hono();
 * app.use(stepmarkMiddleware({ secret: env.STEPMARK_SECRET, responseHeader: true }));
 * ```
 * @throws StepmarkConfigError at creation when the options cannot work.
 */
export function stepmarkMiddleware(options?: StepmarkHonoOptions): MiddlewareHandler {
  const core = new AdapterCore(options, traits, access);
  // Not an async function: an untriggered request gets next()'s own promise, no extra wrapper.
  const middleware: MiddlewareHandler = function stepmark(c: Context, next: Next) {
    const trigger = core.check(c);
    if (trigger === undefined && !core.records) return next();
    return traced(c, next, trigger);
  };
  const traced = async (c: Context, next: Next, trigger: TriggeredBy | undefined): Promise<void> => {
    const decided = core.expose(c, trigger);
    const expose = typeof decided === 'boolean' ? decided : await decided;
    const start = core.begin(c, { method: c.req.method, path: c.req.path }, expose);
    if (start === undefined) return next();
    return traceRequest(core, c, next, start, middleware);
  };
  return middleware;
}

/**
 * Runs the rest of the chain inside a trace. Resolves when the response is ready (so Hono can
 * send it); the trace itself lives on until the body has been sent, then goes to onFinish.
 */
function traceRequest(
  core: AdapterCore<Context>,
  c: Context,
  next: Next,
  start: TraceStart,
  self: MiddlewareHandler,
): Promise<void> {
  return new Promise<void>((ready, fail) => {
    let handed = false;
    const hand = (error?: unknown, failed = false): void => {
      if (handed) return;
      handed = true;
      if (failed) fail(error);
      else ready();
    };
    let trace: RecorderTrace | undefined;
    let lost = false;
    const traced = async (): Promise<void> => {
      let failed = false;
      try {
        await next();
      } catch (error) {
        // Hono turns handler errors into responses before they get here; this is a non-Error
        // throw, and the response is made by whoever catches it.
        failed = true;
        hand(error, true);
      }
      if (!enabled()) {
        // Off by accident must not be silent: without AsyncLocalStorage (e.g. a worker without
        // Node compatibility) the trace does not survive `await next()`.
        lostAcrossAwait(core);
        lost = true;
        if (!failed) hand();
        return;
      }
      const route = routeOf(c, self);
      let aborted = false;
      if (!failed) {
        if (start.expose) expose(core, c, start, route);
        const sent = watchResponse(core, c);
        hand();
        if (sent !== undefined) aborted = await sent;
      }
      core.conclude(trace!, start, { status: failed ? undefined : c.res.status, route, aborted });
    };
    let lifetime: Promise<void>;
    try {
      lifetime = runTrace(
        traced,
        start.options,
        (t) => {
          trace = t;
        },
        start.meta,
      );
    } catch (error) {
      // stepmark.run refused (options are checked at start-up, so this is unexpected): serve untraced.
      core.report(error, 'trace');
      next().then(
        () => hand(),
        (e: unknown) => hand(e, true),
      );
      return;
    }
    lifetime.then(
      () => {
        if (!lost) core.finish(trace!, c);
      },
      (error: unknown) => {
        core.report(error, 'onFinish');
        hand(error, true);
      },
    );
  });
}

const warned = new WeakSet<AdapterCore<Context>>();

function lostAcrossAwait(core: AdapterCore<Context>): void {
  if (warned.has(core)) return;
  warned.add(core);
  core.report(
    new Error(
      'stepmark/hono: the trace was lost across `await next()`: this runtime has no AsyncLocalStorage, so ' +
        'requests cannot be traced (on Cloudflare Workers, enable the nodejs_compat flag). Reported once.',
    ),
    'trace',
  );
}

/**
 * Swaps the response body for a pass-through that tells when it was read to the end (false) or
 * cancelled (true). Undefined when there is no body to wait for (none, or HEAD).
 */
function watchResponse(core: AdapterCore<Context>, c: Context): Promise<boolean> | undefined {
  const res = c.res;
  if (res.body === null || c.req.method === 'HEAD') return undefined;
  try {
    let settle!: (aborted: boolean) => void;
    const sent = new Promise<boolean>((resolve) => (settle = resolve));
    c.res = new Response(watchBody(res.body, settle), res);
    return sent;
  } catch (error) {
    core.report(error, 'expose');
    return undefined;
  }
}

function expose(core: AdapterCore<Context>, c: Context, start: TraceStart, route: string | undefined): void {
  try {
    const trace = collect();
    if (trace === undefined) return;
    core.complete(trace.meta, start, { status: c.res.status, route });
    c.header(core.responseHeader!, core.encode(trace));
  } catch (error) {
    core.report(error, 'expose');
  }
}

// The pattern of the handler that responded; Hono leaves routeIndex on the last one dispatched.
function routeOf(c: Context, self: MiddlewareHandler): string | undefined {
  try {
    const route = c.req.matchedRoutes[c.req.routeIndex];
    if (route === undefined || route.handler === self) return undefined;
    return route.path;
  } catch {
    return undefined;
  }
}

/** Passes the body through unchanged and reports whether it was read to the end or cancelled. */
function watchBody(
  body: ReadableStream<Uint8Array>,
  settle: (aborted: boolean) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            settle(false);
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          controller.error(error);
          settle(true);
        }
      },
      cancel(reason) {
        settle(true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

export default stepmarkMiddleware;
