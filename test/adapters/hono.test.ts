import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import * as stepmark from 'stepmark';
import { StepmarkConfigError, stepmarkMiddleware } from 'stepmark/hono';
import { describe, expect, it } from 'vitest';
import { delay, FinishLog, failOrder, get, placeOrder } from './helpers.js';
import { adapterSuite, slowSteps, streamSteps, type TestServer } from './suite.js';

function routes(app: Hono): Hono {
  app.onError((_error, c) => c.text('boom', 500)); // the default handler logs the expected /boom error
  app.get('/orders/:id', async (c) =>
    c.json(await placeOrder(c.req.param('id'), Number(c.req.query('n') ?? 0))),
  );
  app.get('/boom', async () => {
    await delay(1);
    failOrder();
  });
  app.get('/stream', (c) =>
    stream(c, (s) =>
      streamSteps(
        (chunk) => void s.write(chunk),
        () => void s.close(),
      ),
    ),
  );
  app.get('/slow', (c) =>
    stream(c, async (s) => {
      let gone = false;
      s.onAbort(() => {
        gone = true;
      });
      await slowSteps(
        (chunk) => void s.write(chunk),
        () => void s.close(),
        () => gone || s.aborted,
      );
    }),
  );
  return app;
}

async function start(options: Record<string, unknown>, before?: (app: Hono) => void): Promise<TestServer> {
  const app = new Hono();
  app.use(stepmarkMiddleware(options));
  before?.(app);
  routes(app);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as import('node:http').Server).closeAllConnections?.();
      }),
  };
}

adapterSuite({
  name: 'hono 4 on @hono/node-server (stepmark/hono)',
  orderRoute: '/orders/:id',
  pathOf: (c) => (c as Context).req.path,
  start: (options) => start(options),
});

describe('stepmark/hono specifics', () => {
  it('runs in-process through app.fetch (web-standard Request/Response only)', async () => {
    const log = new FinishLog();
    const app = routes(new Hono());
    const traced = new Hono();
    traced.use(stepmarkMiddleware({ authorize: () => true, responseHeader: true, onFinish: log.onFinish }));
    traced.route('/', app);
    const res = await traced.fetch(
      new Request('http://x/orders/f1', { headers: { 'x-stepmark': '1', 'x-request-id': 'fetch-1' } }),
    );
    expect(await res.json()).toEqual({ id: 'f1', traced: true });
    const exposed = JSON.parse(res.headers.get('x-stepmark-trace') ?? 'null');
    expect(Object.keys(exposed.entities)).toEqual(['order_f1']);
    // the body was read to the end: onFinish follows
    expect((await log.byId('fetch-1')).meta.status).toBe(200);
  });

  it('reports the route of the handler that answered, not its own', async () => {
    const log = new FinishLog();
    const server = await start({ onFinish: log.onFinish }, (app) => {
      app.use('/orders/*', async (_c, next) => {
        stepmark.record('mw', 'orders');
        await next();
      });
    });
    try {
      await get(server.port, '/orders/r1', { 'x-stepmark': '1', 'x-request-id': 'route-1' });
      await get(server.port, '/missing', { 'x-stepmark': '1', 'x-request-id': 'route-404' });
      const found = await log.byId('route-1');
      expect(found.meta.route).toBe('/orders/:id');
      expect(found.events.map((e) => e.action)).toEqual(['orders']);
      const missing = await log.byId('route-404');
      expect(missing.meta).toMatchObject({ status: 404 });
      expect(missing.meta.route).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('says once, through onError, when the runtime has no AsyncLocalStorage (and still answers)', () => {
    // A fresh process whose runtime cannot find AsyncLocalStorage, as on a worker without Node
    // compatibility: the trace cannot survive `await next()`.
    const script = `
      delete process.getBuiltinModule;
      const { Hono } = await import('hono');
      const { stepmarkMiddleware } = await import('stepmark/hono');
      const stepmark = await import('stepmark');
      const reports = [];
      const app = new Hono();
      app.use(stepmarkMiddleware({ onFinish: () => reports.push('finish'), onError: (e, s) => reports.push(s + ': ' + e.message) }));
      app.get('/', async (c) => { await Promise.resolve(); stepmark.record('a', 'b'); return c.text('ok'); });
      const bodies = [];
      for (let i = 0; i < 2; i++) {
        const r = await app.fetch(new Request('http://x/', { headers: { 'x-stepmark': '1' } }));
        bodies.push(r.status + ' ' + (await r.text()));
      }
      console.log(JSON.stringify({ reports, bodies }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../../', import.meta.url).pathname,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const { reports, bodies } = JSON.parse(out);
    expect(bodies).toEqual(['200 ok', '200 ok']);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/^trace: stepmark\/hono: the trace was lost across `await next\(\)`/);
  });

  it('throws the typed error at creation', () => {
    expect(() => stepmarkMiddleware({ query: '' })).toThrow(StepmarkConfigError);
  });
});
