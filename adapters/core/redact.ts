// Keeps the trigger secret out of every trace an adapter hands on: wherever the application
// copied it (a `meta(req)` returning the headers, a handler putting the header into step or
// track meta, an entity id, an action, an error message), it is replaced by "[Redacted]".
import { REDACTED } from '../../runtime/snapshot.js';
import type { Entity, Ev, RecorderTrace, Span } from '../../runtime/trace.js';
import type { JsonValue } from '../../runtime/types.js';

/** The runtime's mark for a string cut to its length cap. */
const CUT = '…';
/** A secret's beginning left right before a cut mark is redacted from this many characters on. */
const MIN_CUT_PREFIX = 4;

/**
 * Replaces every occurrence of a secret in the strings and keys of a collected trace (any JSON
 * value), in place where it can: an object one of whose keys holds a secret is rebuilt, with
 * its keys in the same order. Returns the value to use (the same object, unless rebuilt).
 */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  return scrub(value, secrets) as T;
}

/**
 * The same for an ended trace in the runtime's compact form, in place, before anyone receives it:
 * a flight recorder keeps that form as it is, and every trace collected from it afterwards
 * (`onEnd`, `onFinish`, a dump, a find) is then redacted too. Entity ids that held a secret are
 * renamed in the trace's entity map, which keeps its order.
 */
export function redactRecorded(trace: RecorderTrace, secrets: readonly string[]): void {
  if (secrets.length === 0) return;
  scrubMetaInPlace(trace.meta, secrets);
  scrubEvents(trace.events, secrets);
  let renamed = false;
  for (const e of trace.entities.values()) {
    const id = scrubString(e.id, secrets);
    if (id !== e.id) {
      e.id = id;
      renamed = true;
    }
    if (e.kind !== undefined) e.kind = scrubString(e.kind, secrets);
    e.meta = scrub(e.meta, secrets) as Entity['meta'];
    scrubEvents(e.events, secrets);
  }
  if (renamed) {
    // As in a collected trace, of two ids redacted to the same text the later one stays.
    const all = [...trace.entities.values()];
    trace.entities.clear();
    for (const e of all) trace.entities.set(e.id, e);
  }
  for (const span of trace.spans as Writable<Span>[]) {
    span.name = scrubString(span.name, secrets);
    if (span.location !== undefined) span.location = scrubString(span.location, secrets);
    if (span.error !== undefined) span.error = scrubString(span.error, secrets);
  }
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function scrubEvents(list: Ev[], secrets: readonly string[]): void {
  for (const ev of list) {
    ev.stage = scrubString(ev.stage, secrets);
    ev.action = scrubString(ev.action, secrets);
    if (ev.meta !== undefined) ev.meta = scrub(ev.meta, secrets) as Record<string, JsonValue>;
  }
}

/** Redacts an object whose identity must stay (a trace's own meta): renamed keys are rewritten in it, in order. */
function scrubMetaInPlace(meta: Record<string, JsonValue>, secrets: readonly string[]): void {
  const out = scrub(meta, secrets) as Record<string, JsonValue>;
  if (out === meta) return;
  for (const k of Object.keys(meta)) delete meta[k];
  for (const k of Object.keys(out)) {
    Object.defineProperty(meta, k, { value: out[k], enumerable: true, writable: true, configurable: true });
  }
}

function scrub(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubString(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = scrub(value[i], secrets);
    return value;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  let renamed = false;
  for (const k of keys) {
    if (scrubString(k, secrets) !== k) {
      renamed = true;
      break;
    }
  }
  if (!renamed) {
    // Assignment writes an own `__proto__` data property too (it exists, so no setter is reached).
    for (const k of keys) o[k] = scrub(o[k], secrets);
    return o;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    Object.defineProperty(out, scrubString(k, secrets), {
      value: scrub(o[k], secrets),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function scrubString(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // A string cut to its length cap may end in the secret's first characters: drop those too.
  return out.includes(CUT) ? scrubCutPrefix(out, secrets) : out;
}

function scrubCutPrefix(s: string, secrets: readonly string[]): string {
  let out = s;
  for (let at = out.indexOf(CUT); at >= 0; at = out.indexOf(CUT, at + 1)) {
    for (const secret of secrets) {
      let k = Math.min(secret.length - 1, at);
      while (k >= MIN_CUT_PREFIX && !out.startsWith(secret.slice(0, k), at - k)) k--;
      if (k >= MIN_CUT_PREFIX) {
        out = out.slice(0, at - k) + REDACTED + out.slice(at);
        at += REDACTED.length - k;
        break;
      }
    }
  }
  return out;
}
