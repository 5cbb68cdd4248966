/**
 * The trace format (JSON), a superset of Go Stepmark's: a consumer written for Go Stepmark's
 * JSON reads it unchanged. Field names are snake_case as there. See docs/RUNTIME.md.
 */

/** A JSON value as stored in a trace (meta values are snapshotted into this shape). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A plain meta object: what `record`, `step`, `track` and `enter` accept and what a trace stores. */
export type Meta = Record<string, unknown>;

export interface TraceEvent {
  stage: string;
  action: string;
  /** ISO-8601, UTC. */
  timestamp: string;
  meta?: Record<string, JsonValue>;
  /** The span open in the context where the event was recorded. */
  span_id?: string;
  /** Top-level meta keys not kept because of `maxMetaKeys` (extension; present only when non-zero). */
  dropped_meta_keys?: number;
}

export interface TraceEntity {
  entity_id: string;
  kind?: string;
  meta: Record<string, JsonValue>;
  events: TraceEvent[];
  /** Meta keys not kept because the entity's meta held `maxMetaKeys` (extension; present only when non-zero). */
  dropped_meta_keys?: number;
}

export type SpanStatus = 'ok' | 'error' | 'unfinished';

export interface TraceSpan {
  span_id: string;
  /** Absent for a root span. */
  parent_id?: string;
  name: string;
  entity_id?: string;
  /** ISO-8601, UTC. */
  start: string;
  /** Absent while the span is unfinished. */
  end?: string;
  /** Absent while the span is unfinished. */
  duration_ms?: number;
  /** `"unfinished"` (an extension of Go Stepmark's format): the span had not exited when the trace was collected. */
  status: SpanStatus;
  error?: string;
  /** `"path:line:col"` of the function, when the build plugin embedded it. */
  location?: string;
}

export interface Trace {
  meta: Record<string, JsonValue>;
  entities: Record<string, TraceEntity>;
  events: TraceEvent[];
  spans: TraceSpan[];
  /** Events not kept because of `maxEvents`. */
  dropped: number;
  /** Spans not opened because of `maxSpans` (extension; present only when non-zero). */
  dropped_spans?: number;
  /**
   * Entity calls (`track`, entity events, entity spans) for entities beyond `maxEntities`, each
   * counted once (extension; present only when non-zero).
   */
  dropped_entities?: number;
}

/** Limits on the size of a snapshotted meta value. */
export interface MetaLimits {
  /** Nesting depth below the meta object itself (default 6). */
  depth?: number;
  /** Keys kept per object, items per array/Map/Set (default 50). */
  keys?: number;
  /** Longest string value, its cut mark included (default 1000; never more than `maxStringLength`). */
  string?: number;
  /** Values (nodes) kept per meta object in total (default 500). */
  total?: number;
}

export interface TraceOptions {
  /** Trace metadata (`trace.meta`), e.g. `{ request_id }`. */
  meta?: Meta;
  /** Events kept per trace (all events, `entered`/`exited` included); further ones are counted in `dropped`. Default 10 000. */
  maxEvents?: number;
  /** Spans opened per trace; further `enter` calls return the no-op frame and count in `dropped_spans`. Default 10 000. */
  maxSpans?: number;
  /**
   * Entities per trace. Calls for further entities are counted in `dropped_entities` and record
   * nothing, except an entity span, which is still recorded without its entity. Default 10 000.
   */
  maxEntities?: number;
  /**
   * Keys one entity's meta (merged over its `track` calls) or one event's meta holds; further
   * keys are counted in its `dropped_meta_keys`. Default 256.
   */
  maxMetaKeys?: number;
  /**
   * Longest string a trace records (entity ids, kinds, stages, actions, span names, locations,
   * meta keys and values, error messages). A longer one keeps its beginning and ends in
   * `…[n more]`, this many characters in all. Default 1 024.
   */
  maxStringLength?: number;
  /**
   * Replaces both clocks (deterministic tests): returns epoch milliseconds, used for timestamps
   * and durations. Default: `performance.now()` for durations, anchored once to `Date.now()`.
   */
  clock?: () => number;
  /**
   * Only entity-scoped calls (`track`, `recordEntity`, `stepEntity`, `enterEntity`, scope calls)
   * for which this returns true are recorded. Called first, before any other work.
   */
  entityFilter?: (entityId: string, kind: string | undefined) => boolean;
  /**
   * Meta keys whose values are replaced by `"[Redacted]"`, at any depth: strings match a key
   * exactly (case-insensitively), regular expressions are tested against the key. Default
   * {@link DEFAULT_REDACT}; `false` turns redaction off.
   */
  redact?: ReadonlyArray<string | RegExp> | false;
  /** Size caps for snapshotted meta values. */
  metaLimits?: MetaLimits;
  /** Called once with the collected trace when `run`'s function has returned or settled. */
  onEnd?: (trace: Trace) => void;
}
