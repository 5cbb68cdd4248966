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
  /** Longest meta string value, its cut mark included: `metaLimits.string`, at most `maxString`. */
  string: number;
  total: number;
  /** Longest recorded string (`maxStringLength`): meta keys here. */
  maxString: number;
  /** Keys kept at the top level of one meta object (`maxMetaKeys`). */
  topKeys: number;
  /** Lower-cased exact keys. */
  redactKeys: Set<string> | undefined;
  redactPatterns: RegExp[] | undefined;
  /**
   * Verdicts of `redactPatterns` per key (keys repeat; a RegExp test costs more than a lookup).
   * Bounded: at most {@link VERDICTS_MAX} keys of at most {@link VERDICT_KEY_MAX} characters.
   */
  verdicts: Map<string, boolean>;
  /** Values replaced by {@link REDACTED} inside every recorded string (`redactValues`); undefined for none. */
  secrets: readonly string[] | undefined;
}

/** Default `maxStringLength`: the longest string a trace records. */
export const MAX_STRING_LENGTH = 1024;
/** Default `maxMetaKeys`: the most keys one entity's or one event's meta holds. */
export const MAX_META_KEYS = 256;
/** Entries of a redaction verdict cache (the default configuration's cache lives as long as the process). */
const VERDICTS_MAX = 2000;
/** Longest key whose verdict is cached: longer keys are rare and are tested each time. */
const VERDICT_KEY_MAX = 64;

let defaultConfig: SnapshotConfig | undefined;
/**
 * Configurations of frozen `redact` lists (with default limits): a server adapter passes the same
 * frozen list to every request's trace, which then shares one configuration and its verdict cache
 * instead of building both, and testing every key against the patterns again, per request.
 */
const frozenConfigs = new WeakMap<
  ReadonlyArray<string | RegExp>,
  WeakMap<readonly string[], SnapshotConfig>
>();
const NO_SECRETS: readonly string[] = Object.freeze([]);

export function snapshotConfig(
  limits: MetaLimits | undefined,
  redact: ReadonlyArray<string | RegExp> | false | undefined,
  maxString = MAX_STRING_LENGTH,
  topKeys = MAX_META_KEYS,
  secrets?: readonly string[],
): SnapshotConfig {
  const values = secrets !== undefined && secrets.length > 0 ? secrets : undefined;
  const defaults = limits === undefined && maxString === MAX_STRING_LENGTH && topKeys === MAX_META_KEYS;
  if (defaults && redact === undefined && values === undefined)
    return (defaultConfig ??= buildConfig(undefined, undefined, maxString, topKeys, undefined));
  // A frozen redact list (and frozen secrets), as every adapter passes for each of its requests,
  // is compiled once and its config shared.
  if (
    defaults &&
    Array.isArray(redact) &&
    Object.isFrozen(redact) &&
    (values === undefined || Object.isFrozen(values))
  ) {
    let bySecrets = frozenConfigs.get(redact);
    if (bySecrets === undefined) frozenConfigs.set(redact, (bySecrets = new WeakMap()));
    const key = values ?? NO_SECRETS;
    let cfg = bySecrets.get(key);
    if (cfg === undefined) {
      cfg = buildConfig(undefined, redact, maxString, topKeys, values);
      bySecrets.set(key, cfg);
    }
    return cfg;
  }
  return buildConfig(limits, redact, maxString, topKeys, values && Object.freeze([...values]));
}

/**
 * An option of `run`/`capture` that cannot work: a TypeError naming it, with the code the
 * adapters' configuration errors use, thrown before the trace starts.
 */
export function invalidOption(option: string, want: string): never {
  optionError(`stepmark: option \`${option}\` must be ${want}`, 'ERR_STEPMARK_INVALID_OPTION', option);
}

/** A key of `run`/`capture`'s options (or of one of them) that is not an option: `known` are. */
export function unknownOption(option: string, known: readonly string[]): never {
  optionError(
    `stepmark: unknown option \`${option}\` (known: ${known.join(', ')})`,
    'ERR_STEPMARK_UNKNOWN_OPTION',
    option,
  );
}

/** A `TypeError` carrying `code` and `option`, as every option error of the runtime's callers does. */
export function optionError(message: string, code: string, option: string): never {
  const error = new TypeError(message) as TypeError & { code: string; option: string };
  error.code = code;
  error.option = option;
  throw error;
}

const LIMIT_KEYS = ['depth', 'keys', 'string', 'total'];

/** `metaLimits` as given: an object of non-negative integers (or Infinity), no other keys. */
function checkLimits(limits: MetaLimits): void {
  if (limits === null || typeof limits !== 'object') invalidOption('metaLimits', 'an object');
  for (const key of Object.keys(limits)) {
    if (!LIMIT_KEYS.includes(key)) unknownOption(`metaLimits.${key}`, LIMIT_KEYS);
    const v = (limits as Record<string, unknown>)[key];
    if (
      v !== undefined &&
      !(typeof v === 'number' && ((Number.isInteger(v) && v >= 0) || v === Number.POSITIVE_INFINITY))
    )
      invalidOption(`metaLimits.${key}`, 'a non-negative integer or Infinity');
  }
}

function buildConfig(
  limits: MetaLimits | undefined,
  redact: ReadonlyArray<string | RegExp> | false | undefined,
  maxString: number,
  topKeys: number,
  secrets: readonly string[] | undefined,
): SnapshotConfig {
  const list = redact === undefined ? DEFAULT_REDACT : redact === false ? [] : redact;
  let redactKeys: Set<string> | undefined;
  let redactPatterns: RegExp[] | undefined;
  if (limits !== undefined) checkLimits(limits);
  for (const r of list) {
    if (typeof r === 'string') (redactKeys ??= new Set()).add(r.toLowerCase());
    else if (r instanceof RegExp) (redactPatterns ??= []).push(r);
    // a key that cannot match would silently keep what it was meant to hide
    else invalidOption('redact', 'an array of strings/RegExps or false');
  }
  return {
    depth: positive(limits?.depth, 6),
    keys: positive(limits?.keys, 50),
    string: Math.min(positive(limits?.string, 1000), maxString),
    total: positive(limits?.total, 500),
    maxString,
    topKeys,
    redactKeys,
    redactPatterns,
    verdicts: new Map(),
    secrets,
  };
}

function positive(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && v >= 0 ? v : dflt;
}

/**
 * Whether the value under `key` is redacted. `cacheable`: the key is a property name (V8 keeps
 * those as copies of their own); a Map key may be a slice that holds a large string alive, so its
 * verdict is not kept.
 */
function redacted(cfg: SnapshotConfig, key: string, cacheable: boolean): boolean {
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
  if (cacheable && key.length <= VERDICT_KEY_MAX && cfg.verdicts.size < VERDICTS_MAX)
    cfg.verdicts.set(key, verdict);
  return verdict;
}

interface Walk {
  cfg: SnapshotConfig;
  budget: number;
  /** The outermost object on the current path (cycle detection). */
  top: object | undefined;
  /** The objects under it on the current path, made on the first nested object (most meta is flat). */
  path: object[] | undefined;
  /** Whether top-level keys cut by `topKeys` are counted (in `dropped`) instead of marked `[more]`. */
  count: boolean;
  dropped: number;
  /** At least the number of top-level keys of the result. */
  keys: number;
}

/**
 * About the last {@link snapshotMeta} call, read right after it (calls are synchronous; nothing is
 * allocated per call): `droppedKeys`, the top-level keys it left out (with `count`, beyond
 * `maxMetaKeys`); `keys`, at least the number of top-level keys of its result.
 */
export const lastSnapshot = { droppedKeys: 0, keys: 0 };

/**
 * Snapshots a meta object: the result is always a plain object of JSON values. With `count`, the
 * top-level keys beyond `maxMetaKeys` are left out and counted in {@link lastSnapshot} (the
 * record's `dropped_meta_keys`); without it they are marked `[more]` as in nested objects.
 */
export function snapshotMeta(meta: unknown, cfg: SnapshotConfig, count = false): Record<string, JsonValue> {
  const w: Walk = { cfg, budget: cfg.total, top: undefined, path: undefined, count, dropped: 0, keys: 1 };
  try {
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
      return meta === undefined || meta === null ? {} : { value: copy(meta, w, 0) };
    }
    const out = copy(meta, w, 0);
    return out !== null && typeof out === 'object' && !Array.isArray(out) ? out : { value: out };
  } catch (e) {
    return { '[stepmark]': str(`meta not recorded: ${describeError(e)}`, cfg) };
  } finally {
    lastSnapshot.droppedKeys = w.dropped;
    lastSnapshot.keys = w.keys;
  }
}

/**
 * `s` as a trace records it: every occurrence of a `secrets` value replaced by {@link REDACTED},
 * then, when longer than `max` characters, its beginning and the mark `…[n more]` (just `…` when
 * `max` leaves no room for it), `max` characters in all. A cut string is a new string: a slice of
 * `s` (or a concatenation holding one) would keep all of `s` alive in V8.
 *
 * The one place where secret values are redacted: every string a trace holds went through it
 * before anyone (an observer, a live view, `onEnd`, a flight recorder) could see it. Replacing
 * before cutting means a secret that straddles the cut is replaced whole; only the part of a long
 * string that can show before the cut is searched, so the work depends on `max`, never on the
 * string's length.
 */
export function recordString(s: string, max: number, secrets: readonly string[] | undefined): string {
  if (secrets !== undefined) {
    const at = nextSecret(s, 0, max + 1, secrets);
    if (at >= 0) return redactFrom(s, max, secrets, at);
  }
  return s.length <= max ? s : cutString(s, max, s.length);
}

/** {@link recordString} for a string where a secret starts at `at`. */
function redactFrom(s: string, max: number, secrets: readonly string[], at: number): string {
  const parts: string[] = [];
  let size = 0; // characters in `parts`
  let from = 0; // what of `s` is in `parts`
  while (at >= 0) {
    if (at > from) parts.push(s.slice(from, at));
    parts.push(REDACTED);
    size += at - from + REDACTED.length;
    from = at + foundLength;
    if (size > max) break;
    // a secret matters if it starts where the result is still kept (before its character max + 1)
    at = nextSecret(s, from, from + max + 1 - size, secrets);
  }
  const total = size + s.length - from;
  // join() copies: the result never holds a slice of `s`
  parts.push(total <= max ? s.slice(from) : s.slice(from, from + max));
  return total <= max ? parts.join('') : cutString(parts.join(''), max, total);
}

/** Length of the secret {@link nextSecret} found last. */
let foundLength = 0;

/**
 * Where the first secret occurs in `s` at or after `from`, starting before `stop` (at one place,
 * the longest secret), or -1; its length is left in {@link foundLength}.
 */
function nextSecret(s: string, from: number, stop: number, secrets: readonly string[]): number {
  let at = -1;
  for (let k = 0; k < secrets.length; k++) {
    const secret = secrets[k]!;
    if (s.length - from < secret.length) continue;
    const i = indexBefore(s, secret, from, stop);
    if (i >= 0 && (at < 0 || i < at || (i === at && secret.length > foundLength))) {
      at = i;
      foundLength = secret.length;
    }
  }
  return at;
}

/** Where `secret` first occurs in `s` at or after `from`, starting before `stop`; -1 if it does not. */
function indexBefore(s: string, secret: string, from: number, stop: number): number {
  const end = stop + secret.length - 1;
  if (end >= s.length) {
    const i = s.indexOf(secret, from);
    return i < stop ? i : -1;
  }
  // a long string: search only the part that can hold such an occurrence (a slice is a view)
  const i = s.slice(from, end).indexOf(secret);
  return i < 0 ? -1 : from + i;
}

/**
 * The first characters of `s` and the mark `…[n more]`, `max` characters in all; `total` is the
 * length of the string `s` begins (`s` may hold only its first part).
 */
function cutString(s: string, max: number, total: number): string {
  // room for the longest mark this string can need ("…[" + digits + " more]")
  let keep = max - 8 - String(total).length;
  const mark = keep >= 1;
  if (!mark) keep = max - 1;
  if (keep < 0) return '';
  const last = s.charCodeAt(keep - 1);
  if (last >= 0xd800 && last <= 0xdbff) keep--; // never half a surrogate pair
  // join() builds a fresh flat string (checked by test/adversarial/bounded-strings.test.ts)
  return [s.slice(0, keep), mark ? `…[${total - keep} more]` : '…'].join('');
}

function str(s: string, cfg: SnapshotConfig): string {
  return recordString(s, cfg.string, cfg.secrets);
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
      return str(`[Function ${safeName(v) || '(anonymous)'}]`, w.cfg);
  }
  if (v === null) return null;
  const o = v as object;
  if (o === w.top || w.path?.includes(o) === true) return '[Circular]';
  if (o instanceof Date) {
    const t = o.getTime();
    return Number.isNaN(t) ? 'Invalid Date' : o.toISOString();
  }
  if (o instanceof Error) {
    return { name: str(safeString(o.name), w.cfg), message: str(safeString(o.message), w.cfg) };
  }
  if (o instanceof RegExp) return str(String(o), w.cfg);
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) {
    return str(`[${constructorName(o)} ${(o as ArrayBuffer).byteLength} bytes]`, w.cfg);
  }
  if (o instanceof Promise || o instanceof WeakMap || o instanceof WeakSet)
    return str(`[${constructorName(o)}]`, w.cfg);
  if (depth > w.cfg.depth) return Array.isArray(o) ? '[Array]' : str(`[${constructorName(o)}]`, w.cfg);
  const outermost = w.top === undefined;
  if (outermost) w.top = o;
  else (w.path ??= []).push(o);
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
    const cfg = w.cfg;
    // the top level of a meta object holds at most `topKeys` keys
    const limit = depth === 0 && cfg.topKeys < cfg.keys ? cfg.topKeys : cfg.keys;
    const maxKey = cfg.maxString;
    if (o instanceof Map) {
      if (depth === 0) w.keys = Math.min(o.size, limit) + 1;
      let n = 0;
      for (const [k, val] of o) {
        if (n++ >= limit) {
          more(out, w, depth, o.size - limit, 'entries');
          break;
        }
        const key = typeof k === 'string' ? k : safeString(k);
        put(
          out,
          recordString(key, maxKey, cfg.secrets),
          redacted(cfg, key, false) ? REDACTED : guarded(val, w, depth + 1),
        );
      }
      return out;
    }
    const keys = ownKeys(o);
    if (depth === 0) w.keys = Math.min(keys.length, limit) + 1;
    let n = 0;
    for (const key of keys) {
      if (n++ >= limit) {
        more(out, w, depth, keys.length - limit, 'keys');
        break;
      }
      const name =
        key.length <= maxKey && cfg.secrets === undefined ? key : recordString(key, maxKey, cfg.secrets);
      if (redacted(cfg, key, true)) {
        put(out, name, REDACTED);
        continue;
      }
      let val: unknown;
      try {
        val = (o as Record<string, unknown>)[key];
      } catch (e) {
        put(out, name, str(`[Thrown: ${describeError(e)}]`, cfg));
        continue;
      }
      put(out, name, guarded(val, w, depth + 1));
    }
    return out;
  } finally {
    if (outermost) w.top = undefined;
    else w.path!.pop();
  }
}

/** `copy` of a value inside a container: a hostile value (a Proxy whose traps throw) costs itself only. */
function guarded(v: unknown, w: Walk, depth: number): JsonValue {
  try {
    return copy(v, w, depth);
  } catch (e) {
    return str(`[Thrown: ${describeError(e)}]`, w.cfg);
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

/**
 * Marks `left` keys or entries not copied: `"[more]": "n more keys"`; at the top level of a record's
 * meta cut by `maxMetaKeys` (not by `metaLimits.keys`), counted in `w.dropped` instead.
 */
function more(out: Record<string, JsonValue>, w: Walk, depth: number, left: number, what: string): void {
  if (depth === 0 && w.count && w.cfg.topKeys < w.cfg.keys) w.dropped = left;
  else put(out, '[more]', `${left} more ${what}`);
}

/** Own data property even for keys such as `__proto__`. */
export function put<V>(o: Record<string, V>, key: string, value: V): void {
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
