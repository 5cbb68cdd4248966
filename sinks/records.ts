// A trace flattened into one record per span and one per event ("one line per span/step"), in
// time order, each carrying the trace's meta so that lines of one request can be joined again.

import type { JsonValue, Trace, TraceEvent, TraceSpan } from '../runtime/types.js';

export interface SpanRecord {
  type: 'span';
  trace: Record<string, JsonValue>;
  span_id: string;
  parent_id?: string;
  name: string;
  entity_id?: string;
  entity_kind?: string;
  start: string;
  end?: string;
  duration_ms?: number;
  status: TraceSpan['status'];
  error?: string;
  location?: string;
}

export interface EventRecord {
  type: 'event';
  trace: Record<string, JsonValue>;
  stage: string;
  action: string;
  timestamp: string;
  entity_id?: string;
  entity_kind?: string;
  span_id?: string;
  meta?: Record<string, JsonValue>;
}

export type TraceRecord = SpanRecord | EventRecord;

export interface FlattenOptions {
  /**
   * Keep the `entered`/`exited` events that `enter`/`exit` record for Go-format consumers; they
   * repeat what the span records already say. Default false.
   */
  spanEvents?: boolean;
}

/** True for the `entered`/`exited` events that mirror a span. */
export function isSpanMirrorEvent(e: TraceEvent): boolean {
  return e.span_id !== undefined && (e.action === 'entered' || e.action === 'exited');
}

/** One record per span and per event, ordered by start time / timestamp (stable). */
export function flattenTrace(trace: Trace, opts: FlattenOptions = {}): TraceRecord[] {
  const meta = trace.meta ?? {};
  const out: { at: string; seq: number; rec: TraceRecord }[] = [];
  let seq = 0;
  const entities = trace.entities ?? {};
  for (const s of trace.spans ?? []) {
    const rec: SpanRecord = {
      type: 'span',
      trace: meta,
      span_id: s.span_id,
      name: s.name,
      start: s.start,
      status: s.status,
    };
    if (s.parent_id !== undefined) rec.parent_id = s.parent_id;
    if (s.entity_id !== undefined) {
      rec.entity_id = s.entity_id;
      const kind = entities[s.entity_id]?.kind;
      if (kind !== undefined) rec.entity_kind = kind;
    }
    if (s.end !== undefined) rec.end = s.end;
    if (s.duration_ms !== undefined) rec.duration_ms = s.duration_ms;
    if (s.error !== undefined) rec.error = s.error;
    if (s.location !== undefined) rec.location = s.location;
    out.push({ at: s.start, seq: seq++, rec });
  }
  const pushEvent = (e: TraceEvent, entityId: string | undefined, kind: string | undefined) => {
    if (!opts.spanEvents && isSpanMirrorEvent(e)) return;
    const rec: EventRecord = {
      type: 'event',
      trace: meta,
      stage: e.stage,
      action: e.action,
      timestamp: e.timestamp,
    };
    if (entityId !== undefined) rec.entity_id = entityId;
    if (kind !== undefined) rec.entity_kind = kind;
    if (e.span_id !== undefined) rec.span_id = e.span_id;
    if (e.meta !== undefined) rec.meta = e.meta;
    out.push({ at: e.timestamp, seq: seq++, rec });
  };
  for (const ent of Object.values(entities))
    for (const e of ent.events ?? []) pushEvent(e, ent.entity_id, ent.kind);
  for (const e of trace.events ?? []) pushEvent(e, undefined, undefined);
  // ISO-8601 UTC strings of one format sort chronologically as strings.
  out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq));
  return out.map((o) => o.rec);
}
