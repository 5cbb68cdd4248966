// The endpoint mounts in each framework with one line (the lines shown in docs/LIVE.md),
// over real servers on loopback.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as honoServe } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { createLiveEndpoint, type LiveEndpoint } from 'stepmark/live';
import { afterAll, describe, expect, it } from 'vitest';
import { connectSse } from './sse-client.js';

const SECRET = 'frameworks-secret-0123456789';
const auth = { authorization: `Bearer ${SECRET}` };
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

async function listen(server: http.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The same checks for every mount: the page, the stream, and the app's own routes untouched. */
async function exercise(live: LiveEndpoint, base: string, pagePath = '/__stepmark'): Promise<void> {
  const page = await fetch(base + pagePath, { headers: auth });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('viewerMain');
  expect((await fetch(base + pagePath)).status).toBe(401);
  const sse = await connectSse(`${base}${pagePath}/events`, auth);
  expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  await sse.take(1); // hello
  live.onFinish({ meta: { request_id: `via ${base}` }, entities: {}, events: [], spans: [], dropped: 0 });
  const [ev] = await sse.take(1);
  expect(ev!.event).toBe('trace');
  expect(JSON.parse(ev!.data).meta.request_id).toBe(`via ${base}`);
  sse.close();
  // The stream ends with the connection: no subscription outlives its client.
  for (let i = 0; i < 200 && live.bus.subscribers > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(live.bus.subscribers).toBe(0);
  const app = await fetch(`${base}/hello`);
  expect(await app.text()).toBe('hello');
}

describe('mounting the live endpoint', () => {
  it('node:http: live(req, res, next)', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const base = await listen(http.createServer((req, res) => live(req, res, () => res.end('hello'))));
    await exercise(live, base);
  });

  it('Express: app.use(live), app.use("/__stepmark", live), and under a prefix', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const app = express();
    app.use(live);
    app.get('/hello', (_req, res) => void res.send('hello'));
    await exercise(live, await listen(http.createServer(app)));

    const mounted = createLiveEndpoint({ enabled: true, secret: SECRET });
    const app2 = express();
    app2.use('/__stepmark', mounted);
    app2.get('/hello', (_req, res) => void res.send('hello'));
    await exercise(mounted, await listen(http.createServer(app2)));

    const prefixed = createLiveEndpoint({ enabled: true, secret: SECRET });
    const app3 = express();
    app3.use('/admin', prefixed);
    app3.get('/hello', (_req, res) => void res.send('hello'));
    const base3 = await listen(http.createServer(app3));
    await exercise(prefixed, base3, '/admin/__stepmark');
    // The cookie and the redirect follow the path the browser sees.
    const res = await fetch(`${base3}/admin/__stepmark?token=${SECRET}`, { redirect: 'manual' });
    expect(res.headers.get('location')).toBe('__stepmark');
    expect(res.headers.get('set-cookie')).toContain('Path=/admin/__stepmark;');
  });

  it('Fastify: a route that hands the raw request over', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const app = Fastify();
    app.all('/__stepmark*', (req, reply) => {
      reply.hijack();
      return live(req.raw, reply.raw);
    });
    app.get('/hello', async () => 'hello');
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => {
      app.server.closeAllConnections();
      return app.close();
    });
    const { port } = app.server.address() as AddressInfo;
    await exercise(live, `http://127.0.0.1:${port}`);
  });

  it('Koa: app.use((ctx, next) => live(ctx.req, ctx.res, next))', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const app = new Koa();
    app.use((ctx, next) => live(ctx.req, ctx.res, next));
    app.use((ctx) => {
      if (ctx.path === '/hello') ctx.body = 'hello';
    });
    await exercise(live, await listen(http.createServer(app.callback())));
  });

  it('Hono (web-standard form): app.all("/__stepmark/*", (c) => live.fetch(c.req.raw))', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const app = new Hono();
    app.all('/__stepmark/*', (c) => live.fetch(c.req.raw));
    app.get('/hello', (c) => c.text('hello'));
    const server = honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    await once(server, 'listening');
    closers.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    await exercise(live, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
});
