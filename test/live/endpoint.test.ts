import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { StepmarkConfigError as HttpConfigError } from 'stepmark/http';
import { createBus, createLiveEndpoint, type LiveEndpoint, StepmarkConfigError } from 'stepmark/live';
import { flightRecorder } from 'stepmark/recorder';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { connectSse } from './sse-client.js';

const SECRET = 'correct-horse-battery-staple-42';
const root = dirname(createRequire(import.meta.url).resolve('stepmark/package.json'));
const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function mount(live: LiveEndpoint): Promise<string> {
  return serve((req, res) => {
    void live(req, res, () => res.writeHead(200, { 'content-type': 'text/plain' }).end('app'));
  });
}

const trace = (id: string) => ({
  meta: { request_id: id },
  entities: {},
  events: [],
  spans: [],
  dropped: 0,
});
const auth = { authorization: `Bearer ${SECRET}` };

afterEach(() => {
  for (const s of servers) s.closeAllConnections();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('live endpoint: switching on and protection', () => {
  it('is off unless enabled: passes requests on, or answers 404 without next', async () => {
    const live = createLiveEndpoint(); // no protection needed while off
    expect(live.enabled).toBe(false);
    const base = await mount(live);
    const res = await fetch(`${base}/__stepmark`, { headers: auth });
    expect(await res.text()).toBe('app');
    const bare = await serve((req, res) => void live(req, res));
    expect((await fetch(`${bare}/__stepmark`)).status).toBe(404);
    expect((await live.fetch(new Request('http://x/__stepmark'))).status).toBe(404);
    expect(live.handles('/__stepmark')).toBe(false);
  });

  it('refuses to start enabled without protection, and says why', () => {
    const fails = (options: object) => {
      try {
        createLiveEndpoint(options as never);
      } catch (error) {
        return error as Error & { code?: string; option?: string };
      }
      throw new Error(`created with ${JSON.stringify(options)}`);
    };
    const open = fails({ enabled: true });
    expect(open.name).toBe('StepmarkConfigError');
    // importable from the entry that throws it, and the same class as the adapters'
    expect(open).toBeInstanceOf(StepmarkConfigError);
    expect(StepmarkConfigError).toBe(HttpConfigError);
    expect(open.code).toBe('ERR_STEPMARK_UNAUTHORISED_EXPOSURE');
    expect(open.message).toMatch(/not protected.*business logic.*secret.*authorize/s);
    expect(fails({ enabled: true, secret: 'short' }).message).toMatch(/at least 16 visible ASCII characters/);
    expect(fails({ enabled: true, secret: [] }).option).toBe('secret');
    expect(fails({ enabled: true, authorize: 'yes' }).message).toMatch(/`authorize` must be a function/);
    expect(fails({ enabled: true, secret: SECRET, path: 'nope' }).message).toMatch(
      /must be a URL path starting with "\/"/,
    );
    // A typo or an environment string is an error, never a silently closed (or open) endpoint.
    expect(fails({ enabled: true, secret: SECRET, secrte: 'x' })).toMatchObject({
      code: 'ERR_STEPMARK_UNKNOWN_OPTION',
      option: 'secrte',
    });
    expect(fails({ enabled: 'true', secret: SECRET }).option).toBe('enabled');
    expect(fails({ enabled: true, secret: SECRET, kinds: ['traces'] }).option).toBe('kinds');
    // Disabled: nothing is required, but a bad value is still reported at start-up.
    expect(fails({ secret: 'short' }).option).toBe('secret');
    expect(createLiveEndpoint({ enabled: true, secret: [SECRET, `${SECRET}-next`] }).enabled).toBe(true);
  });

  it('lets only requests with the secret in, and never shows trace data to others', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    live.bus.publish(trace('hidden-request'));
    const base = await mount(live);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-secret-wrong-secret' },
      { authorization: SECRET }, // the secret without "Bearer"
    ];
    for (const headers of attempts) {
      for (const path of ['/__stepmark', '/__stepmark/events', '/__stepmark/traces']) {
        const res = await fetch(base + path, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(await res.text()).not.toContain('hidden-request');
      }
    }
    const ok = await fetch(`${base}/__stepmark/traces`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([trace('hidden-request')]);
    // Outside its path the endpoint stays out of the way.
    expect(await (await fetch(`${base}/orders`)).text()).toBe('app');
  });

  it('trades ?token= for an HttpOnly cookie that does not contain the secret, and drops the token from the URL', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const base = await mount(live);
    const res = await fetch(`${base}/__stepmark?token=${SECRET}&x=1`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('__stepmark?x=1');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^stepmark_live=[0-9a-f]{64}; Path=\/__stepmark; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(SECRET);
    const pair = cookie.split(';')[0]!;
    const page = await fetch(`${base}/__stepmark`, { headers: { cookie: `other=1; ${pair}` } });
    expect(page.status).toBe(200);
    expect((await fetch(`${base}/__stepmark`, { headers: { cookie: `${pair}0` } })).status).toBe(401);
    expect((await fetch(`${base}/__stepmark?token=nope`, { redirect: 'manual' })).status).toBe(401);
    // A cookie made for another secret does not open it.
    const other = createLiveEndpoint({ enabled: true, secret: `${SECRET}-other` });
    const otherBase = await mount(other);
    expect((await fetch(`${otherBase}/__stepmark`, { headers: { cookie: pair } })).status).toBe(401);
  });

  it('asks authorize(req) when given one; a throwing authorize means no, and is reported', async () => {
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const seen: string[] = [];
    const live = createLiveEndpoint({
      enabled: true,
      authorize: async (req) => {
        const r = req as http.IncomingMessage;
        seen.push(r.url ?? '');
        if (r.headers['x-boom']) throw new Error('boom');
        return r.headers['x-role'] === 'admin';
      },
    });
    const base = await mount(live);
    expect((await fetch(`${base}/__stepmark`, { headers: { 'x-role': 'admin' } })).status).toBe(200);
    expect((await fetch(`${base}/__stepmark`, { headers: { 'x-role': 'guest' } })).status).toBe(401);
    expect(
      (await fetch(`${base}/__stepmark`, { headers: { 'x-role': 'admin', 'x-boom': '1' } })).status,
    ).toBe(401);
    expect(seen).toEqual(['/__stepmark', '/__stepmark', '/__stepmark']);
    expect(warnings.mock.calls.map((c) => [String(c[0]), (c[1] as { code: string }).code])).toEqual([
      [expect.stringContaining('boom'), 'STEPMARK_LIVE_AUTHORIZE_FAILED'],
    ]);
    warnings.mockRestore();
    // The web-standard form hands authorize the Request.
    const webSeen: unknown[] = [];
    const web = createLiveEndpoint({
      enabled: true,
      authorize: (req) => {
        webSeen.push(req);
        return true;
      },
    });
    expect((await web.fetch(new Request('http://x/__stepmark'))).status).toBe(200);
    expect(webSeen[0]).toBeInstanceOf(Request);
  });

  it('serves a self-contained page under a strict CSP whose nonce matches the inline script', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET, title: 'orders service' });
    const base = await mount(live);
    const res = await fetch(`${base}/__stepmark/`, { headers: auth });
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy')!;
    const nonce = /script-src 'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}">(function viewerMain(`);
    expect(html).toContain('<title>orders service</title>');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="(?!data:)/); // nothing loaded from elsewhere
    // A fresh nonce per response.
    const again = await fetch(`${base}/__stepmark/`, { headers: auth });
    expect(again.headers.get('content-security-policy')).not.toContain(nonce);
    expect((await fetch(`${base}/__stepmark`, { method: 'POST', headers: auth })).status).toBe(405);
    expect((await fetch(`${base}/__stepmark/nothing`, { headers: auth })).status).toBe(404);
    const head = await fetch(`${base}/__stepmark`, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('live endpoint: the event stream', () => {
  it('streams the backlog and then new traces, and resumes after Last-Event-ID without gap or duplicate', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const base = await mount(live);
    live.onFinish(trace('a'));
    live.onFinish(trace('b'));
    const first = await connectSse(`${base}/__stepmark/events?since=0`, auth);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const [hello] = await first.take(1);
    expect(hello!.event).toBe('hello');
    expect(JSON.parse(hello!.data)).toMatchObject({ epoch: live.bus.epoch, head: 2 });
    const backlog = await first.take(2);
    expect(backlog.map((e) => [e.event, JSON.parse(e.data).meta.request_id])).toEqual([
      ['trace', 'a'],
      ['trace', 'b'],
    ]);
    live.onFinish(trace('c'));
    const [c] = await first.take(1);
    expect(JSON.parse(c!.data).meta.request_id).toBe('c');
    first.close();

    // Reconnect like EventSource: send the last id seen; items published meanwhile arrive once.
    live.onFinish(trace('d'));
    live.onFinish(trace('e'));
    const second = await connectSse(`${base}/__stepmark/events`, { ...auth, 'last-event-id': c!.id! });
    const resumed = await second.take(3);
    expect(resumed.map((e) => e.event)).toEqual(['hello', 'trace', 'trace']);
    expect(resumed.slice(1).map((e) => JSON.parse(e.data).meta.request_id)).toEqual(['d', 'e']);
    expect(resumed[2]!.id).toBe(`${live.bus.epoch}:5`);
    second.close();
    // Without an id, a client gets only what is published from now on.
    const fresh = await connectSse(`${base}/__stepmark/events`, auth);
    await fresh.take(1);
    live.onFinish(trace('f'));
    expect(JSON.parse((await fresh.take(1))[0]!.data).meta.request_id).toBe('f');
    fresh.close();
  });

  it('streams only the kinds it was asked for', async () => {
    const bus = createBus({ liveEvents: true });
    const traces = createLiveEndpoint({ enabled: true, secret: SECRET, bus, kinds: ['trace'] });
    const events = createLiveEndpoint({
      enabled: true,
      secret: SECRET,
      bus,
      kinds: ['event'],
      path: '/__events',
    });
    const base = await serve((req, res) => void traces(req, res, () => events(req, res)));
    const a = await connectSse(`${base}/__stepmark/events?since=0`, auth);
    const b = await connectSse(`${base}/__events/events?since=0`, auth);
    bus.publishEvent({ type: 'span-start', name: 'x' });
    bus.publish(trace('t'));
    expect((await a.take(2)).map((e) => e.event)).toEqual(['hello', 'trace']);
    expect((await b.take(2)).map((e) => e.event)).toEqual(['hello', 'event']);
    a.close();
    b.close();
  });

  it('tells a client that resumes too late how many items it lost', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET, bus: createBus({ capacity: 3 }) });
    const base = await mount(live);
    for (let i = 1; i <= 10; i++) live.onFinish(trace(`t${i}`));
    const sse = await connectSse(`${base}/__stepmark/events`, {
      ...auth,
      'last-event-id': `${live.bus.epoch}:2`,
    });
    const events = await sse.take(5);
    expect(events.map((e) => e.event)).toEqual(['hello', 'lost', 'trace', 'trace', 'trace']);
    expect(JSON.parse(events[1]!.data)).toEqual({ count: 5 });
    expect(events.slice(2).map((e) => JSON.parse(e.data).meta.request_id)).toEqual(['t8', 't9', 't10']);
    sse.close();
  });

  it('releases the subscription when the client goes away, and sends heartbeats while idle', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET, heartbeatMs: 30 });
    const base = await mount(live);
    const sse = await connectSse(`${base}/__stepmark/events`, auth);
    await sse.take(1);
    expect(live.bus.subscribers).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(sse.raw).toContain(': ping\n\n');
    sse.close();
    for (let i = 0; i < 100 && live.bus.subscribers > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(live.bus.subscribers).toBe(0);
  });

  it('does not let a client that stopped reading hold up publishers or memory: it loses items and is told', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET, bus: createBus({ capacity: 20 }) });
    const base = await mount(live);
    const url = new URL(`${base}/__stepmark/events?since=0`);
    // A raw client that reads the headers, then stops reading (socket paused).
    const req = http.get(url, { headers: auth });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.pause();
    const big = 'x'.repeat(64 * 1024);
    const total = 400; // ~25 MB in all, far beyond socket buffers
    for (let i = 1; i <= total; i++) {
      live.onFinish({ ...trace(`t${i}`), meta: { request_id: `t${i}`, pad: big } });
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(live.bus.head).toBe(total);
    // Now read everything that was queued for it.
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    res.resume();
    const deadline = Date.now() + 10_000;
    while (!text.includes(`"request_id":"t${total}"`) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    req.destroy();
    const seqs = [...text.matchAll(/^id: [^:]+:(\d+)$/gm)].map((m) => Number(m[1]));
    const lost = [...text.matchAll(/^event: lost\ndata: \{"count":(\d+)\}$/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    expect(seqs.at(-1)).toBe(total);
    expect(lost).toBeGreaterThan(0);
    // Every item is either delivered once or counted as lost.
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.length + lost).toBe(total);
  });

  it('survives a trace that cannot be serialised: the stream says so, /traces answers 500, nothing crashes', async () => {
    const live = createLiveEndpoint({ enabled: true, secret: SECRET });
    const bare = await serve((req, res) => void live(req, res)); // no next: the handler answers itself
    const sse = await connectSse(`${bare}/__stepmark/events`, auth);
    await sse.take(1);
    live.onFinish({ ...trace('bad'), meta: { n: 1n } } as never);
    live.onFinish(trace('good'));
    const [bad, good] = await sse.take(2);
    expect(JSON.parse(bad!.data).error).toMatch(/item 1 is not serialisable/);
    expect(JSON.parse(good!.data).meta.request_id).toBe('good');
    sse.close();
    const res = await fetch(`${bare}/__stepmark/traces`, { headers: auth });
    expect(res.status).toBe(500);
    // With next (Express and friends), the error goes to the app's error handling.
    const errors: unknown[] = [];
    const withNext = await serve((req, res) =>
      live(req, res, (error) => {
        errors.push(error);
        res.writeHead(502).end();
      }),
    );
    expect((await fetch(`${withNext}/__stepmark/traces`, { headers: auth })).status).toBe(502);
    expect(String(errors[0])).toMatch(/BigInt/);
    // A request target that is not a URL is passed on, not thrown.
    expect(live.handles('http://[')).toBe(false);
  });

  it('builds the same self-contained page from the CommonJS entry as from the ESM one', () => {
    // In a plain Node process: under Vitest the ESM entry would itself be transformed.
    const script = `
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('stepmark/live');
      const esm = await import('stepmark/live');
      const options = { traces: [{ meta: {}, entities: {}, events: [], spans: [] }], nonce: 'n' };
      process.stdout.write(JSON.stringify([esm.viewerPage(options), cjs.viewerPage(options)]));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    const [fromEsm, fromCjs] = JSON.parse(child.stdout) as [string, string];
    expect(fromCjs).toBe(fromEsm);
    // The browser script is embedded by Function#toString: no bundler helper may leak into it.
    const page = fromCjs.slice(fromCjs.indexOf('(function viewerMain'));
    expect(page).not.toMatch(/__name|__toESM|_nullishCoalesce|_optionalChain|require\(|import_/);
  });
});

describe('live endpoint: a flight recorder behind it', () => {
  it('answers /find from the recorder, protected like the page, and serves its traces at /traces', async () => {
    const recorder = flightRecorder();
    const order = (id: string, action: string) => ({
      ...trace(`req-${id}`),
      entities: {
        [id]: {
          entity_id: id,
          kind: 'order',
          meta: {},
          events: [{ stage: 'fraud', action, timestamp: new Date().toISOString() }],
        },
      },
    });
    recorder.add(order('order_1', 'passed'));
    recorder.add(order('order_2', 'rejected'));
    recorder.add(order('order_1', 'rejected'));
    const live = createLiveEndpoint({ enabled: true, secret: SECRET, recorder });
    const base = await mount(live);
    const get = async (path: string, headers: Record<string, string> = auth) => {
      const res = await fetch(`${base}/__stepmark${path}`, { headers });
      return { status: res.status, body: await res.text() };
    };
    const ids = (body: string) =>
      (JSON.parse(body) as { meta: { request_id: string } }[]).map((t) => t.meta.request_id);
    const stranger = await get('/find?entity=order_1', {});
    expect(stranger.status).toBe(401);
    expect(stranger.body).not.toContain('order_1');
    const found = await get('/find?entity=order_1');
    expect(found.status).toBe(200);
    expect(ids(found.body)).toEqual(['req-order_1', 'req-order_1']);
    expect(JSON.parse(found.body)[0].entities.order_1.events[0].action).toBe('rejected');
    expect(ids((await get('/find?action=rejected&limit=1')).body)).toEqual(['req-order_1']);
    expect(ids((await get('/find?request_id=req-order_2')).body)).toEqual(['req-order_2']);
    expect(ids((await get('/find?entity=order_9')).body)).toEqual([]);
    expect(await get('/find?entiy=order_1')).toMatchObject({
      status: 400,
      body: expect.stringContaining('entiy'),
    });
    expect(await get('/find?entity=order_1&entity=order_2')).toMatchObject({
      status: 400,
      body: expect.stringContaining('"entity" is given more than once'),
    });
    // an empty value is malformed, not "no condition": it would answer every trace
    for (const key of ['entity', 'request_id', 'stage', 'action', 'error', 'since', 'until', 'limit']) {
      expect(await get(`/find?${key}=`)).toMatchObject({
        status: 400,
        body: expect.stringContaining(`"${key}" is empty`),
      });
    }
    expect(await get('/find?limit=-1')).toMatchObject({ status: 400 });
    expect(await get('/find?error=maybe')).toMatchObject({ status: 400 });
    expect(await get('/find?since=yesterday')).toMatchObject({
      status: 400,
      body: expect.stringContaining('since'),
    });
    // Oldest first, like the bus; a limit keeps the newest.
    expect(ids((await get('/traces')).body)).toEqual(['req-order_1', 'req-order_2', 'req-order_1']);
    expect(ids((await get('/traces?limit=1')).body)).toEqual(['req-order_1']);
    // The web-standard face answers the same.
    const web = await live.fetch(new Request('http://x/__stepmark/find?entity=order_2', { headers: auth }));
    expect(ids(await web.text())).toEqual(['req-order_2']);
    // The page knows it may ask.
    expect(await (await fetch(`${base}/__stepmark`, { headers: auth })).text()).toContain('"find":true');
  });

  it('has no /find without a recorder, and refuses something else as one', async () => {
    const base = await mount(createLiveEndpoint({ enabled: true, secret: SECRET }));
    expect((await fetch(`${base}/__stepmark/find?entity=x`, { headers: auth })).status).toBe(404);
    expect(() => createLiveEndpoint({ recorder: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_INVALID_OPTION', option: 'recorder' }),
    );
  });
});
