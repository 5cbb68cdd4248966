import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import * as stepmark from 'stepmark';
import { StepmarkConfigError, stepmarkListener, stepmarkMiddleware } from 'stepmark/http';
import { flightRecorder } from 'stepmark/recorder';
import { ndjsonSink } from 'stepmark/sinks';
import { describe, expect, it } from 'vitest';
import { delay, FinishLog, failOrder, get, listen, placeOrder, SECRET } from './helpers.js';
import { adapterSuite, slowSteps, streamSteps } from './suite.js';

const pathOf = (req: unknown) => ((req as IncomingMessage).url ?? '/').split('?')[0];

/** The suite's routes on Express (`lib`: express 5, or express 4 through its npm alias). */
function expressFixture(name: string, lib: typeof express, boom: express.RequestHandler) {
  adapterSuite({
    name,
    orderRoute: '/orders/:id',
    pathOf,
    async start(options) {
      const app = lib();
      app.set('env', 'test'); // keeps the default error handler from logging the expected /boom error
      app.use(stepmarkMiddleware(options));
      const orders = lib.Router();
      orders.get('/:id', async (req, res, next) => {
        try {
          res.json(await placeOrder(req.params.id!, Number(req.query.n ?? 0)));
        } catch (error) {
          next(error);
        }
      });
      app.use('/orders', orders); // a sub-router: the route is baseUrl + pattern
      app.get('/boom', boom);
      app.get('/stream', (_req, res) => {
        res.type('text');
        void streamSteps(
          (c) => res.write(c),
          () => res.end(),
        );
      });
      app.get('/slow', (_req, res) => {
        void slowSteps(
          (c) => res.write(c),
          () => res.end(),
          () => res.destroyed,
        );
      });
      return listen(createServer(app));
    },
  });
}

// Express 5 passes a rejected handler's error on by itself.
expressFixture('express 5 (stepmark/http middleware)', express, async () => {
  await delay(1);
  failOrder();
});

// Express 4 (the lowest major the peer range names) needs the error handed to next().
const express4 = ((await import('express-4' as string)) as { default: typeof express }).default;
expressFixture('express 4 (stepmark/http middleware)', express4, (_req, _res, next) => {
  delay(1)
    .then(() => failOrder())
    .catch(next);
});

// The same routes on a bare node:http server, wrapped with stepmarkListener.
async function plainListener(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const order = /^\/orders\/([^/]+)$/.exec(url.pathname);
  if (order) {
    const body = JSON.stringify(await placeOrder(order[1], Number(url.searchParams.get('n') ?? 0)));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  } else if (url.pathname === '/boom') {
    await delay(1);
    try {
      failOrder();
    } catch {
      res.statusCode = 500;
      res.end('boom');
    }
  } else if (url.pathname === '/stream') {
    await streamSteps(
      (c) => res.write(c),
      () => res.end(),
    );
  } else if (url.pathname === '/slow') {
    await slowSteps(
      (c) => res.write(c),
      () => res.end(),
      () => res.destroyed,
    );
  } else {
    res.statusCode = 404;
    res.end();
  }
}

adapterSuite({
  name: 'node:http (stepmarkListener)',
  orderRoute: undefined,
  pathOf,
  async start(options) {
    return listen(createServer(stepmarkListener(plainListener, options)));
  },
});

describe('stepmark/http specifics', () => {
  it('two stepmark middlewares on one response each see the headers go out, in turn', async () => {
    const recorder = flightRecorder();
    const app = express();
    app.use(stepmarkMiddleware({ record: recorder, header: false }));
    app.use(stepmarkMiddleware({ authorize: () => true, responseHeader: 'x-inner-trace' }));
    app.get('/orders/:id', async (req, res) => {
      res.json(await placeOrder(req.params.id));
    });
    const server = await listen(createServer(app));
    try {
      const r = await get(server.port, '/orders/n1', { 'x-stepmark': '1', 'x-request-id': 'nested-1' });
      expect(r.status).toBe(200);
      expect(JSON.parse(String(r.headers['x-inner-trace'])).entities.order_n1).toBeDefined();
      for (let i = 0; i < 200 && recorder.find({ requestId: 'nested-1' }).length === 0; i++) await delay(5);
      // The outer trace ran around the inner one: it saw the response, not the inner trace's steps.
      expect(recorder.find({ requestId: 'nested-1' })[0]!.meta).toMatchObject({
        status: 200,
        route: '/orders/:id',
      });
    } finally {
      await server.close();
    }
  });

  it('leaves an untriggered response object untouched (only the trigger check runs)', async () => {
    const seen: Array<{ wrapped: boolean; listeners: number; traced: boolean }> = [];
    const server = await listen(
      createServer(
        stepmarkListener(
          (_req, res) => {
            seen.push({
              wrapped: Object.hasOwn(res, 'writeHead'),
              listeners: res.listenerCount('close'),
              traced: stepmark.enabled(),
            });
            res.end();
          },
          { onFinish: () => {} },
        ),
      ),
    );
    try {
      await get(server.port, '/');
      await get(server.port, '/', { 'x-stepmark': '1' });
      expect(seen[0]).toEqual({ wrapped: false, listeners: seen[1].listeners - 1, traced: false });
      expect(seen[1]).toMatchObject({ wrapped: true, traced: true });
    } finally {
      await server.close();
    }
  });

  it('res.flushHeaders() sends the trace as it was at that moment', async () => {
    const log = new FinishLog();
    const server = await listen(
      createServer(
        stepmarkListener(
          async (_req, res) => {
            stepmark.record('flush', 'before');
            res.flushHeaders();
            stepmark.record('flush', 'after');
            await delay(5);
            res.end('done');
          },
          { secret: SECRET, responseHeader: true, onFinish: log.onFinish },
        ),
      ),
    );
    try {
      const r = await get(server.port, '/', { 'x-stepmark': SECRET, 'x-request-id': 'flush' });
      expect(r.body).toBe('done');
      const exposed = JSON.parse(String(r.headers['x-stepmark-trace']));
      expect(exposed.events.map((e: { action: string }) => e.action)).toEqual(['before']);
      const finished = await log.byId('flush');
      expect(finished.events.map((e) => e.action)).toEqual(['before', 'after']);
    } finally {
      await server.close();
    }
  });

  it('adds the header when writeHead is given raw header arrays', async () => {
    const server = await listen(
      createServer(
        stepmarkListener(
          (_req, res) => {
            stepmark.record('raw', 'headers');
            res.writeHead(201, ['x-a', '1', 'x-a', '2']).end();
          },
          { secret: SECRET, responseHeader: true },
        ),
      ),
    );
    try {
      const r = await get(server.port, '/', { 'x-stepmark': SECRET });
      expect(r.status).toBe(201);
      expect(r.headers['x-a']).toBe('1, 2');
      expect(JSON.parse(String(r.headers['x-stepmark-trace'])).meta.status).toBe(201);
    } finally {
      await server.close();
    }
  });

  it('passes a synchronous throw from the listener through unchanged, and still finishes the trace', async () => {
    const log = new FinishLog();
    const thrown = new Error('listener failed');
    const wrapped = stepmarkListener(
      () => {
        stepmark.record('sync', 'throw');
        throw thrown;
      },
      { onFinish: log.onFinish },
    );
    const caught: unknown[] = [];
    const server = await listen(
      createServer((req, res) => {
        try {
          wrapped(req, res);
        } catch (e) {
          caught.push(e);
          res.statusCode = 500;
          res.end();
        }
      }),
    );
    try {
      const r = await get(server.port, '/', { 'x-stepmark': '1', 'x-request-id': 'sync' });
      expect(r.status).toBe(500);
      expect(caught).toEqual([thrown]);
      const trace = await log.byId('sync');
      expect(trace.meta.status).toBe(500);
      expect(trace.events.map((e) => e.action)).toEqual(['throw']);
    } finally {
      await server.close();
    }
  });

  it('works as a Connect-style middleware on a bare server', async () => {
    const mw = stepmarkMiddleware({ authorize: () => true, responseHeader: true });
    const server = await listen(
      createServer((req, res) =>
        mw(req, res, () => {
          stepmark.record('connect', 'next');
          res.end('ok');
        }),
      ),
    );
    try {
      const r = await get(server.port, '/', { 'x-stepmark': '1' });
      expect(JSON.parse(String(r.headers['x-stepmark-trace'])).events[0].stage).toBe('connect');
    } finally {
      await server.close();
    }
  });

  it('works on the http2 compatibility API (h2c over loopback)', async () => {
    const log = new FinishLog();
    const listener = stepmarkListener(
      async (_req, res) => {
        stepmark.record('h2', 'handled');
        await delay(2);
        res.end('ok');
      },
      { authorize: () => true, responseHeader: true, onFinish: log.onFinish },
    );
    const server = http2.createServer(listener as never);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stream = session.request({ ':path': '/h2', 'x-stepmark': '1', 'x-request-id': 'h2-1' });
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) =>
        stream.once('response', resolve),
      );
      let body = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      await new Promise((resolve) => stream.once('end', resolve));
      expect(body).toBe('ok');
      const exposed = JSON.parse(String(headers['x-stepmark-trace']));
      expect(exposed.events.map((e: { action: string }) => e.action)).toEqual(['handled']);
      const finished = await log.byId('h2-1');
      expect(finished.meta).toMatchObject({ status: 200, path: '/h2' });
      expect(finished.meta.aborted).toBeUndefined();
    } finally {
      session.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('hands traces to a stepmark/sinks sink as onFinish (NDJSON file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepmark-http-'));
    const sink = ndjsonSink(join(dir, 'traces.ndjson'));
    const app = express();
    app.use(stepmarkMiddleware({ onFinish: sink.write }));
    app.get('/orders/:id', async (req, res) => {
      res.json(await placeOrder(req.params.id));
    });
    const server = await listen(createServer(app));
    try {
      await get(server.port, '/orders/s1', { 'x-stepmark': '1', 'x-request-id': 'sink-1' });
      await get(server.port, '/orders/s2');
      for (let i = 0; i < 100 && sink.stats.written < 1; i++) await delay(10);
      await sink.flush();
      const lines = readFileSync(join(dir, 'traces.ndjson'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(1);
      const trace = JSON.parse(lines[0]);
      expect(trace.meta).toMatchObject({ request_id: 'sink-1', route: '/orders/:id', status: 200 });
      expect(Object.keys(trace.entities)).toEqual(['order_s1']);
    } finally {
      await server.close();
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('throws typed errors for misuse at creation', () => {
    expect(() => stepmarkMiddleware({ header: false })).toThrow(StepmarkConfigError);
    expect(() => stepmarkMiddleware({ header: false })).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_NO_TRIGGER' }),
    );
    expect(() => stepmarkMiddleware({ secret: 'short', responseHeader: true })).toThrow(/at least 16/);
    expect(() => stepmarkMiddleware({ header: 'bad header' })).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_INVALID_OPTION', option: 'header' }),
    );
    expect(() => stepmarkMiddleware({ maxHeaderBytes: 10 })).toThrow(/maxHeaderBytes/);
    expect(() => stepmarkListener(undefined as never)).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_INVALID_ARGUMENT', option: 'listener' }),
    );
  });
});
