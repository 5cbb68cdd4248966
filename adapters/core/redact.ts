// Keeps the trigger secret out of every trace an adapter hands on: wherever the application
// copied it (a `meta(req)` returning the headers, a handler putting the header into step or
// track meta, an entity id, an action, an error message), it is replaced by "[Redacted]".
import { REDACTED } from '../../runtime/snapshot.js';

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
