// A collected stepmark trace → OpenTelemetry spans, after the fact, with the real start/end times.

import {
  type Context,
  context,
  createTraceState,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace as traceApi,
} from '@opentelemetry/api';
import { checkType, invalidOption, knownOptions } from '../adapters/core/errors.js';
import { describeError } from '../runtime/snapshot.js';
import { VERSION } from '../runtime/state.js';
import type { Trace, TraceEvent, TraceSpan } from '../runtime/types.js';
import {
  ATTR,
  type Attrs,
  addEntity,
  addEntityIds,
  addMeta,
  eventAttributes,
  msToHrTime,
  spanAttributes,
} from './attributes.js';
import { PARENT_SPAN_ID, TRACE_FLAGS, TRACE_ID, TRACESTATE } from './propagation.js';
import { isValidSpanId, isValidTraceId } from './w3c.js';

export interface ExportOptions {
  /** Tracer to create spans with. Default: `trace.getTracer('stepmark', version)` of the global provider. */
  tracer?: Tracer;
  /**
   * Parent of the trace's top-level spans. Default: the remote parent recorded in the trace's meta
   * (`trace_id` + `parent_span_id`: an incoming `traceparent`, or the OTel span that was active
   * where the trace started, when `enableOtel()` is on), else the context active where
   * `exportTrace` is called. `null`: no parent (a new OTel trace).
   */
  parent?: Context | SpanContext | null;
  /**
   * Wrap everything in one span with this name. Default (`'auto'`): a wrapper named
   * `stepmark.trace` is made only when some event belongs to no span (it would have nowhere else
   * to go); `false`: never (such events are dropped).
   */
  root?: string | boolean | 'auto';
  /** Also export the `entered`/`exited` events that mirror each span. Default false. */
  spanEvents?: boolean;
  /**
   * For every entity that has no span of its own (it only appears in steps/events), export a
   * zero-length span `stepmark.entity` with its `stepmark.entity.id`, under the span where its
   * first event happened. Backends whose tag search sees only string attributes of spans (Jaeger)
   * then find every trace of an entity with `stepmark.entity.id=<id>`. Default false.
   */
  entitySpans?: boolean;
}

const EXPORT_OPTIONS: readonly string[] = Object.keys({
  tracer: true,
  parent: true,
  root: true,
  spanEvents: true,
  entitySpans: true,
} satisfies Record<keyof ExportOptions, true>);

/**
 * Checks export options (`where` names the function given them): an unknown key or a value of
 * the wrong type is a {@link StepmarkConfigError}, never silently a different export. `extra`:
 * further keys the caller reads itself (a sink's queue options).
 */
export function checkExportOptions(where: string, options: unknown, extra: readonly string[] = []): void {
  const o = knownOptions(where, options, extra.length === 0 ? EXPORT_OPTIONS : [...EXPORT_OPTIONS, ...extra]);
  checkTracer(where, o.tracer);
  if (o.parent !== undefined && o.parent !== null && typeof o.parent !== 'object') {
    throw invalidOption(where, 'parent', 'must be an OpenTelemetry Context or SpanContext, or null');
  }
  checkRoot(where, o.root, "true, false, 'auto' or a span name");
  checkType(where, o, 'spanEvents', 'boolean');
  checkType(where, o, 'entitySpans', 'boolean');
}

/** Refuses a `root` option that is neither a boolean nor a non-empty span name. */
export function checkRoot(where: string, root: unknown, want: string): void {
  if (root !== undefined && typeof root !== 'boolean' && !(typeof root === 'string' && root !== '')) {
    throw invalidOption(where, 'root', `must be ${want}`);
  }
}

/** Refuses a `tracer` option that is not an OpenTelemetry `Tracer`. */
export function checkTracer(where: string, tracer: unknown): void {
  if (tracer !== undefined && typeof (tracer as Tracer | null)?.startSpan !== 'function') {
    throw invalidOption(where, 'tracer', 'must be an OpenTelemetry Tracer (provider.getTracer(name))');
  }
}

/**
 * Thrown by {@link exportTrace} after it has exported everything it could, when some OpenTelemetry
 * calls failed (a span processor or exporter that throws): `failures` of them; `cause` is the first
 * error.
 */
export class OtelExportError extends Error {
  override name = 'OtelExportError';
  readonly failures: number;
  /** What was exported. */
  readonly result: ExportResult;

  constructor(failures: number, first: unknown, result: ExportResult) {
    super(
      `stepmark/otel: ${failures} OpenTelemetry call(s) failed while exporting a trace (the rest was exported): ${describeError(first)}`,
      { cause: first },
    );
    this.failures = failures;
    this.result = result;
  }
}

export interface ExportResult {
  /** OpenTelemetry trace id of the exported spans. */
  traceId: string;
  /** stepmark `span_id` → the OpenTelemetry span context made for it (`""` → the wrapper root, if any). */
  spans: Map<string, SpanContext>;
}

const isSpanContext = (v: unknown): v is SpanContext =>
  typeof v === 'object' && v !== null && typeof (v as SpanContext).traceId === 'string';

/** The remote parent recorded in trace meta, if it is a valid W3C context. */
export function parentFromMeta(meta: Trace['meta'] | undefined): SpanContext | undefined {
  const traceId = meta?.[TRACE_ID];
  const spanId = meta?.[PARENT_SPAN_ID];
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  const flags = meta?.[TRACE_FLAGS];
  const sc: SpanContext = {
    traceId,
    spanId,
    isRemote: true,
    traceFlags:
      typeof flags === 'string' && /^[0-9a-f]{2}$/.test(flags)
        ? Number.parseInt(flags, 16)
        : TraceFlags.SAMPLED,
  };
  const ts = meta?.[TRACESTATE];
  if (typeof ts === 'string' && ts !== '') sc.traceState = createTraceState(ts);
  return sc;
}

function resolveParent(trace: Trace, parent: ExportOptions['parent']): Context {
  if (parent === null) return traceApi.deleteSpan(context.active());
  if (parent !== undefined)
    return isSpanContext(parent) ? traceApi.setSpanContext(context.active(), parent) : parent;
  const fromMeta = parentFromMeta(trace.meta);
  return fromMeta ? traceApi.setSpanContext(context.active(), fromMeta) : context.active();
}

const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
};

/**
 * Epoch ms of an ISO-8601 UTC timestamp. The runtime's own format (`toISOString`,
 * "2026-01-01T00:00:00.000Z") is read directly, ~10x faster than Date.parse, which a trace with
 * thousands of events would otherwise spend most of its export time in; anything else goes to
 * Date.parse.
 */
export function parseMs(iso: string | undefined): number {
  if (iso === undefined) return Number.NaN;
  if (iso.length === 24 && iso.charCodeAt(10) === 84 /* T */ && iso.charCodeAt(23) === 90 /* Z */) {
    const ms = Date.UTC(
      digits(iso, 0, 4),
      digits(iso, 5, 7) - 1,
      digits(iso, 8, 10),
      digits(iso, 11, 13),
      digits(iso, 14, 16),
      digits(iso, 17, 19),
      digits(iso, 20, 23),
    );
    if (!Number.isNaN(ms)) return ms;
  }
  return Date.parse(iso);
}

/** The latest instant the trace knows about: where unfinished spans are cut. */
function lastInstant(trace: Trace): number {
  let last = Number.NEGATIVE_INFINITY;
  const see = (ms: number) => {
    if (ms > last) last = ms;
  };
  for (const s of trace.spans ?? []) {
    see(parseMs(s.start));
    const start = parseMs(s.start);
    if (s.duration_ms !== undefined) see(start + s.duration_ms);
    else see(parseMs(s.end));
  }
  for (const e of trace.events ?? []) see(parseMs(e.timestamp));
  for (const ent of Object.values(trace.entities ?? {}))
    for (const e of ent.events ?? []) see(parseMs(e.timestamp));
  return Number.isFinite(last) ? last : Date.now();
}

/**
 * A zero-length `stepmark.entity` span for each entity without a span of its own, at its first
 * event, under the span that event happened in (else under `top`).
 */
function exportEntitySpans(
  trace: Trace,
  tracer: Tracer,
  made: Map<string, Span>,
  top: Context,
  attempt: <T>(call: () => T) => T | undefined,
): void {
  const entities = trace.entities ?? {};
  const scoped = new Set<string>();
  let start = Number.POSITIVE_INFINITY;
  for (const s of trace.spans ?? []) {
    if (s.entity_id !== undefined) scoped.add(s.entity_id);
    start = Math.min(start, parseMs(s.start) || start);
  }
  for (const key of Object.keys(entities)) {
    const entity = entities[key]!;
    const id = entity.entity_id ?? key;
    if (scoped.has(id)) continue;
    // At its first event (events are in recording order); an entity that was only tracked, at the trace's start.
    const first = entity.events?.[0];
    const at = first !== undefined ? parseMs(first.timestamp) : start;
    const parent = first?.span_id !== undefined ? made.get(first.span_id) : undefined;
    const attrs: Attrs = {};
    addEntity(attrs, id, entity);
    const time = Number.isFinite(at) ? msToHrTime(at) : undefined;
    const span = attempt(() =>
      tracer.startSpan(
        'stepmark.entity',
        { kind: SpanKind.INTERNAL, startTime: time, attributes: attrs },
        parent !== undefined ? traceApi.setSpan(top, parent) : top,
      ),
    );
    if (span !== undefined) attempt(() => span.end(time));
  }
}

/** Status ERROR plus an `exception` event. stepmark keeps the message only (no type, no stack): semconv then asks for exception.message. */
export function markFailed(span: Span, error: string | undefined, time?: [number, number]): void {
  const message = error ?? 'error';
  span.addEvent('exception', { [ATTR.EXCEPTION_MESSAGE]: message }, time);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

const mirrorRank = (e: TraceEvent) =>
  e.span_id === undefined ? 1 : e.action === 'entered' ? 0 : e.action === 'exited' ? 2 : 1;

interface Pending {
  event: TraceEvent;
  entityId: string | undefined;
  kind: string | undefined;
}

/**
 * Exports a collected trace as OpenTelemetry spans: one span per stepmark span (same tree, real
 * start/end times, `code.*` attributes from the location, entity id/kind/meta), steps and events
 * as span events on the span that was open, a failed span with status ERROR and an `exception`
 * event. Spans go through the tracer's span processors like any other (batching, exporters).
 *
 * @example
 * ```ts
 * run(handler, { onEnd: (trace) => exportTrace(trace) });
 * ```
 */
export function exportTrace(trace: Trace, options: ExportOptions = {}): ExportResult {
  checkExportOptions('stepmark/otel exportTrace', options);
  const tracer = options.tracer ?? traceApi.getTracer('stepmark', VERSION);
  // Every call into OpenTelemetry may reach a span processor that throws (the SDK calls them in
  // turn and stops at the first throw): one failing span must not cost the others their export.
  let failures = 0;
  let firstError: unknown;
  const attempt = <T>(call: () => T): T | undefined => {
    try {
      return call();
    } catch (error) {
      if (failures++ === 0) firstError = error;
      return undefined;
    }
  };
  const parentCtx = resolveParent(trace, options.parent);
  const spans = trace.spans ?? [];
  const entities = trace.entities ?? {};
  const byId = new Map<string, TraceSpan>();
  for (const s of spans) byId.set(s.span_id, s);

  // Events grouped by the span that was open when they were recorded.
  const eventsOf = new Map<string | undefined, Pending[]>();
  const pend = (event: TraceEvent, entityId: string | undefined, kind: string | undefined) => {
    if (
      !options.spanEvents &&
      event.span_id !== undefined &&
      (event.action === 'entered' || event.action === 'exited')
    ) {
      return;
    }
    const key = event.span_id !== undefined && byId.has(event.span_id) ? event.span_id : undefined;
    const list = eventsOf.get(key);
    if (list) list.push({ event, entityId, kind });
    else eventsOf.set(key, [{ event, entityId, kind }]);
  };
  for (const ent of Object.values(entities))
    for (const e of ent.events ?? []) pend(e, ent.entity_id, ent.kind);
  for (const e of trace.events ?? []) pend(e, undefined, undefined);

  const orphans = eventsOf.get(undefined) ?? [];
  const rootOpt = options.root ?? 'auto';
  const wantRoot = rootOpt === 'auto' ? orphans.length > 0 : rootOpt !== false;
  const rootName = typeof rootOpt === 'string' && rootOpt !== 'auto' ? rootOpt : 'stepmark.trace';
  // Only needed for unfinished spans and a wrapper root: computed on first use.
  let cutMs: number | undefined;
  const cut = () => (cutMs ??= lastInstant(trace));
  const result: ExportResult = { traceId: '', spans: new Map() };

  const addEvents = (span: Span, list: Pending[] | undefined) => {
    if (list === undefined) return;
    // Entity and unscoped events come from separate lists: merge them by time. Timestamps have
    // millisecond precision, so within one millisecond `entered` goes first and `exited` last.
    const timed = list.map((p, i) => ({ p, i, t: parseMs(p.event.timestamp), rank: mirrorRank(p.event) }));
    if (timed.length > 1) timed.sort((a, b) => a.t - b.t || a.rank - b.rank || a.i - b.i);
    for (const { p, t } of timed) {
      attempt(() =>
        span.addEvent(
          p.event.action,
          eventAttributes(p.event.stage, p.event.meta, p.entityId, p.kind),
          msToHrTime(t),
        ),
      );
    }
  };
  const traceMetaAttrs = (): Attrs => {
    const attrs: Attrs = {};
    addMeta(attrs, ATTR.TRACE_META, trace.meta);
    addEntityIds(
      attrs,
      Object.keys(entities).map((key) => entities[key]?.entity_id ?? key),
    );
    // What maxEvents / maxSpans / maxEntities cut off, so a short-looking trace in a backend says it is partial.
    if (trace.dropped > 0) attrs[ATTR.DROPPED_EVENTS] = trace.dropped;
    if ((trace.dropped_spans ?? 0) > 0) attrs[ATTR.DROPPED_SPANS] = trace.dropped_spans!;
    if ((trace.dropped_entities ?? 0) > 0) attrs[ATTR.DROPPED_ENTITIES] = trace.dropped_entities!;
    return attrs;
  };

  let topCtx = parentCtx;
  let root: Span | undefined;
  if (wantRoot) {
    let first = Number.POSITIVE_INFINITY;
    for (const s of spans) first = Math.min(first, parseMs(s.start) || first);
    for (const o of orphans) first = Math.min(first, parseMs(o.event.timestamp) || first);
    const start = Number.isFinite(first) ? first : cut();
    root = attempt(() =>
      tracer.startSpan(
        rootName,
        { kind: SpanKind.INTERNAL, startTime: msToHrTime(start), attributes: traceMetaAttrs() },
        parentCtx,
      ),
    );
    if (root !== undefined) {
      result.spans.set('', root.spanContext());
      topCtx = traceApi.setSpan(parentCtx, root);
    }
  }

  // Parents before children: spans are recorded in opening order, but be robust to any order.
  const visited = new Set<string>();
  // The OTel span of each exported span, for `entitySpans` to put entity spans under.
  const made = new Map<string, Span>();
  const children = new Map<string | undefined, TraceSpan[]>();
  for (const s of spans) {
    const key = s.parent_id !== undefined && byId.has(s.parent_id) ? s.parent_id : undefined;
    const list = children.get(key);
    if (list) list.push(s);
    else children.set(key, [s]);
  }
  /** Starts the OTel span of `s`; undefined when OpenTelemetry refused it (its children go to `ctx`). */
  const start = (s: TraceSpan, ctx: Context, top: boolean): Span | undefined => {
    visited.add(s.span_id);
    const span = attempt(() => {
      const attrs = spanAttributes(s, s.entity_id !== undefined ? entities[s.entity_id] : undefined);
      if (top && !root) Object.assign(attrs, traceMetaAttrs());
      return tracer.startSpan(
        s.name,
        { kind: SpanKind.INTERNAL, startTime: msToHrTime(parseMs(s.start)), attributes: attrs },
        ctx,
      );
    });
    if (span === undefined) return undefined;
    made.set(s.span_id, span);
    result.spans.set(s.span_id, span.spanContext());
    addEvents(span, eventsOf.get(s.span_id));
    return span;
  };
  const finish = (s: TraceSpan, span: Span) => {
    const begin = parseMs(s.start);
    let end: number;
    if (s.status === 'unfinished' || (s.duration_ms === undefined && s.end === undefined)) {
      attempt(() => span.setAttribute(ATTR.UNFINISHED, true));
      end = Math.max(cut(), begin);
    } else {
      // start + duration keeps the sub-millisecond duration that ISO timestamps lose.
      end = s.duration_ms !== undefined && Number.isFinite(begin) ? begin + s.duration_ms : parseMs(s.end);
    }
    if (s.status === 'error') attempt(() => markFailed(span, s.error, msToHrTime(end)));
    attempt(() => span.end(msToHrTime(end)));
  };
  // Depth-first without recursion (deeply recursive code makes deep span trees); a span ends after
  // its children, so processors see a consistent tree either way.
  const walk = (top: TraceSpan) => {
    const stack: { s: TraceSpan; ctx: Context; started: boolean; span?: Span }[] = [
      { s: top, ctx: topCtx, started: false },
    ];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.started) {
        stack.pop();
        if (frame.span !== undefined) finish(frame.s, frame.span);
        continue;
      }
      frame.started = true;
      frame.span = start(frame.s, frame.ctx, frame.s === top);
      const childCtx = frame.span === undefined ? frame.ctx : traceApi.setSpan(frame.ctx, frame.span);
      const kids = children.get(frame.s.span_id) ?? [];
      for (let i = kids.length - 1; i >= 0; i--)
        if (!visited.has(kids[i]!.span_id)) stack.push({ s: kids[i]!, ctx: childCtx, started: false });
    }
  };
  for (const s of children.get(undefined) ?? []) walk(s);
  // Spans on a parent cycle (a hand-made trace) are unreachable from the top: export them as top-level.
  for (const s of spans) if (!visited.has(s.span_id)) walk(s);

  if (options.entitySpans)
    exportEntitySpans(
      trace,
      tracer,
      made,
      root !== undefined ? traceApi.setSpan(parentCtx, root) : topCtx,
      attempt,
    );
  if (root) {
    addEvents(root, orphans);
    attempt(() => root.end(msToHrTime(Math.max(cut(), 0))));
  }
  const any = result.spans.values().next().value;
  result.traceId = any ? any.traceId : '';
  if (failures > 0) throw new OtelExportError(failures, firstError, result);
  return result;
}
