// Redaction and size capping of activity data (kv and change data), done once before any tracker
// sees it, so a stepmark span, a log line and any custom tracker all get the same safe copy.

import { fnv1a64 } from '../otel/w3c.js';
import { DEFAULT_REDACT, put, REDACTED } from '../runtime/snapshot.js';

export interface RedactOptions {
  /**
   * Field names whose values are replaced by `"[Redacted]"` at any depth: strings match a key
   * exactly, case-insensitively; regular expressions are tested against the key. Default: the
   * runtime's `DEFAULT_REDACT` (password, token, authorization, cookie, api_key, card numbers…).
   * `false` turns redaction off.
   */
  redact?: ReadonlyArray<string | RegExp> | false;
  /**
   * Largest size, in characters of JSON, of one value (a kv field or a change field). A larger
   * value is replaced by `{ "[truncated]": true, size, sha256 (or fnv1a64 off Node), preview }`.
   * Default 2048.
   */
  maxValueSize?: number;
  /** Characters of JSON kept in the preview of an oversized value. Default 120. */
  previewSize?: number;
}

export interface Truncated {
  '[truncated]': true;
  /** Size of the whole value, in characters of JSON. */
  size: number;
  sha256?: string;
  fnv1a64?: string;
  /** The first characters of the value's JSON. */
  preview: string;
}

type Hasher = (text: string) => { sha256: string } | { fnv1a64: string };

let hasher: Hasher | undefined;
function hash(text: string): { sha256: string } | { fnv1a64: string } {
  if (hasher === undefined) {
    // node:crypto without a static import, so this module also loads in browsers and edge runtimes
    let crypto:
      | { createHash(alg: string): { update(s: string): { digest(enc: string): string } } }
      | undefined;
    try {
      crypto = (globalThis as any).process?.getBuiltinModule?.('node:crypto');
    } catch {}
    hasher = crypto
      ? (t) => ({ sha256: crypto!.createHash('sha256').update(t).digest('hex') })
      : (t) => ({ fnv1a64: fnv1a64(t) });
  }
  return hasher(text);
}

/** `obj[key]`; a getter that throws reads as `"[Getter threw]"`. */
function read(obj: Record<string, unknown>, key: string): unknown {
  try {
    return obj[key];
  } catch {
    return '[Getter threw]';
  }
}

/** A redacted, capped, JSON-safe copy of `data`. Never throws. */
export type Sanitizer = (data: Record<string, unknown> | undefined) => Record<string, unknown> | undefined;

/** Builds the function that makes kv/change data safe to record. */
export function sanitizer(options: RedactOptions = {}): Sanitizer {
  const list = options.redact === undefined ? DEFAULT_REDACT : options.redact === false ? [] : options.redact;
  const keys = new Set<string>();
  const patterns: RegExp[] = [];
  for (const r of list) {
    if (typeof r === 'string') keys.add(r.toLowerCase());
    else if (r instanceof RegExp) patterns.push(r);
  }
  const maxSize = options.maxValueSize ?? 2048;
  const previewSize = options.previewSize ?? 120;
  const sensitive = (key: string) => keys.has(key.toLowerCase()) || patterns.some((p) => p.test(key));

  const redactDeep = (value: unknown, seen: WeakSet<object>, depth: number): unknown => {
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'bigint') return `${value}n`;
      if (typeof value === 'function' || typeof value === 'symbol') return String(value);
      if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
      return value;
    }
    if (seen.has(value)) return '[Circular]';
    if (depth > 8) return '[Depth]';
    seen.add(value);
    try {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
      if (value instanceof Error) return { name: value.name, message: value.message };
      if (value instanceof Map) return redactDeep(Object.fromEntries(value), seen, depth);
      if (value instanceof Set) return redactDeep([...value], seen, depth);
      if (Array.isArray(value)) return value.map((v) => redactDeep(v, seen, depth + 1));
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const v = read(value as Record<string, unknown>, key);
        put(out, key, sensitive(key) ? REDACTED : redactDeep(v, seen, depth + 1));
      }
      return out;
    } finally {
      seen.delete(value);
    }
  };

  const cap = (value: unknown): unknown => {
    if (value === undefined) return undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      return '[Unserializable]';
    }
    if (json === undefined || json.length <= maxSize) return value;
    const t: Truncated = {
      '[truncated]': true,
      size: json.length,
      ...hash(json),
      preview: json.slice(0, previewSize),
    };
    return t;
  };

  return (data) => {
    if (data === undefined || data === null) return undefined;
    try {
      if (typeof data !== 'object') return { value: cap(redactDeep(data, new WeakSet(), 0)) };
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(data)) {
        const v = read(data, key);
        put(out, key, sensitive(key) ? REDACTED : cap(redactDeep(v, new WeakSet(), 0)));
      }
      return out;
    } catch {
      return { '[unreadable]': true };
    }
  };
}
