// Traces handed over by the runtime in its own compact form (an ended `RecorderTrace`), packed
// when they are added into two flat arrays, and turned into the trace format only when someone
// reads them (find, a dump).
//
// Why packed: a recorder holds tens of thousands of traces, and every object it holds is one the
// garbage collector copies out of the young generation and marks on every major collection. An
// ended `RecorderTrace` is a graph of a few dozen objects (events, spans, their boxed times,
// cursors, the map of entities); packed, it is one array of numbers (unboxed doubles: nothing
// in it for the collector to visit) and one array of references (names, ids, snapshotted meta).
import { type Entity, type Ev, EXIT_META, type RecorderTrace, type Span } from '../runtime/trace.js';
import type { JsonValue, Trace } from '../runtime/types.js';
import { requestIdOf, serverError, type TraceFacts } from './facts.js';
import { type Payload, stringBytes } from './store.js';

// `num` layout: a header, then 5 numbers per span, 2 per entity, 3 per event (the unscoped events
// first, then each entity's, in the order of the entities). `refs`: the trace's meta, then 4
// references per span, 3 per entity, 3 per event.
const H_WALL0 = 0;
const H_PERF0 = 1;
const H_CLOCKED = 2;
const H_FAILED = 3;
const H_DROPPED = 4;
const H_DROPPED_SPANS = 5;
const H_DROPPED_ENTITIES = 6;
const H_SPANS = 7;
const H_ENTITIES = 8;
const H_EVENTS = 9;
const HEADER = 10;
const SPAN_NUMS = 5; // seq, start, end, status, parent seq (0: none)
const ENTITY_NUMS = 2; // dropped meta keys, number of events
const EVENT_NUMS = 3; // time, span seq (0: none), dropped meta keys
const SPAN_REFS = 4; // name, location, error, entity id
const ENTITY_REFS = 3; // id, kind, meta
const EVENT_REFS = 3; // stage, action, meta

const ST_ERROR = 2;

// Heap bytes besides the arrays' slots (Node 24, x64, no pointer compression; rounded up): the
// payload object, the two arrays and their backing stores' headers.
const PACKED_BYTES = 160;
const SLOT_BYTES = 8;
const NUMBER_BYTES = 16;
const OBJECT_BYTES = 56;
const PROPERTY_BYTES = 24;

/** Heap bytes of a snapshotted meta value. */
function jsonBytes(v: JsonValue | undefined): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 8;
  if (typeof v === 'number') return NUMBER_BYTES;
  if (typeof v === 'string') return stringBytes(v);
  if (Array.isArray(v)) {
    let n = OBJECT_BYTES;
    for (const x of v) n += 8 + jsonBytes(x);
    return n;
  }
  let n = OBJECT_BYTES;
  for (const k of Object.keys(v)) n += PROPERTY_BYTES + stringBytes(k) + jsonBytes(v[k]);
  return n;
}

/**
 * Names, stages and actions are mostly the program's own constants (build-time literals), shared
 * by every trace: counted at a byte a character, which covers the ones made per request too,
 * within the recorder's factor of two.
 */
const nameBytes = (s: string | undefined) => (s === undefined ? 0 : s.length);

const matches = (
  refs: readonly unknown[],
  from: number,
  to: number,
  stage: string | undefined,
  action: string | undefined,
): boolean => {
  for (let r = from; r < to; r += EVENT_REFS) {
    if ((stage === undefined || refs[r] === stage) && (action === undefined || refs[r + 1] === action))
      return true;
  }
  return false;
};

/** An ended trace, packed. `facts` are read in the same pass. */
export class CompactPayload implements Payload {
  readonly bytes: number;
  readonly facts: TraceFacts;
  // The ended trace's prototype: its own `toJSON` (a trace may come from another copy of the runtime).
  readonly #proto: object;
  readonly #num: number[];
  readonly #refs: unknown[];

  constructor(t: RecorderTrace) {
    const spans = t.spans;
    const entityCount = t.entities.size;
    let events = t.events.length;
    for (const e of t.entities.values()) events += e.events.length;
    const num = new Array<number>(
      HEADER + SPAN_NUMS * spans.length + ENTITY_NUMS * entityCount + EVENT_NUMS * events,
    );
    const refs = new Array<unknown>(
      1 + SPAN_REFS * spans.length + ENTITY_REFS * entityCount + EVENT_REFS * events,
    );
    num[H_WALL0] = t.wall0;
    num[H_PERF0] = t.perf0;
    num[H_CLOCKED] = t.clocked ? 1 : 0;
    num[H_FAILED] = t.failed ? 1 : 0;
    num[H_DROPPED] = t.dropped;
    num[H_DROPPED_SPANS] = t.droppedSpans;
    num[H_DROPPED_ENTITIES] = t.droppedEntities;
    num[H_SPANS] = spans.length;
    num[H_ENTITIES] = entityCount;
    num[H_EVENTS] = t.events.length;
    refs[0] = t.meta;
    let bytes = PACKED_BYTES + SLOT_BYTES * (num.length + refs.length) + jsonBytes(t.meta);
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let error = t.failed || serverError(t.meta);
    let n = HEADER;
    let r = 1;
    for (const s of spans) {
      num[n] = s.seq;
      num[n + 1] = s.start;
      num[n + 2] = s.end;
      num[n + 3] = s.status;
      num[n + 4] = s.parent === undefined ? 0 : s.parent.seq;
      n += SPAN_NUMS;
      refs[r] = s.name;
      refs[r + 1] = s.location;
      refs[r + 2] = s.error;
      refs[r + 3] = s.entity?.id;
      r += SPAN_REFS;
      bytes += nameBytes(s.name) + nameBytes(s.location);
      if (s.error !== undefined) bytes += stringBytes(s.error);
      if (s.start < first) first = s.start;
      if (s.end >= 0 && s.end > last) last = s.end;
      if (s.status === ST_ERROR) error = true;
    }
    const ids = new Array<string>(entityCount);
    let i = 0;
    for (const e of t.entities.values()) {
      ids[i++] = e.id;
      num[n] = e.droppedKeys;
      num[n + 1] = e.events.length;
      n += ENTITY_NUMS;
      refs[r] = e.id;
      refs[r + 1] = e.kind;
      refs[r + 2] = e.meta;
      r += ENTITY_REFS;
      bytes += stringBytes(e.id) + nameBytes(e.kind) + jsonBytes(e.meta);
    }
    // the unscoped events, then each entity's
    for (
      let list: Ev[] | undefined = t.events, it = t.entities.values();
      list !== undefined;
      list = it.next().value?.events
    ) {
      for (const e of list) {
        num[n] = e.t;
        num[n + 1] = e.span === undefined ? 0 : e.span.seq;
        num[n + 2] = e.droppedKeys;
        n += EVENT_NUMS;
        refs[r] = e.stage;
        refs[r + 1] = e.action;
        refs[r + 2] = e.meta;
        r += EVENT_REFS;
        bytes += nameBytes(e.stage) + nameBytes(e.action);
        // An `exited` event's meta is one shared constant, made into `{ duration_ms }` when read.
        if (e.meta !== undefined && e.meta !== EXIT_META) bytes += jsonBytes(e.meta);
        if (e.t < first) first = e.t;
        if (e.t > last) last = e.t;
      }
    }
    this.#proto = Object.getPrototypeOf(t) as object;
    this.#num = num;
    this.#refs = refs;
    this.bytes = bytes;
    const given = t.meta.duration_ms;
    this.facts = {
      entities: ids,
      requestId: requestIdOf(t.meta),
      start: Number.isFinite(first) ? t.epochMs(first) : Number.NaN,
      duration:
        typeof given === 'number' && Number.isFinite(given)
          ? given
          : Number.isFinite(first) && Number.isFinite(last)
            ? last - first
            : 0,
      error,
    };
  }

  /** The trace rebuilt as the runtime held it when it ended, collected by the runtime's own `toJSON`. */
  trace(): Trace {
    const num = this.#num;
    const refs = this.#refs;
    const spanCount = num[H_SPANS]!;
    const entityCount = num[H_ENTITIES]!;
    const t = Object.create(this.#proto) as RecorderTrace & Record<string, unknown>;
    const entities = new Map<string, Entity>();
    const bySeq: Span[] = [];
    const spans: Span[] = new Array(spanCount);
    let n = HEADER;
    let r = 1;
    for (let i = 0; i < spanCount; i++) {
      const parent = num[n + 4]!;
      const seq = num[n]!;
      const span = {
        seq,
        id: String(seq),
        start: num[n + 1]!,
        end: num[n + 2]!,
        status: num[n + 3]!,
        parent: parent === 0 ? undefined : bySeq[parent],
        name: refs[r],
        location: refs[r + 1],
        error: refs[r + 2],
        entity: refs[r + 3], // the id for now: the entity is made below
      } as unknown as Span;
      bySeq[span.seq] = span;
      spans[i] = span;
      n += SPAN_NUMS;
      r += SPAN_REFS;
    }
    const eventCounts: number[] = new Array(entityCount);
    for (let i = 0; i < entityCount; i++) {
      const id = refs[r] as string;
      entities.set(id, {
        id,
        kind: refs[r + 1] as string | undefined,
        meta: refs[r + 2] as Record<string, JsonValue>,
        keys: 0,
        droppedKeys: num[n]!,
        events: [],
      });
      eventCounts[i] = num[n + 1]!;
      n += ENTITY_NUMS;
      r += ENTITY_REFS;
    }
    for (const s of spans) {
      const id = s.entity as unknown as string | undefined;
      (s as { entity: Entity | undefined }).entity = id === undefined ? undefined : entities.get(id);
    }
    const unpack = (count: number): Ev[] => {
      const list: Ev[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const span = num[n + 1]!;
        list[i] = {
          t: num[n]!,
          span: span === 0 ? undefined : bySeq[span],
          droppedKeys: num[n + 2]!,
          stage: refs[r] as string,
          action: refs[r + 1] as string,
          meta: refs[r + 2] as Record<string, JsonValue> | undefined,
        };
        n += EVENT_NUMS;
        r += EVENT_REFS;
      }
      return list;
    };
    const events = unpack(num[H_EVENTS]!);
    let i = 0;
    for (const e of entities.values()) e.events = unpack(eventCounts[i++]!);
    Object.assign(t, {
      ended: true,
      failed: num[H_FAILED] === 1,
      meta: refs[0],
      events,
      entities,
      spans,
      dropped: num[H_DROPPED],
      droppedSpans: num[H_DROPPED_SPANS],
      droppedEntities: num[H_DROPPED_ENTITIES],
      clocked: num[H_CLOCKED] === 1,
      wall0: num[H_WALL0],
      perf0: num[H_PERF0],
    });
    return t.toJSON();
  }

  json(): string {
    return JSON.stringify(this.trace());
  }

  hasEvent(entity: string | undefined, stage: string | undefined, action: string | undefined): boolean {
    const num = this.#num;
    const refs = this.#refs;
    const entityCount = num[H_ENTITIES]!;
    const entityRefs = 1 + SPAN_REFS * num[H_SPANS]!;
    const entityNums = HEADER + SPAN_NUMS * num[H_SPANS]!;
    // the unscoped events come right after the entities
    let from = entityRefs + ENTITY_REFS * entityCount;
    let to = from + EVENT_REFS * num[H_EVENTS]!;
    if (entity === undefined && matches(refs, from, to, stage, action)) return true;
    for (let i = 0; i < entityCount; i++) {
      from = to;
      to = from + EVENT_REFS * num[entityNums + ENTITY_NUMS * i + 1]!;
      if (entity === undefined) {
        if (matches(refs, from, to, stage, action)) return true;
      } else if (refs[entityRefs + ENTITY_REFS * i] === entity) return matches(refs, from, to, stage, action);
    }
    return false;
  }
}
