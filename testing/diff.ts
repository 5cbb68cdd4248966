/**
 * Where two journeys part: `diffTraces(a, b)` aligns two traces' span trees by name path and each
 * pair of entities' journeys event by event, and lists what differs, structured (docs/DIFF.md).
 *
 * @example
 * const diff = diffTraces(accepted, rejected, { entities: ['order_1', 'order_2'] });
 * if (!diff.equal) console.log(formatTraceDiff(diff, { color: true }));
 */

import { spanChildren } from '../runtime/render.js';
import type { JsonValue, Trace, TraceEntity, TraceEvent, TraceSpan } from '../runtime/types.js';
import { align } from './align.js';
import { optionError, rejectUnknown } from './option-error.js';
import { asTrace, type TraceLike } from './trace-like.js';

/** What an `ignore` predicate is asked about: a meta key, an event or a span, of trace `a` or `b`. */
export type DiffItem =
  | {
      readonly kind: 'meta';
      readonly side: 'a' | 'b';
      readonly key: string;
      readonly value: JsonValue;
      /** The entity whose meta (or whose event's meta) this is; undefined for an unscoped event. */
      readonly entity: string | undefined;
      /** The event whose meta this is; undefined for an entity's own meta. */
      readonly event: TraceEvent | undefined;
    }
  | {
      readonly kind: 'event';
      readonly side: 'a' | 'b';
      readonly event: TraceEvent;
      readonly entity: string | undefined;
    }
  | { readonly kind: 'span'; readonly side: 'a' | 'b'; readonly span: TraceSpan };

export interface DiffOptions {
  /**
   * Compares entity `idA` of trace `a` with entity `idB` of trace `b` (order_1 accepted, order_2
   * rejected), and only them; a string meta value equal to `idA` in `a` and to `idB` in `b` counts
   * as the same. The span trees compared are then those of the spans opened for each entity,
   * everything under them included, when either trace has such spans; otherwise the whole trees.
   * Default: entities pair by id.
   */
  entities?: readonly [idA: string, idB: string];
  /**
   * What does not count: meta keys (of events and entities; a string matches a key exactly,
   * ignoring case, a regular expression is tested against it), or a predicate that is asked about
   * every meta key, event and span of both traces (an ignored span is left out with everything
   * under it).
   */
  ignore?: ReadonlyArray<string | RegExp> | ((item: DiffItem) => boolean);
  /**
   * Durations count too: a paired span is changed when it took more than `slowerBy` times as long
   * in `b` as in `a` (e.g. 2: twice as long). Default: durations are ignored.
   */
  durations?: { readonly slowerBy: number };
  /** Compare the `entered`/`exited` events of journeys as well (default false: the span trees hold them). */
  spanEvents?: boolean;
}

/** How an aligned item compares: the same in both, changed, only in `a` (removed) or only in `b` (added). */
export type DiffOp = 'same' | 'changed' | 'removed' | 'added';

/** One difference within a paired item. `a`/`b` absent: the field or meta key is missing on that side. */
export type FieldChange =
  | {
      readonly field: 'action' | 'status' | 'error' | 'entity' | 'kind';
      readonly a: string | undefined;
      readonly b: string | undefined;
    }
  | { readonly field: 'duration'; readonly a: number; readonly b: number }
  | {
      readonly field: 'meta';
      readonly key: string;
      readonly a: JsonValue | undefined;
      readonly b: JsonValue | undefined;
    };

/** A node of the aligned span forest. A removed or added span lists its subtree, all removed or added. */
export interface SpanDiff {
  readonly op: DiffOp;
  readonly a: TraceSpan | undefined;
  readonly b: TraceSpan | undefined;
  /** Differences of a changed pair (empty otherwise). */
  readonly changes: readonly FieldChange[];
  readonly children: readonly SpanDiff[];
}

/** An event of an aligned journey. */
export interface EventDiff {
  readonly op: DiffOp;
  readonly a: TraceEvent | undefined;
  readonly b: TraceEvent | undefined;
  /** Differences of a changed pair: its action, its meta keys. */
  readonly changes: readonly FieldChange[];
}

/**
 * Two entities' journeys aligned (or one entity's, when it is in one trace only). `entity` holds
 * the ids in `a` and in `b`; both undefined for the events recorded without an entity.
 */
export interface JourneyDiff {
  readonly op: DiffOp;
  readonly entity: readonly [string | undefined, string | undefined];
  readonly a: TraceEntity | undefined;
  readonly b: TraceEntity | undefined;
  /** Differences of the entities themselves: kind, meta keys. */
  readonly changes: readonly FieldChange[];
  readonly events: readonly EventDiff[];
}

/**
 * One difference, as a list item: a span or an entity only in one trace counts once, whatever it
 * holds. `path` is the span names from the root down to the span (at most 64 of them: a deeper
 * path keeps its first 16 and last 47 names around a `"…"`).
 */
export type TraceChange =
  | { readonly type: 'span-removed'; readonly path: readonly string[]; readonly span: TraceSpan }
  | { readonly type: 'span-added'; readonly path: readonly string[]; readonly span: TraceSpan }
  | {
      readonly type: 'span-changed';
      readonly path: readonly string[];
      readonly a: TraceSpan;
      readonly b: TraceSpan;
      readonly changes: readonly FieldChange[];
    }
  | { readonly type: 'entity-removed'; readonly entity: string }
  | { readonly type: 'entity-added'; readonly entity: string }
  | {
      readonly type: 'entity-changed';
      readonly entity: readonly [string, string];
      readonly changes: readonly FieldChange[];
    }
  | {
      readonly type: 'event-removed';
      readonly entity: readonly [string | undefined, string | undefined];
      readonly event: TraceEvent;
    }
  | {
      readonly type: 'event-added';
      readonly entity: readonly [string | undefined, string | undefined];
      readonly event: TraceEvent;
    }
  | {
      readonly type: 'event-changed';
      readonly entity: readonly [string | undefined, string | undefined];
      readonly a: TraceEvent;
      readonly b: TraceEvent;
      readonly changes: readonly FieldChange[];
    };

/** Counts of one side, for headers. */
export interface TraceSummary {
  readonly meta: Record<string, JsonValue>;
  readonly spans: number;
  readonly events: number;
  /** Events, spans and entities the recorder did not keep (a diff of a cut trace may show differences that are not real). */
  readonly dropped: number;
}

export interface TraceDiff {
  /** Nothing that counts differs. */
  readonly equal: boolean;
  /** Every difference, spans first (tree order), then journeys. */
  readonly changes: readonly TraceChange[];
  /** The aligned span forest. */
  readonly spans: readonly SpanDiff[];
  /** The aligned journeys: entities, then (when either trace has any) the events without an entity. */
  readonly journeys: readonly JourneyDiff[];
  readonly a: TraceSummary;
  readonly b: TraceSummary;
  /** The options' entity pair, when given. */
  readonly entities: readonly [string, string] | undefined;
}

const PAIRED = '\u0000paired-entity';
const MAX_PATH = 64;

/** Turns strings into small integers, so alignments compare numbers. */
class Interner {
  private readonly ids = new Map<string, number>();
  id(s: string): number {
    let n = this.ids.get(s);
    if (n === undefined) this.ids.set(s, (n = this.ids.size));
    return n;
  }
}

interface Node {
  span: TraceSpan;
  children: Node[];
  /** Interned signature of the span and its subtree. */
  sig: number;
  /** Interned signature of the span's own compared fields. */
  own: number;
}

/**
 * Compares two traces: their span trees aligned by name path, and each pair of entities' journeys
 * event by event (stage, action, meta). Ids, timestamps, durations and locations do not count
 * unless asked (`durations`). Throws a TypeError for options it cannot use, or when an entity
 * named in `entities` is not in its trace.
 */
export function diffTraces(a: TraceLike, b: TraceLike, options: DiffOptions = {}): TraceDiff {
  const ta = asTrace(a);
  const tb = asTrace(b);
  for (const [name, t] of [
    ['a', ta],
    ['b', tb],
  ] as const) {
    if (!looksLikeTrace(t)) {
      const got = t === null ? 'null' : Array.isArray(t) ? 'an array' : typeof t;
      const error = new TypeError(
        `stepmark: diffTraces: trace ${name} is not a trace (${got === 'object' ? 'no "entities", "events" or "spans"' : got})`,
      );
      throw Object.assign(error, { code: 'ERR_STEPMARK_INVALID_ARGUMENT' });
    }
  }
  const pair = checkOptions(options, ta, tb);
  const ctx = new DiffContext(options, pair);
  const spans = ctx.diffSpans(ta, tb);
  const journeys = ctx.diffJourneys(ta, tb);
  const changes: TraceChange[] = [];
  collectSpanChanges(spans, changes);
  for (const j of journeys) collectJourneyChanges(j, changes);
  return {
    equal: changes.length === 0,
    changes,
    spans,
    journeys,
    a: summary(ta),
    b: summary(tb),
    entities: pair,
  };
}

/** A trace object: one of the three parts is there (Go Stepmark's traces have no `spans`). */
function looksLikeTrace(t: unknown): boolean {
  return (
    t !== null &&
    typeof t === 'object' &&
    !Array.isArray(t) &&
    ('entities' in t || 'events' in t || 'spans' in t)
  );
}

const OPTIONS = ['entities', 'ignore', 'durations', 'spanEvents'];
const WHERE = 'stepmark: diffTraces';
const invalid = (option: string, message: string): never => optionError(WHERE, option, message);

function checkOptions(options: DiffOptions, a: Trace, b: Trace): [string, string] | undefined {
  if (options === null || typeof options !== 'object') invalid('options', 'options must be an object');
  rejectUnknown(WHERE, options, OPTIONS);
  const { entities, ignore, durations, spanEvents } = options;
  if (ignore !== undefined && typeof ignore !== 'function') {
    if (!Array.isArray(ignore) || !ignore.every((k) => typeof k === 'string' || k instanceof RegExp))
      invalid('ignore', '`ignore` must be an array of meta keys (strings or RegExps) or a function');
  }
  if (durations !== undefined) {
    if (durations !== null && typeof durations === 'object')
      rejectUnknown(WHERE, durations, ['slowerBy'], 'durations.');
    const r = durations?.slowerBy;
    if (typeof r !== 'number' || !(r >= 1) || !Number.isFinite(r))
      invalid(
        'durations.slowerBy',
        '`durations.slowerBy` must be a finite number ≥ 1 (e.g. 2: twice as long)',
      );
  }
  if (spanEvents !== undefined && typeof spanEvents !== 'boolean')
    invalid('spanEvents', '`spanEvents` must be true or false');
  if (entities === undefined) return undefined;
  if (!Array.isArray(entities) || entities.length !== 2 || !entities.every((e) => typeof e === 'string'))
    invalid('entities', '`entities` must be a pair of entity ids, [idA, idB]');
  const [idA, idB] = entities as [string, string];
  if (!hasEntity(a, idA)) invalid('entities', `trace a has no entity ${JSON.stringify(idA)}`);
  if (!hasEntity(b, idB)) invalid('entities', `trace b has no entity ${JSON.stringify(idB)}`);
  return [idA, idB];
}

function hasEntity(t: Trace, id: string): boolean {
  return !!t.entities && typeof t.entities === 'object' && Object.hasOwn(t.entities, id);
}

function summary(t: Trace): TraceSummary {
  let events = Array.isArray(t.events) ? t.events.length : 0;
  for (const e of entityList(t)) events += Array.isArray(e[1].events) ? e[1].events.length : 0;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const x = t as Trace & { dropped_entities?: number };
  return {
    meta: t.meta && typeof t.meta === 'object' ? t.meta : {},
    spans: Array.isArray(t.spans) ? t.spans.length : 0,
    events,
    dropped: n(t.dropped) + n(t.dropped_spans) + n(x.dropped_entities),
  };
}

function entityList(t: Trace): [string, TraceEntity][] {
  if (!t.entities || typeof t.entities !== 'object') return [];
  return Object.keys(t.entities)
    .map((id) => [id, t.entities[id]!] as [string, TraceEntity])
    .filter(([, e]) => e !== null && typeof e === 'object');
}

const isSpanEvent = (ev: TraceEvent) => ev.action === 'entered' || ev.action === 'exited';

class DiffContext {
  private readonly names = new Interner();
  /** Signatures of a span's own compared fields, and of a span with its subtree. */
  private readonly owns = new Interner();
  private readonly sigs = new Interner();
  private readonly ignoreKey: (key: string) => boolean;
  private readonly predicate: ((item: DiffItem) => boolean) | undefined;

  constructor(
    private readonly options: DiffOptions,
    private readonly pair: [string, string] | undefined,
  ) {
    const ignore = options.ignore;
    if (typeof ignore === 'function') {
      this.predicate = ignore;
      this.ignoreKey = () => false;
    } else {
      const exact = new Set((ignore ?? []).filter((k) => typeof k === 'string').map((k) => k.toLowerCase()));
      const patterns = (ignore ?? []).filter((k): k is RegExp => k instanceof RegExp);
      this.ignoreKey = (key) =>
        exact.has(key.toLowerCase()) ||
        patterns.some((p) => {
          p.lastIndex = 0;
          return p.test(key);
        });
    }
  }

  private ignored(item: DiffItem): boolean {
    if (item.kind === 'meta' && this.ignoreKey(item.key)) return true;
    return this.predicate !== undefined && this.predicate(item) === true;
  }

  /** An entity id as compared: the paired ids read the same. */
  private entityKey(id: string | undefined, side: 'a' | 'b'): string | undefined {
    if (id === undefined || this.pair === undefined) return id;
    return id === this.pair[side === 'a' ? 0 : 1] ? PAIRED : id;
  }

  // ---- spans ----------------------------------------------------------------------------

  diffSpans(ta: Trace, tb: Trace): SpanDiff[] {
    let scopeA: string | undefined;
    let scopeB: string | undefined;
    if (this.pair !== undefined) {
      const opened = (t: Trace, id: string) =>
        Array.isArray(t.spans) && t.spans.some((s) => s?.entity_id === id);
      if (opened(ta, this.pair[0]) || opened(tb, this.pair[1])) [scopeA, scopeB] = this.pair;
    }
    const fa = this.forest(ta, 'a', scopeA);
    const fb = this.forest(tb, 'b', scopeB);
    const out: SpanDiff[] = [];
    // Pairs of sibling lists still to align, and where their nodes go. Iterative: instrumented
    // recursive code makes chains thousands of spans deep.
    const work: { as: Node[]; bs: Node[]; into: SpanDiff[] }[] = [{ as: fa, bs: fb, into: out }];
    for (let w = work.pop(); w !== undefined; w = work.pop()) {
      const { as, bs, into } = w;
      const steps = align(
        as.map((n) => this.names.id(n.span.name)),
        bs.map((n) => this.names.id(n.span.name)),
        (i, j) => (as[i]!.sig === bs[j]!.sig ? 2 : as[i]!.own === bs[j]!.own ? 1 : 0),
      );
      for (const [i, j] of steps) {
        if (i !== undefined && j !== undefined) {
          const na = as[i]!;
          const nb = bs[j]!;
          const changes = this.spanChanges(na.span, nb.span);
          const children: SpanDiff[] = [];
          into.push({ op: changes.length ? 'changed' : 'same', a: na.span, b: nb.span, changes, children });
          if (na.children.length || nb.children.length)
            work.push({ as: na.children, bs: nb.children, into: children });
        } else if (i !== undefined) into.push(oneSided(as[i]!, 'removed'));
        else into.push(oneSided(bs[j!]!, 'added'));
      }
    }
    return out;
  }

  private spanChanges(a: TraceSpan, b: TraceSpan): FieldChange[] {
    const changes: FieldChange[] = [];
    const sa = a.status ?? 'ok';
    const sb = b.status ?? 'ok';
    if (sa !== sb) changes.push({ field: 'status', a: sa, b: sb });
    else if (sa === 'error' && (a.error ?? '') !== (b.error ?? ''))
      changes.push({ field: 'error', a: a.error, b: b.error });
    if (this.entityKey(a.entity_id, 'a') !== this.entityKey(b.entity_id, 'b'))
      changes.push({ field: 'entity', a: a.entity_id, b: b.entity_id });
    const ratio = this.options.durations?.slowerBy;
    if (
      ratio !== undefined &&
      typeof a.duration_ms === 'number' &&
      typeof b.duration_ms === 'number' &&
      b.duration_ms > a.duration_ms * ratio
    )
      changes.push({ field: 'duration', a: a.duration_ms, b: b.duration_ms });
    return changes;
  }

  /**
   * The span forest of a trace: children in start order, a span whose parent is missing is a
   * root, spans in a parent cycle become roots. With `scope`, the outermost spans opened for that
   * entity are the roots. Ignored spans are left out with their subtrees.
   */
  private forest(t: Trace, side: 'a' | 'b', scope: string | undefined): Node[] {
    const spans = (Array.isArray(t.spans) ? t.spans : []).filter(
      (s) => s !== null && typeof s === 'object' && typeof s.name === 'string',
    );
    const kids = spanChildren(spans);
    // Roots in tree order: spans without a (known) parent, then any caught in a parent cycle.
    const tops: TraceSpan[] = [];
    const reached = new Set<TraceSpan>();
    const reach = (root: TraceSpan) => {
      tops.push(root);
      const stack = [root];
      for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
        if (reached.has(s)) continue;
        reached.add(s);
        stack.push(...(kids.get(s.span_id) ?? []));
      }
    };
    for (const s of kids.get(undefined) ?? []) reach(s);
    for (const s of spans) if (!reached.has(s)) reach(s);
    const skip = (s: TraceSpan) => this.ignored({ kind: 'span', side, span: s });
    let starts = tops;
    if (scope !== undefined) {
      // The outermost spans opened for the entity, in tree order.
      starts = [];
      const seen = new Set<TraceSpan>();
      const stack = [...tops].reverse();
      for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
        if (seen.has(s) || skip(s)) continue;
        seen.add(s);
        if (s.entity_id === scope) starts.push(s);
        else {
          const list = kids.get(s.span_id) ?? [];
          for (let i = list.length - 1; i >= 0; i--) stack.push(list[i]!);
        }
      }
    }
    const built = new Set<TraceSpan>();
    const order: Node[] = []; // parents before children: reversed, children come first
    const node = (s: TraceSpan): Node => {
      const n: Node = { span: s, children: [], sig: 0, own: 0 };
      built.add(s);
      order.push(n);
      return n;
    };
    const roots: Node[] = [];
    for (const root of starts) {
      if (built.has(root) || skip(root)) continue;
      const top = node(root);
      roots.push(top);
      const stack = [top];
      for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
        for (const k of kids.get(n.span.span_id) ?? []) {
          if (built.has(k) || skip(k)) continue;
          const child = node(k);
          n.children.push(child);
          stack.push(child);
        }
      }
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i]!;
      const s = n.span;
      const own = `${s.name}\u0000${s.status ?? 'ok'}\u0000${s.status === 'error' ? (s.error ?? '') : ''}\u0000${this.entityKey(s.entity_id, side) ?? ''}`;
      n.own = this.owns.id(own);
      n.sig = this.sigs.id(`${n.own}:${n.children.map((c) => c.sig).join(',')}`);
    }
    return roots;
  }

  // ---- journeys -------------------------------------------------------------------------

  diffJourneys(ta: Trace, tb: Trace): JourneyDiff[] {
    const out: JourneyDiff[] = [];
    const ea = new Map(entityList(ta));
    const eb = new Map(entityList(tb));
    if (this.pair !== undefined) {
      out.push(this.journey(this.pair[0], ea.get(this.pair[0]), this.pair[1], eb.get(this.pair[1])));
    } else {
      for (const [id, e] of ea) out.push(this.journey(id, e, eb.has(id) ? id : undefined, eb.get(id)));
      for (const [id, e] of eb) if (!ea.has(id)) out.push(this.journey(undefined, undefined, id, e));
    }
    const looseA = Array.isArray(ta.events) ? ta.events : [];
    const looseB = Array.isArray(tb.events) ? tb.events : [];
    const events = this.diffEvents(this.keep(looseA, 'a', undefined), this.keep(looseB, 'b', undefined));
    if (events.length > 0) {
      const op = events.every((e) => e.op === 'same') ? 'same' : 'changed';
      out.push({ op, entity: [undefined, undefined], a: undefined, b: undefined, changes: [], events });
    }
    return out;
  }

  private journey(
    idA: string | undefined,
    a: TraceEntity | undefined,
    idB: string | undefined,
    b: TraceEntity | undefined,
  ): JourneyDiff {
    const evA = a ? this.keep(a.events, 'a', idA) : [];
    const evB = b ? this.keep(b.events, 'b', idB) : [];
    if (!a || !b) {
      const op = a ? 'removed' : 'added';
      const events = (a ? evA : evB).map(
        (e): EventDiff => ({ op, a: a ? e : undefined, b: a ? undefined : e, changes: [] }),
      );
      return { op, entity: [idA, idB], a, b, changes: [], events };
    }
    const changes: FieldChange[] = [];
    if ((a.kind ?? undefined) !== (b.kind ?? undefined))
      changes.push({ field: 'kind', a: a.kind, b: b.kind });
    changes.push(...this.metaChanges(a.meta, b.meta, idA, idB, undefined, undefined));
    const events = this.diffEvents(evA, evB, idA, idB);
    const op = changes.length === 0 && events.every((e) => e.op === 'same') ? 'same' : 'changed';
    return { op, entity: [idA, idB], a, b, changes, events };
  }

  /** The events of a journey that count. */
  private keep(events: unknown, side: 'a' | 'b', entity: string | undefined): TraceEvent[] {
    if (!Array.isArray(events)) return [];
    return events.filter(
      (ev: TraceEvent) =>
        ev !== null &&
        typeof ev === 'object' &&
        (this.options.spanEvents === true || !isSpanEvent(ev)) &&
        !this.ignored({ kind: 'event', side, event: ev, entity }),
    );
  }

  private diffEvents(as: TraceEvent[], bs: TraceEvent[], idA?: string, idB?: string): EventDiff[] {
    const changesOf = (x: TraceEvent, y: TraceEvent): FieldChange[] => {
      const out: FieldChange[] = [];
      if (x.action !== y.action) out.push({ field: 'action', a: x.action, b: y.action });
      out.push(...this.metaChanges(x.meta, y.meta, idA, idB, x, y));
      return out;
    };
    const steps = align(
      as.map((e) => this.names.id(String(e.stage))),
      bs.map((e) => this.names.id(String(e.stage))),
      (i, j) => {
        const x = as[i]!;
        const y = bs[j]!;
        if (x.action !== y.action) return 0;
        return this.metaChanges(x.meta, y.meta, idA, idB, x, y).length === 0 ? 2 : 1;
      },
    );
    return steps.map(([i, j]): EventDiff => {
      if (i !== undefined && j !== undefined) {
        const changes = changesOf(as[i]!, bs[j]!);
        return { op: changes.length ? 'changed' : 'same', a: as[i], b: bs[j], changes };
      }
      return i !== undefined
        ? { op: 'removed', a: as[i], b: undefined, changes: [] }
        : { op: 'added', a: undefined, b: bs[j!], changes: [] };
    });
  }

  private metaChanges(
    ma: Record<string, JsonValue> | undefined,
    mb: Record<string, JsonValue> | undefined,
    idA: string | undefined,
    idB: string | undefined,
    eventA: TraceEvent | undefined,
    eventB: TraceEvent | undefined,
  ): FieldChange[] {
    const oa = ma !== null && typeof ma === 'object' ? ma : {};
    const ob = mb !== null && typeof mb === 'object' ? mb : {};
    const out: FieldChange[] = [];
    const keys = [...Object.keys(oa), ...Object.keys(ob).filter((k) => !Object.hasOwn(oa, k))];
    for (const key of keys) {
      const hasA = Object.hasOwn(oa, key);
      const hasB = Object.hasOwn(ob, key);
      const va = hasA ? oa[key]! : undefined;
      const vb = hasB ? ob[key]! : undefined;
      if (hasA && this.ignored({ kind: 'meta', side: 'a', key, value: va!, entity: idA, event: eventA }))
        continue;
      if (hasB && this.ignored({ kind: 'meta', side: 'b', key, value: vb!, entity: idB, event: eventB }))
        continue;
      if (hasA && hasB && this.sameValue(va!, vb!, 0)) continue;
      out.push({ field: 'meta', key, a: va, b: vb });
    }
    return out;
  }

  /** Deep equality of JSON values; a string equal to the paired id on each side counts as equal. */
  private sameValue(x: JsonValue, y: JsonValue, depth: number): boolean {
    if (x === y) return true;
    if (typeof x === 'string' && typeof y === 'string')
      return this.pair !== undefined && x === this.pair[0] && y === this.pair[1];
    if (typeof x === 'number' && typeof y === 'number') return Number.isNaN(x) && Number.isNaN(y);
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object' || depth > 200)
      return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      const ya = y as JsonValue[];
      return x.length === ya.length && x.every((v, i) => this.sameValue(v, ya[i]!, depth + 1));
    }
    const xo = x as Record<string, JsonValue>;
    const yo = y as Record<string, JsonValue>;
    const kx = Object.keys(xo);
    if (kx.length !== Object.keys(yo).length) return false;
    return kx.every((k) => Object.hasOwn(yo, k) && this.sameValue(xo[k]!, yo[k]!, depth + 1));
  }
}

/** A span and its subtree, all removed or all added. */
function oneSided(root: Node, op: 'removed' | 'added'): SpanDiff {
  const make = (n: Node): SpanDiff & { children: SpanDiff[] } => ({
    op,
    a: op === 'removed' ? n.span : undefined,
    b: op === 'added' ? n.span : undefined,
    changes: [],
    children: [],
  });
  const top = make(root);
  const stack: [Node, SpanDiff & { children: SpanDiff[] }][] = [[root, top]];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    for (const k of e[0].children) {
      const d = make(k);
      e[1].children.push(d);
      stack.push([k, d]);
    }
  }
  return top;
}

function boundedPath(names: readonly string[]): string[] {
  return names.length <= MAX_PATH
    ? [...names]
    : [...names.slice(0, 16), '…', ...names.slice(-(MAX_PATH - 17))];
}

function collectSpanChanges(roots: readonly SpanDiff[], out: TraceChange[]): void {
  const stack: { d: SpanDiff; depth: number }[] = [];
  const path: string[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ d: roots[i]!, depth: 0 });
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    const { d, depth } = e;
    const span = (d.a ?? d.b)!;
    path.length = depth;
    path.push(span.name);
    if (d.op === 'removed') out.push({ type: 'span-removed', path: boundedPath(path), span });
    else if (d.op === 'added') out.push({ type: 'span-added', path: boundedPath(path), span });
    else {
      if (d.op === 'changed')
        out.push({ type: 'span-changed', path: boundedPath(path), a: d.a!, b: d.b!, changes: d.changes });
      for (let i = d.children.length - 1; i >= 0; i--) stack.push({ d: d.children[i]!, depth: depth + 1 });
    }
  }
}

function collectJourneyChanges(j: JourneyDiff, out: TraceChange[]): void {
  const [idA, idB] = j.entity;
  if (j.op === 'removed' && idA !== undefined) return void out.push({ type: 'entity-removed', entity: idA });
  if (j.op === 'added' && idB !== undefined) return void out.push({ type: 'entity-added', entity: idB });
  if (j.changes.length > 0 && idA !== undefined && idB !== undefined)
    out.push({ type: 'entity-changed', entity: [idA, idB], changes: j.changes });
  for (const e of j.events) {
    if (e.op === 'removed') out.push({ type: 'event-removed', entity: j.entity, event: e.a! });
    else if (e.op === 'added') out.push({ type: 'event-added', entity: j.entity, event: e.b! });
    else if (e.op === 'changed')
      out.push({ type: 'event-changed', entity: j.entity, a: e.a!, b: e.b!, changes: e.changes });
  }
}
