// The live page's event stream (stepmark/live) on the runtime's own server — Bun.serve,
// Deno.serve, or @hono/node-server on Node — mounted in Hono and as a bare fetch handler: a client
// connects, receives the hello and a traced request's trace, and goes away; the stream must end
// with it (the bus forgets the subscriber) although no heartbeat is due to find the connection
// gone. Prints one JSON line, which must be the same on all three, and nothing on stderr (on Deno,
// reading `request.signal` would print a deprecation warning; test/hosts/hosts.test.ts).
import { Hono } from 'hono';
import { recordEntity, track } from 'stepmark';
import { stepmarkMiddleware } from 'stepmark/hono';
import { createLiveEndpoint } from 'stepmark/live';
import { listen } from './listen.mjs';

const SECRET = 'hosts-live-secret-0123456789';
const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads Server-Sent Events from a fetch response body until `count` of them have come. */
async function readEvents(reader, count) {
  const events = [];
  const decoder = new TextDecoder();
  let buffer = '';
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended after ${events.length} of ${count} events`);
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const fields = {};
      for (const line of buffer.slice(0, end).split('\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
      buffer = buffer.slice(end + 2);
      if (fields.event) events.push(fields);
      end = buffer.indexOf('\n\n');
    }
  }
  return events;
}

/** Waits (bounded) until the bus has `n` subscribers; returns how many it has. */
async function subscribers(live, n) {
  for (let i = 0; i < 500 && live.bus.subscribers !== n; i++) await tick(10);
  return live.bus.subscribers;
}

/** One client's session, the endpoint mounted in the Hono app (`'hono'`) or in front of it (`'bare'`). */
async function session(mount) {
  // No heartbeat for a minute: only the body's cancel (or the request's signal) can end the stream.
  const live = createLiveEndpoint({ enabled: true, secret: SECRET, heartbeatMs: 60_000 });
  const app = new Hono();
  if (mount === 'hono') app.all('/__stepmark/*', (c) => live.fetch(c.req.raw));
  app.use(stepmarkMiddleware({ secret: SECRET, onFinish: live.onFinish }));
  app.get('/orders/:id', async (c) => {
    const id = `order_${c.req.param('id')}`;
    track(id, {}, { kind: 'order' });
    await tick(1);
    recordEntity(id, 'validate', 'ok');
    return c.json({ id });
  });
  const fetch =
    mount === 'hono' ? app.fetch : (req) => (live.handles(req) ? live.fetch(req) : app.fetch(req));
  const server = await listen(fetch);
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const abort = new AbortController();
    const res = await globalThis.fetch(`${base}/__stepmark/events`, {
      headers: { authorization: `Bearer ${SECRET}` },
      signal: abort.signal,
    });
    const reader = res.body.getReader();
    const [hello] = await readEvents(reader, 1);
    const whileOpen = await subscribers(live, 1);
    const order = await globalThis.fetch(`${base}/orders/7`, { headers: { 'x-stepmark': SECRET } });
    await order.json();
    const [trace] = await readEvents(reader, 1);
    abort.abort();
    await reader.closed.catch(() => {});
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      hello: hello.event,
      trace: [trace.event, Object.keys(JSON.parse(trace.data).entities)],
      whileOpen,
      afterDisconnect: await subscribers(live, 0),
      unauthorised: (await globalThis.fetch(`${base}/__stepmark/events`)).status,
    };
  } finally {
    await server.close();
  }
}

console.log(JSON.stringify({ hono: await session('hono'), bare: await session('bare') }));
