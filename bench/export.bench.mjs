// Export and sinks (issue 7): what the request path pays.
// 1. Observers: a traced request with 20 spans and 20 steps, with a (no-op) observer registered vs
//    none. The "none" case is the runtime as every user without OTel live mode runs it.
// 2. OTel live mode: the same request with enableOtel({ live: true }) on a real SDK provider
//    (BatchSpanProcessor to an exporter that discards) vs stepmark alone.
// 3. Sinks: handing a finished trace to a sink (sink.write: enqueue only) vs serialising it inline.
// 4. exportTrace: ns per exported span on the real SDK.
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as stepmark from 'stepmark';
import { enableOtel, exportTrace } from 'stepmark/otel';
import { v1 as sm } from 'stepmark/runtime';
import { ndjsonSink } from 'stepmark/sinks';

const OBSERVERS = Symbol.for('stepmark.observers.v2');

function request() {
  return stepmark.run(() => {
    for (let i = 0; i < 20; i++) {
      const f = sm.enter('OrderService.step', 'src/order.ts:12:3');
      sm.step('OrderService.step', 'checked', { i });
      f.exit();
    }
  });
}

const discard = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
  forceFlush: async () => {},
};

export default async function (h) {
  request(); // creates the runtime's shared state
  const registry = globalThis[OBSERVERS].get();
  const observers = [{}];
  await h.compare(
    'traced request (20 spans, 20 steps): one no-op observer registered vs none',
    {
      // The registry only changes when the harness switches between baseline and subject batches
      // (flipping it on every call would measure V8 deoptimisations, not the observers).
      baseline: () => {
        registry.list = undefined;
        request();
      },
      subject: () => {
        registry.list = observers;
        request();
      },
    },
    { target: '<= 1.25', note: 'cost of the observer calls once something (OTel live mode) listens' },
  );

  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] });
  const tracer = provider.getTracer('bench');
  let live;
  await h.compare(
    'traced request (20 spans, 20 steps): OTel live mode vs stepmark alone',
    {
      baseline: () => {
        live?.disable();
        live = undefined;
        request();
      },
      subject: () => {
        live ??= enableOtel({ live: true, tracer, propagate: false, captureParent: false });
        request();
      },
    },
    { note: 'real SDK spans (BatchSpanProcessor, discarding exporter): what live mode adds per request' },
  );
  live?.disable();
  registry.list = undefined;

  const { trace } = await stepmark.capture(() => {
    for (let i = 0; i < 20; i++) {
      const f = sm.enter('OrderService.step', 'src/order.ts:12:3');
      sm.step('OrderService.step', 'checked', { i });
      f.exit();
    }
  });
  // Request-path cost of handing over a trace: rounds of 500 writes into an empty queue (then the
  // queue drains, to /dev/null, outside the timing) against serialising the same trace inline.
  const sink = ndjsonSink('/dev/null', { maxQueue: 1000 });
  const rounds = h.quick ? 20 : 100;
  let writeNs = 0;
  let stringifyNs = 0;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    for (let i = 0; i < 500; i++) sink.write(trace);
    writeNs += performance.now() - t;
    await sink.flush();
    t = performance.now();
    for (let i = 0; i < 500; i++) globalThis.__benchSink = JSON.stringify(trace);
    stringifyNs += performance.now() - t;
  }
  await sink.close();
  const perWrite = (writeNs * 1e6) / (rounds * 500);
  const perStringify = (stringifyNs * 1e6) / (rounds * 500);
  h.report('sink.write of a trace (20 spans, 60 events): request-path cost', Math.round(perWrite), 'ns', {
    note: 'enqueue only; formatting and I/O happen when the queue drains',
  });
  h.report(
    'sink.write / JSON.stringify of the same trace inline',
    Number((perWrite / perStringify).toFixed(4)),
    'ratio',
    {
      target: '<= 0.2',
    },
  );
  if (sink.stats.dropped !== 0) throw new Error('bench: sink dropped traces');

  const t0 = performance.now();
  const reps = h.quick ? 200 : 1000;
  for (let i = 0; i < reps; i++) exportTrace(trace, { tracer, parent: null });
  const nsPerSpan = ((performance.now() - t0) * 1e6) / (reps * trace.spans.length);
  h.report('exportTrace on the real SDK, per span (events included)', Math.round(nsPerSpan), 'ns');
  await provider.shutdown();
}
