// End to end: stepmark → @opentelemetry/sdk-trace-base → OTLP/HTTP exporter (JSON protocol) →
// a small OTLP receiver (node:http on loopback) started here, which decodes what arrives.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as stepmark from 'stepmark';
import { enableOtel, exportTrace } from 'stepmark/otel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { place } from './app.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: { key: string; value: OtlpValue }[];
  events?: {
    name: string;
    timeUnixNano: string | number;
    attributes?: { key: string; value: OtlpValue }[];
  }[];
  status?: { code?: number; message?: string };
}
interface Received {
  service: string | undefined;
  scope: string | undefined;
  span: OtlpSpan;
}

const received: Received[] = [];
const contentTypes = new Set<string>();

const value = (v: OtlpValue): unknown => {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
};
const attrs = (list: { key: string; value: OtlpValue }[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));

/** Minimal OTLP/HTTP JSON receiver: POST /v1/traces, ExportTraceServiceRequest in, `{}` out. */
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    contentTypes.add(String(req.headers['content-type']));
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    const payload = JSON.parse(body.toString('utf8'));
    for (const rs of payload.resourceSpans ?? []) {
      const service = attrs(rs.resource?.attributes)['service.name'] as string | undefined;
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) received.push({ service, scope: ss.scope?.name, span });
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

let provider: BasicTracerProvider;
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  contextManager.disable();
  await new Promise((r) => receiver.close(r));
});

const find = (name: string, from: Received[]) => {
  const r = from.find((x) => x.span.name === name);
  if (!r) throw new Error(`receiver got no span ${name}: ${from.map((x) => x.span.name).join(', ')}`);
  return r.span;
};

describe('OTLP/HTTP end to end', () => {
  it('exported stepmark spans arrive at an OTLP receiver with names, parents, attributes, events, status', async () => {
    const { trace: t } = await stepmark.capture(
      async () => {
        stepmark.track('order_7', { customer: 'c9' }, { kind: 'order' });
        return place({ id: 'order_7', total: 5000 });
      },
      { meta: { request_id: 'otlp-1' } },
    );
    // global provider, default tracer "stepmark"; root: false because with ABI 1 a step recorded
    // after a caught rejected `await` lies outside any span and would otherwise get a wrapper root
    const { traceId } = exportTrace(t, { root: false });
    await provider.forceFlush();
    const mine = received.filter((r) => r.span.traceId === traceId);
    expect(mine.map((r) => r.span.name).sort()).toEqual([
      'FraudService.score',
      'OrderService.place',
      'OrderService.validate',
    ]);
    expect(contentTypes).toEqual(new Set(['application/json']));
    expect(new Set(mine.map((r) => r.service))).toEqual(new Set(['checkout']));
    expect(new Set(mine.map((r) => r.scope))).toEqual(new Set(['stepmark']));

    const placeSpan = find('OrderService.place', mine);
    const score = find('FraudService.score', mine);
    const validate = find('OrderService.validate', mine);
    expect(placeSpan.parentSpanId || undefined).toBeUndefined();
    expect(score.parentSpanId).toBe(placeSpan.spanId);
    expect(validate.parentSpanId).toBe(placeSpan.spanId);

    expect(attrs(placeSpan.attributes)).toMatchObject({
      'code.function.name': 'OrderService.place',
      'code.file.path': 'src/order.ts',
      'code.line.number': 12,
      'code.column.number': 3,
      'stepmark.entity.id': 'order_7',
      'stepmark.entity.kind': 'order',
      'stepmark.entity.meta.customer': 'c9',
      'stepmark.trace.meta.request_id': 'otlp-1',
    });
    // real times survive the wire: nanoseconds since the epoch, duration as recorded
    const spanT = t.spans.find((s) => s.name === 'FraudService.score')!;
    const startNs = BigInt(score.startTimeUnixNano);
    const endNs = BigInt(score.endTimeUnixNano);
    expect(Number(startNs / 1_000_000n)).toBe(Date.parse(spanT.start));
    expect(Number(endNs - startNs) / 1e6).toBeCloseTo(spanT.duration_ms!, 3);

    expect(score.status).toMatchObject({ code: 2, message: 'score service down' }); // STATUS_CODE_ERROR
    expect(score.events?.map((e) => e.name)).toEqual(['exception']);
    expect(attrs(score.events?.[0]?.attributes)).toEqual({ 'exception.message': 'score service down' });
    expect(validate.events?.map((e) => e.name)).toEqual(['validated']);
    expect(attrs(validate.events?.[0]?.attributes)).toMatchObject({
      'stepmark.stage': 'OrderService.validate',
      'stepmark.meta.total': 5000,
      'stepmark.meta.lines': [1, 2],
    });
  });

  it('puts every entity the trace touched on its root span; entitySpans gives event-only entities a span', async () => {
    const { trace: t } = await stepmark.capture(
      async () => {
        stepmark.track('order_9', {}, { kind: 'order' });
        // customer_c4 appears only in an event: before, only an event attribute had its id
        stepmark.recordEntity('customer_c4', 'credit', 'checked', { limit: 500 });
        return place({ id: 'order_9', total: 10 });
      },
      { meta: { request_id: 'otlp-entities' } },
    );
    const { traceId } = exportTrace(t, { entitySpans: true });
    await provider.forceFlush();
    const mine = received.filter((r) => r.span.traceId === traceId);
    const root = find('stepmark.trace', mine);
    expect(root.parentSpanId || undefined).toBeUndefined();
    expect(attrs(root.attributes)['stepmark.entity.ids']).toEqual(['order_9', 'customer_c4']);
    expect(attrs(root.attributes)['stepmark.trace.meta.request_id']).toBe('otlp-entities');
    // order_9 has spans of its own; customer_c4 gets one zero-length span, under the root where its event was.
    const marker = find('stepmark.entity', mine);
    expect(mine.filter((r) => r.span.name === 'stepmark.entity')).toHaveLength(1);
    expect(attrs(marker.attributes)).toEqual({ 'stepmark.entity.id': 'customer_c4' });
    expect(marker.parentSpanId).toBe(root.spanId);
    expect(marker.startTimeUnixNano).toBe(marker.endTimeUnixNano);
    const event = t.entities.customer_c4!.events[0]!;
    expect(Number(BigInt(marker.startTimeUnixNano) / 1_000_000n)).toBe(Date.parse(event.timestamp));
    // Without a wrapper root, each top-level span carries them (and no marker span by default).
    const bare = exportTrace(t, { root: false });
    await provider.forceFlush();
    const top = received.filter((r) => r.span.traceId === bare.traceId && !r.span.parentSpanId);
    expect(top.map((r) => r.span.name)).toEqual(['OrderService.place']);
    expect(attrs(top[0]!.span.attributes)['stepmark.entity.ids']).toEqual(['order_9', 'customer_c4']);
    expect(
      received.filter((r) => r.span.traceId === bare.traceId && r.span.name === 'stepmark.entity'),
    ).toEqual([]);
  });

  it('live mode streams spans to the receiver as the code runs, under the active request span', async () => {
    const otel = enableOtel({ live: true });
    try {
      let requestSpanId = '';
      let traceId = '';
      await trace.getTracer('http').startActiveSpan('GET /live', async (span) => {
        requestSpanId = span.spanContext().spanId;
        traceId = span.spanContext().traceId;
        await stepmark.run(() => place({ id: 'order_8', total: 10 }));
        span.end();
      });
      await provider.forceFlush();
      const mine = received.filter((r) => r.span.traceId === traceId);
      expect(mine.map((r) => r.span.name).sort()).toEqual([
        'FraudService.score',
        'GET /live',
        'OrderService.place',
        'OrderService.validate',
      ]);
      const placeSpan = find('OrderService.place', mine);
      expect(placeSpan.parentSpanId).toBe(requestSpanId);
      expect(attrs(placeSpan.attributes)['stepmark.entity.ids']).toEqual(['order_8']);
      expect(find('FraudService.score', mine).parentSpanId).toBe(placeSpan.spanId);
      expect(find('FraudService.score', mine).events?.map((e) => e.name)).toEqual(['scored']);
    } finally {
      otel.disable();
    }
  });
});
