// W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` and `tracestate`.
//
// This module has no dependency at all (no @opentelemetry/api, no node: imports) so that the HTTP
// adapters, edge runtimes and browsers can read and write trace context without OpenTelemetry.

/** A parsed `traceparent` header. Ids are lowercase hex. */
export interface TraceParent {
  /** Two hex digits; `00` is the only version defined today. */
  readonly version: string;
  /** 32 hex digits, never all zeros. */
  readonly traceId: string;
  /** 16 hex digits, never all zeros: the caller's span. */
  readonly parentId: string;
  /** The trace-flags byte (bit 0: sampled). */
  readonly flags: number;
}

/** Ordered `tracestate` members (`key=value`), leftmost first, as the spec orders them. */
export type TraceState = ReadonlyArray<readonly [key: string, value: string]>;

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
// version "00" is exactly 55 characters; a higher version may append "-..." fields we must ignore.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const MULTI_TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
// printable ASCII except ',' and '=', at most 256 characters, not ending in a space
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;

/** True for 32 lowercase hex digits that are not all zero. */
export function isValidTraceId(id: unknown): id is string {
  return typeof id === 'string' && TRACE_ID.test(id) && id !== ZERO_TRACE_ID;
}

/** True for 16 lowercase hex digits that are not all zero. */
export function isValidSpanId(id: unknown): id is string {
  return typeof id === 'string' && SPAN_ID.test(id) && id !== ZERO_SPAN_ID;
}

/**
 * Parses a `traceparent` header value. Returns `undefined` for anything the spec says to ignore
 * (bad shape, uppercase hex, version `ff`, zero ids, extra fields on version 00), never throws.
 */
export function parseTraceparent(
  header: string | readonly string[] | null | undefined,
): TraceParent | undefined {
  // Several traceparent headers make the context invalid (spec §3.2.1: "MUST be a single header").
  if (Array.isArray(header)) return header.length === 1 ? parseTraceparent(header[0]) : undefined;
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { version, traceId, parentId, flags: Number.parseInt(flags, 16) };
}

/** Formats a version-00 `traceparent`. Throws a `TypeError` on invalid ids (a bug in the caller). */
export function formatTraceparent(ctx: {
  traceId: string;
  spanId: string;
  flags?: number;
  sampled?: boolean;
}): string {
  if (!isValidTraceId(ctx.traceId))
    throw new TypeError(`stepmark: invalid W3C trace id ${JSON.stringify(ctx.traceId)}`);
  if (!isValidSpanId(ctx.spanId))
    throw new TypeError(`stepmark: invalid W3C span id ${JSON.stringify(ctx.spanId)}`);
  const flags = ctx.flags ?? (ctx.sampled === false ? 0 : 1);
  return `00-${ctx.traceId}-${ctx.spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Parses `tracestate` (one header value, or several headers, which the spec says to join with
 * commas). Invalid members are dropped one by one; duplicate keys keep the leftmost (most recent)
 * entry; at most 32 members are kept. Never throws.
 */
export function parseTracestate(header: string | readonly string[] | null | undefined): TraceState {
  if (header == null) return [];
  const text = typeof header === 'string' ? header : header.join(',');
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!isValidTracestateKey(key) || !VALUE.test(value) || seen.has(key)) continue;
    seen.add(key);
    out.push([key, value]);
    if (out.length === MAX_TRACESTATE_MEMBERS) break;
  }
  return out;
}

/** Formats tracestate members; invalid ones are left out. Returns `''` for an empty list. */
export function formatTracestate(state: TraceState): string {
  const parts: string[] = [];
  for (const [key, value] of state) {
    if (isValidTracestateKey(key) && VALUE.test(value)) parts.push(`${key}=${value}`);
    if (parts.length === MAX_TRACESTATE_MEMBERS) break;
  }
  return parts.join(',');
}

function isValidTracestateKey(key: string): boolean {
  return SIMPLE_KEY.test(key) || MULTI_TENANT_KEY.test(key);
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  // Web Crypto is global in Node >= 19, Bun, Deno, edge runtimes and browsers.
  globalThis.crypto.getRandomValues(buf);
  let s = '';
  for (const b of buf) s += b.toString(16).padStart(2, '0');
  return s;
}

/** FNV-1a 64-bit hash of a string's UTF-16 code units, as 16 hex digits (not cryptographic). */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** A fresh random W3C trace id (32 hex digits). */
export function randomTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE_ID ? randomTraceId() : id;
}

/** A fresh random W3C span id (16 hex digits). */
export function randomSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN_ID ? randomSpanId() : id;
}
