// W3C trace context for stepmark traces, without OpenTelemetry: read incoming headers into trace
// meta, write outgoing headers from the active trace. When `stepmark/otel` is enabled it registers
// a provider here, and the active OpenTelemetry span wins (so OTel backends see one trace).
//
// Meta keys (trace.meta): trace_id (32 hex), parent_span_id (16 hex, the caller's span),
// trace_flags ("01" = sampled), tracestate (the incoming header, normalised).

import { shared } from '../runtime/global.js';
import { currentCursor, G } from '../runtime/state.js';
import {
  fnv1a64,
  formatTraceparent,
  formatTracestate,
  isValidSpanId,
  isValidTraceId,
  parseTraceparent,
  parseTracestate,
  randomTraceId,
} from './w3c.js';

// The whole W3C toolkit is reachable from this module (a future `stepmark/propagation` entry).
export * from './w3c.js';

export const TRACE_ID = 'trace_id';
export const PARENT_SPAN_ID = 'parent_span_id';
export const TRACE_FLAGS = 'trace_flags';
export const TRACESTATE = 'tracestate';

/** The trace-context part of a trace's meta, as `traceContextMeta` returns it. */
export interface TraceContextMeta {
  trace_id: string;
  parent_span_id: string;
  trace_flags: string;
  tracestate?: string;
}

/** Anything that holds request headers: Node's `IncomingHttpHeaders`, a Fetch `Headers`, a plain record, a Map. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Record<string, string | readonly string[] | number | undefined | null>
  | null
  | undefined;

/** Reads one header, case-insensitively, from any header container. Several values come back as an array. */
export function getHeader(headers: HeaderSource, name: string): string | string[] | undefined {
  if (headers == null || typeof headers !== 'object') return undefined;
  const lower = name.toLowerCase();
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(n: string): unknown }).get(lower);
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(String);
    if (v != null) return String(v);
    return undefined;
  }
  const rec = headers as Record<string, unknown>;
  let v = rec[lower];
  if (v === undefined) {
    for (const key of Object.keys(rec)) {
      if (key.toLowerCase() === lower) {
        v = rec[key];
        break;
      }
    }
  }
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'number') return String(v);
  return undefined;
}

/**
 * The trace context of an incoming request as trace meta (`trace_id`, `parent_span_id`,
 * `trace_flags`, `tracestate`), or `undefined` when there is no valid `traceparent`. Spread it
 * into the trace's meta: `run(handler, { meta: { ...traceContextMeta(req.headers), request_id } })`.
 */
export function traceContextMeta(headers: HeaderSource): TraceContextMeta | undefined {
  const tp = parseTraceparent(getHeader(headers, 'traceparent'));
  if (!tp) return undefined;
  const meta: TraceContextMeta = {
    trace_id: tp.traceId,
    parent_span_id: tp.parentId,
    trace_flags: tp.flags.toString(16).padStart(2, '0'),
  };
  // tracestate is only meaningful with a valid traceparent (spec §3.3).
  const ts = formatTracestate(parseTracestate(getHeader(headers, 'tracestate')));
  if (ts) meta.tracestate = ts;
  return meta;
}

/** The outgoing context: what `traceparent`/`tracestate` to send. */
export interface OutgoingContext {
  traceId: string;
  spanId: string;
  flags: number;
  tracestate?: string;
}

/** A source of the current outgoing context (OpenTelemetry registers one). */
export type ContextProvider = () => OutgoingContext | undefined;

interface PropagationState {
  providers: ContextProvider[];
}

/** Shared by every copy of this module, out of reach of test environments' global cleanup (runtime/global.ts). */
const P: PropagationState = shared(
  'stepmark.propagation.v2',
  () => ({ providers: [] }),
  (p) => Array.isArray(p.providers),
);

/** Registers a source of outgoing context consulted before the stepmark trace; returns an unregister function. */
export function registerContextProvider(provider: ContextProvider): () => void {
  P.providers.unshift(provider);
  return () => {
    const i = P.providers.indexOf(provider);
    if (i >= 0) P.providers.splice(i, 1);
  };
}

/**
 * A 16-hex W3C span id for stepmark span `spanId` of the trace `traceId` (or for the trace's top
 * level when `spanId` is undefined), derived deterministically (FNV-1a 64) so that the id sent
 * downstream can be recomputed from the caller's collected trace: the downstream trace's
 * `parent_span_id` equals `w3cSpanId(caller.meta.trace_id, spanThatCalled.span_id)`.
 */
export function w3cSpanId(traceId: string, spanId: string | undefined): string {
  const hex = fnv1a64(`${traceId}/${spanId ?? ''}`);
  return hex === '0000000000000000' ? '0000000000000001' : hex;
}

/**
 * The context to send with an outgoing request made here: the active OpenTelemetry span when
 * `stepmark/otel` is enabled and one is active, else the active stepmark trace (its `trace_id`
 * meta, assigned a random one on first use when the trace did not receive one, and the current
 * stepmark span). `undefined` when nothing is traced here.
 */
export function currentTraceContext(): OutgoingContext | undefined {
  for (const provider of P.providers) {
    try {
      const ctx = provider();
      if (ctx && isValidTraceId(ctx.traceId) && isValidSpanId(ctx.spanId)) return ctx;
    } catch {
      // a broken provider must not break the outgoing request
    }
  }
  if (G.active === 0) return undefined;
  const cursor = currentCursor();
  if (cursor === undefined || cursor.trace.ended) return undefined;
  // The trace's own meta object: a trace_id assigned here shows in collect() and onEnd.
  const meta: Record<string, unknown> = cursor.trace.meta;
  let traceId = meta[TRACE_ID];
  if (!isValidTraceId(traceId)) {
    traceId = randomTraceId();
    meta[TRACE_ID] = traceId;
  }
  const flagsText = meta[TRACE_FLAGS];
  const flags =
    typeof flagsText === 'string' && /^[0-9a-f]{2}$/.test(flagsText) ? Number.parseInt(flagsText, 16) : 1;
  const out: OutgoingContext = {
    traceId: traceId as string,
    spanId: w3cSpanId(traceId as string, cursor.span?.id),
    flags,
  };
  if (typeof meta[TRACESTATE] === 'string' && meta[TRACESTATE] !== '')
    out.tracestate = meta[TRACESTATE] as string;
  return out;
}

/** Anything outgoing headers can be written to. */
export type HeaderTarget =
  | { set(name: string, value: string): unknown }
  | { setHeader(name: string, value: string): unknown }
  | Record<string, unknown>
  | [string, string][];

function writeHeader(headers: HeaderTarget, name: string, value: string): void {
  if (Array.isArray(headers)) {
    const i = headers.findIndex(([k]) => k.toLowerCase() === name);
    if (i >= 0) headers.splice(i, 1);
    headers.push([name, value]);
  } else if (typeof (headers as { set?: unknown }).set === 'function') {
    (headers as { set(n: string, v: string): unknown }).set(name, value);
  } else if (typeof (headers as { setHeader?: unknown }).setHeader === 'function') {
    (headers as { setHeader(n: string, v: string): unknown }).setHeader(name, value);
  } else {
    const rec = headers as Record<string, unknown>;
    for (const key of Object.keys(rec)) if (key !== name && key.toLowerCase() === name) delete rec[key];
    rec[name] = value;
  }
}

/**
 * Writes `traceparent` (and `tracestate`) for the current context into outgoing headers: a Fetch
 * `Headers`, a plain object (node:http options.headers), an `http.ClientRequest` before it is
 * sent, or an array of pairs. Returns the same headers object. Does nothing when nothing is traced.
 *
 * @example
 * ```ts
 * await fetch(url, { headers: injectTraceContext({ accept: 'application/json' }) });
 * http.request(url, { headers: injectTraceContext({}) });
 * ```
 */
export function injectTraceContext<H extends HeaderTarget>(headers: H): H {
  const ctx = currentTraceContext();
  if (!ctx) return headers;
  writeHeader(
    headers,
    'traceparent',
    formatTraceparent({ traceId: ctx.traceId, spanId: ctx.spanId, flags: ctx.flags }),
  );
  if (ctx.tracestate) writeHeader(headers, 'tracestate', ctx.tracestate);
  return headers;
}

/**
 * `fetch` with the current trace context added to the request headers (the caller's headers are
 * copied, never mutated).
 *
 * @example
 * ```ts
 * const res = await tracedFetch('http://inventory/reserve', { method: 'POST', body });
 * ```
 */
export function tracedFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const base =
    init.headers ?? (typeof Request !== 'undefined' && input instanceof Request ? input.headers : undefined);
  const headers = new Headers(base);
  injectTraceContext(headers);
  return fetch(input, { ...init, headers });
}
