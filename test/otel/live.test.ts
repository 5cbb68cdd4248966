import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import * as stepmark from 'stepmark';
import { enableOtel, injectTraceContext, parseTraceparent } from 'stepmark/otel';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
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

const byName = (spans: ReadableSpan[], name: string) => {
  const s = spans.find((x) => x.name === name);
  if (!s) throw new Error(`no span ${name} in ${spans.map((x) => x.name).join(', ')}`);
  return s;
};
const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('enableOtel({ live: true })', () => {
  it('opens and ends an OTel span as each stepmark span opens and closes, nested under the active span', async () => {
    const otel = enableOtel({ live: true, tracer });
    try {
      let openDuringRun: string[] = [];
      await tracer.startActiveSpan('GET /orders/42', async (http) => {
        await stepmark.run(
          async () => {
            stepmark.track('order_42', { customer: 'c1' }, { kind: 'order' });
            const pending = place({ id: 'order_42', total: 5000 });
            // live: while the request runs, nothing has been exported yet, but spans have started
            openDuringRun = exporter.getFinishedSpans().map((s) => s.name);
            await pending;
            stepmark.record('checkout', 'responded', { status: 201 });
          },
          { meta: { request_id: 'live-1' } },
        );
        http.end();
      });
      expect(openDuringRun).toEqual(['OrderService.validate']); // validate is synchronous: already ended
      const spans = exporter.getFinishedSpans();
      const http = byName(spans, 'GET /orders/42');
      const placeSpan = byName(spans, 'OrderService.place');
      const scoreSpan = byName(spans, 'FraudService.score');
      const validateSpan = byName(spans, 'OrderService.validate');
      expect(parentId(placeSpan)).toBe(http.spanContext().spanId);
      expect(parentId(validateSpan)).toBe(placeSpan.spanContext().spanId);
      expect(parentId(scoreSpan)).toBe(placeSpan.spanContext().spanId);
      expect(placeSpan.attributes).toMatchObject({
        'code.function.name': 'OrderService.place',
        'code.file.path': 'src/order.ts',
        'code.line.number': 12,
        'code.column.number': 3,
        'stepmark.entity.id': 'order_42',
        'stepmark.entity.kind': 'order',
        'stepmark.entity.meta.customer': 'c1',
        'stepmark.trace.meta.request_id': 'live-1',
      });
      expect(validateSpan.attributes['stepmark.trace.meta.request_id']).toBeUndefined();
      expect(validateSpan.events.map((e) => e.name)).toEqual(['validated']);
      expect(validateSpan.events[0]!.attributes).toMatchObject({
        'stepmark.meta.total': 5000,
        'stepmark.entity.id': 'order_42',
      });
      expect(scoreSpan.status).toEqual({ code: SpanStatusCode.ERROR, message: 'score service down' });
      expect(scoreSpan.events.map((e) => e.name)).toEqual(['exception']);
      // an event outside any stepmark span goes to the active OTel span
      expect(http.events.map((e) => e.name)).toContain('responded');
      // real durations: score awaited a 3 ms timer
      const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
      expect(ms(scoreSpan.duration)).toBeGreaterThanOrEqual(2);
    } finally {
      otel.disable();
    }
  });

  it('ends spans left open at the end of the trace as unfinished, and stops after disable()', async () => {
    const otel = enableOtel({ live: true, tracer });
    let leak!: () => void;
    try {
      await stepmark.run(() => {
        leak = stepmark.enter();
      });
      const [leaked] = exporter.getFinishedSpans();
      expect(leaked?.attributes['stepmark.unfinished']).toBe(true);
      leak(); // closing it later does not end the OTel span twice
      expect(exporter.getFinishedSpans()).toHaveLength(1);
    } finally {
      otel.disable();
    }
    exporter.reset();
    await stepmark.run(() => place({ id: 'x', total: 1 }));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('outgoing traceparent names the live span of the stepmark span making the call', async () => {
    const otel = enableOtel({ live: true, tracer });
    try {
      let header: string | undefined;
      await stepmark.run(() => {
        const done = stepmark.enter();
        header = injectTraceContext({} as Record<string, string>).traceparent;
        done();
      });
      const [span] = exporter.getFinishedSpans();
      const tp = parseTraceparent(header);
      expect(tp).toMatchObject({
        traceId: span!.spanContext().traceId,
        parentId: span!.spanContext().spanId,
        flags: 1,
      });
    } finally {
      otel.disable();
    }
  });
});

describe('enableOtel({ live: true, root: true })', () => {
  it('without an active OTel span, one root span per trace holds the top-level spans and the loose events', async () => {
    const otel = enableOtel({ live: true, root: 'checkout', tracer });
    try {
      await stepmark.run(
        async () => {
          stepmark.record('checkout', 'received', { items: 1 });
          await place({ id: 'o9', total: 1 });
        },
        { meta: { request_id: 'r-root' } },
      );
      const spans = exporter.getFinishedSpans();
      const root = byName(spans, 'checkout');
      expect(root.parentSpanContext).toBeUndefined();
      expect(root.events.map((e) => e.name)).toEqual(['received']);
      expect(root.attributes['stepmark.trace.meta.request_id']).toBe('r-root');
      expect(parentId(byName(spans, 'OrderService.place'))).toBe(root.spanContext().spanId);
    } finally {
      otel.disable();
    }
  });
});
