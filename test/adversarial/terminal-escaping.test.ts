// Nothing recorded can drive a terminal: whatever prints a trace for a person — `formatTrace`,
// `consoleSink`, `stepmark view`, the `stepmark/testing` renderings, `formatCoverage` — prints
// every control character escaped (`\x1b`, `\n`, `\u009b`), keeps one recorded string on one
// line, and with colours on emits no escape sequence but stepmark's own colour codes.
// The assertions look at the raw bytes written.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import {
  type Catalog,
  captureSync,
  enterEntity,
  formatCoverage,
  formatTrace,
  record,
  recordEntity,
  type Trace,
  track,
} from 'stepmark';
import { v1 } from 'stepmark/runtime';
import { consoleSink } from 'stepmark/sinks';
import { renderJourneys, renderSpanTree } from 'stepmark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { uniqueScratchDir } from '../support/scratch.js';

/** What a hostile program (or a request it echoes) can put in a recorded string. */
const HOSTILE =
  'x\u001b[31mRED\u001b]0;pwned\u0007\u001b]8;;http://evil/\u001b\\link\r\n  order_9 (order) forged=1' +
  '\u0000\u0008\u0009\u000b\u000c\u007f\u0085\u009b2J\u009d\u2028\u2029\u202e\u2066\u200f\u061c!';

/** Code points a terminal may act on, or that move text around. */
function isDangerous(cp: number): boolean {
  return (
    (cp < 0x20 && cp !== 0x0a) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

const ESC = '\u001b';

/** stepmark's own colour codes (SGR): the only escape sequences allowed with colours on. */
const OWN_SGR = new RegExp(`${ESC}\\[(?:0|1|2|31|32|33|36)m`, 'g');

/** The dangerous code points in raw output bytes (UTF-8), after removing stepmark's own colour codes. */
function dangerous(bytes: Buffer | string, colour: boolean): string[] {
  let text = Buffer.isBuffer(bytes) ? bytes.toString('utf8') : bytes;
  expect(Buffer.from(text, 'utf8').equals(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes))).toBe(true);
  if (colour) text = text.replace(OWN_SGR, '');
  const found: string[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isDangerous(cp)) found.push(`U+${cp.toString(16).padStart(4, '0')}`);
  }
  return found;
}

/** The escaped forms a reader sees. */
const ESCAPED = [
  '\\x1b',
  '\\x07',
  '\\r',
  '\\n',
  '\\x00',
  '\\x7f',
  '\\u009b',
  '\\u0085',
  '\\u2028',
  '\\u202e',
];

/** A trace recording `s` in every field a rendering prints. */
function traceWith(s: string): Trace {
  return captureSync(
    () => {
      record(`stage${s}`, `action${s}`, { [`key${s}`]: `value${s}`, obj: { [`k${s}`]: [`v${s}`] } });
      track(`order_1${s}`, { [`meta${s}`]: `m${s}` }, { kind: `kind${s}` });
      const span = v1.enterUser(`Span${s}`);
      recordEntity(`order_1${s}`, `check${s}`, `rejected${s}`, { why: s });
      const inner = enterEntity(`order_1${s}`);
      inner.fail(new Error(`boom${s}`));
      inner();
      span();
    },
    { meta: { [`request${s}`]: `r${s}` } },
  ).trace;
}

const hostile = traceWith(HOSTILE);
const plain = traceWith('');

/** Same structure, same number of lines: no recorded string started a line of its own. */
function expectSameLines(hostileText: string, plainText: string): void {
  const lines = hostileText.split('\n');
  expect(lines).toHaveLength(plainText.split('\n').length);
  expect(lines.filter((l) => /^\s*order_9 /.test(l.replace(OWN_SGR, '')))).toEqual([]);
}

describe('formatTrace', () => {
  it.each([false, true])('colour %s: control characters escaped, one line per field', (color) => {
    const opts = { color, spanEvents: true };
    const out = formatTrace(hostile, opts);
    expect(dangerous(out, color)).toEqual([]);
    expectSameLines(out, formatTrace(plain, opts));
    for (const e of ESCAPED) expect(out).toContain(e);
    // the tab and the forged journey line are shown as text inside their own field
    expect(out).toContain('\\t');
    expect(out).toContain('\\n  order_9 (order) forged=1');
  });

  it('a trace read from a file: non-string fields and counts are escaped too', () => {
    const odd = {
      ...plain,
      dropped: '\u001b[2J' as unknown as number,
      spans: [{ ...plain.spans[0]!, error: { x: '\u001b' }, status: 'error' } as never],
    } as Trace;
    expect(dangerous(formatTrace(odd), false)).toEqual([]);
  });

  it('printable text, quotes and backslashes are left readable', () => {
    const t = captureSync(() =>
      record('price', 'quoted', { note: 'say "hi" \\ bye', path: 'C:\\dir', ok: 'déjà vu ✓ 😀' }),
    ).trace;
    expect(formatTrace(t)).toContain(
      'price → quoted note="say \\"hi\\" \\\\ bye" path="C:\\\\dir" ok="déjà vu ✓ 😀"',
    );
  });
});

function collectStream(isTTY: boolean) {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  out.isTTY = isTTY;
  return { out, bytes: () => Buffer.concat(chunks) };
}

describe('consoleSink', () => {
  it.each([false, true])(
    'colour %s (a terminal or not): the bytes written hold no control character',
    async (tty) => {
      const a = collectStream(tty);
      const sink = consoleSink({ stream: a.out });
      sink.write(hostile);
      await sink.flush();
      const b = collectStream(tty);
      const ref = consoleSink({ stream: b.out });
      ref.write(plain);
      await ref.flush();
      expect(a.bytes().length).toBeGreaterThan(0);
      expect(dangerous(a.bytes(), tty)).toEqual([]);
      expectSameLines(a.bytes().toString(), b.bytes().toString());
      if (tty) expect(a.bytes().toString()).toMatch(OWN_SGR);
    },
  );
});

describe('stepmark view', () => {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('stepmark/package.json'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const bin = join(root, pkg.bin.stepmark);
  const dir = mkdtempSync(join(tmpdir(), 'stepmark-terminal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const view = (args: string[]) => {
    const env = { ...process.env };
    delete env.NO_COLOR;
    delete env.FORCE_COLOR;
    const r = spawnSync(process.execPath, [bin, 'view', ...args], { env });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it.each([
    ['--no-color', false],
    ['--color', true],
  ] as const)(
    '%s: the bytes on stdout hold no control character but its own colour codes',
    (flag, colour) => {
      const file = join(dir, `hostile${colour}.ndjson`);
      writeFileSync(file, `${JSON.stringify(hostile)}\n${JSON.stringify(hostile)}\n`);
      const ref = join(dir, `plain${colour}.ndjson`);
      writeFileSync(ref, `${JSON.stringify(plain)}\n${JSON.stringify(plain)}\n`);
      const r = view([file, flag, '--span-events']);
      expect(r.code).toBe(0);
      expect(dangerous(r.stdout, colour)).toEqual([]);
      expectSameLines(r.stdout.toString(), view([ref, flag, '--span-events']).stdout.toString());
      for (const e of ESCAPED) expect(r.stdout.toString()).toContain(e);
    },
  );

  it('an error message that quotes the input escapes it too', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ entities: { [`id${HOSTILE}`]: { events: 5 } } }));
    const r = view([file]);
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toContain('is not an array');
    expect(dangerous(r.stderr, false)).toEqual([]);
    expect(r.stderr.toString().trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('stepmark/testing renderings and formatCoverage', () => {
  it('renderSpanTree and renderJourneys escape, one line per span / entity', () => {
    for (const render of [renderSpanTree, renderJourneys]) {
      const out = render(hostile);
      expect(dangerous(out, false)).toEqual([]);
      expect(out.split('\n')).toHaveLength(render(plain).split('\n').length);
      expect(out).toContain('\\x1b');
    }
  });

  it('formatCoverage escapes stage names, actions and the entity asked for', () => {
    const catalog: Catalog = {
      stepmark_catalog: 1,
      sites: [
        {
          name: `check${HOSTILE}`,
          kind: 'step',
          file: 'src/a.ts',
          line: 1,
          column: 1,
          actions: [`rejected${HOSTILE}`],
        },
        { name: `Span${HOSTILE}`, kind: 'function', file: 'src/a.ts', line: 2, column: 1 },
      ],
    };
    const out = formatCoverage(hostile, { catalog, entity: `order_1${HOSTILE}` });
    expect(dangerous(out, false)).toEqual([]);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).toContain('✓ rejected');
  });
});

describe("what stepmark prints by itself: warnings, adapters' errors, sink failures, usage errors", () => {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('stepmark/package.json'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const bin = join(root, pkg.bin.stepmark);
  // inside the package, where `import 'stepmark'` resolves
  const dir = uniqueScratchDir('reports-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a failure whose message a caller controls reaches stderr escaped, its own lines intact', async () => {
    // A request header echoed into an error by the application's own `meta(req)`, a failing
    // `onEnd`, a sink whose destination fails with a message of the remote's making: stepmark's
    // default reports print them, and must print them escaped.
    const script = join(dir, 'reports.mjs');
    writeFileSync(
      script,
      `
import { createServer, request } from 'node:http';
import { Writable } from 'node:stream';
import * as stepmark from 'stepmark';
import { stepmarkListener } from 'stepmark/http';
import { flightRecorder } from 'stepmark/recorder';
import { ndjsonSink } from 'stepmark/sinks';
const HOSTILE = ${JSON.stringify(HOSTILE)};
stepmark.run(() => stepmark.record('a', 'b'), { onEnd() { throw new Error('onEnd ' + HOSTILE); } });
const failing = new Writable({ write(_c, _e, cb) { cb(new Error('remote said ' + HOSTILE)); } });
const sink = ndjsonSink(failing);
stepmark.run(() => stepmark.record('a', 'b'), { onEnd: sink.write });
await sink.flush();
const server = createServer(stepmarkListener((req, res) => res.end('ok'), {
  record: flightRecorder(),
  meta(req) { throw new Error('bad header ' + req.headers['x-echo']); },
}));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
await new Promise((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port: server.address().port, headers: { 'x-echo': encodeURIComponent(HOSTILE) } }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end();
});
server.close();
await new Promise((r) => setTimeout(r, 50));
`,
    );
    // the header travels percent-encoded (HTTP refuses control characters); the listener decodes it
    const decoding = readFileSync(script, 'utf8').replace(
      "req.headers['x-echo']",
      "decodeURIComponent(req.headers['x-echo'])",
    );
    writeFileSync(script, decoding);
    const r = spawnSync(process.execPath, [script], { cwd: root });
    expect(r.status).toBe(0);
    const stderr = r.stderr.toString();
    expect(stderr).toContain('onEnd');
    expect(stderr).toContain('remote said');
    expect(stderr).toContain('bad header');
    expect(dangerous(r.stderr, false)).toEqual([]);
    // the forged line never starts a line of its own
    expect(stderr.split('\n').some((l) => l.trimStart().startsWith('order_9'))).toBe(false);
    for (const e of ['\\x1b', '\\u202e', '\\u2028']) expect(stderr).toContain(e);
    // the adapter's default report still shows where its error came from
    expect(stderr).toMatch(/\n\s+at .*reports\.mjs/);
  });

  it("the adapters' default onError prints a megabyte error message capped", () => {
    const script = join(dir, 'huge.mjs');
    writeFileSync(
      script,
      `
import { inject } from 'light-my-request';
import { stepmarkListener } from 'stepmark/http';
import { flightRecorder } from 'stepmark/recorder';
const handler = stepmarkListener((req, res) => res.end('ok'), {
  record: flightRecorder(),
  meta() { throw new Error('x'.repeat(1_000_000)); },
});
await inject(handler, { url: '/' });
`,
    );
    const r = spawnSync(process.execPath, [script], { cwd: root });
    expect(r.status).toBe(0);
    const stderr = r.stderr.toString();
    expect(stderr).toMatch(/\[stepmark\] meta failed: Error: x+…\[\d+ more\]/);
    expect(stderr.length).toBeLessThan(20_000);
  });

  it('a usage error quoting the command line escapes what it quotes', () => {
    const r = spawnSync(process.execPath, [bin, 'view', `--bad${HOSTILE.replace('\u0000', '')}`], {
      cwd: root,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain('--bad');
    expect(dangerous(r.stderr, false)).toEqual([]);
  });
});
