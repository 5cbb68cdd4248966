// Traces handed over by the runtime in its own compact form (an ended `RecorderTrace`: numbers,
// shared strings, snapshotted meta; no ISO strings, no JSON shape), kept as they are and turned
// into the trace format only when someone reads them (find, a dump).
import {
  type Entity,
  type EventEntry,
  isSpanEntry,
  listHasEvent,
  type RecorderTrace,
} from '../runtime/trace.js';
import type { JsonValue, Trace } from '../runtime/types.js';
import { requestIdOf, serverError, type TraceFacts } from './facts.js';
import { type Payload, stringBytes } from './store.js';

// Heap bytes per record of the compact form (Node 24, x64, no pointer compression; rounded up).
// A trace: the RecorderTrace with its arrays, map and cursor.
const TRACE_BYTES = 512;
// An event: the object, its boxed time, its array slot.
const EVENT_BYTES = 88;
// A span: the object, boxed start and end, its array slot.
const SPAN_BYTES = 216;
// A span's two entries in an event list (its `entered` and `exited` events).
const SPAN_ENTRIES_BYTES = 16;
// An entity: the object, its events array and meta object, its map entry.
const ENTITY_BYTES = 200;
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
const nameBytes = (s: string) => s.length;

function eventsBytes(list: EventEntry[]): number {
  let n = 0;
  for (const e of list) {
    // a span's entries are counted with the span
    if (isSpanEntry(e)) continue;
    n += EVENT_BYTES + nameBytes(e.stage) + nameBytes(e.action);
    if (e.meta !== undefined) n += jsonBytes(e.meta);
  }
  return n;
}

/** What an ended trace holds on the heap (an upper bound: shared strings are counted as its own). */
export function compactBytes(t: RecorderTrace): number {
  let n = TRACE_BYTES + jsonBytes(t.meta) + eventsBytes(t.events);
  for (const e of t.entities.values())
    n += ENTITY_BYTES + stringBytes(e.id) + jsonBytes(e.meta) + eventsBytes(e.events);
  for (const s of t.spans) {
    n += SPAN_BYTES + SPAN_ENTRIES_BYTES + nameBytes(s.name);
    if (s.enterMeta !== undefined) n += jsonBytes(s.enterMeta);
    if (s.location !== undefined) n += nameBytes(s.location);
    if (s.error !== undefined) n += stringBytes(s.error);
  }
  return n;
}

/** The facts of an ended trace, read from its compact form. */
export function compactFacts(t: RecorderTrace): TraceFacts {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let error = t.failed || serverError(t.meta);
  for (const s of t.spans) {
    if (s.start < first) first = s.start;
    if (s.end >= 0 && s.end > last) last = s.end;
    if (s.status === 2) error = true;
  }
  const see = (list: EventEntry[]) => {
    for (const e of list) {
      // a span's entries are at its start and end, seen above
      if (isSpanEntry(e)) continue;
      if (e.t < first) first = e.t;
      if (e.t > last) last = e.t;
    }
  };
  see(t.events);
  for (const e of t.entities.values()) see(e.events);
  const given = t.meta.duration_ms;
  return {
    entities: [...t.entities.keys()],
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

/** An ended trace held in its compact form. */
export class CompactPayload implements Payload {
  readonly bytes: number;
  readonly #trace: RecorderTrace;
  constructor(trace: RecorderTrace) {
    this.#trace = trace;
    this.bytes = compactBytes(trace);
  }
  trace(): Trace {
    return this.#trace.toJSON();
  }
  json(): string {
    return JSON.stringify(this.#trace.toJSON());
  }
  hasEvent(entity: string | undefined, stage: string | undefined, action: string | undefined): boolean {
    const t = this.#trace;
    if (entity !== undefined) {
      const e: Entity | undefined = t.entities.get(entity);
      return e !== undefined && listHasEvent(e.events, stage, action);
    }
    if (listHasEvent(t.events, stage, action)) return true;
    for (const e of t.entities.values()) if (listHasEvent(e.events, stage, action)) return true;
    return false;
  }
}
