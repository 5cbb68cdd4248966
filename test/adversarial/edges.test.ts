// Issue 18, "Inputs at the edges": hostile meta objects, an entity called __proto__, an NDJSON file
// larger than a JavaScript string can be, JSON errors on Node 20, and plugin options that are not
// an object.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as stepmark from 'stepmark';
import { stepmark as esbuildPlugin } from 'stepmark/esbuild-plugin';
import { stepmark as vitePlugin } from 'stepmark/vite';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, jsonErrorOffset, openTraces, parseTraces, type TraceSource } from '../../cli/input.js';

type Trace = stepmark.Trace;

const root = dirname(createRequire(import.meta.url).resolve('stepmark/package.json'));
const bin = join(root, 'dist/cli/index.js');
const dir = mkdtempSync(join(tmpdir(), 'stepmark-edges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `stepmark` command on a Node binary: the pinned one, or the machine's own (Node 20). */
function view(args: string[], node: 'pinned' | 'machine' = 'pinned') {
  const env =
    node === 'machine'
      ? { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' }
      : { ...process.env, NO_COLOR: '1' };
  const r = spawnSync(node === 'machine' ? 'node' : process.execPath, [bin, 'view', '--no-color', ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const traceWith = (entities: Record<string, string>, id = 'r1'): Trace => {
  const out: Trace = { meta: { request_id: id }, entities: {}, events: [], spans: [], dropped: 0 };
  for (const [entityId, kind] of Object.entries(entities)) {
    Object.defineProperty(out.entities, entityId, {
      value: {
        entity_id: entityId,
        kind,
        meta: { n: 1 },
        events: [{ stage: 'check', action: `ok-${entityId}`, timestamp: '2026-01-01T00:00:00.000Z' }],
      },
      enumerable: true,
    });
  }
  return out;
};

describe('meta objects that fight back', () => {
  it('keep their other keys: a throwing getter, and a Proxy whose traps throw', () => {
    const boom = (what: string) => () => {
      throw new Error(what);
    };
    const getter = {
      ok: 1,
      get bad(): number {
        return boom('getter')();
      },
      after: 2,
    };
    const getTrap = new Proxy(
      { a: 1, b: 2, c: 3 },
      { get: (t, k) => (k === 'b' ? boom('get')() : Reflect.get(t, k)) },
    );
    const descriptorTrap = new Proxy(
      { a: 1, b: 2, c: 3 },
      {
        getOwnPropertyDescriptor: (t, k) =>
          k === 'b' ? boom('descriptor')() : Reflect.getOwnPropertyDescriptor(t, k),
      },
    );
    const protoTrap = new Proxy({ x: 1 }, { getPrototypeOf: boom('prototype') });
    const keysTrap = new Proxy({ x: 1 }, { ownKeys: boom('ownKeys') });
    const { trace } = stepmark.captureSync(() => {
      stepmark.track('getter', getter);
      stepmark.track('get', getTrap);
      stepmark.track('descriptor', descriptorTrap);
      stepmark.track('nested', {
        ok: 1,
        proto: protoTrap,
        keys: keysTrap,
        list: [1, protoTrap, 3],
        after: 2,
      });
    });
    const meta = (id: string) => trace.entities[id]?.meta;
    expect(meta('getter')).toEqual({ ok: 1, bad: '[Thrown: getter]', after: 2 });
    expect(meta('get')).toEqual({ a: 1, b: '[Thrown: get]', c: 3 });
    expect(meta('descriptor')).toMatchObject({ a: 1, c: 3 });
    expect(meta('nested')).toEqual({
      ok: 1,
      proto: '[Thrown: prototype]',
      keys: '[Thrown: ownKeys]',
      list: [1, '[Thrown: prototype]', 3],
      after: 2,
    });
    expect(() => JSON.stringify(trace)).not.toThrow();
  });
});

describe('stepmark view: an entity named __proto__', () => {
  it('is kept, from a JSON document and from NDJSON, with and without --filter', () => {
    const hostile = traceWith({ ['__proto__']: 'user', order_1: 'order' });
    expect(Object.keys(hostile.entities)).toEqual(['__proto__', 'order_1']);
    const json = join(dir, 'proto.json');
    writeFileSync(json, JSON.stringify(hostile));
    const ndjson = join(dir, 'proto.ndjson');
    writeFileSync(ndjson, `${JSON.stringify(hostile)}\n${JSON.stringify(traceWith({ other: 'x' }, 'r2'))}\n`);
    for (const file of [json, ndjson]) {
      const r = view([file]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('__proto__ (user)');
      expect(r.stdout).toContain('check → ok-__proto__');
      expect(r.stdout).toContain('order_1 (order)');
    }
    const filtered = view([ndjson, '--filter', 'id:proto']);
    expect(filtered.stdout).toContain('__proto__ (user)');
    expect(filtered.stdout).not.toContain('order_1');
    const parsed = parseTraces(JSON.stringify(hostile))[0]!.entities;
    expect(Object.keys(parsed)).toEqual(['__proto__', 'order_1']);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value.kind).toBe('user');
  });
});

/** A source that hands out `text` in small pieces, like a pipe (no size known). */
function pipeOf(text: string, piece = 7): TraceSource {
  const bytes = Buffer.from(text);
  let at = 0;
  return {
    size: undefined,
    read(buffer) {
      const n = Math.min(piece, buffer.length, bytes.length - at);
      bytes.copy(buffer, 0, at, at + n);
      at += n;
      return n;
    },
  };
}

/** A regular file of `text`, as the command opens it. */
function fileOf(text: string): TraceSource & { close(): void } {
  const file = join(dir, `src-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, text);
  const fd = openSync(file, 'r');
  let pos = 0;
  return {
    size: Buffer.byteLength(text),
    read(buffer) {
      const n = readSync(fd, buffer, 0, buffer.length, pos);
      pos += n;
      return n;
    },
    close: () => closeSync(fd),
  };
}
describe('reading traces larger than one string (the line-by-line path)', () => {
  const lines = [
    traceWith({ a: 'x' }, 'r1'),
    traceWith({ ['__proto__']: 'user' }, 'r2'),
    traceWith({ c: 'z' }, 'r3'),
  ];
  const text = `\uFEFF${JSON.stringify(lines[0])}\r\n\n   \n${JSON.stringify(lines[1])}\n${JSON.stringify([lines[2]])}`;

  it('gives the same traces as the whole-document path, from a file and from a pipe', () => {
    const whole = parseTraces(text);
    expect(whole.map((t) => t.meta.request_id)).toEqual(['r1', 'r2', 'r3']);
    const lineByLine = (input: ReturnType<typeof openTraces>) => {
      expect(input.kind).toBe('lines');
      return [...input.traces];
    };
    const file = fileOf(text);
    try {
      expect(lineByLine(openTraces(file, { wholeLimit: 16 }))).toEqual(whole);
    } finally {
      file.close();
    }
    expect(lineByLine(openTraces(pipeOf(text), { wholeLimit: 16 }))).toEqual(whole);
    // up to the limit it is the whole-document path, which also reads one JSON document on many lines
    const pretty = openTraces(pipeOf(JSON.stringify(lines[0], null, 2)), { wholeLimit: 1 << 20 });
    expect(pretty.kind).toBe('whole');
    expect([...pretty.traces]).toHaveLength(1);
  });

  it('names the line of a bad one, after handing out the traces before it', () => {
    const bad = `${JSON.stringify(lines[0])}\n{"events": [}\n${JSON.stringify(lines[1])}\n`;
    const got: string[] = [];
    let error: unknown;
    try {
      for (const t of openTraces(pipeOf(bad), { wholeLimit: 8 }).traces) got.push(String(t.meta.request_id));
    } catch (e) {
      error = e;
    }
    expect(got).toEqual(['r1']);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/^line 2: not valid JSON at column 13 \(/);
  });

  it('streams a real NDJSON file over 512 MB through `stepmark view`', () => {
    // One trace, then 513 MiB of blank lines (more than the longest string V8 makes), then another.
    const file = join(dir, 'huge.ndjson');
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, `${JSON.stringify(traceWith({ first: 'x' }, 'first'))}\n`);
      const blank = Buffer.alloc(1 << 20, 0x20);
      blank[blank.length - 1] = 0x0a;
      for (let i = 0; i < 513; i++) writeSync(fd, blank);
      writeSync(fd, `${JSON.stringify(traceWith({ ['__proto__']: 'user' }, 'last'))}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      const r = view([file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('first (x)');
      expect(r.stdout).toContain('__proto__ (user)');
      expect(r.stdout.indexOf('first (x)')).toBeLessThan(r.stdout.indexOf('__proto__ (user)'));
    } finally {
      rmSync(file, { force: true });
    }
  }, 60_000);
});

describe('JSON errors name the line and column, on Node 20 too', () => {
  it('finds the offset itself where the engine gives none', () => {
    for (const [text, offset] of [
      ['{"a":\n }', 7],
      ['{"a" 1}', 5],
      ['[1, 2', 5],
      ['{"a": "x\n"}', 8],
      ['{"a": tru}', 9],
      ['1.', 2],
      ['"\\u12G4"', 5],
      ['[1,]', 3],
      ['{,}', 1],
      ['{"a": 1,}', 8],
      ['{"a": 01}', 7],
      ['[1] x', 4],
      ['"\\q"', 2],
      ['{"a": [1, {"b": null}]}', undefined],
    ] as const) {
      expect([text, jsonErrorOffset(text)]).toEqual([text, offset]);
    }
  });

  for (const node of ['pinned', 'machine'] as const) {
    it(`stepmark view on the ${node} Node`, () => {
      const doc = join(dir, `bad-${node}.json`);
      // Node 20's message for this one has no position at all
      writeFileSync(doc, '{\n  "events": [\n    {"stage": "a", "x": }\n  ]\n}\n');
      const r = view([doc], node);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/bad-\w+\.json: not valid JSON at line 3, column 25 \(Unexpected token/);
      const lines = join(dir, `bad-${node}.ndjson`);
      writeFileSync(lines, '{"events": []}\n{"events": []}\n{"events": [}\n');
      const l = view([lines], node);
      expect(l.stderr).toMatch(/bad-\w+\.ndjson: line 3: not valid JSON at column 13 \(/);
    });
  }
});

describe('plugin options that are not an object', () => {
  it('are refused with the same words by every plugin', () => {
    for (const make of [esbuildPlugin, vitePlugin] as ((o: unknown) => unknown)[]) {
      expect(() => make('str')).toThrow(/: options must be an object, got "str"$/);
      expect(() => make(['include'])).toThrow(/: options must be an object, got array \["include"\]$/);
      expect(() => make(42)).toThrow(/: options must be an object, got number 42$/);
    }
  });

  it('take null and undefined as no options', () => {
    for (const make of [esbuildPlugin, vitePlugin] as ((o: unknown) => { name: string })[]) {
      expect(make(null).name).toBe('stepmark');
      expect(make(undefined).name).toBe('stepmark');
    }
    const vite = vitePlugin(null as never) as unknown as { configResolved(c: { root: string }): void };
    expect(() => vite.configResolved({ root: dir })).not.toThrow();
  });
});
