// The behaviour every HTTP adapter must show, run against a real server of each framework over
// loopback. Each *.test.ts supplies a fixture: its framework's app with the routes below.
//
// Routes every fixture implements:
//   GET /orders/:id[?n=N]  await placeOrder(id, N), reply JSON { id, traced }
//   GET /boom              await a tick, then failOrder() (throws; the framework answers 500)
//   GET /stream            record stream:before, send 'first\n' (headers go out), wait 30 ms,
//                          record stream:after, send 'second\n', end
//   GET /slow              stream a chunk every 10 ms (recording slow:chunk each) until the
//                          client is gone or 300 chunks were sent
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { abortAfterFirstChunk, delay, eventsOf, FinishLog, get, SECRET, type Trace } from './helpers.js';

export interface TestServer {
  port: number;
  close(): Promise<void>;
}

export interface AdapterFixture {
  name: string;
  /** Creates the app with the adapter and these options, listening on 127.0.0.1:0. */
  start(options: Record<string, unknown>): Promise<TestServer>;
  /** The request path, read from what the adapter hands to callbacks (req, request, ctx, c). */
  pathOf(req: unknown): string;
  /** Route pattern the framework reports for GET /orders/:id. */
  orderRoute: string | undefined;
}

const TRACE_HEADER = 'x-stepmark-trace';
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function parseHeader(value: string | string[] | undefined): Trace {
  expect(typeof value).toBe('string');
  expect(value).toMatch(PRINTABLE_ASCII);
  return JSON.parse(value as string) as Trace;
}

export function adapterSuite(fixture: AdapterFixture): void {
  describe(`${fixture.name}: tracing over a real server`, () => {
    const log = new FinishLog();
    const errors: Array<[string, unknown]> = [];
    let server: TestServer;
    let port: number;

    beforeAll(async () => {
      server = await fixture.start({
        secret: SECRET,
        responseHeader: true,
        query: 'stepmark',
        onFinish: log.onFinish,
        onError: (error: unknown, source: string) => errors.push([source, error]),
      });
      port = server.port;
    });
    afterAll(async () => {
      await server?.close();
    });

    it('leaves an untriggered request alone: no trace, no header, no onFinish', async () => {
      const r = await get(port, '/orders/1', { 'x-request-id': 'untriggered-1' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ id: '1', traced: false });
      expect(r.headers[TRACE_HEADER]).toBeUndefined();
      await get(port, '/orders/1b', { 'x-stepmark': SECRET, 'x-request-id': 'after-untriggered' });
      await log.byId('after-untriggered');
      expect(log.traces.some((t) => t.meta.request_id === 'untriggered-1')).toBe(false);
    });

    it('does not trace a trigger header without the secret', async () => {
      const r = await get(port, '/orders/2w', { 'x-stepmark': 'not-the-secret', 'x-request-id': 'wrong-2' });
      expect(JSON.parse(r.body)).toEqual({ id: '2w', traced: false });
      expect(r.headers[TRACE_HEADER]).toBeUndefined();
      await get(port, '/orders/2x', { 'x-stepmark': SECRET, 'x-request-id': 'after-wrong' });
      await log.byId('after-wrong');
      expect(log.traces.some((t) => t.meta.request_id === 'wrong-2')).toBe(false);
    });

    it('records a request triggered without authority (query) for onFinish only, with request meta', async () => {
      const r = await get(port, '/orders/2?stepmark=1', { 'x-request-id': 'unauth-2' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ id: '2', traced: true });
      expect(r.headers[TRACE_HEADER]).toBeUndefined();
      const trace = await log.byId('unauth-2');
      expect(trace.meta).toMatchObject({
        request_id: 'unauth-2',
        method: 'GET',
        path: '/orders/2',
        status: 200,
      });
      expect(trace.meta.route).toBe(fixture.orderRoute);
      expect(trace.meta.duration_ms).toBeGreaterThan(0);
      expect(trace.meta.aborted).toBeUndefined();
      expect(eventsOf(trace, 'order_2')).toEqual(['validate:ok', 'charge:done']);
    });

    it('exposes the trace to an authorised request: ASCII header that parses back to the trace', async () => {
      const r = await get(port, '/orders/3', { 'x-stepmark': SECRET, 'x-request-id': 'auth-3' });
      expect(r.status).toBe(200);
      const exposed = parseHeader(r.headers[TRACE_HEADER]);
      const finished = await log.byId('auth-3');
      expect(exposed.meta).toMatchObject({ request_id: 'auth-3', status: 200 });
      expect(exposed.meta.route).toBe(fixture.orderRoute);
      expect(exposed.entities.order_3).toEqual(finished.entities.order_3);
      expect(exposed.entities.order_3.kind).toBe('order');
      // non-ASCII meta survives the escaping unchanged
      expect(exposed.entities.order_3.events[1].meta).toEqual({ note: 'naïve café ✓ 注文' });
    });

    it('keeps concurrent requests apart: each trace holds only its own entity', async () => {
      const ids = Array.from({ length: 24 }, (_, i) => `c${i}`);
      const replies = await Promise.all(
        ids.map((id) => get(port, `/orders/${id}`, { 'x-stepmark': SECRET, 'x-request-id': `conc-${id}` })),
      );
      replies.forEach((r, i) => {
        const trace = parseHeader(r.headers[TRACE_HEADER]);
        expect(Object.keys(trace.entities)).toEqual([`order_${ids[i]}`]);
        expect(trace.meta.request_id).toBe(`conc-${ids[i]}`);
      });
      for (const id of ids) {
        const trace = await log.byId(`conc-${id}`);
        expect(Object.keys(trace.entities)).toEqual([`order_${id}`]);
        expect(eventsOf(trace, `order_${id}`)).toEqual(['validate:ok', 'charge:done']);
      }
    });

    it('triggers on the query parameter (query never carries the secret: no header)', async () => {
      const r = await get(port, `/orders/4?stepmark=${SECRET}`, { 'x-request-id': 'query-4' });
      expect(JSON.parse(r.body)).toEqual({ id: '4', traced: true });
      expect(r.headers[TRACE_HEADER]).toBeUndefined();
      expect((await log.byId('query-4')).meta.path).toBe('/orders/4');
    });

    it('generates a request id when none is given', async () => {
      const before = log.traces.length;
      await get(port, '/orders/gen', { 'x-stepmark': SECRET });
      const traces = await log.waitFor(before + 1);
      const trace = traces.find((t) => t.entities.order_gen);
      expect(trace?.meta.request_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('survives a throwing handler: 500, trace with status 500, server still serving', async () => {
      const r = await get(port, '/boom', { 'x-stepmark': SECRET, 'x-request-id': 'boom-1' });
      expect(r.status).toBe(500);
      const exposed = parseHeader(r.headers[TRACE_HEADER]);
      expect(exposed.meta.status).toBe(500);
      expect(exposed.events.map((e) => `${e.stage}:${e.action}`)).toContain('fail:about-to-throw');
      expect((await log.byId('boom-1')).meta.status).toBe(500);
      const after = await get(port, '/orders/5', { 'x-stepmark': SECRET });
      expect(after.status).toBe(200);
    });

    it('streams: the header holds the trace as it was when headers went out, onFinish all of it', async () => {
      const r = await get(port, '/stream', { 'x-stepmark': SECRET, 'x-request-id': 'stream-1' });
      expect(r.status).toBe(200);
      expect(r.body).toBe('first\nsecond\n');
      const stages = (t: Trace) => t.events.map((e) => `${e.stage}:${e.action}`);
      const exposed = parseHeader(r.headers[TRACE_HEADER]);
      expect(stages(exposed)).toContain('stream:before');
      expect(stages(exposed)).not.toContain('stream:after');
      const finished = await log.byId('stream-1');
      expect(stages(finished)).toEqual(expect.arrayContaining(['stream:before', 'stream:after']));
      expect(finished.meta.aborted).toBeUndefined();
    });

    it('answers HEAD with the trace header and no body', async () => {
      const r = await get(port, '/orders/6', { 'x-stepmark': SECRET, 'x-request-id': 'head-6' }, 'HEAD');
      expect(r.status).toBe(200);
      expect(r.body).toBe('');
      expect(parseHeader(r.headers[TRACE_HEADER]).meta.request_id).toBe('head-6');
      expect((await log.byId('head-6')).meta).toMatchObject({ method: 'HEAD', status: 200 });
    });

    it('reports a client that aborts mid-response, and keeps serving', async () => {
      await abortAfterFirstChunk(port, '/slow', { 'x-stepmark': SECRET, 'x-request-id': 'abort-1' });
      const trace = await log.byId('abort-1');
      expect(trace.meta.aborted).toBe(true);
      const chunks = trace.events.filter((e) => e.stage === 'slow').length;
      expect(chunks).toBeGreaterThan(0);
      expect(chunks).toBeLessThan(300);
      const after = await get(port, '/orders/7', { 'x-stepmark': SECRET, 'x-request-id': 'after-abort' });
      expect(JSON.parse(after.body)).toEqual({ id: '7', traced: true });
    });

    it('replaces an over-size trace by a truncation marker; onFinish still gets all of it', async () => {
      const r = await get(port, '/orders/8?n=400', { 'x-stepmark': SECRET, 'x-request-id': 'big-8' });
      expect(r.status).toBe(200);
      const marker = parseHeader(r.headers[TRACE_HEADER]) as unknown as Record<string, unknown>;
      expect(marker).toMatchObject({ truncated: true, limit: 8192, request_id: 'big-8' });
      expect(marker.bytes).toBeGreaterThan(8192);
      expect(String(r.headers[TRACE_HEADER]).length).toBeLessThan(200);
      const finished = await log.byId('big-8');
      expect(eventsOf(finished, 'order_8')).toHaveLength(402);
    });

    it('reported no adapter errors along the way', () => {
      expect(errors).toEqual([]);
    });
  });

  describe(`${fixture.name}: record (every request into a flight recorder)`, () => {
    const recorder = flightRecorder({ keep: { errors: true } });
    const log = new FinishLog();
    const errors: Array<[string, unknown]> = [];
    let server: TestServer;
    beforeAll(async () => {
      server = await fixture.start({
        record: recorder,
        secret: SECRET,
        responseHeader: true,
        onFinish: log.onFinish,
        onError: (error: unknown, source: string) => errors.push([source, error]),
      });
    });
    afterAll(async () => {
      await server?.close();
    });
    /** The recorded trace of a request (recording happens once the response is over). */
    const recorded = async (requestId: string): Promise<Trace> => {
      for (let i = 0; i < 500; i++) {
        const [found] = recorder.find({ requestId });
        if (found) return found as Trace;
        await delay(5);
      }
      throw new Error(`${requestId} was never recorded`);
    };

    it('traces and records an untriggered request without exposing it', async () => {
      const r = await get(server.port, '/orders/r1', { 'x-request-id': 'rec-1' });
      expect(JSON.parse(r.body)).toEqual({ id: 'r1', traced: true });
      expect(r.headers[TRACE_HEADER]).toBeUndefined();
      const trace = await recorded('rec-1');
      expect(trace.meta).toMatchObject({
        request_id: 'rec-1',
        method: 'GET',
        path: '/orders/r1',
        status: 200,
      });
      expect(eventsOf(trace, 'order_r1')).toEqual(['validate:ok', 'charge:done']);
      expect((await log.byId('rec-1')).entities.order_r1).toEqual(trace.entities.order_r1);
      expect(recorder.find({ entity: 'order_r1' })).toHaveLength(1);
    });

    it('exposes only to an authorised trigger; every request is recorded either way', async () => {
      const denied = await get(server.port, '/orders/r2', { 'x-stepmark': 'wrong', 'x-request-id': 'rec-2' });
      expect(denied.headers[TRACE_HEADER]).toBeUndefined();
      const allowed = await get(server.port, '/orders/r3', { 'x-stepmark': SECRET, 'x-request-id': 'rec-3' });
      expect(parseHeader(allowed.headers[TRACE_HEADER]).entities.order_r3).toBeDefined();
      expect(eventsOf(await recorded('rec-2'), 'order_r2')).toEqual(['validate:ok', 'charge:done']);
      expect(eventsOf(await recorded('rec-3'), 'order_r3')).toEqual(['validate:ok', 'charge:done']);
    });

    it('keeps concurrent untriggered requests apart in the recorder', async () => {
      const n = Array.from({ length: 16 }, (_, i) => `k${i}`);
      await Promise.all(n.map((id) => get(server.port, `/orders/${id}`, { 'x-request-id': `rec-${id}` })));
      for (const id of n) {
        const trace = await recorded(`rec-${id}`);
        expect(Object.keys(trace.entities)).toEqual([`order_${id}`]);
      }
    });

    it('records a failed request as an error, kept by the keep rule', async () => {
      const r = await get(server.port, '/boom', { 'x-request-id': 'rec-boom' });
      expect(r.status).toBe(500);
      expect((await recorded('rec-boom')).meta.status).toBe(500);
      expect(recorder.find({ error: true }).map((t) => t.meta.request_id)).toEqual(['rec-boom']);
      expect(recorder.stats().kept).toBe(1);
      expect(errors).toEqual([]);
    });

    it('takes onFinish: recorder.add as record takes the recorder (the ended trace, nothing collected)', async () => {
      const own = flightRecorder();
      const handed: string[] = [];
      // a recorder's add as the runtime knows it: a collected trace in, or the ended trace itself
      const add = Object.assign((trace: Trace) => handed.push(`collected ${trace.meta.request_id}`), {
        [Symbol.for('stepmark.runtime.v2.onEndCompact')]: (trace: { meta: Trace['meta'] }) =>
          handed.push(`ended ${trace.meta.request_id}`),
      });
      const servers = [
        await fixture.start({ secret: SECRET, onFinish: own.add }),
        await fixture.start({ secret: SECRET, onFinish: add }),
      ];
      try {
        for (const [i, s] of servers.entries())
          await get(s.port, '/orders/f1', { 'x-stepmark': SECRET, 'x-request-id': `fin-${i}` });
        for (let i = 0; i < 500 && (own.stats().added === 0 || handed.length === 0); i++) await delay(5);
        const [trace] = own.find({ requestId: 'fin-0' });
        expect(trace?.meta).toMatchObject({ request_id: 'fin-0', method: 'GET', status: 200 });
        expect(eventsOf(trace!, 'order_f1')).toEqual(['validate:ok', 'charge:done']);
        expect(handed).toEqual(['ended fin-1']);
      } finally {
        for (const s of servers) await s.close();
      }
    });

    it('refuses a record option that is not a recorder', async () => {
      const failure = await fixture.start({ record: {} }).then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({ code: 'ERR_STEPMARK_INVALID_OPTION', option: 'record' });
    });
  });

  describe(`${fixture.name}: options`, () => {
    it('refuses exposure without secret or authorize, at start-up, saying why', async () => {
      const failure = await fixture.start({ responseHeader: true }).then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({
        name: 'StepmarkConfigError',
        code: 'ERR_STEPMARK_UNAUTHORISED_EXPOSURE',
      });
      expect(String((failure as Error).message)).toMatch(/leaks/);
    });

    it('rejects an unknown option by name', async () => {
      const failure = await fixture.start({ responseHeaders: true }).then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({ code: 'ERR_STEPMARK_UNKNOWN_OPTION', option: 'responseHeaders' });
    });

    it('does not record what nobody can read (no onFinish, not authorised)', async () => {
      const server = await fixture.start({ secret: SECRET, responseHeader: true });
      try {
        const denied = await get(server.port, '/orders/9', { 'x-stepmark': 'wrong' });
        expect(JSON.parse(denied.body)).toEqual({ id: '9', traced: false });
        const allowed = await get(server.port, '/orders/9', { 'x-stepmark': SECRET });
        expect(JSON.parse(allowed.body)).toEqual({ id: '9', traced: true });
        expect(parseHeader(allowed.headers[TRACE_HEADER]).entities.order_9).toBeDefined();
      } finally {
        await server.close();
      }
    });

    it('uses an asynchronous authorize, a predicate trigger and custom header names', async () => {
      const log = new FinishLog();
      const server = await fixture.start({
        header: 'x-debug-trace',
        trigger: (req: unknown) => fixture.pathOf(req).endsWith('/always'),
        requestIdHeader: 'x-correlation-id',
        responseHeader: 'x-trace-out',
        authorize: async (req: unknown) => {
          await delay(5);
          return fixture.pathOf(req).includes('admin');
        },
        onFinish: log.onFinish,
      });
      try {
        const viaPredicate = await get(server.port, '/orders/always', { 'x-correlation-id': 'pred-1' });
        expect(JSON.parse(viaPredicate.body).traced).toBe(true);
        expect(viaPredicate.headers['x-trace-out']).toBeUndefined();
        expect((await log.byId('pred-1')).entities.order_always).toBeDefined();
        const admin = await get(server.port, '/orders/admin', {
          'x-debug-trace': '1',
          'x-correlation-id': 'adm',
        });
        expect(parseHeader(admin.headers['x-trace-out']).meta.request_id).toBe('adm');
        const plain = await get(server.port, '/orders/10', { 'x-stepmark': SECRET });
        expect(JSON.parse(plain.body).traced).toBe(false);
      } finally {
        await server.close();
      }
    });

    it('reports a throwing or rejecting onFinish once through onError and keeps serving', async () => {
      const reported: Array<[string, unknown]> = [];
      let calls = 0;
      // the broken hook is itself reported once, as a process warning (kept off the output here)
      const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      const server = await fixture.start({
        onFinish: (trace: Trace) => {
          calls++;
          if (trace.meta.request_id === 'sync-throw') throw new Error('sync');
          return Promise.reject(new Error('async'));
        },
        onError: (error: unknown, source: string) => {
          reported.push([source, (error as Error).message]);
          throw new Error(`a broken error hook must not matter either (${fixture.name})`);
        },
      });
      try {
        await get(server.port, '/orders/11', { 'x-stepmark': '1', 'x-request-id': 'sync-throw' });
        await get(server.port, '/orders/12', { 'x-stepmark': '1', 'x-request-id': 'rejects' });
        const ok = await get(server.port, '/orders/13');
        expect(ok.status).toBe(200);
        for (let i = 0; i < 100 && reported.length < 2; i++) await delay(10);
        await delay(20);
        expect(calls).toBe(2);
        expect(reported.sort()).toEqual([
          ['onFinish', 'async'],
          ['onFinish', 'sync'],
        ]);
        const about = warnings.mock.calls.filter((c) => String(c[0]).includes(`(${fixture.name})`));
        expect(about.map((c) => (c[1] as { code?: string }).code)).toEqual(['STEPMARK_ON_ERROR_FAILED']);
      } finally {
        warnings.mockRestore();
        await server.close();
      }
    });
  });
}

/** The streaming route's steps, for fixtures whose framework exposes a writable body. */
export async function streamSteps(write: (chunk: string) => void, end: () => void): Promise<void> {
  stepmark.record('stream', 'before');
  write('first\n');
  await delay(30);
  stepmark.record('stream', 'after');
  write('second\n');
  end();
}

/** The slow route: a chunk every 10 ms until `gone()` or 300 chunks. */
export async function slowSteps(
  write: (chunk: string) => void,
  end: () => void,
  gone: () => boolean,
): Promise<void> {
  for (let i = 0; i < 300 && !gone(); i++) {
    stepmark.record('slow', 'chunk', { i });
    write(`chunk ${i}\n`);
    await delay(10);
  }
  if (!gone()) end();
}
