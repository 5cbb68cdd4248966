import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import * as stepmark from 'stepmark';
import { StepmarkConfigError, stepmarkMiddleware } from 'stepmark/koa';
import { describe, expect, it } from 'vitest';
import { delay, failOrder, get, listen, placeOrder } from './helpers.js';
import { adapterSuite, slowSteps, streamSteps, type TestServer } from './suite.js';

async function start(
  options: Record<string, unknown>,
  extra?: (app: Koa) => void,
  KoaClass: typeof Koa = Koa,
): Promise<TestServer> {
  const app = new KoaClass();
  app.silent = true; // the /boom error is expected
  app.use(stepmarkMiddleware(options));
  extra?.(app);
  const router = new Router();
  router.get('/orders/:id', async (ctx) => {
    ctx.body = await placeOrder(ctx.params.id, Number(ctx.query.n ?? 0));
  });
  router.get('/boom', async () => {
    await delay(1);
    failOrder();
  });
  router.get('/stream', (ctx) => {
    const body = new PassThrough();
    ctx.type = 'text/plain';
    ctx.body = body;
    void streamSteps(
      (c) => body.write(c),
      () => body.end(),
    );
  });
  router.get('/slow', (ctx) => {
    const body = new PassThrough();
    ctx.body = body;
    void slowSteps(
      (c) => body.write(c),
      () => body.end(),
      () => ctx.res.destroyed,
    );
  });
  app.use(router.routes());
  return listen(createServer(app.callback()));
}

adapterSuite({
  name: 'koa 3 + @koa/router (stepmark/koa)',
  orderRoute: '/orders/:id',
  pathOf: (ctx) => (ctx as Context).path,
  start: (options) => start(options),
});

// Koa 2, the lowest major the peer range names (through its npm alias).
const Koa2 = ((await import('koa-2' as string)) as { default: typeof Koa }).default;
adapterSuite({
  name: 'koa 2 + @koa/router (stepmark/koa)',
  orderRoute: '/orders/:id',
  pathOf: (ctx) => (ctx as Context).path,
  start: (options) => start(options, undefined, Koa2),
});

describe('stepmark/koa specifics', () => {
  it('keeps the trace header through Koa error handling, which clears earlier headers', async () => {
    const server = await start({ authorize: () => true, responseHeader: true }, (app) => {
      app.use(async (ctx, next) => {
        ctx.set('x-early', 'set before the error');
        await next();
      });
    });
    try {
      const r = await get(server.port, '/boom', { 'x-stepmark': '1' });
      expect(r.status).toBe(500);
      expect(r.headers['x-early']).toBeUndefined(); // Koa's onerror removed it
      const trace = JSON.parse(String(r.headers['x-stepmark-trace']));
      expect(trace.meta.status).toBe(500);
      expect(trace.events.map((e: { stage: string }) => e.stage)).toContain('fail');
    } finally {
      await server.close();
    }
  });

  it('traces middleware that runs after it, across awaits', async () => {
    const server = await start({ authorize: () => true, responseHeader: true }, (app) => {
      app.use(async (_ctx, next) => {
        stepmark.record('auth', 'checked');
        await delay(3);
        await next();
        stepmark.record('auth', 'after-handler');
      });
    });
    try {
      const r = await get(server.port, '/orders/k1', { 'x-stepmark': '1' });
      const trace = JSON.parse(String(r.headers['x-stepmark-trace']));
      expect(trace.events.map((e: { action: string }) => e.action)).toEqual(['checked', 'after-handler']);
    } finally {
      await server.close();
    }
  });

  it('throws the typed error at creation', () => {
    expect(() => stepmarkMiddleware({ authorize: 'yes' as never })).toThrow(StepmarkConfigError);
  });
});
