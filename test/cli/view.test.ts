// The real `stepmark` binary (dist/cli/index.js, what package.json's bin points at), run
// as a child process on real files, pipes and a pseudo-terminal.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as stepmark from 'stepmark';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCRATCH_ROOT } from '../support/scratch.js';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('stepmark/package.json'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bin = join(root, pkg.bin.stepmark);
const dir = join(SCRATCH_ROOT, 'cli');
const ESC = '\u001b[';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  options: { input?: string; env?: Record<string, string | undefined> } = {},
): Result {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  Object.assign(env, options.env);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [bin, ...args], {
    input: options.input,
    env: env as NodeJS.ProcessEnv,
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A real trace from the runtime: a span tree with an error, an entity journey, unscoped events. */
async function orderTrace(id: string): Promise<stepmark.Trace> {
  function scoreFraud(): void {
    const span = stepmark.enterEntity(id);
    stepmark.recordEntity(id, 'fraud_check', 'flagged', { score: 0.78 });
    span.fail(new Error('fraud service timed out'));
    span();
  }
  async function placeOrder(): Promise<void> {
    stepmark.record('http', 'received', { path: '/orders' });
    const span = stepmark.enter();
    stepmark.track(id, { total: 249.99 }, { kind: 'order' });
    stepmark.recordEntity(id, 'validate', 'passed', { items: 3 });
    scoreFraud();
    span();
  }
  const { trace } = await stepmark.capture(placeOrder, { meta: { request_id: `req-${id}` } });
  return trace;
}

let single: string;
let ndjson: string;
let array: string;

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  const a = await orderTrace('order_42');
  const b = await orderTrace('order_43');
  single = join(dir, 'trace.json');
  writeFileSync(single, JSON.stringify(a, null, 2));
  ndjson = join(dir, 'traces.ndjson');
  writeFileSync(ndjson, `${JSON.stringify(a)}\n\n${JSON.stringify(b)}\n`);
  array = join(dir, 'traces.json');
  writeFileSync(array, JSON.stringify([a, b]));
});

describe('stepmark view', () => {
  it('is the bin of the package, an executable file starting with a node shebang', async () => {
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    // Run it as the shell would (through the shebang), not through `node <file>`.
    const { stdout } = await promisify(execFile)(bin, ['--version']);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('prints the span tree and the entity journey of a trace file', () => {
    const r = run(['view', single]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ESC); // a pipe is not a terminal: no colours
    expect(r.stdout).toContain('request_id=req-order_42');
    expect(r.stdout).toMatch(
      /\n {2}placeOrder \S+\n {2}└─ scoreFraud \[order_42\] \S+ ✗ fraud service timed out\n/,
    );
    expect(r.stdout).toMatch(
      /order_42 \(order\) total=249\.99\n\s+validate → passed items=3\n\s+fraud_check → flagged score=0\.78/,
    );
    expect(r.stdout).toContain('http → received path=/orders');
  });

  it('says why a trace with events has no spans, and where to look', async () => {
    // what a forgotten build plugin gives: the steps are recorded, no function is instrumented
    const { trace } = await stepmark.capture(() => {
      stepmark.track('order_7', {}, { kind: 'order' });
      stepmark.recordEntity('order_7', 'fraud_check', 'flagged');
    });
    const file = join(dir, 'no-spans.json');
    writeFileSync(file, JSON.stringify(trace));
    const r = run(['view', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '(0 spans, 1 events)\n  no spans: no instrumented function ran. Marked code (// @stepmark) needs a stepmark build plugin (esbuild, Vite, Babel, tsc) or node --import stepmark/register: see "Build plugins" in the stepmark README\n',
    );
    // a trace with spans, or with nothing at all, gets no such line
    expect(run(['view', single]).stdout).not.toContain('no spans:');
    writeFileSync(file, JSON.stringify((await stepmark.capture(() => 1)).trace));
    expect(run(['view', file]).stdout).not.toContain('no spans:');
  });

  it('reads NDJSON files, arrays, several files and standard input', () => {
    const nd = run(['view', ndjson]);
    expect(nd.code).toBe(0);
    expect(nd.stdout).toContain('── 1/2 · ');
    expect(nd.stdout).toContain('order_42 (order)');
    expect(nd.stdout).toContain('order_43 (order)');
    const both = run(['view', array, single]);
    expect(both.stdout).toContain('── 3/3 · ');
    const stdin = run(['view', '-'], { input: readFileSync(ndjson, 'utf8') });
    expect(stdin.code).toBe(0);
    expect(stdin.stdout).toContain('<stdin>');
    expect(stdin.stdout).toContain('order_43 (order)');
    // A Go Stepmark trace (no spans, no kind) is read unchanged.
    const go = run(['view', '-'], {
      input: JSON.stringify({
        meta: {},
        entities: {
          u1: { entity_id: 'u1', meta: {}, events: [{ stage: 'signup', action: 'ok', timestamp: 'x' }] },
        },
        events: [],
      }),
    });
    expect(go.code).toBe(0);
    expect(go.stdout).toContain('signup → ok');
  });

  it('colours for a terminal, and respects NO_COLOR, FORCE_COLOR and the flags', () => {
    // A real pseudo-terminal through util-linux `script`.
    const tty = spawnSync(
      'script',
      ['-qec', `"${process.execPath}" "${bin}" view "${single}"`, '/dev/null'],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          NO_COLOR: '',
          FORCE_COLOR: undefined,
          TERM: 'xterm-256color',
        } as NodeJS.ProcessEnv,
      },
    );
    expect(tty.status).toBe(0);
    expect(tty.stdout).toContain(`${ESC}31m`); // the failed span in red
    const noColorTty = spawnSync(
      'script',
      ['-qec', `"${process.execPath}" "${bin}" view "${single}"`, '/dev/null'],
      {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined } as NodeJS.ProcessEnv,
      },
    );
    expect(noColorTty.stdout).toContain('fraud_check');
    expect(noColorTty.stdout).not.toContain(ESC);
    expect(run(['view', single], { env: { FORCE_COLOR: '1' } }).stdout).toContain(ESC);
    expect(run(['view', single], { env: { FORCE_COLOR: '0' } }).stdout).not.toContain(ESC);
    expect(run(['view', single, '--color'], { env: { NO_COLOR: '1' } }).stdout).toContain(ESC);
    expect(run(['view', single, '--no-color'], { env: { FORCE_COLOR: '1' } }).stdout).not.toContain(ESC);
  });

  it('filters by entity id or kind, as the viewer does', () => {
    const byId = run(['view', ndjson, '--filter', 'ORDER_43']);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toContain('order_43 (order)');
    expect(byId.stdout).not.toContain('order_42');
    expect(byId.stdout).not.toContain('── '); // one trace left: no separators
    expect(run(['view', ndjson, '--filter=kind:order']).stdout).toContain('── 2/2 · ');
    expect(run(['view', ndjson, '--filter', 'id:order_4']).stdout).toContain('── 2/2 · ');
    const none = run(['view', ndjson, '--filter', 'kind:ord']); // a kind matches exactly
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('stepmark: no trace has an entity matching "kind:ord"\n');
  });

  it('writes the viewer page with the traces embedded for --html', () => {
    const out = join(dir, 'view.html');
    const r = run(['view', ndjson, '--html', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('wrote');
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    const config = JSON.parse(
      /<script type="application\/json" id="stepmark-config">(.*?)<\/script>/s.exec(html)![1]!,
    );
    expect(config.live).toBe(false);
    expect(config.traces.map((t: stepmark.Trace) => t.meta.request_id)).toEqual([
      'req-order_42',
      'req-order_43',
    ]);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="(?!data:)/);
    // Locked down even as a file: only its own nonce-tagged script and style may run.
    const nonce = /<script nonce="([0-9a-f]{32})">/.exec(html)?.[1];
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}';`,
    );
  });

  it('escapes the --html file name it reports, written or not', () => {
    const missing = join(dir, 'no-such-dir', 'x\u001b[2J\n.html');
    const failed = run(['view', single, '--html', missing]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('x\\x1b[2J\\n.html: cannot write it (ENOENT)');
    expect(failed.stderr).not.toContain('\u001b');
    expect(failed.stderr.trimEnd().split('\n')).toHaveLength(1);
    const written = run(['view', single, '--html', join(dir, 'v\u001b[2J.html')]);
    expect(written.code).toBe(0);
    expect(written.stderr).toContain('v\\x1b[2J.html (1 trace)');
    expect(written.stderr).not.toContain('\u001b');
  });

  it.each([
    ['not JSON', '{"meta": {"a": 1}', /^stepmark: .*bad\.json: not valid JSON at line 1, column 18 \(.+\)$/],
    [
      'not a trace',
      '{"name": "x"}',
      /^stepmark: .*bad\.json: not a stepmark trace \(expected an object with "entities", "events" or "spans"\)$/,
    ],
    [
      'a JSON array of numbers',
      '[1, 2]',
      /^stepmark: .*bad\.json: item 1: expected a trace object, got number$/,
    ],
    [
      'a bad span',
      '{"spans": [{"span_id": 1}]}',
      /^stepmark: .*bad\.json: spans\[0\] has no "span_id"\/"name" strings$/,
    ],
    [
      'a bad NDJSON line',
      '{"events": []}\n{"events": []}\n{"events": [}\n',
      /^stepmark: .*bad\.json: line 3: not valid JSON at column 13 \(Unexpected token .+\)$/,
    ],
    ['an empty file', '  \n', /^stepmark: .*bad\.json: empty input: no traces$/],
    [
      'a multi-line broken document',
      '{\n  "events": [\n    {"stage": "a"\n  ]\n}\n',
      /^stepmark: .*bad\.json: not valid JSON at line 4, column 3 \(.+\)$/,
    ],
  ])(
    'rejects %s with one line naming the file and the problem, and exit code 1',
    (_name, content, message) => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, content);
      const r = run(['view', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.endsWith('\n')).toBe(true);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    },
  );

  it('names a missing file, and stdin as <stdin>', () => {
    const missing = run(['view', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stepmark: .*nope\.json: cannot read it \(no such file\)\n$/);
    const stdin = run(['view', '-'], { input: 'hello' });
    expect(stdin.code).toBe(1);
    expect(stdin.stderr).toMatch(/^stepmark: <stdin>: not valid JSON/);
  });

  it('explains bad usage with exit code 2', () => {
    for (const args of [
      [],
      ['show', 'x.json'],
      ['view'],
      ['view', 'x.json', '--bogus'],
      ['view', 'x.json', '--html'],
    ]) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('Usage: stepmark view');
    }
    expect(run(['--help']).stdout).toContain('Usage: stepmark view');
  });

  it('never ends in a stack trace, even on a trace the renderer cannot handle (a span chain 3000 deep)', () => {
    const spans = Array.from({ length: 3000 }, (_, i) => ({
      span_id: String(i + 1),
      ...(i ? { parent_id: String(i) } : {}),
      name: 'walk',
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T00:00:01.000Z',
      duration_ms: 1000,
      status: 'ok',
    }));
    const file = join(dir, 'deep.json');
    writeFileSync(file, JSON.stringify({ meta: {}, entities: {}, events: [], spans, dropped: 0 }));
    const r = run(['view', file]);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    if (r.code === 0) expect(r.stdout.split('\n').filter((l) => l.includes('walk'))).toHaveLength(3000);
    else {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^stepmark: .*deep\.json: trace 1 cannot be printed \(.+\)\n$/);
    }
  });
});
