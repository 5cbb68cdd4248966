// What the recorder needs to know about a trace to index it, keep it and answer `find` without
// reading it again: its entity ids, request id, when it started, how long it took, whether it
// failed. Read once, when the trace is added.
import { type EntryRecord, epochMs, isSpanEntry, type TraceRecords } from '../runtime/trace.js';
import type { JsonValue, Trace, TraceEvent } from '../runtime/types.js';

export interface TraceFacts {
  /** Entity ids, in the trace's order. */
  entities: string[];
  /** `meta.request_id`, when it is a string or a number. */
  requestId: string | undefined;
  /** Epoch ms of the earliest instant in the trace (NaN when it has none). */
  start: number;
  /** Duration in ms: `meta.duration_ms` (the adapters' request duration), else the extent of its spans and events. */
  duration: number;
  /** A span failed, the traced function threw, or the response was a server error. */
  error: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request id of a trace's meta, as a string (numbers are accepted, other values are not ids). */
export function requestIdOf(meta: Record<string, JsonValue> | undefined): string | undefined {
  const id = meta?.request_id;
  if (typeof id === 'string') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return undefined;
}

/** HTTP status ≥ 500 in a trace's meta (what the HTTP adapters record as `status`). */
export function serverError(meta: Record<string, JsonValue> | undefined): boolean {
  const status = meta?.status;
  return typeof status === 'number' && status >= 500 && status < 600;
}

/** Reads the facts of a trace in the trace format (any origin: a file, another process, `collect()`). */
export function factsOf(trace: Trace): TraceFacts {
  const meta = isObject(trace.meta) ? (trace.meta as Record<string, JsonValue>) : undefined;
  const entities: string[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  // Timestamps have millisecond precision: most of a trace's are the same text as the one before,
  // and parsing each again cost more than the rest of reading the trace.
  let seen: string | undefined;
  let seenAt = Number.NaN;
  const see = (iso: unknown, plus = 0) => {
    if (typeof iso !== 'string') return;
    if (iso !== seen) {
      seen = iso;
      seenAt = Date.parse(iso);
    }
    const t = seenAt;
    if (Number.isNaN(t)) return;
    if (t < first) first = t;
    if (t + plus > last) last = t + plus;
  };
  const seeEvents = (events: unknown) => {
    if (!Array.isArray(events)) return;
    for (const e of events as TraceEvent[]) if (isObject(e)) see(e.timestamp);
  };
  if (isObject(trace.entities)) {
    for (const key of Object.keys(trace.entities)) {
      const e = (trace.entities as Record<string, unknown>)[key];
      const id = isObject(e) && typeof e.entity_id === 'string' ? e.entity_id : key;
      entities.push(id);
      if (isObject(e)) seeEvents(e.events);
    }
  }
  seeEvents(trace.events);
  let error = serverError(meta);
  if (Array.isArray(trace.spans)) {
    for (const s of trace.spans) {
      if (!isObject(s)) continue;
      if (s.status === 'error') error = true;
      see(s.start, typeof s.duration_ms === 'number' && Number.isFinite(s.duration_ms) ? s.duration_ms : 0);
      see(s.end);
    }
  }
  const start = Number.isFinite(first) ? first : Number.NaN;
  const given = meta?.duration_ms;
  const duration =
    typeof given === 'number' && Number.isFinite(given)
      ? given
      : Number.isFinite(first) && Number.isFinite(last)
        ? last - first
        : 0;
  return { entities, requestId: requestIdOf(meta), start, duration, error };
}

/** The facts of an ended trace, read from its records (an ended `RecorderTrace`). */
export function recordsFacts(t: TraceRecords): TraceFacts {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let error = t.failed || serverError(t.meta);
  for (const s of t.spans) {
    if (s.start < first) first = s.start;
    if (s.end >= 0 && s.end > last) last = s.end;
    if (s.status === 2) error = true;
  }
  lo = first;
  hi = last;
  scanEvents(t.events);
  for (const e of t.entities.values()) scanEvents(e.events);
  first = lo;
  last = hi;
  const given = t.meta.duration_ms;
  return {
    entities: [...t.entities.keys()],
    requestId: requestIdOf(t.meta),
    start: Number.isFinite(first) ? epochMs(t, first) : Number.NaN,
    duration:
      typeof given === 'number' && Number.isFinite(given)
        ? given
        : Number.isFinite(first) && Number.isFinite(last)
          ? last - first
          : 0,
    error,
  };
}

// The earliest and latest event times seen by `scanEvents` (module state: facts are read synchronously).
let lo = 0;
let hi = 0;

/** Widens [lo, hi] to the events of `list`, in one pass. A span's entries are at its start and end: read from the spans, not here. */
function scanEvents(list: readonly EntryRecord[]): void {
  for (const e of list) {
    if (isSpanEntry(e)) continue;
    const t = e.t;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
}
