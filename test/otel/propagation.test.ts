// Two real node:http services on loopback: checkout calls inventory (once with fetch, once with
// node:http), passing the injected traceparent; inventory reads it into its trace meta.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, SpanKind, trace } from '@opentelemetry/api';
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
  injectTraceContext,
  otelOnEnd,
  parseTraceparent,
  traceContextMeta,
  tracedFetch,
  w3cSpanId,
} from 'stepmark/otel';
import { v1 as sm } from 'stepmark/runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
trace.setGlobalTracerProvider(provider);
const tracer = provider.getTracer('http-simulation');

let mode: 'plain' | 'otel-export' | 'otel-live' | 'otel-root' = 'plain';
const traces: stepmark.Trace[] = [];
const onEnd = (t: stepmark.Trace) => {
  traces.push(t);
  if (mode === 'otel-export' || mode === 'otel-root') otelOnEnd({ tracer })(t);
};

/** Stands in for OTel's HTTP server instrumentation when OTel is on: a SERVER span around the handler. */
function serverSpan(name: string, fn: () => Promise<void>): Promise<void> {
  if (mode === 'plain' || mode === 'otel-root') return fn(); // otel-root: no OTel HTTP instrumentation
  return tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
  });
}

const inventory = http.createServer((req, res) => {
  const meta = { service: 'inventory', ...traceContextMeta(req.headers) };
  void stepmark.run(
    async () => {
      const f = sm.enterUser('Inventory.reserve');
      sm.step('Inventory.reserve', 'reserved', { sku: 'A1' });
      f();
      res.end('ok');
    },
    { meta, onEnd },
  );
});

let inventoryUrl = '';
const checkout = http.createServer((req, res) => {
  const meta = { service: 'checkout', ...traceContextMeta(req.headers) };
  void serverSpan('POST /checkout', () =>
    stepmark.run(
      async () => {
        const f = sm.enterUser('Checkout.callInventory');
        const viaFetch = await tracedFetch(`${inventoryUrl}/reserve`, { method: 'POST' });
        await viaFetch.text();
        await new Promise<void>((resolve, reject) => {
          const r = http.request(
            `${inventoryUrl}/reserve`,
            { method: 'POST', headers: injectTraceContext({}) },
            (resp) => {
              resp.resume();
              resp.on('end', resolve);
            },
          );
          r.on('error', reject);
          r.end();
        });
        f();
        res.end('done');
      },
      { meta, onEnd },
    ),
  );
});

const listen = (s: http.Server) =>
  new Promise<string>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );
let checkoutUrl = '';
beforeAll(async () => {
  inventoryUrl = await listen(inventory);
  checkoutUrl = await listen(checkout);
});
afterAll(async () => {
  await Promise.all([inventory, checkout].map((s) => new Promise((r) => s.close(r))));
  await provider.shutdown();
  contextManager.disable();
});
beforeEach(() => {
  traces.length = 0;
  exporter.reset();
});

async function callCheckout(headers: Record<string, string> = {}) {
  const res = await fetch(`${checkoutUrl}/checkout`, { method: 'POST', headers });
  expect(await res.text()).toBe('done');
  // onEnd runs as each handler's promise settles; wait for all three traces
  for (let i = 0; i < 200 && traces.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
  const a = traces.find((t) => t.meta.service === 'checkout')!;
  const b = traces.filter((t) => t.meta.service === 'inventory');
  expect(a).toBeDefined();
  expect(b).toHaveLength(2);
  return { a, b };
}

const spanOf = (t: stepmark.Trace, name: string) => t.spans.find((s) => s.name === name)!;

describe('W3C propagation between two services', () => {
  it('without OTel: both traces share trace_id, and the callee names the caller span as its parent', async () => {
    mode = 'plain';
    const { a, b } = await callCheckout();
    expect(a.meta.trace_id).toMatch(/^[0-9a-f]{32}$/); // assigned on first injection, visible in the trace
    expect(a.meta.parent_span_id).toBeUndefined();
    const caller = spanOf(a, 'Checkout.callInventory');
    for (const t of b) {
      expect(t.meta).toMatchObject({
        trace_id: a.meta.trace_id,
        parent_span_id: w3cSpanId(a.meta.trace_id as string, caller.span_id),
        trace_flags: '01',
      });
    }
  });

  it('without OTel: an incoming traceparent is carried through to the next service', async () => {
    mode = 'plain';
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { a, b } = await callCheckout({ traceparent: incoming, tracestate: 'vendor=abc' });
    expect(a.meta).toMatchObject({
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      parent_span_id: 'b7ad6b7169203331',
      tracestate: 'vendor=abc',
    });
    for (const t of b) expect(t.meta).toMatchObject({ trace_id: a.meta.trace_id, tracestate: 'vendor=abc' });
  });

  it('with OTel (export on end): one distributed trace, callee spans under the caller service span', async () => {
    mode = 'otel-export';
    const otel = enableOtel();
    try {
      const { a, b } = await callCheckout();
      const spans = exporter.getFinishedSpans();
      const server = spans.find((s) => s.name === 'POST /checkout')!;
      expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(
        new Set([server.spanContext().traceId]),
      );
      expect(a.meta.trace_id).toBe(server.spanContext().traceId);
      const callerTop = spans.find((s) => s.name === 'Checkout.callInventory')!;
      expect(callerTop.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
      const reserves = spans.filter((s) => s.name === 'Inventory.reserve');
      expect(reserves).toHaveLength(2);
      for (const r of reserves) {
        expect(r.parentSpanContext).toMatchObject({ spanId: server.spanContext().spanId, isRemote: true });
        expect(r.attributes['stepmark.trace.meta.service']).toBe('inventory');
        expect(r.events.map((e) => e.name)).toEqual(['reserved']);
      }
      for (const t of b) expect(t.meta.parent_span_id).toBe(server.spanContext().spanId);
    } finally {
      otel.disable();
    }
  });

  it('with OTel live mode: callee spans are children of the live span of the calling function', async () => {
    mode = 'otel-live';
    const otel = enableOtel({ live: true, tracer });
    try {
      await callCheckout();
      const spans: ReadableSpan[] = exporter.getFinishedSpans();
      const server = spans.find((s) => s.name === 'POST /checkout')!;
      const caller = spans.find((s) => s.name === 'Checkout.callInventory')!;
      expect(caller.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
      const reserves = spans.filter((s) => s.name === 'Inventory.reserve');
      expect(reserves).toHaveLength(2);
      for (const r of reserves) {
        expect(r.spanContext().traceId).toBe(server.spanContext().traceId);
        expect(r.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
      }
    } finally {
      otel.disable();
    }
  });

  it('with OTel but no server instrumentation, enableOtel({ root: true }) still makes one OTel trace of both exports', async () => {
    mode = 'otel-root';
    const otel = enableOtel({ root: true, tracer });
    try {
      const { a, b } = await callCheckout();
      const spans = exporter.getFinishedSpans();
      const roots = spans.filter((s) => s.name === 'stepmark.trace');
      expect(roots).toHaveLength(3); // one per trace: checkout, and inventory twice
      expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
      const rootA = roots.find((r) => r.attributes['stepmark.trace.meta.service'] === 'checkout')!;
      expect(rootA.parentSpanContext).toBeUndefined();
      expect(a.meta.parent_span_id).toBe(rootA.spanContext().spanId);
      const caller = spans.find((s) => s.name === 'Checkout.callInventory')!;
      expect(caller.parentSpanContext?.spanId).toBe(rootA.spanContext().spanId);
      for (const t of b) {
        const rootB = roots.find((r) => r.spanContext().spanId === t.meta.parent_span_id)!;
        expect(rootB.parentSpanContext?.spanId).toBe(rootA.spanContext().spanId); // the request came from A's trace
        expect(rootB.attributes['stepmark.trace.meta.service']).toBe('inventory');
      }
      for (const r of spans.filter((s) => s.name === 'Inventory.reserve')) {
        expect(roots.map((x) => x.spanContext().spanId)).toContain(r.parentSpanContext?.spanId);
      }
    } finally {
      otel.disable();
    }
  });

  it('parseTraceparent reads what injectTraceContext wrote for a plain stepmark trace', async () => {
    mode = 'plain';
    const t = await stepmark.capture(() => injectTraceContext(new Headers()).get('traceparent'));
    const tp = parseTraceparent(t.result);
    expect(tp?.traceId).toBe(t.trace.meta.trace_id);
    expect(tp?.parentId).toBe(w3cSpanId(tp!.traceId, undefined));
  });
});
