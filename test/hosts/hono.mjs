// stepmark/hono on the runtime's own server — Bun.serve, Deno.serve, or @hono/node-server on
// Node — with real requests over loopback. Prints one JSON line of what the requests saw, which
// must be the same on all three (test/hosts/hosts.test.ts).
import { Hono } from 'hono';
import { recordEntity, track } from 'stepmark';
import { stepmarkMiddleware } from 'stepmark/hono';
import { normalizeTrace } from 'stepmark/testing';
import { listen } from './listen.mjs';

const SECRET = 'hosts-secret-0123456789abcdef';
const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The traces onFinish received, by request id, and a way to wait for one. */
const finished = new Map();
const waiting = new Map();
const onFinish = (trace) => {
  const id = trace.meta.request_id;
  finished.set(id, trace);
  waiting.get(id)?.(trace);
};
const finishedTrace = (id) =>
  finished.has(id) ? Promise.resolve(finished.get(id)) : new Promise((resolve) => waiting.set(id, resolve));

const app = new Hono();
app.use(stepmarkMiddleware({ secret: SECRET, responseHeader: true, onFinish }));
app.get('/orders/:id', async (c) => {
  const id = `order_${c.req.param('id')}`;
  track(id, { id }, { kind: 'order' });
  await tick(2);
  recordEntity(id, 'validate', 'ok');
  await tick(2);
  recordEntity(id, 'charge', 'done', { note: 'naïve café ✓' });
  return c.json({ id });
});

/** What one request saw: status, body, the exposed trace and the one onFinish received. */
async function request(port, path, requestId, trigger) {
  const headers = { 'x-request-id': requestId };
  if (trigger) headers['x-stepmark'] = trigger;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  const body = await res.json();
  const header = res.headers.get('x-stepmark-trace');
  const exposed = header === null ? null : normalize(JSON.parse(header));
  const onFinished = trigger === SECRET ? normalize(await finishedTrace(requestId)) : finished.has(requestId);
  return { status: res.status, body, exposed, onFinished };
}

/** normalizeTrace, and the two meta values that change from run to run. */
function normalize(trace) {
  const t = normalizeTrace(trace);
  return { ...t, meta: { ...t.meta, duration_ms: typeof t.meta.duration_ms } };
}

const server = await listen(app.fetch);
try {
  const out = {
    // authorised: the trace in the response header, and to onFinish once the body is sent
    authorised: await request(server.port, '/orders/1', 'req-1', SECRET),
    // triggered without the secret: not traced at all (docs/HTTP.md)
    unauthorised: await request(server.port, '/orders/2', 'req-2', '1'),
    // not triggered: nothing recorded
    untraced: await request(server.port, '/orders/3', 'req-3', undefined),
    // two at once: each trace holds its own order only
    concurrent: await Promise.all([
      request(server.port, '/orders/4', 'req-4', SECRET),
      request(server.port, '/orders/5', 'req-5', SECRET),
    ]),
  };
  console.log(JSON.stringify(out));
} finally {
  await server.close();
}
