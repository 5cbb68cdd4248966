// stepmark/http: tracing for node:http, Connect and Express (4 and 5). No framework is loaded:
// the middleware only uses what node:http's request and response objects have.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AdapterCore,
  type RequestAccess,
  type StepmarkAdapterOptions,
  StepmarkConfigError,
} from '../core/index.js';
import { type NodeResponse, requestHeader, traceNodeRequest, withoutQuery } from '../core/node.js';

export type { Trace } from '../../runtime/types.js';
export { type AdapterErrorSource, StepmarkConfigError, type StepmarkConfigErrorCode } from '../core/index.js';

/** The request as Express and Connect see it (all extra fields optional: plain node:http works). */
export type HttpRequest = IncomingMessage & {
  originalUrl?: string;
  baseUrl?: string;
  route?: { path?: unknown };
};

export type StepmarkHttpOptions = StepmarkAdapterOptions<HttpRequest>;

/** Connect / Express middleware. */
export type StepmarkMiddleware = (
  req: HttpRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

const access: RequestAccess<HttpRequest> = {
  header: requestHeader,
  query(req, name) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q < 0) return undefined;
    return new URLSearchParams(url.slice(q + 1)).get(name) ?? undefined;
  },
};

const traits = { entry: 'stepmark/http', query: true, maxHeaderBytes: 8192 };

const pathOf = (req: HttpRequest): string => withoutQuery(req.originalUrl ?? req.url ?? '/');

// Express sets req.route (and req.baseUrl inside routers) while a route handler runs.
function routeOf(req: HttpRequest): string | undefined {
  const path = req.route?.path;
  if (path === undefined) return undefined;
  return (req.baseUrl ?? '') + String(path);
}

function handler(options: StepmarkHttpOptions | undefined) {
  const core = new AdapterCore(options, traits, access);
  return <R>(req: HttpRequest, res: NodeResponse, proceed: () => R): R | Promise<R> => {
    const trigger = core.check(req);
    if (trigger === undefined && !core.records) return proceed();
    return traceNodeRequest(
      core,
      req,
      res,
      trigger,
      { method: req.method ?? 'GET', path: pathOf(req) },
      routeOf,
      proceed, // called without arguments (Express's next(x) would take one for an error)
    );
  };
}

/**
 * Middleware for Express, Connect or any `(req, res, next)` stack. Traces a request when it
 * carries the trigger header (default `x-stepmark`), the `query` parameter, or passes `trigger`;
 * every other request costs one header lookup. With `record`, every request is traced and its
 * trace goes to that recorder (only triggered, authorised requests still see theirs).
 *
 * The trace's meta has `request_id`, `method`, `path`, `route` (Express's pattern), `status` and
 * `duration_ms`. It goes to `onFinish(trace, req)` after the response, and, for authorised
 * requests only, into the `responseHeader` (set when the response headers are written).
 *
 * Mount it first, so the whole request runs inside the trace.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { stepmarkMiddleware } from 'stepmark/http';
 *
 * const app = express();
 * app.use(stepmarkMiddleware({
 *   secret: process.env.STEPMARK_SECRET, // `x-stepmark: <secret>` exposes the trace
 *   responseHeader: true,                // in `x-stepmark-trace`
 *   onFinish: (trace) => logger.info({ trace }, 'stepmark'),
 * }));
 * ```
 * @throws StepmarkConfigError at creation when the options cannot work.
 */
export function stepmarkMiddleware(options?: StepmarkHttpOptions): StepmarkMiddleware {
  const handle = handler(options);
  return function stepmark(req, res, next) {
    const r = handle(req, res, next);
    // A `next` delayed by an asynchronous `authorize` never rejects (authorize errors are reported).
    if (r instanceof Promise) r.catch(next);
  };
}

/**
 * Wraps a plain `node:http` request listener. Behaviour of the listener is unchanged: a
 * synchronous throw or a returned promise passes through as if it were not wrapped.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { stepmarkListener } from 'stepmark/http';
 *
 * createServer(stepmarkListener((req, res) => res.end('ok'), { onFinish: console.log })).listen(3000);
 * ```
 * @throws StepmarkConfigError at creation when the options cannot work.
 */
export function stepmarkListener<Req extends IncomingMessage, Res extends ServerResponse, R>(
  listener: (this: unknown, req: Req, res: Res) => R,
  options?: StepmarkHttpOptions,
): (req: Req, res: Res) => R | Promise<R> {
  if (typeof listener !== 'function') {
    throw new StepmarkConfigError(
      'ERR_STEPMARK_INVALID_ARGUMENT',
      `stepmark/http: stepmarkListener(listener, options) needs a request listener function, got ${typeof listener}.`,
      'listener',
    );
  }
  const handle = handler(options);
  return function stepmarkListener(this: unknown, req, res) {
    return handle(req as HttpRequest, res, () => listener.call(this, req, res));
  };
}
