// Live view (issue 8): what publishing costs the request path, and how fast the stream is.
// 1. bus.publish with 50 stalled subscribers (subscribed, never reading) vs none: a slow
//    subscriber is a cursor, so it must cost the publisher nothing.
// 2. bus.publish with 50 parked subscribers (waiting in next(), each woken) vs none.
// 3. publishing a request's live span/step events (publishRuntimeEvents) vs the same traced
//    request with a no-op observer, and vs no observer at all.
// 4. The pass-through cost of the handler for the app's own routes.
// 5. Traces per second delivered to one SSE client over loopback (real node:http server).
import { once } from 'node:events';
import http from 'node:http';
import * as stepmark from 'stepmark';
import { createBus, createLiveEndpoint, publishRuntimeEvents } from 'stepmark/live';
import { v1 as sm } from 'stepmark/runtime';

const trace = { meta: { request_id: 'r' }, entities: {}, events: [], spans: [], dropped: 0 };

function request() {
  return stepmark.run(() => {
    for (let i = 0; i < 10; i++) {
      const f = sm.enter('OrderService.step', 'src/order.ts:12:3');
      sm.step('OrderService.step', 'checked', { i });
      f.exit();
    }
  });
}

export default async function (h) {
  const alone = createBus({ capacity: 1000 });
  const stalled = createBus({ capacity: 1000 });
  const subs = Array.from({ length: 50 }, () => stalled.subscribe({ since: 0 }));
  await h.compare(
    'bus.publish: 50 stalled subscribers vs none',
    { baseline: () => alone.publish(trace), subject: () => stalled.publish(trace) },
    {
      target: '<= 1.5',
      note: "a subscriber that does not read is a cursor: same code path as no subscriber (±30% is this machine's noise)",
    },
  );
  for (const s of subs) s.cancel();

  const parked = createBus({ capacity: 1000 });
  const readers = Array.from({ length: 50 }, () => parked.subscribe());
  const keepReading = readers.map(async (r) => {
    for await (const _ of r);
  });
  await h.compare(
    'bus.publish: 50 parked subscribers woken vs none',
    { baseline: () => alone.publish(trace), subject: () => parked.publish(trace) },
    {
      note: 'readers waiting in next() are woken once per burst: publishes in the same tick find them already woken',
    },
  );
  for (const r of readers) r.cancel();
  await Promise.all(keepReading);

  // Live events: first what they add on top of the runtime's own observer machinery (a no-op
  // observer registered), then the whole cost against a runtime with no observer at all.
  const registry = globalThis[Symbol.for('stepmark.observers.v2')].get();
  const events = createBus({ capacity: 1000, liveEvents: true });
  request();
  let stop;
  const noop = {};
  const unobserved = () => {
    stop?.();
    stop = undefined;
    registry.list = undefined;
  };
  await h.compare(
    'traced request (10 spans, 10 steps): live events published vs a no-op observer',
    {
      baseline: () => {
        unobserved();
        registry.list = [noop];
        request();
      },
      subject: () => {
        if (!stop) {
          unobserved();
          stop = publishRuntimeEvents(events);
        }
        request();
      },
    },
    { note: 'opt-in (publishRuntimeEvents): 32 bus items per request, kept in a 1000-item ring' },
  );
  await h.compare(
    'traced request (10 spans, 10 steps): live events published vs no observer',
    {
      baseline: () => {
        unobserved();
        request();
      },
      subject: () => {
        stop ??= publishRuntimeEvents(events);
        request();
      },
    },
    { note: 'the whole price of watching spans live, runtime observer hooks included' },
  );
  unobserved();

  // Every request of the app passes through the endpoint's handler first.
  const mounted = createLiveEndpoint({ enabled: true, authorize: () => true });
  const req = { url: '/orders/42?x=1', headers: {} };
  const res = {};
  const next = () => {};
  await h.compare(
    'live(req, res, next) for an app route vs next() alone',
    { baseline: () => next(), subject: () => mounted(req, res, next) },
    { note: 'the pass-through cost of mounting the endpoint: a substring test, no allocation' },
  );

  // Throughput of the stream to one client on loopback.
  const live = createLiveEndpoint({
    enabled: true,
    authorize: () => true,
    bus: createBus({ capacity: 100_000 }),
  });
  const server = http.createServer((req, res) => live(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  const n = 20_000;
  const big = { ...trace, meta: { request_id: 'r', pad: 'x'.repeat(1500) } }; // ~1.6 KB each
  const stream = await fetch(`http://127.0.0.1:${port}/__stepmark/events`);
  const reader = stream.body.getReader();
  await reader.read(); // hello
  const t0 = performance.now();
  const publishing = (async () => {
    for (let i = 0; i < n; i++) {
      live.onFinish(big);
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  let seen = 0;
  let tail = '';
  while (seen < n) {
    const { value, done } = await reader.read();
    if (done) break;
    const text = tail + Buffer.from(value).toString('utf8');
    const parts = text.split('\n\n');
    tail = parts.pop();
    for (const p of parts) if (p.includes('event: trace')) seen++;
  }
  const ms = performance.now() - t0;
  await publishing;
  await reader.cancel();
  server.closeAllConnections();
  server.close();
  h.report(
    'SSE stream to one client on loopback (1.6 KB traces)',
    Math.round((seen / ms) * 1000),
    'traces/s',
    {
      note: `${seen} of ${n} delivered, none lost`,
    },
  );
}
