/**
 * Span-lifecycle observers: a way for integrations (OpenTelemetry live mode, a future
 * diagnostics_channel bridge, propagation) to see traces start and end, spans open and close, and
 * events get recorded, as they happen.
 *
 * Zero cost when unused: the recorder checks `OBS.list !== undefined` (one property load) at each
 * point and calls nothing else; the list is `undefined` whenever no observer is registered.
 * Observers run synchronously inside the traced code, so they must be cheap; whatever they throw is
 * swallowed (the recorder never throws into user code).
 *
 * The registry lives on `globalThis` under a registered symbol, like the runtime's state, so an
 * observer registered through one copy of the runtime (ESM build, CommonJS build, a bundled copy)
 * sees the traces of every copy.
 */
import type { JsonValue } from './types.js';

/** What an observer sees of a trace. `meta` is the trace's own meta object: keys assigned here appear in `collect()`. */
export interface TraceView {
  readonly meta: Record<string, JsonValue>;
  readonly ended: boolean;
}

export interface EntityView {
  readonly id: string;
  readonly kind: string | undefined;
  readonly meta: Record<string, JsonValue>;
}

/** What an observer sees of a span. `status`: 0 open, 1 ok, 2 error. */
export interface SpanView {
  readonly id: string;
  readonly parent: SpanView | undefined;
  readonly name: string;
  readonly location: string | undefined;
  readonly entity: EntityView | undefined;
  readonly status: number;
  readonly error: string | undefined;
}

export interface EventView {
  readonly stage: string;
  readonly action: string;
  readonly meta: Record<string, JsonValue> | undefined;
  /** The span open where the event was recorded. */
  readonly span: SpanView | undefined;
}

export interface TraceObserver {
  /** A trace was created by `run`/`capture`, in the caller's context, before `fn` runs. */
  traceStart?(trace: TraceView): void;
  /** `fn` returned or settled; spans still open stay unfinished. */
  traceEnd?(trace: TraceView): void;
  /** A span opened and became current (its `entered` event comes next). */
  spanStart?(span: SpanView, trace: TraceView): void;
  /** A span closed; `status` is final. Called after its `exited` event. */
  spanEnd?(span: SpanView, trace: TraceView): void;
  /** An event was kept (not for events dropped by `maxEvents`). `entity` is the entity it belongs to, if any. */
  event?(event: EventView, entity: EntityView | undefined, trace: TraceView): void;
}

interface ObserverRegistry {
  list: TraceObserver[] | undefined;
}

const KEY = Symbol.for('stepmark.observers.v1');
const g = globalThis as unknown as Record<symbol, ObserverRegistry | undefined>;
/** The registry (one per process). `OBS.list` is undefined when no observer is registered. */
export const OBS: ObserverRegistry = g[KEY] ?? (g[KEY] = { list: undefined });

/** Registers an observer; returns the function that removes it. */
export function addObserver(observer: TraceObserver): () => void {
  OBS.list = [...(OBS.list ?? []), observer];
  return () => {
    const rest = (OBS.list ?? []).filter((o) => o !== observer);
    OBS.list = rest.length > 0 ? rest : undefined;
  };
}

export function notifyTraceStart(trace: TraceView): void {
  for (const o of OBS.list ?? []) {
    try {
      o.traceStart?.(trace);
    } catch {}
  }
}

export function notifyTraceEnd(trace: TraceView): void {
  for (const o of OBS.list ?? []) {
    try {
      o.traceEnd?.(trace);
    } catch {}
  }
}

export function notifySpanStart(span: SpanView, trace: TraceView): void {
  for (const o of OBS.list ?? []) {
    try {
      o.spanStart?.(span, trace);
    } catch {}
  }
}

export function notifySpanEnd(span: SpanView, trace: TraceView): void {
  for (const o of OBS.list ?? []) {
    try {
      o.spanEnd?.(span, trace);
    } catch {}
  }
}

/** `entities` is searched for the owner of `list` only here, when someone observes. */
export function notifyEvent(
  event: EventView,
  list: unknown,
  entities: ReadonlyMap<string, EntityView & { events: unknown }>,
  trace: TraceView,
): void {
  let entity: EntityView | undefined;
  for (const e of entities.values()) {
    if (e.events === list) {
      entity = e;
      break;
    }
  }
  for (const o of OBS.list ?? []) {
    try {
      o.event?.(event, entity, trace);
    } catch {}
  }
}
