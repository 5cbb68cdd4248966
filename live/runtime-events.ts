// Live span/step events: an observer on the runtime that publishes, while a trace is still
// running, each span start/end and each recorded event to a bus created with
// `liveEvents: true`. Off unless attached; the runtime pays nothing while no observer is
// registered.
import { checkType, knownOptions } from '../adapters/core/errors.js';
import { addObserver, type SpanView, type TraceView } from '../runtime/observers.js';
import type { JsonValue } from '../runtime/types.js';
import type { LiveBus } from './bus.js';

/** One live event as published on the bus (`kind: "event"`). */
export interface LiveEvent {
  type: 'trace-start' | 'trace-end' | 'span-start' | 'span-end' | 'event';
  /** Stable per trace within this process (the trace has no id of its own). */
  trace: number;
  request_id?: JsonValue;
  /** Wall clock, ms since the epoch; only with `{ time: true }` (a clock read per event). */
  t?: number;
  span_id?: string;
  parent_id?: string;
  name?: string;
  entity_id?: string;
  status?: 'open' | 'ok' | 'error';
  error?: string;
  stage?: string;
  action?: string;
  meta?: Record<string, JsonValue>;
}

const STATUS = ['open', 'ok', 'error'] as const;

/**
 * Publishes live span/step events of every trace in this process to `bus`. Returns the
 * function that stops it.
 *
 * @example
 * ```ts
 * const bus = createBus({ liveEvents: true });
 * const stop = publishRuntimeEvents(bus);
 * ```
 */
export interface RuntimeEventsOptions {
  /**
   * Stamp each event with `Date.now()` (`t`). Off by default: a clock read can cost more than
   * the rest of the event (100–400 ns on some virtual machines), 30-odd times per request.
   */
  time?: boolean;
}

export function publishRuntimeEvents(bus: LiveBus<unknown>, options: RuntimeEventsOptions = {}): () => void {
  if (!bus.liveEvents) {
    throw new TypeError(
      'stepmark/live: publishRuntimeEvents(bus) needs a bus created with { liveEvents: true }',
    );
  }
  const o = knownOptions('stepmark/live publishRuntimeEvents', options, ['time']);
  checkType('stepmark/live publishRuntimeEvents', o, 'time', 'boolean');
  const time = options.time === true;
  const ids = new WeakMap<TraceView, number>();
  let next = 0;
  const base = (type: LiveEvent['type'], trace: TraceView): LiveEvent => {
    let id = ids.get(trace);
    if (id === undefined) ids.set(trace, (id = ++next));
    const ev: LiveEvent = { type, trace: id };
    if (time) ev.t = Date.now();
    if (trace.meta.request_id !== undefined) ev.request_id = trace.meta.request_id;
    return ev;
  };
  const span = (type: 'span-start' | 'span-end', s: SpanView, trace: TraceView): LiveEvent => {
    const ev = base(type, trace);
    ev.span_id = s.id;
    if (s.parent) ev.parent_id = s.parent.id;
    ev.name = s.name;
    if (s.entity) ev.entity_id = s.entity.id;
    ev.status = STATUS[s.status] ?? 'open';
    if (s.error !== undefined) ev.error = s.error;
    return ev;
  };
  return addObserver({
    traceStart: (trace) => void bus.publishEvent(base('trace-start', trace)),
    traceEnd: (trace) => void bus.publishEvent(base('trace-end', trace)),
    spanStart: (s, trace) => void bus.publishEvent(span('span-start', s, trace)),
    spanEnd: (s, trace) => void bus.publishEvent(span('span-end', s, trace)),
    event: (e, entity, trace) => {
      if (e.action === 'entered' || e.action === 'exited') return; // span-start/end say it already
      const ev = base('event', trace);
      ev.stage = e.stage;
      ev.action = e.action;
      if (e.meta) ev.meta = e.meta;
      if (e.span) ev.span_id = e.span.id;
      if (entity) ev.entity_id = entity.id;
      bus.publishEvent(ev);
    },
  });
}
