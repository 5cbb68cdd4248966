// enableOtel(): connects the runtime's span-lifecycle observers to OpenTelemetry.

import {
  type Context,
  context,
  type Span,
  SpanKind,
  type Tracer,
  trace as traceApi,
} from '@opentelemetry/api';
import { checkType, knownOptions } from '../adapters/core/errors.js';
import { addObserver, type SpanView, type TraceObserver, type TraceView } from '../runtime/observers.js';
import { reportOnce } from '../runtime/report.js';
import { currentCursor, G, VERSION } from '../runtime/state.js';
import type { Trace } from '../runtime/types.js';
import { QUEUE_OPTIONS, type QueueOptions } from '../sinks/queue.js';
import { createSink, DroppedNotice, type Sink, type SinkItem } from '../sinks/sink.js';
import { ATTR, type Attrs, addEntityIds, addMeta, eventAttributes, spanAttributes } from './attributes.js';
import {
  checkExportOptions,
  checkRoot,
  checkTracer,
  type ExportOptions,
  exportTrace,
  markFailed,
  OtelExportError,
  parentFromMeta,
} from './export.js';
import {
  type OutgoingContext,
  PARENT_SPAN_ID,
  registerContextProvider,
  TRACE_FLAGS,
  TRACE_ID,
  TRACESTATE,
  type TraceContextMeta,
} from './propagation.js';

const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0');

/** The OTel span active here as trace meta (`trace_id`, `parent_span_id`, `trace_flags`, `tracestate`), or undefined. */
export function otelMeta(ctx: Context = context.active()): TraceContextMeta | undefined {
  const sc = traceApi.getSpanContext(ctx);
  if (!sc || !traceApi.isSpanContextValid(sc)) return undefined;
  const meta: TraceContextMeta = {
    trace_id: sc.traceId,
    parent_span_id: sc.spanId,
    trace_flags: hex2(sc.traceFlags),
  };
  const ts = sc.traceState?.serialize();
  if (ts) meta.tracestate = ts;
  return meta;
}

/**
 * An `onEnd` callback that exports each trace with {@link exportTrace}. Export failures (a
 * misconfigured tracer, a span processor that throws) are reported once per distinct failure as a
 * process warning (`STEPMARK_OTEL_EXPORT_FAILED`) and never thrown; the spans that could be
 * exported are.
 *
 * @example
 * ```ts
 * await run(handler, { onEnd: otelOnEnd() });
 * ```
 */
export function otelOnEnd(options?: ExportOptions): (trace: Trace) => void {
  // checked now: a bad option found at export time would only be a warning per trace
  checkExportOptions('stepmark/otel otelOnEnd', options);
  return (trace) => exportReported(trace, options);
}

function exportReported(trace: Trace, options: ExportOptions | undefined): void {
  try {
    exportTrace(trace, options);
  } catch (error) {
    reportOnce(
      'STEPMARK_OTEL_EXPORT_FAILED',
      'exporting a trace to OpenTelemetry failed',
      error instanceof OtelExportError ? error.cause : error,
    );
  }
}

export interface EnableOtelOptions {
  /**
   * Open an OpenTelemetry span whenever a stepmark span opens (and end it when it closes), so the
   * build-time instrumentation feeds an existing OTel pipeline as the code runs. Default false:
   * export collected traces with `exportTrace`/`otelOnEnd` instead (don't do both, or every span
   * appears twice).
   */
  live?: boolean;
  /** Tracer for live spans. Default: `trace.getTracer('stepmark', version)` of the global provider. */
  tracer?: Tracer;
  /**
   * At trace start, record the active OTel span in the trace's meta (`trace_id`,
   * `parent_span_id`, `trace_flags`), so the trace's spans become its children even when the trace
   * is exported later, elsewhere. Skipped when the meta already names another trace. Default true.
   */
  captureParent?: boolean;
  /**
   * When no OTel span is active where a trace starts, open one for the trace's whole duration
   * (named `"stepmark.trace"`, or this string), as a child of the incoming `traceparent` if the
   * meta has one, and record it in the meta like `captureParent` does. The trace then has an OTel
   * identity from its first instant: outgoing requests carry it, later exports nest under it, and
   * two services exporting after the fact still form one OTel trace. For services without OTel
   * HTTP server instrumentation. Default false.
   */
  root?: boolean | string;
  /** Make `injectTraceContext`/`tracedFetch` send the active OTel (or live) span. Default true. */
  propagate?: boolean;
}

const ENABLE_OPTIONS: readonly string[] = Object.keys({
  live: true,
  tracer: true,
  captureParent: true,
  root: true,
  propagate: true,
} satisfies Record<keyof EnableOtelOptions, true>);

export interface OtelHandle {
  /** Stops everything `enableOtel` started; live spans still open are left to end normally. */
  disable(): void;
  [Symbol.dispose](): void;
}

/**
 * Connects stepmark to OpenTelemetry (see {@link EnableOtelOptions}). Call once at startup, after
 * the OTel SDK is registered. Returns a handle whose `disable()` undoes it.
 *
 * @example
 * ```ts
 * enableOtel({ live: true });
 * ```
 */
export function enableOtel(options: EnableOtelOptions = {}): OtelHandle {
  const where = 'stepmark/otel enableOtel';
  const o = knownOptions(where, options, ENABLE_OPTIONS);
  for (const option of ['live', 'captureParent', 'propagate']) checkType(where, o, option, 'boolean');
  checkTracer(where, o.tracer);
  checkRoot(where, o.root, 'true, false or a span name');
  const live = options.live === true;
  const tracer = options.tracer ?? traceApi.getTracer('stepmark', VERSION);
  const captureParent = options.captureParent !== false;
  const rootName =
    options.root === true ? 'stepmark.trace' : typeof options.root === 'string' ? options.root : undefined;
  // trace → the OTel span opened for it by `root`
  const roots = new WeakMap<TraceView, Span>();
  // stepmark span → its live OTel span; per trace, the live spans not ended yet.
  const spans = new WeakMap<SpanView, Span>();
  const openByTrace = new WeakMap<TraceView, Set<SpanView>>();

  const observer: TraceObserver = {};
  const recordParent = (t: TraceView, found: TraceContextMeta) => {
    t.meta[TRACE_ID] = found.trace_id;
    t.meta[PARENT_SPAN_ID] = found.parent_span_id;
    t.meta[TRACE_FLAGS] = found.trace_flags;
    if (found.tracestate) t.meta[TRACESTATE] = found.tracestate;
    else delete t.meta[TRACESTATE];
  };
  if (captureParent || rootName !== undefined) {
    observer.traceStart = (t) => {
      const found = captureParent ? otelMeta() : undefined;
      if (found) {
        const known = t.meta[TRACE_ID];
        if (known === undefined || known === found.trace_id) recordParent(t, found);
        return;
      }
      if (rootName === undefined) return;
      const active = context.active();
      const remote = parentFromMeta(t.meta);
      const root = tracer.startSpan(
        rootName,
        { kind: SpanKind.INTERNAL },
        remote ? traceApi.setSpanContext(active, remote) : active,
      );
      roots.set(t, root);
      const own = otelMeta(traceApi.setSpan(active, root));
      if (own) recordParent(t, own);
    };
  }
  const endRoot = (t: TraceView) => {
    const root = roots.get(t);
    if (root === undefined) return;
    roots.delete(t);
    // The meta as it is at the end (adapters add status, route, duration when the response is done).
    const attrs: Attrs = {};
    addMeta(attrs, ATTR.TRACE_META, t.meta);
    addEntityIds(attrs, t.entities.keys());
    root.setAttributes(attrs);
    root.end();
  };
  if (live) {
    const parentOf = (s: SpanView, t: TraceView): Context => {
      for (let p = s.parent; p !== undefined; p = p.parent) {
        const otel = spans.get(p);
        if (otel !== undefined) return traceApi.setSpan(context.active(), otel);
      }
      const active = context.active();
      if (traceApi.getSpanContext(active) !== undefined) return active;
      const remote = parentFromMeta(t.meta);
      return remote ? traceApi.setSpanContext(active, remote) : active;
    };
    observer.spanStart = (s, t) => {
      const entity = s.entity;
      const attrs = spanAttributes(
        { name: s.name, span_id: s.id, entity_id: entity?.id, location: s.location },
        entity ? { kind: entity.kind, meta: entity.meta } : undefined,
      );
      // Like an export: a top-level span carries the trace's meta (as it is when the span opens).
      if (s.parent === undefined && !roots.has(t)) addMeta(attrs, ATTR.TRACE_META, t.meta);
      const otel = tracer.startSpan(s.name, { kind: SpanKind.INTERNAL, attributes: attrs }, parentOf(s, t));
      spans.set(s, otel);
      let open = openByTrace.get(t);
      if (open === undefined) openByTrace.set(t, (open = new Set()));
      open.add(s);
    };
    observer.spanEnd = (s, t) => {
      const otel = spans.get(s);
      if (otel === undefined) return;
      spans.delete(s);
      openByTrace.get(t)?.delete(s);
      if (s.status === 2) markFailed(otel, s.error);
      // A top-level span carries the entities its trace has touched by the time it ends.
      if (s.parent === undefined && !roots.has(t)) {
        const ids: Attrs = {};
        addEntityIds(ids, t.entities.keys());
        otel.setAttributes(ids);
      }
      otel.end();
    };
    observer.event = (e, entity, t) => {
      if (e.span !== undefined && (e.action === 'entered' || e.action === 'exited')) return;
      // The span open where the event was recorded; an event outside any stepmark span goes to the
      // OTel span active here (an HTTP server span, say), else to the trace's `root` span.
      const target = e.span !== undefined ? spans.get(e.span) : (traceApi.getActiveSpan() ?? roots.get(t));
      if (target === undefined || !target.isRecording()) return;
      target.addEvent(e.action, eventAttributes(e.stage, e.meta, entity?.id, entity?.kind));
    };
    observer.traceEnd = (t) => {
      // Spans still open when the trace ends are exported as stepmark reports them: unfinished.
      const open = openByTrace.get(t);
      if (open !== undefined) {
        openByTrace.delete(t);
        for (const s of open) {
          const otel = spans.get(s);
          spans.delete(s);
          otel?.setAttribute(ATTR.UNFINISHED, true);
          otel?.end();
        }
      }
      endRoot(t);
    };
  } else if (rootName !== undefined) {
    observer.traceEnd = endRoot;
  }

  const removers: (() => void)[] = [addObserver(reported(observer))];
  if (options.propagate !== false) {
    removers.push(
      registerContextProvider((): OutgoingContext | undefined => {
        // In live mode the OTel span of the stepmark span open here is the most precise parent.
        let sc = undefined as ReturnType<Span['spanContext']> | undefined;
        if (live && G.active > 0) {
          for (
            let s: SpanView | undefined = currentCursor()?.span;
            s !== undefined && sc === undefined;
            s = s.parent
          ) {
            sc = spans.get(s)?.spanContext();
          }
        }
        sc ??= traceApi.getSpanContext(context.active());
        // Else the span `root` opened for the trace running here.
        if (sc === undefined && rootName !== undefined && G.active > 0) {
          const c = currentCursor();
          if (c !== undefined && !c.trace.ended) sc = roots.get(c.trace)?.spanContext();
        }
        if (!sc || !traceApi.isSpanContextValid(sc)) return undefined;
        const out: OutgoingContext = { traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags };
        const ts = sc.traceState?.serialize();
        if (ts) out.tracestate = ts;
        return out;
      }),
    );
  }
  let disabled = false;
  const disable = () => {
    if (disabled) return;
    disabled = true;
    for (const remove of removers) remove();
  };
  return { disable, [Symbol.dispose]: disable };
}

/**
 * The observer with each hook guarded: the runtime drops what an observer throws, so a live span
 * that OpenTelemetry refuses (a span processor that throws) would otherwise go unnoticed.
 */
function reported(observer: TraceObserver): TraceObserver {
  const guarded: TraceObserver = {};
  for (const [hook, fn] of Object.entries(observer) as [keyof TraceObserver, (...a: unknown[]) => void][]) {
    (guarded as Record<string, (...a: unknown[]) => void>)[hook] = (...args) => {
      try {
        fn(...args);
      } catch (error) {
        reportOnce('STEPMARK_OTEL_LIVE_FAILED', `OpenTelemetry live mode failed (${hook})`, error);
      }
    };
  }
  return guarded;
}

/**
 * A sink (see `stepmark/sinks`) that exports traces to OpenTelemetry off the request path: `write`
 * only queues (bounded), `exportTrace` runs when the queue drains. The OTel context of the request
 * is gone by then, so top-level spans nest under the parent recorded in the trace's meta: turn on
 * `enableOtel()` (parent capture) or pass `parent`. Use `otelOnEnd()` instead to export inside the
 * request, under whatever OTel span is active there.
 *
 * @example
 * ```ts
 * enableOtel();
 * const otel = otelSink();
 * await run(handler, { onEnd: otel.write });
 * ```
 */
export function otelSink(options: ExportOptions & QueueOptions = {}): Sink {
  checkExportOptions('stepmark/otel otelSink', options, QUEUE_OPTIONS);
  // A trace that fails to export is reported (once per distinct failure) and the sink stays on.
  const exportAll = (items: readonly SinkItem[]) => {
    for (const item of items) if (!(item instanceof DroppedNotice)) exportReported(item, options);
  };
  return createSink(
    {
      name: 'otel',
      write(items, done) {
        exportAll(items);
        done();
      },
      writeSync: exportAll,
    },
    options,
  );
}
