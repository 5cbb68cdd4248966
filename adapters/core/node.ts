// Node-only half of the core (node:async_hooks): a trace whose lifetime is a request's, and the
// tracing of a node:http (or http2 compatibility) response. Used by stepmark/http, /fastify,
// /koa and /grpc; never by /hono.
import { AsyncResource } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { endTrace, openTrace } from '../../runtime/core.js';
import { type Cursor, withCursor } from '../../runtime/state.js';
import type { RecorderTrace } from '../../runtime/trace.js';
import type { Trace } from '../../runtime/types.js';
import type { AdapterCore, RequestFacts, ResponseFacts, TraceStart, TriggeredBy } from './index.js';

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
 * One request's trace, open from `open()` until `end()`: everything the request does, however
 * asynchronous, records into it. At `end()` its response facts go into its meta, it ends (so
 * `traceOptions.onEnd` fires), and the ended trace goes to `record` and `onFinish`. No promise
 * waits for the end: `end()` does all of it, so a request costs this one object besides its trace.
 */
export class RequestTrace<Req> {
  readonly core: AdapterCore<Req>;
  readonly start: TraceStart;
  protected readonly req: Req;
  readonly #resumable: boolean;
  #trace: RecorderTrace | undefined;
  // Captures the trace's async context, to continue in it from callbacks that the framework runs
  // outside it (grpc-js delivers messages from http2 stream events). Only for `resumable` traces:
  // the HTTP adapters never resume, and collecting needs only the trace itself.
  #context: AsyncResource | undefined;
  #facts: (() => ResponseFacts) | undefined;
  #open = false;

  constructor(core: AdapterCore<Req>, start: TraceStart, req: Req, resumable = false) {
    this.core = core;
    this.start = start;
    this.req = req;
    this.#resumable = resumable;
  }

  /**
   * Calls `proceed` inside a new trace and returns its result; a synchronous throw from
   * `proceed` is rethrown unchanged (the trace stays open until `end()`). At `end()`, `facts()`
   * tells how the response went.
   */
  open<R>(proceed: () => R, facts?: () => ResponseFacts): R {
    let cursor: Cursor;
    try {
      cursor = openTrace(this.start.options, undefined, this.start.meta);
    } catch (e) {
      // stepmark.run refused (options are checked at start-up, so this is unexpected): serve untraced.
      this.core.report(e, 'trace');
      return proceed();
    }
    this.#trace = cursor.trace;
    this.#facts = facts;
    this.#open = true;
    this.opened();
    if (!this.#resumable) return withCursor(cursor, proceed);
    return withCursor(cursor, () => {
      this.#context = new AsyncResource('stepmark.request');
      return proceed();
    });
  }

  /** Called once the trace is open, before the request proceeds in it. */
  protected opened(): void {}

  /** How the response went (asked once, at `end()`). */
  protected responseFacts(): ResponseFacts {
    return this.#facts === undefined ? {} : this.#facts();
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

  /** Ends the trace and hands it over (idempotent; never throws). */
  end(): void {
    if (!this.#open) return;
    this.#open = false;
    const trace = this.#trace!;
    let facts: ResponseFacts;
    try {
      facts = this.responseFacts();
    } catch (error) {
      endTrace(trace, true);
      this.core.report(error, 'onFinish');
      return;
    }
    this.core.conclude(trace, this.start, facts);
    endTrace(trace, false);
    this.core.finish(trace, this.req);
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
  route: ((req: Req) => string | undefined) | undefined,
  proceed: () => R,
): R | Promise<R> {
  const expose = core.expose(req, trigger);
  if (typeof expose === 'boolean') return traceDecided(core, req, res, expose, facts, route, proceed);
  return expose.then((decided) => traceDecided(core, req, res, decided, facts, route, proceed));
}

function traceDecided<Req, R>(
  core: AdapterCore<Req>,
  req: Req,
  res: NodeResponse,
  expose: boolean,
  facts: RequestFacts,
  route: ((req: Req) => string | undefined) | undefined,
  proceed: () => R,
): R {
  const start = core.begin(req, facts, expose);
  if (start === undefined) return proceed();
  return new NodeResponseTrace(core, start, req, res, route).open(proceed);
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

/** The `close` listener of every traced response (one function, like `tracedWriteHead`). */
function endOnClose(this: TracedResponse): void {
  this[RESPONSE]?.closed();
}

/**
 * A request's trace tied to its node:http response: puts the trace into the response headers as
 * they are written, and ends it when the response closes.
 */
class NodeResponseTrace<Req> extends RequestTrace<Req> {
  readonly #res: NodeResponse;
  readonly #routeOf: ((req: Req) => string | undefined) | undefined;
  #route: string | undefined;
  #headersSeen = false;
  #writeHead: ((...args: unknown[]) => ServerResponse) | undefined;
  // The trace of an outer stepmark middleware on the same response, whose writeHead comes next.
  #outer: NodeResponseTrace<unknown> | undefined;

  constructor(
    core: AdapterCore<Req>,
    start: TraceStart,
    req: Req,
    res: NodeResponse,
    route: ((req: Req) => string | undefined) | undefined,
  ) {
    super(core, start, req);
    this.#res = res;
    this.#routeOf = route;
  }

  protected override opened(): void {
    // Every way of sending headers ends in writeHead: res.write/end through _implicitHeader,
    // flushHeaders, explicit writeHead (Fastify), the http2 compatibility layer.
    const res = this.#res as TracedResponse;
    const outer = res[RESPONSE];
    this.#outer = outer;
    this.#writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
    res[RESPONSE] = this as NodeResponseTrace<unknown>;
    res.writeHead = tracedWriteHead as typeof res.writeHead;
    // The outermost trace's listener ends the inner ones too (see `closed`).
    if (outer === undefined) res.on('close', endOnClose);
  }

  /** The response closed: this trace and every outer one on the same response end, outermost first. */
  closed(): void {
    this.#outer?.closed();
    this.end();
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
        this.#route = this.#routeOf(this.req);
      } catch {
        // route patterns are best-effort metadata
      }
    }
    return this.#route;
  }

  #beforeHeaders(status: number, args: unknown[]): void {
    // Express restores req.baseUrl after its router: read the route while the handler still runs.
    const route = this.#routeNow();
    const { core, start } = this;
    const name = core.responseHeader;
    if (!start.expose || name === undefined || this.#res.headersSent) return;
    try {
      const trace = this.collect();
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

  protected override responseFacts(): ResponseFacts {
    const res = this.#res;
    return {
      status: res.headersSent ? res.statusCode : undefined,
      route: this.#routeNow(),
      aborted: !((res as ServerResponse).writableFinished ?? res.writableEnded),
    };
  }
}
