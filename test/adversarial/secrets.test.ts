// Issue 18, "Secrets and anonymous triggers": the configured trigger secret never reaches a
// trace (whatever the app copies where), and without the secret the trigger header starts
// nothing. Every adapter, each on a real server over loopback.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { type Context, Hono } from 'hono';
import Koa from 'koa';
import * as stepmark from 'stepmark';
import { stepmarkPlugin } from 'stepmark/fastify';
import { stepmarkInterceptor } from 'stepmark/grpc';
import { stepmarkMiddleware as honoMiddleware } from 'stepmark/hono';
import { stepmarkMiddleware as httpMiddleware, stepmarkListener } from 'stepmark/http';
import { stepmarkMiddleware as koaMiddleware } from 'stepmark/koa';
import { createBus, createLiveEndpoint } from 'stepmark/live';
import { flightRecorder } from 'stepmark/recorder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, listen } from '../adapters/helpers.js';

type Trace = stepmark.Trace;

const SECRET = 'adversarial-secret-0123456789';
const WRONG = 'adversarial-secret-0123456780';
const TRACE_HEADER = 'x-stepmark-trace';

/**
 * What a careless handler does with the trigger header: copies it into track and step meta, an
 * entity id, an action and an error message. Returns whether it ran inside a trace.
 */
function careless(value: string | undefined): { traced: boolean } {
  const v = String(value);
  stepmark.track(`session:${v}`, { auth: `Bearer ${v}`, nested: { deep: [v] } }, { kind: 'session' });
  stepmark.step('copied', { header: v, [v]: 'as a key' });
  stepmark.record('auth', `checked ${v}`);
  const span = stepmark.enter();
  span.fail(new Error(`rejected token ${v}`));
  span();
  return { traced: stepmark.enabled() };
}

interface Reply {
  traced: boolean;
  /** The exposed trace (response header or trailing metadata), raw. */
  exposed: string | undefined;
}

interface Running {
  /** One request; `query` adds `?stepmark=1` (not for gRPC). */
  call(headers: Record<string, string>, query?: boolean): Promise<Reply>;
  close(): Promise<void>;
}

interface Target {
  name: string;
  query: boolean;
  /** The request's headers, from what the adapter hands to `meta(req)`. */
  headersOf(req: unknown): Record<string, unknown>;
  start(options: Record<string, unknown>): Promise<Running>;
}

async function httpCall(port: number, headers: Record<string, string>, query = false): Promise<Reply> {
  const r = await get(port, `/secret${query ? '?stepmark=1' : ''}`, headers);
  expect(r.status).toBe(200);
  const exposed = r.headers[TRACE_HEADER];
  return { traced: JSON.parse(r.body).traced, exposed: exposed === undefined ? undefined : String(exposed) };
}

function onLoopback(server: { port: number; close(): Promise<void> }): Running {
  return { call: (headers, query) => httpCall(server.port, headers, query), close: server.close };
}

const nodeHeaders = (req: unknown) => (req as IncomingMessage).headers as Record<string, unknown>;

const targets: Target[] = [
  {
    name: 'stepmark/http, node:http listener',
    headersOf: nodeHeaders,
    query: true,
    async start(options) {
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(careless(req.headers['x-stepmark'] as string | undefined)));
      };
      return onLoopback(await listen(createServer(stepmarkListener(listener, options))));
    },
  },
  {
    name: 'stepmark/http, Express middleware',
    headersOf: nodeHeaders,
    query: true,
    async start(options) {
      const app = express();
      app.use(httpMiddleware(options));
      app.get('/secret', (req, res) => {
        res.json(careless(req.get('x-stepmark')));
      });
      return onLoopback(await listen(createServer(app)));
    },
  },
  {
    name: 'stepmark/fastify',
    headersOf: nodeHeaders,
    query: true,
    async start(options) {
      const app = Fastify();
      await app.register(stepmarkPlugin, options);
      app.get('/secret', async (req) => careless(req.headers['x-stepmark'] as string | undefined));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as AddressInfo).port;
      return onLoopback({ port, close: () => app.close() });
    },
  },
  {
    name: 'stepmark/koa',
    headersOf: (ctx) => (ctx as Koa.Context).headers,
    query: true,
    async start(options) {
      const app = new Koa();
      app.use(koaMiddleware(options));
      app.use(async (ctx) => {
        ctx.body = careless(ctx.get('x-stepmark') || undefined);
      });
      return onLoopback(await listen(createServer(app.callback())));
    },
  },
  {
    name: 'stepmark/hono',
    headersOf: (c) => (c as Context).req.header(),
    query: true,
    async start(options) {
      const app = new Hono();
      app.use(honoMiddleware(options));
      app.get('/secret', (c) => c.json(careless(c.req.header('x-stepmark'))));
      const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
      });
      const port = (server.address() as AddressInfo).port;
      return onLoopback({
        port,
        close: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            (server as import('node:http').Server).closeAllConnections?.();
          }),
      });
    },
  },
  {
    name: 'stepmark/grpc',
    headersOf: (req) => (req as { metadata: grpc.Metadata }).metadata.getMap(),
    query: false,
    async start(options) {
      const json = {
        requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
        requestDeserialize: (b: Buffer) => JSON.parse(b.toString()),
        responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
        responseDeserialize: (b: Buffer) => JSON.parse(b.toString()),
      };
      const service = {
        secret: { path: '/adversarial.Secrets/Copy', requestStream: false, responseStream: false, ...json },
      } satisfies grpc.ServiceDefinition;
      const server = new grpc.Server({ interceptors: [stepmarkInterceptor(options)] });
      server.addService(service, {
        secret(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
          const v = call.metadata.get('x-stepmark')[0];
          callback(null, careless(v === undefined ? undefined : String(v)));
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      const Client = grpc.makeGenericClientConstructor(service, 'Secrets');
      const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      return {
        call: (headers) =>
          new Promise<Reply>((resolve, reject) => {
            const metadata = new grpc.Metadata();
            for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
            let value: { traced: boolean } | undefined;
            const call = client.makeUnaryRequest(
              service.secret.path,
              json.requestSerialize,
              json.responseDeserialize,
              {},
              metadata,
              (e: grpc.ServiceError | null, v: unknown) => {
                if (e) reject(e);
                value = v as { traced: boolean };
              },
            );
            call.on('status', (s: grpc.StatusObject) => {
              const t = s.metadata.get(TRACE_HEADER)[0];
              setImmediate(() =>
                resolve({ traced: value?.traced ?? false, exposed: t === undefined ? undefined : String(t) }),
              );
            });
          }),
        close: () =>
          new Promise<void>((resolve) => {
            client.close();
            server.tryShutdown(() => resolve());
          }),
      };
    },
  },
];

/** Whether the secret appears anywhere in a value (keys included), once serialised. */
const leaks = (value: unknown) => JSON.stringify(value).includes(SECRET);

/** Waits until `list` has `n` items (the adapters call onFinish after the response). */
async function arrived<T>(list: T[], n: number): Promise<T[]> {
  for (let i = 0; i < 500 && list.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  return list;
}

for (const target of targets) {
  describe(`${target.name}: the trigger secret`, () => {
    const finished: Trace[] = [];
    const ended: Trace[] = [];
    const errors: unknown[] = [];
    let app: Running;

    beforeAll(async () => {
      app = await target.start({
        secret: SECRET,
        responseHeader: true,
        ...(target.query ? { query: 'stepmark' } : {}),
        meta: (req: unknown) => ({
          headers: target.headersOf(req),
          copied: `x-stepmark was ${String(target.headersOf(req)['x-stepmark'])}`,
        }),
        onFinish: (trace: Trace) => void finished.push(trace),
        onError: (error: unknown) => void errors.push(error),
        traceOptions: { onEnd: (trace: Trace) => void ended.push(trace) },
      });
    });
    afterAll(() => app?.close());

    it('is never recorded: not in the exposed header, onFinish, onEnd, whatever the app copies where', async () => {
      const reply = await app.call({ 'x-stepmark': SECRET, 'x-request-id': 'with-secret' });
      expect(reply.traced).toBe(true);
      expect(reply.exposed).toBeDefined();
      expect(reply.exposed).not.toContain(SECRET);
      const [viaFinish] = await arrived(finished, 1);
      const [viaEnd] = await arrived(ended, 1);
      for (const trace of [JSON.parse(reply.exposed!) as Trace, viaFinish!, viaEnd!]) {
        expect(leaks(trace)).toBe(false);
        // the trigger header itself is redacted by name; the rest of the headers stay
        const headers = trace.meta.headers as Record<string, unknown>;
        expect(headers['x-stepmark']).toBe('[Redacted]');
        expect(headers['x-request-id']).toBe('with-secret');
        expect(trace.meta.copied).toBe('x-stepmark was [Redacted]');
        const session = trace.entities['session:[Redacted]'];
        expect(session?.meta).toEqual({ auth: 'Bearer [Redacted]', nested: { deep: ['[Redacted]'] } });
        expect(trace.events.map((e) => e.action)).toContain('checked [Redacted]');
        expect(trace.spans.map((s) => s.error)).toContain('rejected token [Redacted]');
      }
      expect(errors).toEqual([]);
    });

    it('is required: 200 requests with a wrong secret start no trace (no onFinish, no onEnd)', async () => {
      const before = { finished: finished.length, ended: ended.length };
      for (let i = 0; i < 200; i += 20) {
        const replies = await Promise.all(
          Array.from({ length: 20 }, () => app.call({ 'x-stepmark': i % 40 === 0 ? WRONG : '1' })),
        );
        for (const r of replies) expect(r).toEqual({ traced: false, exposed: undefined });
      }
      // a right one afterwards still arrives, and is the only new one
      await app.call({ 'x-stepmark': SECRET, 'x-request-id': 'after-flood' });
      await arrived(finished, before.finished + 1);
      await arrived(ended, before.ended + 1);
      await new Promise((r) => setTimeout(r, 20));
      expect(finished.slice(before.finished).map((t) => t.meta.request_id)).toEqual(['after-flood']);
      expect(ended.length).toBe(before.ended + 1);
    });

    if (target.query) {
      it('still lets `query` start a trace (for onFinish only), and keeps the secret out of it', async () => {
        const before = finished.length;
        const reply = await app.call({ 'x-stepmark': SECRET.slice(0, -1), 'x-request-id': 'by-query' }, true);
        expect(reply).toEqual({ traced: true, exposed: undefined });
        const [trace] = (await arrived(finished, before + 1)).slice(before);
        expect(trace!.meta.request_id).toBe('by-query');
        // a near miss of the secret is not the secret: only the header's name redacts it
        expect((trace!.meta.headers as Record<string, unknown>)['x-stepmark']).toBe('[Redacted]');
      });
    }
  });
}

for (const target of targets) {
  describe(`${target.name}: the trigger secret and a flight recorder (record)`, () => {
    it('is redacted before a trace enters the ring: find, the index and a dump never see it', async () => {
      const recorder = flightRecorder();
      const finished: Trace[] = [];
      const app = await target.start({
        secret: SECRET,
        responseHeader: true,
        record: recorder,
        meta: (req: unknown) => ({ headers: target.headersOf(req) }),
        onFinish: (trace: Trace) => void finished.push(trace),
      });
      try {
        const triggered = await app.call({ 'x-stepmark': SECRET, 'x-request-id': 'recorded-secret' });
        expect(triggered.traced).toBe(true);
        expect(triggered.exposed).not.toContain(SECRET);
        // recorded too, not exposed: what the app copied is the wrong secret, not the secret
        const plain = await app.call({ 'x-stepmark': WRONG, 'x-request-id': 'recorded-plain' });
        expect(plain).toEqual({ traced: true, exposed: undefined });
        await arrived(finished, 2);
        for (let i = 0; i < 100 && recorder.stats().added < 2; i++)
          await new Promise((r) => setTimeout(r, 5));
        expect(recorder.stats().added).toBe(2);

        const [kept] = recorder.find({ requestId: 'recorded-secret' });
        expect(kept).toBeDefined();
        expect(leaks(kept)).toBe(false);
        expect((kept!.meta.headers as Record<string, unknown>)['x-stepmark']).toBe('[Redacted]');
        expect(kept!.spans.map((s) => s.error)).toContain('rejected token [Redacted]');
        // the index holds the redacted entity id, never the secret
        expect(recorder.find({ entity: `session:${SECRET}` })).toEqual([]);
        expect(recorder.find({ entity: 'session:[Redacted]' }).map((t) => t.meta.request_id)).toEqual([
          'recorded-secret',
        ]);
        expect(recorder.find({ entity: `session:${WRONG}` }).map((t) => t.meta.request_id)).toEqual([
          'recorded-plain',
        ]);
        const dump = new PassThrough({ encoding: 'utf8' });
        let dumped = '';
        dump.on('data', (chunk: string) => {
          dumped += chunk;
        });
        expect(await recorder.writeNdjson(dump)).toBe(2);
        expect(dumped).toContain('recorded-secret');
        expect(dumped).not.toContain(SECRET);
        // onFinish gets the same redacted trace
        expect(finished.some(leaks)).toBe(false);
      } finally {
        await app.close();
      }
    });
  });
}

describe('stepmark/http: without a secret configured', () => {
  it('redacts the trigger header by name by default; redact: false keeps it', async () => {
    const traces: Trace[] = [];
    const start = (redact?: false) =>
      targets[0]!.start({
        authorize: () => true,
        meta: (req: unknown) => ({ headers: nodeHeaders(req) }),
        responseHeader: true,
        header: 'X-Debug-Trace',
        onFinish: (t: Trace) => void traces.push(t),
        ...(redact === false ? { traceOptions: { redact: false } } : {}),
      });
    const app = await start();
    try {
      const r = await app.call({ 'x-debug-trace': 'please', 'x-stepmark': 'unrelated', authorization: 'b' });
      const headers = (JSON.parse(r.exposed!) as Trace).meta.headers as Record<string, unknown>;
      expect(headers['x-debug-trace']).toBe('[Redacted]');
      expect(headers['x-stepmark']).toBe('unrelated');
      expect(headers.authorization).toBe('[Redacted]'); // the runtime's default list still applies
    } finally {
      await app.close();
    }
    const open = await start(false);
    try {
      const r = await open.call({ 'x-debug-trace': 'please' });
      expect((JSON.parse(r.exposed!) as Trace).meta.headers).toMatchObject({ 'x-debug-trace': 'please' });
    } finally {
      await open.close();
    }
  });
});

describe('stepmark/http + stepmark/live: a flood of anonymous triggers', () => {
  it('cannot push real traces out of the live bus', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET, bus: createBus({ capacity: 10 }) });
    const app = await targets[1]!.start({ secret: SECRET, onFinish: live.onFinish });
    try {
      await app.call({ 'x-stepmark': SECRET, 'x-request-id': 'real' });
      for (let i = 0; i < 200; i += 25) {
        await Promise.all(Array.from({ length: 25 }, () => app.call({ 'x-stepmark': 'anonymous' })));
      }
      for (let i = 0; i < 100 && live.bus.head < 1; i++) await new Promise((r) => setTimeout(r, 5));
      expect(live.bus.head).toBe(1);
      const held = live.bus.subscribe({ since: 0 }).poll();
      expect(held).toBeDefined();
      expect((held!.item.data as Trace).meta.request_id).toBe('real');
    } finally {
      await app.close();
    }
  });
});

describe('stepmark/http: a secret cut by the string cap', () => {
  it('leaves not even its beginning in front of the cut mark', async () => {
    const traces: Trace[] = [];
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const v = String(req.headers['x-stepmark']);
      // wherever the runtime's cap falls, for one of these the secret straddles it
      for (let pad = 900; pad < 1100; pad++) stepmark.record('pad', 'long', { v: 'x'.repeat(pad) + v });
      res.end('ok');
    };
    const server = await listen(
      createServer(
        stepmarkListener(listener, { secret: SECRET, onFinish: (t: Trace) => void traces.push(t) }),
      ),
    );
    try {
      await get(server.port, '/', { 'x-stepmark': SECRET });
      const [trace] = await arrived(traces, 1);
      const values = trace!.events.map((e) => String(e.meta?.v));
      expect(values.some((v) => v.endsWith(SECRET))).toBe(false);
      expect(values.some((v) => v.includes('…'))).toBe(true); // some were cut
      expect(JSON.stringify(trace)).not.toContain(SECRET.slice(0, 4));
    } finally {
      await server.close();
    }
  });
});
