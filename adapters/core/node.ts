// Node-only half of the core (node:async_hooks): a trace whose lifetime is a request's, and the
// tracing of a node:http (or http2 compatibility) response. Used by stepmark/http, /fastify,
// /koa and /grpc; never by /hono.
import { AsyncResource } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { runTrace } from '../../runtime/core.js';
import type { RecorderTrace } from '../../runtime/trace.js';
import type { Trace } from '../../runtime/types.js';
import {
  type AdapterCore,
  type RequestFacts,
  type ResponseFacts,
  type TraceStart,
  type TriggeredBy,
  whenDecided,
} from './index.js';

export type NodeResponse = ServerResponse | Http2ServerResponse;

/** A Node header value as one string (Node keeps repeated unknown headers as an array or joined). */
function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Whether a raw header name is `lower` (already lower-case), ignoring ASCII case, without allocating. */
function sameName(raw: string, lower: string): boolean {
  if (raw.length !== lower.length) return false;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * A request header (`name` lower-case) read from `rawHeaders`: Node builds `req.headers` on
 * first access, and an app that never reads headers must not pay for that on every request
 * because of the trigger check. Repeated values are joined with ", ", as Node joins unknown headers.
 */
export function requestHeader(
  req: { rawHeaders?: readonly string[]; headers: Record<string, string | string[] | undefined> },
  name: string,
): string | undefined {
  const raw = req.rawHeaders;
  if (!Array.isArray(raw)) return oneHeader(req.headers[name]);
  let found: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (sameName(raw[i]!, name)) found = found === undefined ? raw[i + 1]! : `${found}, ${raw[i + 1]}`;
  }
  return found;
}

/** `url` without its query string. */
export function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * One request's trace, open from `open()` until `end()`. The trace runs a function whose
 * promise settles at `end()`, so everything the request does, however asynchronous, records
 * into it; when the request is over its response facts go into its meta, it ends (so
 * `traceOptions.onEnd` fires), and the ended trace goes to `record` and `onFinish`.
 */
export class RequestTrace<Req> {
  readonly core: AdapterCore<Req>;
  readonly start: TraceStart;
  readonly #req: Req;
  readonly #resumable: boolean;
  #trace: RecorderTrace | undefined;
  // Captures the trace's async context, to continue in it from callbacks that the framework runs
  // outside it (grpc-js delivers messages from http2 stream events). Only for `resumable` traces:
  // the HTTP adapters never resume, and collecting needs only the trace itself.
  #context: AsyncResource | undefined;
  #end: (() => void) | undefined;

  constructor(core: AdapterCore<Req>, start: TraceStart, req: Req, resumable = false) {
    this.core = core;
    this.start = start;
    this.#req = req;
    this.#resumable = resumable;
  }

  /**
   * Calls `proceed` inside a new trace and returns its result; a synchronous throw from
   * `proceed` is rethrown unchanged. Once `end()` was called, `facts()` tells how the response
   * went, and the trace ends.
   */
  open<R>(proceed: () => R, facts: () => ResponseFacts): R {
    let entered = false;
    let result: R | undefined;
    let failed = false;
    let error: unknown;
    const ended = new Promise<void>((resolve) => (this.#end = resolve));
    try {
      const lifetime = runTrace(
        () => {
          entered = true;
          if (this.#resumable) this.#context = new AsyncResource('stepmark.request');
          try {
            result = proceed();
          } catch (e) {
            failed = true;
            error = e;
          }
          return ended.then(() => this.core.conclude(this.#trace!, this.start, facts()));
        },
        this.start.options,
        (t) => {
          this.#trace = t;
        },
      );
      lifetime.then(
        () => this.core.finish(this.#trace!, this.#req),
        (e: unknown) => this.core.report(e, 'onFinish'),
      );
    } catch (e) {
      // stepmark.run refused (options are checked at start-up, so this is unexpected): serve untraced.
      this.core.report(e, 'trace');
      if (!entered) return proceed();
    }
    if (failed) throw error;
    return result as R;
  }

  /** Runs `fn` inside this request's trace. */
  resume<R>(fn: () => R): R {
    return this.#context === undefined ? fn() : this.#context.runInAsyncScope(fn);
  }

  /** The trace as it is now (from anywhere), or undefined once it has ended. */
  collect(): Trace | undefined {
    const trace = this.#trace;
    if (trace === undefined || trace.ended) return undefined;
    try {
      return trace.toJSON();
    } catch {
      return undefined;
    }
  }

  /** Ends the trace (idempotent). */
  end(): void {
    const end = this.#end;
    this.#end = undefined;
    end?.();
  }
}

/**
 * Starts tracing a request (after authorisation of a triggered one, which may be asynchronous;
 * `trigger` is undefined for a request traced only because of `record`) and calls `proceed`
 * inside the trace. Returns `proceed`'s result (a promise of it when
 * `authorize` is asynchronous); a synchronous throw from `proceed` is rethrown unchanged.
 */
export function traceNodeRequest<Req, R>(
  core: AdapterCore<Req>,
  req: Req,
  res: NodeResponse,
  trigger: TriggeredBy | undefined,
  facts: RequestFacts,
  route: (() => string | undefined) | undefined,
  proceed: (trace: RequestTrace<Req> | undefined) => R,
): R | Promise<R> {
  return whenDecided(core.expose(req, trigger), (expose) => {
    const start = core.begin(req, facts, expose);
    if (start === undefined) return proceed(undefined);
    return new NodeResponseTrace(new RequestTrace(core, start, req), res, route).open(proceed);
  });
}

const RESPONSE = Symbol('stepmark.response');

type TracedResponse = ServerResponse & { [RESPONSE]?: NodeResponseTrace<unknown> };

/**
 * The `writeHead` of every traced response: one function, the response's own state under a
 * symbol. A closure per response, put on each response object, made V8 see a new value in the
 * same field of every response and deoptimise node:http's code for it (measured: a traced
 * request then cost twice an untraced one).
 */
function tracedWriteHead(this: TracedResponse, ...args: unknown[]): ServerResponse {
  return this[RESPONSE]!.writeHead(this, args);
}

/** Puts the trace into the response headers as they are written, and ends it when the response closes. */
class NodeResponseTrace<Req> {
  readonly #trace: RequestTrace<Req>;
  readonly #res: NodeResponse;
  readonly #routeOf: (() => string | undefined) | undefined;
  #route: string | undefined;
  #headersSeen = false;
  #writeHead: ((...args: unknown[]) => ServerResponse) | undefined;
  // The trace of an outer stepmark middleware on the same response, whose writeHead comes next.
  #outer: NodeResponseTrace<unknown> | undefined;

  constructor(trace: RequestTrace<Req>, res: NodeResponse, route: (() => string | undefined) | undefined) {
    this.#trace = trace;
    this.#res = res;
    this.#routeOf = route;
  }

  open<R>(proceed: (trace: RequestTrace<Req>) => R): R {
    const trace = this.#trace;
    return trace.open(
      () => {
        this.#watch();
        return proceed(trace);
      },
      () => this.#facts(),
    );
  }

  #watch(): void {
    // Every way of sending headers ends in writeHead: res.write/end through _implicitHeader,
    // flushHeaders, explicit writeHead (Fastify), the http2 compatibility layer.
    const res = this.#res as TracedResponse;
    this.#outer = res[RESPONSE];
    this.#writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
    res[RESPONSE] = this as NodeResponseTrace<unknown>;
    res.writeHead = tracedWriteHead as typeof res.writeHead;
    res.once('close', () => this.#trace.end());
  }

  /** `res.writeHead(...args)`, seen first by the trace. */
  writeHead(res: ServerResponse, args: unknown[]): ServerResponse {
    if (!this.#headersSeen) {
      this.#headersSeen = true;
      this.#beforeHeaders(typeof args[0] === 'number' ? args[0] : res.statusCode, args);
    }
    const outer = this.#outer;
    return outer !== undefined ? outer.writeHead(res, args) : this.#writeHead!.apply(res, args);
  }

  #routeNow(): string | undefined {
    if (this.#route === undefined && this.#routeOf !== undefined) {
      try {
        this.#route = this.#routeOf();
      } catch {
        // route patterns are best-effort metadata
      }
    }
    return this.#route;
  }

  #beforeHeaders(status: number, args: unknown[]): void {
    // Express restores req.baseUrl after its router: read the route while the handler still runs.
    const route = this.#routeNow();
    const { core, start } = this.#trace;
    const name = core.responseHeader;
    if (!start.expose || name === undefined || this.#res.headersSent) return;
    try {
      const trace = this.#trace.collect();
      if (trace === undefined) return;
      core.complete(trace.meta, start, { status, route });
      const value = core.encode(trace);
      const last = args.length - 1;
      if (last >= 1 && Array.isArray(args[last])) {
        // Raw [name, value, …] headers: append to them. A setHeader() now would make Node 20
        // merge the array through setHeader, collapsing the repeated names it carries.
        args[last] = [...(args[last] as unknown[]), name, value];
      } else {
        this.#res.setHeader(name, value);
      }
    } catch (error) {
      core.report(error, 'expose');
    }
  }

  #facts(): ResponseFacts {
    const res = this.#res;
    return {
      status: res.headersSent ? res.statusCode : undefined,
      route: this.#routeNow(),
      aborted: !((res as ServerResponse).writableFinished ?? res.writableEnded),
    };
  }
}
