/**
 * The recorder: one `RecorderTrace` per `run`, holding events, entities and spans in a compact
 * internal form (monotonic numbers, no Date, no JSON) that `toJSON` turns into the trace format.
 *
 * Span bookkeeping does not assume LIFO order. The current span of an async context lives in
 * a mutable `Cursor { trace, span }` (the AsyncLocalStorage store):
 * - `enter` opens a span whose parent is `cursor.span` and makes it current by assigning
 *   `cursor.span` (no `enterWith` per call: that would cost ~300 ns on Node 24);
 * - `exit` makes the nearest still-open ancestor current again, and only if the span (or a span
 *   opened under it that never exited) is current there, so spans that exit out of order never
 *   corrupt the cursor;
 * - `s()` (before `await`/`yield`) hands the context back to whoever resumed the function;
 *   `r()` (after) makes the span current again through a per-frame cursor entered with
 *   `enterWith`, so callbacks, timers and promises created in the continuation keep the span
 *   as their parent. `s()`/`exit()` restore the resumer's cursor, which is what keeps a sync
 *   generator's span from staying current in its consumer after a `yield`. The ABI does not say
 *   whether a suspension is an `await` (the continuation runs later, in the context captured at
 *   the await) or a `yield` (the consumer continues synchronously), so both are handled the
 *   safe way: two `enterWith` per suspension, and only while a trace is active.
 * Known imprecision: callbacks created in the synchronous prelude of an async function (before
 * its first `await`) capture the caller's cursor, so they see whatever span is current there
 * when they run (usually the caller's span), not the function's own span. docs/RUNTIME.md lists
 * the others (`for await` before the first wrapped await, `enter()` without a build step in
 * async code).
 */

import { notifyEvent, notifySpanEnd, notifySpanStart, notifyTraceStart, OBS } from './observers.js';
import { reportOnce } from './report.js';
import {
  describeError,
  invalidOption,
  lastSnapshot,
  MAX_META_KEYS,
  MAX_STRING_LENGTH,
  put,
  recordString,
  type SnapshotConfig,
  safeString,
  snapshotConfig,
  snapshotMeta,
  unknownOption,
} from './snapshot.js';
import { type Cursor, currentCursor, setCursor } from './state.js';
import type { JsonValue, Trace, TraceEntity, TraceEvent, TraceOptions, TraceSpan } from './types.js';

const perf: { now(): number } =
  typeof globalThis.performance?.now === 'function' ? globalThis.performance : { now: () => Date.now() };

/** Shortest `redactValues` entry: a shorter one would cut ordinary words and numbers out of every string. */
const MIN_REDACT_VALUE = 8;

const ST_OPEN = 0;
const ST_OK = 1;
const ST_ERROR = 2;

/** `Span.end` of a span still open; `LATE`: it exited after its trace had ended (not recorded). */
const END_OPEN = -1;
const END_LATE = -2;

/**
 * A function given as `onEnd` that carries a function under this key receives the ended
 * `RecorderTrace` itself (the compact form) instead of a collected trace: the flight recorder
 * and the server adapters use it to keep a trace without building its JSON shape. Keyed by the
 * state layout's version, like the shared state.
 */
export const ON_END_COMPACT = Symbol.for('stepmark.runtime.v2.onEndCompact');

/** What `fn` takes instead of a collected trace (see {@link ON_END_COMPACT}), or undefined. */
export function compactOf(fn: unknown): ((trace: RecorderTrace) => void) | undefined {
  const compact = (fn as { [ON_END_COMPACT]?: unknown } | undefined)?.[ON_END_COMPACT];
  return typeof compact === 'function' ? (compact as (trace: RecorderTrace) => void) : undefined;
}

/** The meta observers see on a span's `exited` event: the trace format's `{ duration_ms, error? }` is made from the span when collected. */
export const EXIT_META: Record<string, JsonValue> = Object.freeze({}) as Record<string, JsonValue>;

/** Internal event: converted to `TraceEvent` at collect time. */
export interface Ev {
  stage: string;
  action: string;
  t: number;
  meta: Record<string, JsonValue> | undefined;
  span: Span | undefined;
  /** Top-level meta keys left out (`maxMetaKeys`). */
  droppedKeys: number;
}

/**
 * An entry of an event list: a recorded event, or a span standing for its `entered` event (its
 * first entry in the list: the span's start, `enterMeta`) and its `exited` event (its second: the
 * span's end, `{ duration_ms, error? }`). A span is not given two event objects of its own: with
 * their boxed times that was four allocations per span, more than the span itself.
 */
export type EventEntry = Ev | Span;

export interface Entity {
  id: string;
  kind: string | undefined;
  meta: Record<string, JsonValue>;
  /** At least the number of keys in `meta` (see `track`). */
  keys: number;
  /** Meta keys not kept because `meta` was full. */
  droppedKeys: number;
  events: EventEntry[];
}

// Marks start at a random point: a trace may be read by another copy of the runtime (its ESM and
// CommonJS builds, a bundled copy), whose marks must not meet this copy's.
let walks = Math.floor(Math.random() * 2 ** 52);

/** A fresh mark for one reading of event lists, for {@link entered}. */
function newWalk(): number {
  return ++walks;
}

/**
 * Whether an event-list entry is a span (see {@link EventEntry}). By shape, not `instanceof`: the
 * trace may come from another copy of the runtime, with a `Span` class of its own.
 */
export function isSpanEntry(e: EntryRecord): e is SpanRecord {
  return (e as { seq?: unknown }).seq !== undefined;
}

/**
 * For a span entry met while reading a list with mark `walk` (from {@link newWalk}): true the
 * first time (the entry is its `entered` event), false the second (its `exited` event).
 */
function entered(span: SpanRecord, walk: number): boolean {
  if (span.walk === walk) return false;
  span.walk = walk;
  return true;
}

/**
 * The frame returned by `enter` (ABI) — the span itself, so opening a span allocates one object.
 * Methods never throw.
 */
export class Span implements SpanRecord {
  /** Creation order within the trace (the number in `id`). */
  readonly seq: number;
  readonly parent: Span | undefined;
  readonly name: string;
  readonly location: string | undefined;
  readonly entity: Entity | undefined;
  readonly trace: RecorderTrace;
  /**
   * The cursor the span was made current in by assignment: the one current at `enter`, or the
   * per-frame cursor of the instrumented function it was opened in once that function resumed
   * after an `await`/`yield` (see `r()`).
   */
  cursor: Cursor;
  readonly start: number;
  end = END_OPEN;
  status = ST_OPEN;
  error: string | undefined = undefined;
  /** Per-frame cursor, created on the first resume. */
  own: Cursor | undefined = undefined;
  /** The cursor that was current when `r()` entered `own` (restored by `s()`/`exit()`). */
  outer: Cursor | undefined = undefined;
  /** Whether `r()` has entered `own` and `s()` has not restored `outer` yet. */
  resumed = false;
  /**
   * The span that was current in this frame's cursor when the function first suspended (this
   * span, or one opened under it that has not exited yet): where `r()` looks for the span to make
   * current again.
   */
  held: Span | undefined = undefined;
  /** Opened by the program's own `enter()` (its exit handle), not by a function's frame. */
  explicit = false;
  /** The snapshot of the meta given to `enter` (its `entered` event's meta). */
  enterMeta: Record<string, JsonValue> | undefined = undefined;
  /** Top-level keys left out of `enterMeta` (`maxMetaKeys`). */
  enterDropped = 0;
  /** Scratch mark of the last reading of an event list that met this span (see `entered`). */
  walk = 0;
  /**
   * Set for frames of plain async functions (ABI `enter(…, FRAME_ASYNC)`): they suspend only at
   * `await`, after which the current job ends, so `s()`/`exit()` need not re-enter the resumer's
   * cursor and the next `r()` finds `own` still current — no `enterWith` per await after the first.
   */
  awaitOnly = false;

  constructor(
    trace: RecorderTrace,
    cursor: Cursor,
    seq: number,
    name: string,
    location: string | undefined,
    entity: Entity | undefined,
    start: number,
  ) {
    this.trace = trace;
    this.cursor = cursor;
    this.parent = cursor.span;
    this.seq = seq;
    this.name = name;
    this.location = location;
    this.entity = entity;
    this.start = start;
  }

  /** The span's `span_id` (made on demand: most spans are never asked). */
  get id(): string {
    return String(this.seq);
  }

  /** Ends the span (idempotent). */
  exit(): void {
    if (this.end !== END_OPEN) return;
    this.release();
    try {
      // After the trace ended, what it recorded stays as it was at its end (it may be held by a
      // flight recorder): the span stays unfinished there, only observers hear of it.
      if (this.trace.ended) {
        this.end = END_LATE;
        if (OBS.list !== undefined) notifySpanEnd(this, this.trace);
      } else this.trace.closeSpan(this);
    } catch {
      // e.g. a RangeError near the stack limit: the context is already given back; the span
      // stays open and is reported as unfinished.
    }
  }

  /** Marks the span failed with the thrown value `e` (its message is recorded). */
  fail(e: unknown): void {
    if (this.end !== END_OPEN || this.trace.ended) return;
    this.status = ST_ERROR;
    try {
      this.error = this.trace.str(describeError(e));
    } catch {}
  }

  /** ABI 2, around the value of a `return`: ends the span and returns `v`. */
  x<T>(v: T): T {
    this.exit();
    return v;
  }

  /** ABI 2, in the frame's `catch`: marks the span failed with `e`, ends it, and returns `e` (rethrown). */
  t(e: unknown): unknown {
    this.fail(e);
    this.exit();
    return e;
  }

  /** Before `await`/`yield`: gives the context back to the resumer. Returns `v`. */
  s<T>(v: T): T {
    this.release();
    return v;
  }

  /** After `await`/`yield`: makes this span current again. Returns `v`. */
  r<T>(v: T): T {
    if (this.end !== END_OPEN || this.trace.ended) return v;
    try {
      const cur = currentCursor();
      let own = this.own;
      if (own === undefined) own = this.own = { trace: this.trace, span: this };
      own.span = this.resumeTarget(own, this.held ?? own.span);
      this.held = undefined;
      if (cur !== own) {
        this.outer = cur;
        this.resumed = true;
        setCursor(own);
      }
    } catch {}
    return v;
  }

  /**
   * The span to make current when the function resumes: the innermost still-open span opened by
   * `enter()` under this one on `inner`'s chain of parents (it stays the parent of what the
   * function does next, until it exits), else this span. A callee's frame still current there
   * (a `for await` before its first wrapped await) is not the function's to resume. Spans on
   * that chain that were made current in the cursor this frame was opened in now live in the
   * per-frame cursor `own`, so that their `exit` makes their parent current there.
   */
  private resumeTarget(own: Cursor, inner: Span | undefined): Span {
    let open: Span | undefined;
    let s = inner;
    while (s !== undefined && s !== this && s.seq > this.seq) {
      if (open === undefined && s.explicit && s.end === END_OPEN) open = s;
      s = s.parent;
    }
    if (s !== this || open === undefined) return this;
    for (let x: Span = open; x !== this; x = x.parent as Span) if (x.cursor === this.cursor) x.cursor = own;
    return open;
  }

  /**
   * Stops this span being current: in the cursor it was opened in, if it (or a span opened under
   * it that never exited, e.g. because a RangeError hit its `exit` call) is current there, the
   * nearest open ancestor becomes current; if `r()` entered the per-frame cursor, the resumer's
   * cursor is entered again. The first part is inline code without calls, so that it still runs
   * with almost no stack left.
   */
  private release(): void {
    const c = this.cursor;
    let cur = c.span;
    // descendants have larger sequence numbers than their ancestors
    while (cur !== undefined && cur !== this && cur.seq > this.seq) cur = cur.parent;
    if (cur === this) {
      this.held = c.span;
      let p = this.parent;
      while (p !== undefined && p.end >= 0) p = p.parent;
      c.span = p;
    }
    if (this.resumed && !this.awaitOnly) {
      this.resumed = false;
      const outer = this.outer;
      this.outer = undefined;
      try {
        if (currentCursor() === this.own) setCursor(outer);
      } catch {}
    }
  }

  [Symbol.dispose](): void {
    this.exit();
  }
}

/** A frame that does nothing: returned whenever nothing is recorded. Shared, never allocated per call. */
export interface Frame {
  exit(): void;
  fail(e: unknown): void;
  /** ABI 2: `return __smf.x(value)` ends the span and returns the value. */
  x<T>(v: T): T;
  /** ABI 2: `throw __smf.t(e)` fails and ends the span and returns `e`. */
  t(e: unknown): unknown;
  s<T>(v: T): T;
  r<T>(v: T): T;
}

function identity<T>(v: T): T {
  return v;
}
function nothing(): void {}

export const NOOP_FRAME: Frame = Object.freeze({
  exit: nothing,
  fail: nothing,
  x: identity,
  t: identity,
  s: identity,
  r: identity,
  [Symbol.dispose]: nothing,
}) as Frame;

export class RecorderTrace implements TraceRecords {
  ended = false;
  /** The traced function threw or rejected, or a server adapter answered with a server error. */
  failed = false;
  readonly meta: Record<string, JsonValue>;
  readonly events: EventEntry[] = [];
  readonly entities = new Map<string, Entity>();
  readonly spans: Span[] = [];
  dropped = 0;
  droppedSpans = 0;
  /** Entity calls (`track`, entity events, entity spans) for entities beyond `maxEntities`. */
  droppedEntities = 0;
  private count = 0;
  private nextId = 1;
  readonly maxEvents: number;
  readonly maxSpans: number;
  readonly maxEntities: number;
  /** Longest recorded string (`maxStringLength`). */
  readonly maxString: number;
  readonly maxMetaKeys: number;
  clock: (() => number) | undefined;
  /** Times are the `clock` option's epoch milliseconds (else `performance.now()`, anchored at `wall0`). */
  readonly clocked: boolean;
  entityFilter: ((entityId: string, kind: string | undefined) => boolean) | undefined;
  snap: SnapshotConfig;
  onEnd: ((trace: Trace) => void) | undefined;
  /** Wall-clock anchor of the monotonic clock. */
  readonly wall0: number;
  readonly perf0: number;

  /** `meta`, when given, replaces `options.meta`. */
  constructor(options: TraceOptions | undefined, meta?: unknown) {
    const o = options ?? {};
    if (typeof o !== 'object') bad('options', 'an object');
    checkOptions(o);
    this.maxEvents = o.maxEvents ?? 10_000;
    this.maxSpans = o.maxSpans ?? 10_000;
    this.maxEntities = o.maxEntities ?? 10_000;
    this.maxString = o.maxStringLength ?? MAX_STRING_LENGTH;
    this.maxMetaKeys = o.maxMetaKeys ?? MAX_META_KEYS;
    this.clock = o.clock;
    this.clocked = o.clock !== undefined;
    this.entityFilter = o.entityFilter;
    this.onEnd = o.onEnd;
    this.snap = snapshotConfig(o.metaLimits, o.redact, this.maxString, this.maxMetaKeys, o.redactValues);
    this.meta = snapshotMeta(meta ?? o.meta, this.snap);
    this.wall0 = Date.now();
    this.perf0 = perf.now();
    if (OBS.list !== undefined) notifyTraceStart(this);
  }

  now(): number {
    const c = this.clock;
    if (c === undefined) return perf.now();
    try {
      const t = c();
      return typeof t === 'number' ? t : Number(t);
    } catch (e) {
      reportOnce('STEPMARK_CLOCK_FAILED', 'the clock option threw (the time was recorded as NaN)', e);
      return Number.NaN;
    }
  }

  /** Whether an entity-scoped call for this entity is recorded (`entityFilter`). */
  accepts(entityId: string, kind: string | undefined): boolean {
    const f = this.entityFilter;
    if (f === undefined) return true;
    try {
      return f(entityId, kind) === true;
    } catch (e) {
      reportOnce(
        'STEPMARK_ENTITY_FILTER_FAILED',
        'entityFilter threw (that entity call was not recorded)',
        e,
      );
      return false;
    }
  }

  /**
   * `v` as a recorded string: stringified without throwing, `redactValues` replaced, at most
   * `maxStringLength` characters.
   */
  str(v: unknown): string {
    return recordString(typeof v === 'string' ? v : safeString(v), this.maxString, this.snap.secrets);
  }

  /**
   * The entity `id` (created on first use), or undefined when it is new and the trace already
   * holds `maxEntities`: the call is then counted in `droppedEntities`.
   */
  entity(id: string, kind: string | undefined): Entity | undefined {
    let e = this.entities.get(id);
    if (e === undefined) {
      if (this.entities.size >= this.maxEntities) {
        this.droppedEntities++;
        return undefined;
      }
      e = { id, kind, meta: {}, keys: 0, droppedKeys: 0, events: [] };
      this.entities.set(id, e);
    } else if (kind !== undefined && e.kind === undefined) {
      e.kind = kind;
    }
    return e;
  }

  /** Registers an entity and merges `meta` into its meta, at most `maxMetaKeys` keys in all. */
  track(id: string, meta: unknown, kind: string | undefined): void {
    const e = this.entity(id, kind);
    if (e === undefined) return;
    if (kind !== undefined) e.kind = kind;
    if (meta === undefined || meta === null) return;
    const snap = snapshotMeta(meta, this.snap, true);
    e.droppedKeys += lastSnapshot.droppedKeys;
    const into = e.meta;
    const added = lastSnapshot.keys;
    if (e.keys + added <= this.maxMetaKeys) {
      // fits even if every key is new: `keys` stays an upper bound (a key set again counts again)
      e.keys += added;
      if (!Object.hasOwn(snap, '__proto__')) Object.assign(into, snap);
      else for (const k of Object.keys(snap)) put(into, k, snap[k]!);
      return;
    }
    // near the cap: count exactly
    let count = Object.keys(into).length;
    for (const k of Object.keys(snap)) {
      if (!Object.hasOwn(into, k)) {
        if (count >= this.maxMetaKeys) {
          e.droppedKeys++;
          continue;
        }
        count++;
      }
      put(into, k, snap[k]!);
    }
    e.keys = count;
  }

  /** Appends an event to `list` (an entity's or the unscoped list), honouring `maxEvents`. */
  event(list: EventEntry[], stage: string, action: string, meta: unknown, span: Span | undefined): void {
    if (this.count >= this.maxEvents) {
      this.dropped++;
      return;
    }
    const snap = meta === undefined ? undefined : snapshotMeta(meta, this.snap, true);
    const droppedKeys = snap === undefined ? 0 : lastSnapshot.droppedKeys; // before `clock` runs user code
    this.push(list, stage, action, this.now(), snap, span, droppedKeys);
  }

  /** Appends an event whose meta is already a snapshot (or undefined); the caller checked `maxEvents`. */
  private push(
    list: EventEntry[],
    stage: string,
    action: string,
    t: number,
    meta: Record<string, JsonValue> | undefined,
    span: Span | undefined,
    droppedKeys: number,
  ): void {
    const ev: Ev = { stage, action, t, meta, span, droppedKeys };
    list.push(ev);
    if (OBS.list !== undefined) notifyEvent(ev, list, this.entities, this);
    this.count++;
  }

  /** Appends a span's `entered` (first) or `exited` (second) entry; the caller checked `maxEvents`. */
  private pushSpan(list: EventEntry[], span: Span, isEnter: boolean): void {
    list.push(span);
    if (OBS.list !== undefined) {
      const meta = isEnter ? span.enterMeta : EXIT_META;
      const view = { stage: span.name, action: isEnter ? 'entered' : 'exited', meta, span };
      notifyEvent(view, list, this.entities, this);
    }
    this.count++;
  }

  /** Opens a span in cursor `c` and makes it current there. */
  openSpan(
    c: Cursor,
    name: string,
    location: string | undefined,
    entity: Entity | undefined,
    meta: unknown,
  ): Span | Frame {
    if (this.spans.length >= this.maxSpans) {
      this.droppedSpans++;
      return NOOP_FRAME;
    }
    const t = this.now();
    const span = new Span(this, c, this.nextId, name, location, entity, t);
    this.spans.push(span);
    this.nextId++;
    c.span = span;
    if (OBS.list !== undefined) notifySpanStart(span, this);
    try {
      // the `entered` event shares the span's start time (one clock read per enter)
      if (this.count >= this.maxEvents) this.dropped++;
      else {
        if (meta !== undefined) {
          span.enterMeta = snapshotMeta(meta, this.snap, true);
          span.enterDropped = lastSnapshot.droppedKeys;
        }
        this.pushSpan(entity !== undefined ? entity.events : this.events, span, true);
      }
    } catch {
      // the span stays open and current; only its `entered` event is lost
    }
    return span;
  }

  closeSpan(span: Span): void {
    let end = this.now();
    // a broken `clock` (NaN, negative) must not make the span look open (exit is idempotent on end >= 0)
    if (!(end >= 0)) end = Number.isFinite(span.start) ? Math.max(span.start, 0) : 0;
    span.end = end;
    if (span.status === ST_OPEN) span.status = ST_OK;
    if (this.count >= this.maxEvents) this.dropped++;
    else {
      // its meta ({ duration_ms, error? }) is made from the span when collected
      this.pushSpan(span.entity !== undefined ? span.entity.events : this.events, span, false);
    }
    if (OBS.list !== undefined) notifySpanEnd(span, this);
  }

  /** Epoch milliseconds of a recorded time. */
  epochMs(t: number): number {
    return epochMs(this, t);
  }

  /**
   * Called when the trace has ended: lets go of what the program handed in (callbacks, their
   * closures, a per-trace redaction cache), so a trace kept afterwards holds only its records.
   */
  seal(): void {
    this.onEnd = undefined;
    this.entityFilter = undefined;
    this.clock = undefined;
    this.snap = snapshotConfig(undefined, undefined, this.maxString, this.maxMetaKeys);
  }

  /** An independent snapshot in the trace format. */
  toJSON(): Trace {
    return formatTrace(this);
  }
}

/**
 * A span as the trace format is made from it: a live {@link Span}, or one read back from a flight
 * recorder's packed form.
 */
export interface SpanRecord {
  readonly seq: number;
  readonly parent: SpanRecord | undefined;
  readonly name: string;
  readonly location: string | undefined;
  readonly entity: { readonly id: string } | undefined;
  readonly start: number;
  /** `END_OPEN`/`END_LATE` (negative) while unfinished. */
  readonly end: number;
  readonly status: number;
  readonly error: string | undefined;
  readonly enterMeta: Record<string, JsonValue> | undefined;
  readonly enterDropped: number;
  /** Scratch mark (see {@link isSpanEntry}). */
  walk: number;
}

/** An event as the trace format is made from it. */
export interface EventRecord {
  readonly stage: string;
  readonly action: string;
  readonly t: number;
  readonly meta: Record<string, JsonValue> | undefined;
  readonly span: SpanRecord | undefined;
  readonly droppedKeys: number;
}

/** An entry of an event list (see {@link EventEntry}). */
export type EntryRecord = EventRecord | SpanRecord;

export interface EntityRecord {
  readonly id: string;
  readonly kind: string | undefined;
  readonly meta: Record<string, JsonValue>;
  readonly droppedKeys: number;
  readonly events: readonly EntryRecord[];
}

/** Everything the trace format is made from: a {@link RecorderTrace}, or one read back from a packed form. */
export interface TraceRecords {
  readonly meta: Record<string, JsonValue>;
  readonly events: readonly EntryRecord[];
  readonly entities: ReadonlyMap<string, EntityRecord>;
  readonly spans: readonly SpanRecord[];
  readonly dropped: number;
  readonly droppedSpans: number;
  readonly droppedEntities: number;
  readonly failed: boolean;
  /** Times are epoch ms (a `clock` option), else `performance.now()` anchored at `wall0`/`perf0`. */
  readonly clocked: boolean;
  readonly wall0: number;
  readonly perf0: number;
}

/** Epoch milliseconds of a recorded time of `r`. */
export function epochMs(r: TraceRecords, t: number): number {
  return r.clocked ? t : r.wall0 + (t - r.perf0);
}

/** Turns the records of a trace into an independent object in the trace format. */
export function formatTrace(r: TraceRecords): Trace {
  return new Formatter(r).trace();
}

class Formatter {
  readonly r: TraceRecords;
  /** `ids[seq]`: the `span_id` text of every span. */
  readonly ids: string[] = [];
  // The last timestamp formatted: the events of one request mostly fall in the same millisecond,
  // and Date#toISOString is what collecting a trace would otherwise spend most of its time in.
  private isoMs = Number.NaN;
  private isoText = '';

  constructor(r: TraceRecords) {
    this.r = r;
    for (const s of r.spans) this.ids[s.seq] = String(s.seq);
  }

  private iso(t: number): string {
    const ms = Math.trunc(epochMs(this.r, t));
    if (ms === this.isoMs) return this.isoText;
    const d = new Date(ms);
    const text = Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
    this.isoMs = ms;
    this.isoText = text;
    return text;
  }

  private spanId(s: SpanRecord): string {
    return this.ids[s.seq] ?? String(s.seq);
  }

  private ev(e: EventRecord): TraceEvent {
    const out: TraceEvent = { stage: e.stage, action: e.action, timestamp: this.iso(e.t) };
    const span = e.span;
    if (e.meta !== undefined) out.meta = structuredCopy(e.meta);
    if (span !== undefined) out.span_id = this.spanId(span);
    if (e.droppedKeys > 0) out.dropped_meta_keys = e.droppedKeys;
    return out;
  }

  /** A span's `entered` (`isEnter`) or `exited` event. */
  private spanEv(s: SpanRecord, isEnter: boolean): TraceEvent {
    const out: TraceEvent = {
      stage: s.name,
      action: isEnter ? 'entered' : 'exited',
      timestamp: this.iso(isEnter ? s.start : s.end),
    };
    if (isEnter) {
      if (s.enterMeta !== undefined) out.meta = structuredCopy(s.enterMeta);
    } else {
      const meta: Record<string, JsonValue> = { duration_ms: round(s.end - s.start) };
      if (s.status === ST_ERROR && s.error !== undefined) meta.error = s.error;
      out.meta = meta;
    }
    out.span_id = this.spanId(s);
    if (isEnter && s.enterDropped > 0) out.dropped_meta_keys = s.enterDropped;
    return out;
  }

  private evs(list: readonly EntryRecord[]): TraceEvent[] {
    const out = new Array<TraceEvent>(list.length);
    const walk = newWalk();
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      out[i] = isSpanEntry(e) ? this.spanEv(e, entered(e, walk)) : this.ev(e);
    }
    return out;
  }

  trace(): Trace {
    const r = this.r;
    const entities: Record<string, TraceEntity> = {};
    for (const e of r.entities.values()) {
      const out: TraceEntity = { entity_id: e.id } as TraceEntity;
      if (e.kind !== undefined) out.kind = e.kind;
      out.meta = structuredCopy(e.meta);
      out.events = this.evs(e.events);
      if (e.droppedKeys > 0) out.dropped_meta_keys = e.droppedKeys;
      if (e.id === '__proto__')
        Object.defineProperty(entities, e.id, {
          value: out,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else entities[e.id] = out;
    }
    const spans = new Array<TraceSpan>(r.spans.length);
    for (let i = 0; i < spans.length; i++) {
      const s = r.spans[i]!;
      const out: TraceSpan = { span_id: this.spanId(s) } as TraceSpan;
      if (s.parent !== undefined) out.parent_id = this.spanId(s.parent);
      out.name = s.name;
      if (s.entity !== undefined) out.entity_id = s.entity.id;
      out.start = this.iso(s.start);
      if (s.end >= 0) {
        out.end = this.iso(s.end);
        out.duration_ms = round(s.end - s.start);
        out.status = s.status === ST_ERROR ? 'error' : 'ok';
      } else {
        out.status = 'unfinished';
      }
      if (s.status === ST_ERROR && s.error !== undefined) out.error = s.error;
      if (s.location !== undefined) out.location = s.location;
      spans[i] = out;
    }
    const trace: Trace = {
      meta: structuredCopy(r.meta),
      entities,
      events: this.evs(r.events),
      spans,
      dropped: r.dropped,
    };
    if (r.droppedSpans > 0) trace.dropped_spans = r.droppedSpans;
    if (r.droppedEntities > 0) trace.dropped_entities = r.droppedEntities;
    return trace;
  }
}

/** Durations in ms, rounded to the microsecond. */
function round(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 1000) / 1000 : 0;
}

/** Deep copy of an already JSON-safe value (snapshots are shared by internal events). */
function structuredCopy<T extends JsonValue>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => structuredCopy(x)) as T;
  const out: Record<string, JsonValue> = {};
  for (const k of Object.keys(v)) {
    const val = structuredCopy((v as Record<string, JsonValue>)[k]!);
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
    else out[k] = val;
  }
  return out as T;
}

const bad = invalidOption;

const count = (v: number) => (Number.isInteger(v) && v >= 0) || v === Number.POSITIVE_INFINITY;

const isRedactValue = (v: unknown) => typeof v === 'string' && v.length >= MIN_REDACT_VALUE;

/** The keys of {@link TraceOptions}: any other key in a run's options is a mistake. */
export const KNOWN_OPTIONS: Record<keyof TraceOptions, true> = {
  meta: true,
  maxEvents: true,
  maxSpans: true,
  maxEntities: true,
  maxMetaKeys: true,
  maxStringLength: true,
  clock: true,
  entityFilter: true,
  redact: true,
  redactValues: true,
  metaLimits: true,
  onEnd: true,
};

/** Checks a run's options (allocates nothing: it runs for every trace). */
function checkOptions(o: TraceOptions): void {
  // a misspelt key (`maxEvent`) would otherwise be no limit at all, silently
  for (const key in o) {
    if (!Object.hasOwn(KNOWN_OPTIONS, key) && Object.hasOwn(o, key)) {
      unknownOption(key, Object.keys(KNOWN_OPTIONS));
    }
  }
  if (o.maxEvents !== undefined && !count(o.maxEvents))
    bad('maxEvents', 'a non-negative integer or Infinity');
  if (o.maxSpans !== undefined && !count(o.maxSpans)) bad('maxSpans', 'a non-negative integer or Infinity');
  if (o.maxEntities !== undefined && !count(o.maxEntities))
    bad('maxEntities', 'a non-negative integer or Infinity');
  if (o.maxMetaKeys !== undefined && !count(o.maxMetaKeys))
    bad('maxMetaKeys', 'a non-negative integer or Infinity');
  if (o.maxStringLength !== undefined && !(count(o.maxStringLength) && o.maxStringLength > 0))
    bad('maxStringLength', 'a positive integer or Infinity');
  if (o.clock !== undefined && typeof o.clock !== 'function')
    bad('clock', 'a function returning epoch milliseconds');
  if (o.entityFilter !== undefined && typeof o.entityFilter !== 'function') bad('entityFilter', 'a function');
  if (o.onEnd !== undefined && typeof o.onEnd !== 'function') bad('onEnd', 'a function');
  if (o.redact !== undefined && o.redact !== false && !Array.isArray(o.redact))
    bad('redact', 'an array of strings/RegExps or false');
  if (o.meta !== undefined && (o.meta === null || typeof o.meta !== 'object')) bad('meta', 'an object');
  if (o.redactValues !== undefined && !(Array.isArray(o.redactValues) && o.redactValues.every(isRedactValue)))
    bad('redactValues', `an array of strings of at least ${MIN_REDACT_VALUE} characters`);
}
