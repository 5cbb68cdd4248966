// stepmark on Node, Bun and Deno (`deno run -A`): the runtime, an esbuild-built example, Bun.build
// with the esbuild plugin, stepmark/hono on each runtime's own server, a flight recorder behind
// it, and the live page's event stream, each giving the same result everywhere. Bun and Deno are
// devDependencies (their npm packages install the binaries); the tests skip, saying so, only
// outside CI when a binary is missing.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import stepmark from 'stepmark/esbuild-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const exec = promisify(execFile);
const HERE = join(REPO_ROOT, 'test/hosts');
const EXAMPLE = join(REPO_ROOT, 'examples/order-service');

/** The command that runs a script on each runtime. */
const RUNTIMES = {
  node: [process.execPath],
  bun: [join(REPO_ROOT, 'node_modules/.bin/bun')],
  deno: [join(REPO_ROOT, 'node_modules/.bin/deno'), 'run', '-A'],
} as const;
type Runtime = keyof typeof RUNTIMES;

/** Runs `script` (in test/hosts) with `args` on `runtime`: the JSON line it prints, and its stderr. */
async function runWithStderr(
  runtime: Runtime,
  script: string,
  args: string[] = [],
  cwd = REPO_ROOT,
): Promise<{ out: any; stderr: string }> {
  const [command, ...pre] = RUNTIMES[runtime];
  const { stdout, stderr } = await exec(command, [...pre, join(HERE, script), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
  }).catch((error: { message: string; stderr?: string }) => {
    throw new Error(`${runtime} ${script}: ${error.message}\n${error.stderr ?? ''}`);
  });
  return { out: JSON.parse(stdout), stderr };
}

/** Runs `script` (in test/hosts) with `args` on `runtime` and parses the JSON line it prints. */
async function run(runtime: Runtime, script: string, args: string[] = [], cwd = REPO_ROOT): Promise<any> {
  return (await runWithStderr(runtime, script, args, cwd)).out;
}

// Outside the repository's output folder `import "stepmark"` would not find this package.
mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
const tmp = mkdtempSync(join(REPO_ROOT, 'test-output', 'hosts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh folder for one runtime's recorder dumps. */
function dumps(runtime: Runtime): string {
  const dir = join(tmp, `dumps-${runtime}`);
  mkdirSync(dir);
  return dir;
}

/** examples/order-service built by esbuild with the stepmark plugin, stepmark itself external. */
const bundle = join(tmp, 'order-service.mjs');
/** What Node gives: the reference for the other runtimes. */
const onNode: Record<string, Promise<any>> = {};

beforeAll(async () => {
  await esbuild.build({
    absWorkingDir: EXAMPLE,
    entryPoints: ['src/index.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    external: ['stepmark', 'stepmark/*'],
    logLevel: 'silent',
    plugins: [stepmark()],
  });
  // Started together; each test awaits the one it compares with.
  onNode.runtime = run('node', 'runtime.mjs');
  onNode.orders = run('node', 'orders.mjs', [bundle]);
  onNode.hono = run('node', 'hono.mjs');
  onNode.recorder = run('node', 'recorder.mjs', [dumps('node')]);
  onNode.live = runWithStderr('node', 'live.mjs');
  for (const p of Object.values(onNode)) p.catch(() => {}); // awaited (and reported) by the tests
});

describe('on Node (the reference)', () => {
  it('the runtime without a build step: stack names, concurrent traces apart, errors, caps', async () => {
    const out = await onNode.runtime;
    const [first, second, a, b] = out.concurrent;
    expect([first, second]).toEqual(['confirmed', 'refused']);
    expect(a.spans.map((s: { name: string }) => s.name)).toEqual(['place', 'validate', 'FraudCheck.score']);
    expect(Object.keys(a.entities)).toEqual(['order_1']);
    expect(Object.keys(b.entities)).toEqual(['order_2']);
    expect(b.entities.order_2.events.map((e: { action: string }) => e.action)).toEqual([
      'entered',
      'flagged',
      'exited',
      'refused',
    ]);
    expect(out.error[0]).toBe('bad total for order_3');
    expect(out.error[1].spans.map((s: { status: string }) => s.status)).toEqual(['error', 'error']);
    expect(out.sync[1].dropped).toBe(2);
    expect(out.sync[1].entities.user_1.meta).toEqual({ card: '[Redacted]', note: 'kept' });
    expect(out.untraced).toEqual(['confirmed']);
  });

  it('the esbuild-built example: build-time names and locations', async () => {
    const out = await onNode.orders;
    expect(out.traced.map((o: { result: { status: string } }) => o.result.status)).toEqual([
      'confirmed',
      'rejected',
      'rejected',
    ]);
    const spans = out.traced[0].trace.spans;
    expect(spans.map((s: { name: string }) => s.name)).toContain('FraudCheck.score');
    expect(spans.find((s: { name: string }) => s.name === 'FraudCheck.assess').location).toBe(
      'src/fraud.ts:12:3',
    );
  });

  it('stepmark/hono on @hono/node-server', async () => {
    const out = await onNode.hono;
    const journey = (t: any) => t.entities.order_1.events.map((e: any) => `${e.stage}:${e.action}`);
    expect(journey(out.authorised.exposed)).toEqual(['validate:ok', 'charge:done']);
    expect(journey(out.authorised.onFinished)).toEqual(['validate:ok', 'charge:done']);
    expect(out.unauthorised).toMatchObject({ exposed: null, onFinished: false });
    expect(out.untraced).toMatchObject({ exposed: null, onFinished: false });
    expect(out.concurrent.map((r: any) => Object.keys(r.onFinished.entities))).toEqual([
      ['order_4'],
      ['order_5'],
    ]);
  });

  it('the live event stream in Hono and as a fetch handler ends when its client goes away', async () => {
    const { out, stderr } = await onNode.live;
    const session = {
      status: 200,
      type: 'text/event-stream; charset=utf-8',
      hello: 'hello',
      trace: ['trace', ['order_7']],
      whileOpen: 1,
      afterDisconnect: 0, // no heartbeat was due: the disconnect itself ended the stream
      unauthorised: 401,
    };
    expect(out).toEqual({ hono: session, bare: session });
    expect(stderr).toBe('');
  });

  it('a flight recorder behind stepmark/hono: every request recorded, found, dumped', async () => {
    const out = await onNode.recorder;
    expect(out.stats).toEqual({ added: 400, kept: 1, turnedOver: true, fits: true });
    const validated = (n: number, action: string) => ({
      request_id: `req-${n}`,
      status: n === 13 ? 500 : 200,
      path: `/orders/${n}`,
      events: [['validate', action, { note: 'naïve café ✓', n }]],
    });
    expect(out.recent).toEqual([validated(392, 'rejected')]);
    // evicted long ago from ordinary traffic, held by keep: { errors: true }
    expect(out.failed).toEqual([validated(13, 'ok')]);
    expect(out.evicted).toBe(0);
    expect(out.byRequest).toEqual([validated(399, 'rejected')]);
    // the three newest rejected orders: from the last batch (which of its eight finished last varies)
    expect(out.rejected).toEqual({ found: 3, distinct: 3, pass: true, lastBatch: true });
    expect(out.errors).toEqual([]);
    expect(out.dump).toEqual({ everything: true, first: 'req-13', lastFromLastBatch: true });
    expect(out.signal).toEqual({ everything: true, reason: 'signal', lines: true });
  });
});

for (const runtime of ['bun', 'deno'] as const) {
  const missing = !existsSync(RUNTIMES[runtime][0]);
  // CI must run them: there a missing binary fails the tests instead of skipping them.
  const skip = missing && !process.env.CI;
  if (skip) console.warn(`test/hosts: ${runtime} is not installed (npm install installs it): skipped`);

  describe.skipIf(skip)(`on ${runtime === 'bun' ? 'Bun' : 'Deno'}`, () => {
    it('the runtime without a build step gives the trace Node gives', async () => {
      const [mine, node] = await Promise.all([run(runtime, 'runtime.mjs'), onNode.runtime]);
      // Without a build step names come from the stack; JavaScriptCore's call sites do not tell
      // a method's class, so on Bun a method is named by itself (docs/NAMING.md).
      const expected =
        runtime === 'bun'
          ? JSON.parse(JSON.stringify(node).replaceAll('"FraudCheck.score"', '"score"'))
          : node;
      expect(mine).toEqual(expected);
    });

    it('the esbuild-built example gives the trace Node gives', async () => {
      const [mine, node] = await Promise.all([run(runtime, 'orders.mjs', [bundle]), onNode.orders]);
      expect(mine).toEqual(node);
    });

    it(`stepmark/hono on ${runtime === 'bun' ? 'Bun.serve' : 'Deno.serve'} answers and traces as on Node`, async () => {
      const [mine, node] = await Promise.all([run(runtime, 'hono.mjs'), onNode.hono]);
      expect(mine).toEqual(node);
    });

    it('a flight recorder behind stepmark/hono records, finds and dumps as on Node', async () => {
      const [mine, node] = await Promise.all([
        run(runtime, 'recorder.mjs', [dumps(runtime)]),
        onNode.recorder,
      ]);
      expect(mine).toEqual(node);
    });

    it('the live event stream ends when its client goes away, as on Node, and prints nothing', async () => {
      const [mine, node] = await Promise.all([runWithStderr(runtime, 'live.mjs'), onNode.live]);
      expect(mine.out).toEqual(node.out);
      // On Deno.serve, reading `request.signal` prints a deprecation warning: the endpoint must not.
      expect(mine.stderr).toBe('');
    });

    if (runtime === 'bun') {
      it('Bun.build with stepmark/esbuild-plugin builds the example as esbuild does', async () => {
        // Run from the example's folder: Bun has no absWorkingDir, so the plugin's root is the cwd.
        const [mine, node] = await Promise.all([
          run('bun', 'bun-build.mjs', [join(tmp, 'bun')], EXAMPLE),
          onNode.orders,
        ]);
        expect(mine).toEqual(node);
      });
    }
  });
}
