/**
 * Safe snapshots of user-supplied meta values: a JSON-serialisable deep copy taken at record
 * time (later mutation by the caller does not change a recorded event), with size caps, and
 * never a throw. Cycles become "[Circular]", BigInt "123n", functions "[Function name]",
 * symbols "Symbol(desc)", getters that throw "[Thrown: message]", Dates ISO strings, Errors
 * `{ name, message }`, Maps objects, Sets arrays, typed arrays and other exotic objects a short
 * description.
 */
import type { JsonValue, MetaLimits } from './types.js';

/**
 * Keys redacted by default (case-insensitive, whole key): credentials and secrets that should
 * never reach a trace that may end up in logs. Pass `redact: false` to keep everything, or
 * `redact: [...DEFAULT_REDACT, 'ssn']` to extend the list.
 */
export const DEFAULT_REDACT: ReadonlyArray<string | RegExp> = Object.freeze([
  /^(password|passwd|pwd|passphrase|secret|client_?secret|token|access_?token|refresh_?token|id_?token|api_?key|apikey|x-api-key|authorization|proxy-authorization|cookie|set-cookie|session_?id|private_?key|credit_?card|card_?number|cvv|cvc|ssn)$/i,
]);

export const REDACTED = '[Redacted]';

export interface SnapshotConfig {
  depth: number;
  keys: number;
  string: number;
  total: number;
  /** Lower-cased exact keys. */
  redactKeys: Set<string> | undefined;
  redactPatterns: RegExp[] | undefined;
  /** Verdicts of `redactPatterns` per key (keys repeat; a RegExp test costs more than a lookup). */
  verdicts: Map<string, boolean>;
}

let defaultConfig: SnapshotConfig | undefined;

export function snapshotConfig(
  limits: MetaLimits | undefined,
  redact: ReadonlyArray<string | RegExp> | false | undefined,
): SnapshotConfig {
  if (limits === undefined && redact === undefined)
    return (defaultConfig ??= buildConfig(undefined, undefined));
  return buildConfig(limits, redact);
}

function buildConfig(
  limits: MetaLimits | undefined,
  redact: ReadonlyArray<string | RegExp> | false | undefined,
): SnapshotConfig {
  const list = redact === undefined ? DEFAULT_REDACT : redact === false ? [] : redact;
  let redactKeys: Set<string> | undefined;
  let redactPatterns: RegExp[] | undefined;
  for (const r of list) {
    if (typeof r === 'string') (redactKeys ??= new Set()).add(r.toLowerCase());
    else if (r instanceof RegExp) (redactPatterns ??= []).push(r);
  }
  return {
    depth: positive(limits?.depth, 6),
    keys: positive(limits?.keys, 50),
    string: positive(limits?.string, 1000),
    total: positive(limits?.total, 500),
    redactKeys,
    redactPatterns,
    verdicts: new Map(),
  };
}

function positive(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && v >= 0 ? v : dflt;
}

function redacted(cfg: SnapshotConfig, key: string): boolean {
  if (cfg.redactKeys === undefined && cfg.redactPatterns === undefined) return false;
  const known = cfg.verdicts.get(key);
  if (known !== undefined) return known;
  let verdict = cfg.redactKeys?.has(key.toLowerCase()) === true;
  const pats = cfg.redactPatterns;
  if (!verdict && pats !== undefined) {
    for (const p of pats) {
      p.lastIndex = 0;
      if (p.test(key)) {
        verdict = true;
        break;
      }
    }
  }
  if (cfg.verdicts.size < 2000) cfg.verdicts.set(key, verdict);
  return verdict;
}

interface Walk {
  cfg: SnapshotConfig;
  budget: number;
  /** Objects on the current path (cycle detection). */
  path: object[];
}

/** Snapshots a meta object: the result is always a plain object of JSON values. */
export function snapshotMeta(meta: unknown, cfg: SnapshotConfig): Record<string, JsonValue> {
  try {
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
      return meta === undefined || meta === null
        ? {}
        : { value: copy(meta, { cfg, budget: cfg.total, path: [] }, 0) };
    }
    const out = copy(meta, { cfg, budget: cfg.total, path: [] }, 0);
    return out !== null && typeof out === 'object' && !Array.isArray(out) ? out : { value: out };
  } catch (e) {
    return { '[stepmark]': `meta not recorded: ${describeError(e)}` };
  }
}

/** Snapshots any value (used for trace meta values too). */
export function snapshotValue(value: unknown, cfg: SnapshotConfig): JsonValue {
  try {
    return copy(value, { cfg, budget: cfg.total, path: [] }, 0);
  } catch (e) {
    return `[Unserialisable: ${describeError(e)}]`;
  }
}

function str(s: string, cfg: SnapshotConfig): string {
  return s.length > cfg.string ? `${s.slice(0, cfg.string)}…[${s.length - cfg.string} more]` : s;
}

function copy(v: unknown, w: Walk, depth: number): JsonValue {
  if (w.budget-- <= 0) return '[Truncated]';
  switch (typeof v) {
    case 'string':
      return str(v, w.cfg);
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'boolean':
      return v;
    case 'undefined':
      return null;
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return str(safeString(v), w.cfg);
    case 'function':
      return `[Function ${safeName(v) || '(anonymous)'}]`;
  }
  if (v === null) return null;
  const o = v as object;
  if (w.path.includes(o)) return '[Circular]';
  if (o instanceof Date) {
    const t = o.getTime();
    return Number.isNaN(t) ? 'Invalid Date' : o.toISOString();
  }
  if (o instanceof Error) {
    return { name: str(safeString(o.name), w.cfg), message: str(safeString(o.message), w.cfg) };
  }
  if (o instanceof RegExp) return str(String(o), w.cfg);
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) {
    return `[${constructorName(o)} ${(o as ArrayBuffer).byteLength} bytes]`;
  }
  if (o instanceof Promise || o instanceof WeakMap || o instanceof WeakSet) return `[${constructorName(o)}]`;
  if (depth > w.cfg.depth) return Array.isArray(o) ? '[Array]' : `[${constructorName(o)}]`;
  w.path.push(o);
  try {
    if (Array.isArray(o) || o instanceof Set) {
      const out: JsonValue[] = [];
      let n = 0;
      const size = Array.isArray(o) ? o.length : o.size;
      for (const item of o) {
        if (n++ >= w.cfg.keys) {
          out.push(`[${size - w.cfg.keys} more]`);
          break;
        }
        out.push(guarded(item, w, depth + 1));
      }
      return out;
    }
    const out: Record<string, JsonValue> = {};
    if (o instanceof Map) {
      let n = 0;
      for (const [k, val] of o) {
        if (n++ >= w.cfg.keys) {
          put(out, '[more]', `${o.size - w.cfg.keys} more entries`);
          break;
        }
        const key = typeof k === 'string' ? k : safeString(k);
        put(out, key, redacted(w.cfg, key) ? REDACTED : guarded(val, w, depth + 1));
      }
      return out;
    }
    const keys = ownKeys(o);
    let n = 0;
    for (const key of keys) {
      if (n++ >= w.cfg.keys) {
        put(out, '[more]', `${keys.length - w.cfg.keys} more keys`);
        break;
      }
      if (redacted(w.cfg, key)) {
        put(out, key, REDACTED);
        continue;
      }
      let val: unknown;
      try {
        val = (o as Record<string, unknown>)[key];
      } catch (e) {
        put(out, key, `[Thrown: ${describeError(e)}]`);
        continue;
      }
      put(out, key, guarded(val, w, depth + 1));
    }
    return out;
  } finally {
    w.path.pop();
  }
}

/** `copy` of a value inside a container: a hostile value (a Proxy whose traps throw) costs itself only. */
function guarded(v: unknown, w: Walk, depth: number): JsonValue {
  try {
    return copy(v, w, depth);
  } catch (e) {
    return `[Thrown: ${describeError(e)}]`;
  }
}

/** Enumerable own string keys; when a Proxy's descriptor trap throws, every own string key. */
function ownKeys(o: object): string[] {
  try {
    return Object.keys(o);
  } catch {
    return Reflect.ownKeys(o).filter((k): k is string => typeof k === 'string');
  }
}

/** Own data property even for keys such as `__proto__`. */
function put(o: Record<string, JsonValue>, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

function constructorName(o: object): string {
  try {
    const c = (o as { constructor?: { name?: unknown } }).constructor;
    return typeof c?.name === 'string' && c.name ? c.name : 'Object';
  } catch {
    return 'Object';
  }
}

function safeName(f: Function): string {
  try {
    return typeof f.name === 'string' ? f.name : '';
  } catch {
    return '';
  }
}

/** String(v) that never throws. */
export function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    try {
      return Object.prototype.toString.call(v);
    } catch {
      return '[unprintable]';
    }
  }
}

/** A short description of a thrown value, for `error` fields and `[Thrown: …]`. */
export function describeError(e: unknown): string {
  try {
    if (e instanceof Error) {
      const m = safeString(e.message);
      return m || safeString(e.name);
    }
    if (e !== null && typeof e === 'object') {
      const m = (e as { message?: unknown }).message;
      if (typeof m === 'string') return m;
      return safeString(e);
    }
    if (typeof e === 'bigint') return `${e}n`;
    return safeString(e);
  } catch {
    return '[unprintable error]';
  }
}
