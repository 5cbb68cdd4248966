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
 * The registry is shared like the runtime's state (global.ts), so an observer registered through
 * one copy of the runtime (ESM build, CommonJS build, a bundled copy) sees the traces of every copy.
 */
import { shared } from './global.js';
import type { JsonValue } from './types.js';

/** What an observer sees of a trace. `meta` is the trace's own meta object: keys assigned here appear in `collect()`. */
export interface TraceView {
  readonly meta: Record<string, JsonValue>;
  readonly ended: boolean;
  /** The entities recorded so far, by id. */
  readonly entities: ReadonlyMap<string, EntityView>;
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

type Hook = keyof TraceObserver;

interface ObserverRegistry {
  /** All observers; undefined when there are none (the recorder's only check). */
  list: TraceObserver[] | undefined;
  /** Per hook, the observers that implement it (so an unused hook costs one length check). */
  hooks: { [K in Hook]: TraceObserver[] };
}

const emptyHooks = (): ObserverRegistry['hooks'] => ({
  traceStart: [],
  traceEnd: [],
  spanStart: [],
  spanEnd: [],
  event: [],
});
/** The registry (one per process). `OBS.list` is undefined when no observer is registered. */
export const OBS: ObserverRegistry = shared(
  'stepmark.observers.v2',
  () => ({ list: undefined, hooks: emptyHooks() }),
  (r) => typeof r.hooks === 'object' && r.hooks !== null,
);

function rebuild(list: TraceObserver[]): void {
  const hooks = emptyHooks();
  for (const o of list) {
    for (const k of Object.keys(hooks) as Hook[]) if (typeof o[k] === 'function') hooks[k].push(o);
  }
  OBS.hooks = hooks;
  OBS.list = list.length > 0 ? list : undefined;
}

/** Registers an observer; returns the function that removes it. */
export function addObserver(observer: TraceObserver): () => void {
  rebuild([...(OBS.list ?? []), observer]);
  return () => rebuild((OBS.list ?? []).filter((o) => o !== observer));
}

export function notifyTraceStart(trace: TraceView): void {
  const l = OBS.hooks.traceStart;
  for (let i = 0; i < l.length; i++) {
    try {
      l[i]!.traceStart!(trace);
    } catch {}
  }
}

export function notifyTraceEnd(trace: TraceView): void {
  const l = OBS.hooks.traceEnd;
  for (let i = 0; i < l.length; i++) {
    try {
      l[i]!.traceEnd!(trace);
    } catch {}
  }
}

export function notifySpanStart(span: SpanView, trace: TraceView): void {
  const l = OBS.hooks.spanStart;
  for (let i = 0; i < l.length; i++) {
    try {
      l[i]!.spanStart!(span, trace);
    } catch {}
  }
}

export function notifySpanEnd(span: SpanView, trace: TraceView): void {
  const l = OBS.hooks.spanEnd;
  for (let i = 0; i < l.length; i++) {
    try {
      l[i]!.spanEnd!(span, trace);
    } catch {}
  }
}

/** `entities` is searched for the owner of `list` only here, when some observer wants events. */
export function notifyEvent(
  event: EventView,
  list: unknown,
  entities: ReadonlyMap<string, EntityView & { events: unknown }>,
  trace: TraceView,
): void {
  const l = OBS.hooks.event;
  if (l.length === 0) return;
  let entity: EntityView | undefined;
  if (list !== (trace as { events?: unknown }).events) {
    for (const e of entities.values()) {
      if (e.events === list) {
        entity = e;
        break;
      }
    }
  }
  for (let i = 0; i < l.length; i++) {
    try {
      l[i]!.event!(event, entity, trace);
    } catch {}
  }
}
