// Child process of bench/adapters.bench.mjs: one framework (argv[2]: express | fastify) served on
// loopback without stepmark (argv[3] = plain), with a no-op middleware or hook in its place
// (noop), with stepmark (traced), or with stepmark recording every request into a flight
// recorder, exposing none (recorded), plus /__mem (heap after a
// forced GC), /__cpu (this process's CPU time, µs) and /__stats (onFinish calls and cross-talk
// seen server-side). One variant per process, so CPU time per request is the variant's own.
// Prints {"port":n}.
import { createServer } from 'node:http';
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';

const framework = process.argv[2];
const delay = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
const stats = { finished: 0, crossTalk: 0 };

/** The business logic: an entity named after its request, events across several awaits. */
async function handle(id) {
  const entity = `order_${id}`;
  stepmark.track(entity, { id }, { kind: 'order' });
  for (let i = 0; i < 3; i++) {
    await delay();
    stepmark.recordEntity(entity, 'stage', `s${i}`, { i });
  }
  return { id };
}

const recorder = flightRecorder({ keep: { errors: true } });
const recording = { record: recorder };
const options = {
  authorize: () => true, // the load test checks isolation through the exposed header
  responseHeader: true,
  onFinish(trace) {
    stats.finished++;
    const keys = Object.keys(trace.entities);
    if (keys.length !== 1 || !String(trace.meta.path).endsWith(keys[0].slice('order_'.length)))
      stats.crossTalk++;
  },
};

function internal(url, res) {
  if (url === '/__mem') {
    globalThis.gc();
    globalThis.gc();
    res.end(JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }));
    return true;
  }
  if (url === '/__cpu') {
    const { user, system } = process.cpuUsage();
    res.end(JSON.stringify({ us: user + system }));
    return true;
  }
  if (url === '/__stats') {
    res.end(JSON.stringify({ ...stats, recorder: recorder.stats() }));
    return true;
  }
  return false;
}

async function express(variant) {
  const { default: createApp } = await import('express');
  const { stepmarkMiddleware } = await import('stepmark/http');
  const app = createApp();
  app.use((req, res, next) => (internal(req.url, res) ? undefined : next()));
  if (variant === 'traced') app.use(stepmarkMiddleware(options));
  if (variant === 'recorded') app.use(stepmarkMiddleware(recording));
  if (variant === 'noop') app.use((_req, _res, next) => next());
  app.get('/order/:id', async (req, res) => res.json(await handle(req.params.id)));
  const server = createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

async function fastify(variant) {
  const { default: Fastify } = await import('fastify');
  const { stepmarkPlugin } = await import('stepmark/fastify');
  const app = Fastify();
  app.addHook('onRequest', (req, reply, done) => (internal(req.url, reply.raw) ? reply.hijack() : done()));
  if (variant === 'traced') await app.register(stepmarkPlugin, options);
  if (variant === 'recorded') await app.register(stepmarkPlugin, recording);
  if (variant === 'noop') app.addHook('onRequest', (_req, _reply, done) => done());
  app.get('/order/:id', (req) => handle(req.params.id));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server.address().port;
}

const start = framework === 'fastify' ? fastify : express;
process.stdout.write(`${JSON.stringify({ port: await start(process.argv[3]) })}\n`);
