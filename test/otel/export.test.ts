import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import * as stepmark from 'stepmark';
import {
  enableOtel,
  exportTrace,
  otelOnEnd,
  otelSink,
  StepmarkConfigError,
  traceContextMeta,
} from 'stepmark/otel';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConfigErrorCase, expectConfigErrors } from '../support/config-errors.js';
import { captureWarnings } from '../support/warnings.js';
import { place } from './app.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
trace.setGlobalTracerProvider(provider);
const tracer = provider.getTracer('test');
afterAll(async () => {
  await provider.shutdown();
  contextManager.disable();
});
beforeEach(() => exporter.reset());

const hrMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
const byName = (spans: ReadableSpan[], name: string) => {
  const s = spans.find((x) => x.name === name);
  if (!s) throw new Error(`no span ${name} in ${spans.map((x) => x.name).join(', ')}`);
  return s;
};
const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

async function placeOrder(total: number, meta: Record<string, unknown> = { request_id: 'r1' }) {
  return stepmark.capture(
    async () => {
      stepmark.track('order_42', { customer: 'c1', vip: true }, { kind: 'order' });
      return place({ id: 'order_42', total });
    },
    { meta },
  );
}

describe('exportTrace (real SDK, in-memory exporter)', () => {
  it('exports the span tree with real times, code.* and entity attributes, steps as events', async () => {
    const { trace: t } = await placeOrder(100);
    const result = exportTrace(t, { tracer });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual([
      'FraudService.score',
      'OrderService.place',
      'OrderService.validate',
    ]);
    const placeSpan = byName(spans, 'OrderService.place');
    const validateSpan = byName(spans, 'OrderService.validate');
    const scoreSpan = byName(spans, 'FraudService.score');
    // parent links mirror stepmark's parent_id
    expect(parentId(placeSpan)).toBeUndefined();
    expect(parentId(validateSpan)).toBe(placeSpan.spanContext().spanId);
    expect(parentId(scoreSpan)).toBe(placeSpan.spanContext().spanId);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([result.traceId]));
    expect(result.spans.get(t.spans.find((s) => s.name === 'FraudService.score')!.span_id)?.spanId).toBe(
      scoreSpan.spanContext().spanId,
    );

    // times are the trace's own: start = start timestamp, duration = duration_ms (sub-ms kept)
    for (const s of t.spans) {
      const o = byName(spans, s.name);
      expect(hrMs(o.startTime)).toBeCloseTo(Date.parse(s.start), 3);
      expect(hrMs(o.duration)).toBeCloseTo(s.duration_ms!, 3);
    }
    expect(hrMs(scoreSpan.duration)).toBeGreaterThanOrEqual(2);

    expect(placeSpan.attributes).toMatchObject({
      'code.function.name': 'OrderService.place',
      'code.file.path': 'src/order.ts',
      'code.line.number': 12,
      'code.column.number': 3,
      'stepmark.entity.id': 'order_42',
      'stepmark.entity.kind': 'order',
      'stepmark.entity.meta.customer': 'c1',
      'stepmark.entity.meta.vip': true,
      'stepmark.trace.meta.request_id': 'r1',
    });
    // Windows paths keep their drive letter; trace meta only on top-level spans
    expect(scoreSpan.attributes['code.file.path']).toBe('C:/repo/src/fraud.ts');
    expect(scoreSpan.attributes['stepmark.trace.meta.request_id']).toBeUndefined();
    expect(validateSpan.attributes['stepmark.entity.id']).toBeUndefined();

    // steps are span events on the span that was open, with their time, stage and meta
    expect(validateSpan.events.map((e) => e.name)).toEqual(['validated']);
    const validated = validateSpan.events[0]!;
    expect(validated.attributes).toMatchObject({
      'stepmark.stage': 'OrderService.validate',
      'stepmark.entity.id': 'order_42',
      'stepmark.meta.total': 100,
      'stepmark.meta.lines': [1, 2],
    });
    const stepTs = t.entities.order_42!.events.find((e) => e.action === 'validated')!.timestamp;
    expect(hrMs(validated.time)).toBe(Date.parse(stepTs));
    expect(scoreSpan.events.map((e) => e.name)).toEqual(['scored']);
    expect(scoreSpan.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a failed span gets status ERROR and an exception event', async () => {
    const { trace: t } = await placeOrder(5000);
    exportTrace(t, { tracer });
    const spans = exporter.getFinishedSpans();
    const scoreSpan = byName(spans, 'FraudService.score');
    expect(scoreSpan.status).toEqual({ code: SpanStatusCode.ERROR, message: 'score service down' });
    const exception = scoreSpan.events.find((e) => e.name === 'exception');
    expect(exception?.attributes).toEqual({ 'exception.message': 'score service down' });
    expect(hrMs(exception!.time)).toBeCloseTo(hrMs(scoreSpan.endTime), 3);
    const placeSpan = byName(spans, 'OrderService.place');
    expect(placeSpan.status.code).toBe(SpanStatusCode.UNSET);
    // (Where 'manual_review' lands depends on the runtime: after a rejected `await`, ABI 1 does not
    // make the span current again, so the step is recorded outside any span → the wrapper root.)
    expect(spans.flatMap((s) => s.events.map((e) => e.name))).toContain('manual_review');
  });

  it('stepmark spans become children of the OTel span active where the trace runs', async () => {
    let parentSpanId = '';
    await tracer.startActiveSpan('GET /orders', async (httpSpan) => {
      parentSpanId = httpSpan.spanContext().spanId;
      await stepmark.run(() => place({ id: 'o1', total: 1 }), { onEnd: otelOnEnd({ tracer }) });
      httpSpan.end();
    });
    const spans = exporter.getFinishedSpans();
    const http = byName(spans, 'GET /orders');
    expect(parentId(byName(spans, 'OrderService.place'))).toBe(parentSpanId);
    expect(byName(spans, 'OrderService.place').spanContext().traceId).toBe(http.spanContext().traceId);
  });

  it('with enableOtel(), the OTel parent is recorded at trace start, so a later export elsewhere still nests', async () => {
    const handle = enableOtel();
    try {
      let collected: stepmark.Trace | undefined;
      let httpSpanId = '';
      await tracer.startActiveSpan('POST /checkout', async (httpSpan) => {
        httpSpanId = httpSpan.spanContext().spanId;
        const r = await placeOrder(1, { request_id: 'r9' });
        collected = r.trace;
        httpSpan.end();
      });
      expect(collected!.meta).toMatchObject({
        request_id: 'r9',
        parent_span_id: httpSpanId,
        trace_flags: '01',
      });
      // exported outside any OTel context, after the parent ended
      exportTrace(collected!, { tracer });
      const spans = exporter.getFinishedSpans();
      const http = byName(spans, 'POST /checkout');
      expect(collected!.meta.trace_id).toBe(http.spanContext().traceId);
      expect(parentId(byName(spans, 'OrderService.place'))).toBe(httpSpanId);
    } finally {
      handle.disable();
    }
  });

  it('otelSink exports off the request path, nesting under the parent captured at trace start', async () => {
    const handle = enableOtel();
    const sink = otelSink({ tracer });
    try {
      let httpSpanId = '';
      await tracer.startActiveSpan('GET /queued', async (httpSpan) => {
        httpSpanId = httpSpan.spanContext().spanId;
        await stepmark.run(() => place({ id: 'q1', total: 1 }), { onEnd: sink.write });
        // queued, not exported yet: the request path only enqueued the trace
        expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([]);
        httpSpan.end();
      });
      await sink.flush();
      const spans = exporter.getFinishedSpans();
      expect(parentId(byName(spans, 'OrderService.place'))).toBe(httpSpanId);
      expect(sink.stats).toMatchObject({ written: 1, dropped: 0, failed: 0 });
    } finally {
      handle.disable();
      await sink.close();
    }
  });

  it('an incoming traceparent in the meta makes the spans children of the remote caller', async () => {
    const incoming = traceContextMeta({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    });
    const { trace: t } = await placeOrder(1, { ...incoming });
    exportTrace(t, { tracer });
    const placeSpan = byName(exporter.getFinishedSpans(), 'OrderService.place');
    expect(placeSpan.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(placeSpan.parentSpanContext).toMatchObject({ spanId: '00f067aa0ba902b7', isRemote: true });
    expect(placeSpan.spanContext().traceState?.get('congo')).toBe('t61rcWkgMzE');
    // parent: null starts a new OTel trace regardless
    exporter.reset();
    exportTrace(t, { tracer, parent: null });
    const fresh = byName(exporter.getFinishedSpans(), 'OrderService.place');
    expect(fresh.spanContext().traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(fresh.parentSpanContext).toBeUndefined();
  });

  it('events outside any span go to a stepmark.trace root span; unfinished spans are ended and marked', async () => {
    let release!: () => void;
    const { trace: t } = await stepmark.capture(
      () => {
        stepmark.record('checkout', 'received', { items: 2 });
        const done = stepmark.enter();
        done();
        // opened and left running past the end of the trace
        const leaked = stepmark.enter();
        release = leaked;
      },
      { meta: { request_id: 'r2' } },
    );
    release();
    exportTrace(t, { tracer });
    const spans = exporter.getFinishedSpans();
    const root = byName(spans, 'stepmark.trace');
    expect(root.events.map((e) => e.name)).toEqual(['received']);
    expect(root.events[0]!.attributes).toMatchObject({
      'stepmark.stage': 'checkout',
      'stepmark.meta.items': 2,
    });
    expect(root.attributes['stepmark.trace.meta.request_id']).toBe('r2');
    expect(root.attributes['stepmark.dropped_events']).toBeUndefined();
    const children = spans.filter((s) => parentId(s) === root.spanContext().spanId);
    expect(children).toHaveLength(2);
    const unfinished = children.filter((s) => s.attributes['stepmark.unfinished'] === true);
    expect(unfinished).toHaveLength(1);
    expect(hrMs(unfinished[0]!.endTime)).toBeGreaterThanOrEqual(hrMs(unfinished[0]!.startTime));
    // root: false never wraps; such events are then dropped
    exporter.reset();
    exportTrace(t, { tracer, root: false });
    expect(exporter.getFinishedSpans().map((s) => s.name)).not.toContain('stepmark.trace');
  });

  it('otelOnEnd never throws into the application, even with a broken tracer', async () => {
    const broken = {
      startSpan() {
        throw new Error('tracer broken');
      },
      startActiveSpan() {
        throw new Error('tracer broken');
      },
    } as unknown as typeof tracer;
    const warnings = await captureWarnings(async () => {
      const onEnd = otelOnEnd({ tracer: broken });
      await expect(stepmark.run(() => place({ id: 'o', total: 1 }), { onEnd })).resolves.toBe('placed');
      await stepmark.run(() => place({ id: 'o', total: 1 }), { onEnd });
    });
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('tracer broken')]);
  });
});

describe('options', () => {
  it('are checked where they are given: an unknown key or a bad value is a typed error naming it', () => {
    const trace = { meta: {}, entities: {}, events: [], spans: [], dropped: 0 };
    const cases: ConfigErrorCase[] = [
      // typos that would otherwise silently export something else
      [() => exportTrace(trace, { rot: false } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'rot'],
      [() => exportTrace(trace, { root: 5 } as never), 'ERR_STEPMARK_INVALID_OPTION', 'root'],
      [() => exportTrace(trace, { spanEvents: 'yes' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'spanEvents'],
      [() => exportTrace(trace, { parent: 'x' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'parent'],
      // at creation, not as a warning per exported trace
      [() => otelOnEnd({ entitySpan: true } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'entitySpan'],
      [() => otelOnEnd({ tracer: {} } as never), 'ERR_STEPMARK_INVALID_OPTION', 'tracer'],
      [() => otelSink({ maxQueue: 10, rootName: 'x' } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'rootName'],
      [() => otelSink({ maxQueue: 0 }), 'ERR_STEPMARK_INVALID_OPTION', 'maxQueue'],
      [() => enableOtel({ liv: true } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'liv'],
      [() => enableOtel({ live: 'true' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'live'],
      [() => enableOtel({ root: 1 } as never), 'ERR_STEPMARK_INVALID_OPTION', 'root'],
    ];
    expectConfigErrors(StepmarkConfigError, cases);
    expect(() =>
      exportTrace(trace, { root: 'auto', parent: null, spanEvents: true, entitySpans: false }),
    ).not.toThrow();
  });
});

describe('export details', () => {
  it('reads ISO timestamps exactly like Date.parse (fast path and fallback)', async () => {
    const { parseMs } = await import('../../otel/export.js');
    for (const iso of [
      '2026-01-01T00:00:00.000Z',
      '1999-12-31T23:59:59.999Z',
      '2024-02-29T12:34:56.789Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T01:00:00.000+01:00',
    ]) {
      expect(parseMs(iso)).toBe(Date.parse(iso));
    }
    expect(parseMs('not a date')).toBeNaN();
    expect(parseMs(undefined)).toBeNaN();
  });

  it('exports very deep span trees (no recursion) and hand-made traces with a parent cycle', () => {
    const depth = 20_000;
    const at = '2026-01-01T00:00:00.000Z';
    const deep: stepmark.Trace = {
      meta: {},
      entities: {},
      events: [],
      dropped: 0,
      spans: Array.from({ length: depth }, (_, i) => ({
        span_id: String(i + 1),
        ...(i > 0 ? { parent_id: String(i) } : {}),
        name: `f${i}`,
        start: at,
        end: at,
        duration_ms: depth - i,
        status: 'ok' as const,
      })),
    };
    const { spans } = exportTrace(deep, { tracer });
    expect(spans.size).toBe(depth);
    const finished = exporter.getFinishedSpans();
    const last = finished.find((x) => x.name === `f${depth - 1}`)!;
    expect(parentId(last)).toBe(spans.get(String(depth - 1))!.spanId);
    exporter.reset();
    const cyclic: stepmark.Trace = {
      ...deep,
      spans: [
        { span_id: 'a', parent_id: 'b', name: 'A', start: at, status: 'ok', duration_ms: 1 },
        { span_id: 'b', parent_id: 'a', name: 'B', start: at, status: 'ok', duration_ms: 1 },
      ],
    };
    exportTrace(cyclic, { tracer });
    const two = exporter.getFinishedSpans();
    expect(two.map((x) => x.name).sort()).toEqual(['A', 'B']);
    expect(parentId(byName(two, 'B'))).toBe(byName(two, 'A').spanContext().spanId);
  });

  it('a trace cut by maxEvents/maxSpans/maxEntities says so on its top-level spans', async () => {
    const { trace: t } = await stepmark.capture(
      () => {
        for (let i = 0; i < 3; i++) stepmark.enter()();
        for (let i = 0; i < 3; i++) stepmark.track(`order_${i}`);
      },
      { maxEvents: 2, maxSpans: 2, maxEntities: 1 },
    );
    exportTrace(t, { tracer });
    const top = exporter.getFinishedSpans()[0]!;
    expect(top.attributes).toMatchObject({
      'stepmark.dropped_events': t.dropped,
      'stepmark.dropped_spans': 1,
      'stepmark.dropped_entities': 2,
    });
    expect(t.dropped).toBeGreaterThan(0);
  });

  it('spanEvents: true also exports the entered/exited events', async () => {
    const { trace: t } = await placeOrder(1);
    exportTrace(t, { tracer, spanEvents: true });
    const validate = byName(exporter.getFinishedSpans(), 'OrderService.validate');
    expect(validate.events.map((e) => e.name)).toEqual(['entered', 'validated', 'exited']);
  });

  it('root: "name" always wraps the trace in a span of that name', async () => {
    const { trace: t } = await placeOrder(1);
    exportTrace(t, { tracer, root: 'checkout request' });
    const spans = exporter.getFinishedSpans();
    const root = byName(spans, 'checkout request');
    expect(parentId(byName(spans, 'OrderService.place'))).toBe(root.spanContext().spanId);
    expect(root.attributes['stepmark.trace.meta.request_id']).toBe('r1');
    expect(hrMs(root.startTime)).toBeLessThanOrEqual(hrMs(byName(spans, 'OrderService.place').startTime));
  });
});
