// `stepmark find`: the real binary on real dumps (a flight recorder's NDJSON, a pretty-printed
// array, one trace, standard input), in a child process; and the stream splitter it reads with,
// fed the same text in every possible pair of chunks.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valueProblem } from '../../cli/input.js';
import { JsonStructureError, jsonValues } from '../../cli/json-values.js';
import { scratchDir } from '../support/scratch.js';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('stepmark/package.json'));
const bin = join(root, 'dist/cli/index.js');
const dir = scratchDir('cli-find');

function run(args: string[], options: { input?: string; node?: string[] } = {}) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [...(options.node ?? []), bin, 'find', ...args], {
    input: options.input,
    env: env as NodeJS.ProcessEnv,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** An order through validation and fraud; `customer` is touched by every order of that customer. */
function order(id: string, customer: string, rejected: boolean): void {
  const span = stepmark.enterEntity(id);
  stepmark.track(id, { customer }, { kind: 'order' });
  stepmark.recordEntity(customer, 'history', 'read');
  stepmark.recordEntity(id, 'validate', 'passed');
  if (rejected) {
    stepmark.recordEntity(id, 'fraud', 'rejected', { score: 0.91 });
    span.fail(new Error(`fraud score too high for ${id}`));
  } else stepmark.recordEntity(id, 'payment', 'captured');
  span();
}

let dump: string;
let pretty: string;
let single: string;

beforeAll(async () => {
  const recorder = flightRecorder();
  for (let i = 0; i < 30; i++) {
    stepmark.run(() => order(`order_${i}`, `customer_${i % 3}`, i === 7), {
      meta: { request_id: `req-${i}` },
      onEnd: recorder.add,
    });
  }
  dump = join(dir, 'dump.ndjson');
  await recorder.writeNdjson(dump);
  const traces = recorder.find({ limit: 5 }).reverse();
  pretty = join(dir, 'pretty.json');
  writeFileSync(pretty, JSON.stringify(traces, null, 2));
  single = join(dir, 'single.json');
  writeFileSync(single, JSON.stringify(recorder.find({ entity: 'order_7' })[0], null, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stepmark find', () => {
  it("prints each matching trace's span tree and that entity's journey, and exits 0", () => {
    const r = run(['order_7', dump]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^── .*dump\.ndjson:8 ─*\ntrace request_id=req-7 /);
    expect(r.stdout).toMatch(/✗ fraud score too high for order_7/);
    expect(r.stdout).toMatch(
      /order_7 \(order\) customer=customer_1\n\s+validate → passed\n\s+fraud → rejected score=0\.91\n/,
    );
    // Only the entity asked for: not the customer's journey.
    expect(r.stdout).not.toContain('history');
    expect(r.stdout.match(/^── /gm)).toHaveLength(1);
  });

  it('finds every trace of an entity across files and formats, by request id too, and from stdin', () => {
    const customer = run(['customer_1', dump, pretty, single]);
    expect(customer.code).toBe(0);
    // customer_1: orders 1, 4, …, 28 in the dump (10), 25 and 28 in the pretty array, 7 in the single trace.
    expect(customer.stdout.match(/^── /gm)).toHaveLength(13);
    expect(customer.stdout).toContain('pretty.json:');
    expect(customer.stdout).toContain('history → read');
    const byRequest = run(['req-7', single]);
    expect(byRequest.code).toBe(0);
    expect(byRequest.stdout).toContain('order_7 (order)');
    const stdin = run(['order_12', '-'], { input: readFileSync(dump, 'utf8') });
    expect(stdin.stdout).toMatch(/^── <stdin>:13 /);
  });

  it('prints NDJSON with --json, and the viewer page with --html', () => {
    const json = run(['customer_2', dump, '--json']);
    expect(json.code).toBe(0);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines.map((l) => JSON.parse(l).meta.request_id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `req-${3 * i + 2}`),
    );
    const html = join(dir, 'found.html');
    const page = run(['order_7', dump, pretty, '--html', html]);
    expect(page.code).toBe(0);
    expect(page.stderr).toBe(`stepmark: wrote ${html} with 1 trace\n`);
    expect(readFileSync(html, 'utf8')).toContain('fraud score too high for order_7');
  });

  it('exits 1 when nothing matched, 2 on errors naming the file (and still prints what it found)', () => {
    const none = run(['order_404', dump]);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toBe('stepmark: no trace of "order_404" (entity or request id)\n');
    const broken = join(dir, 'broken.ndjson');
    writeFileSync(broken, `${readFileSync(dump, 'utf8').split('\n')[7]}\n{"entities": {"order_7": tru}}\n`);
    const r = run(['order_7', dump, join(dir, 'missing.ndjson'), broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`stepmark: ${join(dir, 'missing.ndjson')}: cannot read it (no such file)\n`);
    expect(r.stderr).toMatch(
      // the position in the file, found on every Node version (Node 20's parser does not say it)
      new RegExp(`stepmark: ${broken.replace(/[.]/g, '\\.')}: line 2: not valid JSON at column 29 `),
    );
    expect(r.stdout.match(/^── /gm)).toHaveLength(2);
    const truncated = join(dir, 'truncated.ndjson');
    writeFileSync(truncated, readFileSync(dump, 'utf8').slice(0, 3000));
    expect(run(['order_0', truncated]).stderr).toMatch(
      /truncated\.ndjson: not valid JSON: unexpected end of input: the value starting at line \d+ is not closed\n$/,
    );
    const usage = run(['order_7']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing file');
    expect(run(['--bogus', 'x', dump]).stderr).toContain('unknown option --bogus');
  });

  it('reads a file far larger than its heap, as a stream', () => {
    // 40 MB of NDJSON through a Node limited to a 24 MB old generation: reading the file whole
    // would not fit, one trace at a time does.
    const big = join(dir, 'big.ndjson');
    const lines = readFileSync(dump, 'utf8').trimEnd().split('\n');
    const filler = lines.filter((l) => !l.includes('order_7"')).join('\n');
    const fd = openSync(big, 'w');
    let size = 0;
    for (let i = 0; size < 40 * 2 ** 20; i++) {
      const chunk = `${filler}\n`;
      writeSync(fd, chunk);
      size += chunk.length;
      if (i === 500) writeSync(fd, `${lines[7]}\n`);
    }
    closeSync(fd);
    const r = run(['order_7', big], { node: ['--max-old-space-size=24'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^── /gm)).toHaveLength(1);
  });
});

async function values(
  text: string,
  cut: number[],
): Promise<{ text: string; line: number; column: number }[]> {
  const chunks: string[] = [];
  let from = 0;
  for (const at of cut) {
    chunks.push(text.slice(from, at));
    from = at;
  }
  chunks.push(text.slice(from));
  const out = [];
  for await (const v of jsonValues(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(v);
  return out;
}

describe('jsonValues', () => {
  it('splits arrays, NDJSON and bare values, whatever the chunk boundaries', async () => {
    const text =
      '\uFEFF[\n {"a": "x]}\\"{"},\n {"b": [1, {"c": 2}]}\n]\n{"d": "\\\\"}\n"str" 42 true\n[\n]\n';
    const want = [
      { text: '{"a": "x]}\\"{"}', line: 2, column: 2 },
      { text: '{"b": [1, {"c": 2}]}', line: 3, column: 2 },
      { text: '{"d": "\\\\"}', line: 5, column: 1 },
      { text: '"str"', line: 6, column: 1 },
      { text: '42', line: 6, column: 7 },
      { text: 'true', line: 6, column: 10 },
    ];
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 7) {
        expect(await values(text, [i, j]), `cut at ${i}, ${j}`).toEqual(want);
      }
    }
    for (const v of want) JSON.parse(v.text);
  });

  it("names a value's JSON error by the input's line and column", () => {
    const errorOf = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return error;
      }
      throw new Error('valid JSON');
    };
    // a value starting at line 10, column 3, broken on its second line
    const pretty = '{\n  "a": tru\n}';
    expect(valueProblem(pretty, errorOf(pretty), 10, 3)).toMatch(/^line 11: not valid JSON at column 11 \(/);
    // broken on its first line: columns count from where the value starts
    const flat = '{"a": tru}';
    expect(valueProblem(flat, errorOf(flat), 4, 5)).toMatch(/^line 4: not valid JSON at column 14 \(/);
  });

  it('says where the structure breaks', async () => {
    await expect(values('{"a": 1}\n}', [])).rejects.toThrow(
      new JsonStructureError('unexpected "}" at line 2'),
    );
    await expect(values('{"a": 1},{"b": 2}', [])).rejects.toThrow('unexpected "," at line 1');
    await expect(values('\n\n{"a": [1,', [])).rejects.toThrow(
      'unexpected end of input: the value starting at line 3 is not closed',
    );
    await expect(values('[{"a": 1}', [])).rejects.toThrow('a "[" is not closed');
  });
});
