import { request } from 'node:http';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import * as stepmark from 'stepmark';
import { StepmarkConfigError, stepmarkPlugin } from 'stepmark/fastify';
import { describe, expect, it } from 'vitest';
import { delay, failOrder, get, placeOrder, SECRET } from './helpers.js';
import { adapterSuite, slowSteps, streamSteps, type TestServer } from './suite.js';

async function start(
  options: Record<string, unknown>,
  extra?: (app: FastifyInstance) => void,
): Promise<TestServer> {
  const app = Fastify();
  await app.register(stepmarkPlugin, options);
  app.get<{ Params: { id: string }; Querystring: { n?: string } }>('/orders/:id', async (req) =>
    placeOrder(req.params.id, Number(req.query.n ?? 0)),
  );
  app.get('/boom', async () => {
    await delay(1);
    failOrder();
  });
  app.get('/stream', (_req, reply) => {
    const body = new PassThrough();
    void streamSteps(
      (c) => body.write(c),
      () => body.end(),
    );
    return reply.type('text/plain').send(body);
  });
  app.get('/slow', (req, reply) => {
    const body = new PassThrough();
    void slowSteps(
      (c) => body.write(c),
      () => body.end(),
      () => req.raw.destroyed || reply.raw.destroyed,
    );
    return reply.send(body);
  });
  extra?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, close: () => app.close() };
}

adapterSuite({
  name: 'fastify 5 (stepmark/fastify)',
  orderRoute: '/orders/:id',
  pathOf: (req) => (req as FastifyRequest).url.split('?')[0],
  start: (options) => start(options),
});

describe('stepmark/fastify specifics', () => {
  it('keeps the trace across body parsing (the handler runs after socket events)', async () => {
    const server = await start({ authorize: () => true, responseHeader: true }, (app) => {
      app.post<{ Body: { id: string } }>('/orders', async (req) => {
        stepmark.recordEntity(`order_${req.body.id}`, 'create', 'posted');
        return { traced: stepmark.enabled() };
      });
    });
    try {
      // The body arrives in two parts 30 ms apart, so parsing ends in a later socket event.
      const body = JSON.stringify({ id: 'p1', pad: 'y'.repeat(1000) });
      const reply = await new Promise<{ body: string; trace: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: server.port,
            path: '/orders',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-stepmark': '1' },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ body: text, trace: String(res.headers['x-stepmark-trace']) }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 100));
        setTimeout(() => req.end(body.slice(100)), 30);
      });
      expect(JSON.parse(reply.body)).toEqual({ traced: true });
      const trace = JSON.parse(reply.trace);
      expect(trace.meta).toMatchObject({ method: 'POST', route: '/orders', status: 200 });
      expect(trace.entities.order_p1.events[0].action).toBe('posted');
    } finally {
      await server.close();
    }
  });

  it('reports a 404 without a route pattern', async () => {
    const server = await start({ authorize: () => true, responseHeader: true });
    try {
      const r = await get(server.port, '/nowhere', { 'x-stepmark': '1' });
      expect(r.status).toBe(404);
      const meta = JSON.parse(String(r.headers['x-stepmark-trace'])).meta;
      expect(meta.status).toBe(404);
      expect(meta.route).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('fails registration with the typed error', async () => {
    const app = Fastify();
    await expect(
      app.register(stepmarkPlugin, { secret: SECRET, header: false }).ready(),
    ).rejects.toBeInstanceOf(StepmarkConfigError);
    await app.close();
  });
});
