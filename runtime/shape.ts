// The trace format's shape, for traces that come from anywhere (a file, another process, a trace
// trimmed by hand, Go Stepmark's): what makes a value a trace, and the full shape filled in where
// such a trace leaves parts out. `stepmark view`/`find` and the flight recorder's `add` share it.
import type { JsonValue, Trace, TraceEntity, TraceEvent, TraceSpan } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkEvents(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return `"${path}" is not an array`;
  for (let i = 0; i < value.length; i++) {
    const ev = value[i];
    if (!isObject(ev)) return `${path}[${i}] is not an object`;
    if (typeof ev.stage !== 'string' || typeof ev.action !== 'string') {
      return `${path}[${i}] has no "stage"/"action" strings`;
    }
  }
  return undefined;
}

/** Why `value` is not a trace, or undefined when it is one (Go Stepmark's shape included). */
export function traceProblem(value: unknown): string | undefined {
  if (!isObject(value))
    return `expected a trace object, got ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'null' : typeof value}`;
  if (!('entities' in value) && !('events' in value) && !('spans' in value)) {
    return 'not a stepmark trace (expected an object with "entities", "events" or "spans")';
  }
  if (value.meta !== undefined && !isObject(value.meta)) return '"meta" is not an object';
  if (value.entities !== undefined) {
    if (!isObject(value.entities)) return '"entities" is not an object';
    for (const [id, e] of Object.entries(value.entities)) {
      if (!isObject(e)) return `entities[${JSON.stringify(id)}] is not an object`;
      const bad = checkEvents(e.events, `entities[${JSON.stringify(id)}].events`);
      if (bad) return bad;
    }
  }
  const bad = checkEvents(value.events, 'events');
  if (bad) return bad;
  if (value.spans !== undefined) {
    if (!Array.isArray(value.spans)) return '"spans" is not an array';
    for (let i = 0; i < value.spans.length; i++) {
      const s = value.spans[i];
      if (!isObject(s)) return `spans[${i}] is not an object`;
      if (typeof s.span_id !== 'string' || typeof s.name !== 'string')
        return `spans[${i}] has no "span_id"/"name" strings`;
    }
  }
  return undefined;
}

/** Fills what a Go Stepmark trace (or a hand-trimmed one) leaves out, so renderers see the full shape. */
export function completeTrace(value: Record<string, unknown>): Trace {
  const entities: Record<string, TraceEntity> = {};
  for (const [id, raw] of Object.entries((value.entities as Record<string, Record<string, unknown>>) ?? {})) {
    // An own property even for an entity called "__proto__" (an assignment would set the prototype).
    Object.defineProperty(entities, id, {
      value: {
        ...(raw as object),
        entity_id: typeof raw.entity_id === 'string' ? raw.entity_id : id,
        meta: (isObject(raw.meta) ? raw.meta : {}) as Record<string, JsonValue>,
        events: (raw.events as TraceEvent[]) ?? [],
      },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return {
    ...(value as object),
    meta: (value.meta as Record<string, JsonValue>) ?? {},
    entities,
    events: (value.events as TraceEvent[]) ?? [],
    spans: ((value.spans as TraceSpan[]) ?? []).map((s) => ({ ...s, status: s.status ?? 'ok' })),
    dropped: typeof value.dropped === 'number' ? value.dropped : 0,
  } as Trace;
}
