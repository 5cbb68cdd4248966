// Users on Node 20 are supported: the live endpoint (in the browser test's app) and the
// `stepmark` command on the machine's own Node, started the way CI starts its Node 20 smoke test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRATCH_ROOT } from '../support/scratch.js';
import { connectSse } from './sse-client.js';

const root = dirname(createRequire(import.meta.url).resolve('stepmark/package.json'));
const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
const SECRET = 'node20-live-secret-0123456789';
let app: ChildProcess;
let base: string;

beforeAll(async () => {
  app = spawn('node', [join(root, 'test/live/fixtures/server.mjs')], {
    cwd: root,
    env: { ...env, STEPMARK_LIVE_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await Promise.race([
    once(createInterface({ input: app.stdout! }), 'line').then(([l]) => l as string),
    once(app, 'exit').then(([code]) => {
      throw new Error(`server.mjs exited with ${code} on the machine's node`);
    }),
  ]);
  base = `http://127.0.0.1:${JSON.parse(line).port}`;
});

afterAll(async () => {
  if (app && app.exitCode === null) {
    const exited = once(app, 'exit');
    app.kill('SIGTERM');
    await exited;
  }
});

describe("on the machine's own Node", () => {
  it('is Node 20', () => {
    const version = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout.trim();
    expect(version).toMatch(/^v20\./);
  });

  it('serves the page and streams traced requests', async () => {
    const auth = { authorization: `Bearer ${SECRET}` };
    const page = await fetch(`${base}/__stepmark`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('(function viewerMain(');
    const sse = await connectSse(`${base}/__stepmark/events?since=0`, auth);
    await sse.take(1); // hello
    expect((await fetch(`${base}/orders/5?total=10`, { headers: { 'x-stepmark': '1' } })).status).toBe(200);
    const [ev] = await sse.take(1);
    const trace = JSON.parse(ev!.data);
    expect(trace.spans.map((s: { name: string }) => s.name)).toEqual([
      'placeOrder',
      'checkInventory',
      'scoreFraud',
    ]);
    expect(Object.keys(trace.entities)).toEqual(['order_5']);
    sse.close();
  });

  it('runs stepmark view', () => {
    const dir = join(SCRATCH_ROOT, 'live-node20');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'node20.json');
    writeFileSync(
      file,
      JSON.stringify({
        meta: { request_id: 'n20' },
        entities: {
          u1: {
            entity_id: 'u1',
            kind: 'user',
            meta: {},
            events: [{ stage: 'signup', action: 'ok', timestamp: '2026-01-01T00:00:00.000Z' }],
          },
        },
        events: [],
        spans: [
          {
            span_id: '1',
            name: 'signup',
            start: '2026-01-01T00:00:00.000Z',
            end: '2026-01-01T00:00:00.002Z',
            duration_ms: 2,
            status: 'ok',
          },
        ],
        dropped: 0,
      }),
    );
    const r = spawnSync(join(root, 'dist/cli/index.js'), ['view', file], { env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('u1 (user)');
    expect(r.stdout).toContain('signup → ok');
  });
});
