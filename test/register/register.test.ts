/**
 * `node --import stepmark/register`: a small app (ESM, CommonJS, TypeScript) run in a child
 * process on Node 24 (synchronous `module.registerHooks`, type stripping) and Node 20
 * (`module.register` hooks thread for ESM, `Module.prototype._compile` for CommonJS), through the
 * built package as users run it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const APP = resolve(import.meta.dirname, 'app');
const NODE24 = process.execPath;
const NODE20 = '/usr/bin/node';

function run(node: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(node, args, {
    cwd: APP,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', STEPMARK_OPTIONS: '', STEPMARK_CONFIG: '', ...env },
  });
  const json = () => {
    try {
      return JSON.parse(r.stdout);
    } catch {
      throw new Error(
        `node ${args.join(' ')} printed no JSON (status ${r.status}):\n${r.stdout}\n${r.stderr}`,
      );
    }
  };
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json };
}

/** What the app prints when every marked file was instrumented (names and locations as the build plugins write them). */
const SPANS = [
  ['OrderService.place', null, 'orders.js:10:9', null, 'ok'],
  ['OrderService.validate', 'OrderService.place', 'orders.js:5:3', null, 'ok'],
  ['price', null, 'orders.js:16:22', null, 'ok'],
  ['audit', null, 'legacy.cjs:4:1', null, 'ok'],
  ['helper', 'audit', 'legacy.cjs:9:16', null, 'ok'],
];
const STEPS = [
  ['OrderService.validate', 'accepted'],
  ['audit', 'audited'],
];

// One retry: dist/ is shared and may be rebuilt by someone else while a child process loads it.
describe('stepmark/register', { retry: 1 }, () => {
  it('instruments ESM, CommonJS and TypeScript (type stripping) files as they load on Node 24', () => {
    const r = run(NODE24, ['--import', 'stepmark/register', 'main.mjs']);
    expect(r.stderr).toBe('');
    expect(r.json()).toEqual({
      result: ['placed', 4, 'audit:o1', 135, 1],
      spans: [...SPANS, ['discount', null, 'pricing.ts:9:8', 'o1', 'ok']],
      steps: [...STEPS, ['discount', 'discounted']],
    });
  });

  it('changes nothing without it: same results, no spans', () => {
    const r = run(NODE24, ['main.mjs']);
    expect(r.json()).toMatchObject({ result: ['placed', 4, 'audit:o1', 135, 1], spans: [] });
  });

  it('instruments ESM (hooks thread) and CommonJS (_compile) on Node 20', () => {
    const r = run(NODE20, ['--import', 'stepmark/register', 'main.mjs']);
    expect(r.stderr).toBe('');
    expect(r.json()).toEqual({ result: ['placed', 4, 'audit:o1'], spans: SPANS, steps: STEPS });
  });

  it.each([
    ['Node 24', NODE24, '--import'],
    ['Node 24', NODE24, '--require'],
    ['Node 20', NODE20, '--import'],
    ['Node 20', NODE20, '--require'],
  ])('instruments a CommonJS entry point (%s, %s)', (_label, node, flag) => {
    const r = run(node, [flag, 'stepmark/register', 'main.cjs']);
    expect(r.json()).toEqual({
      result: 'audit:c1',
      spans: [
        ['audit', 'legacy.cjs:4:1'],
        ['helper', 'legacy.cjs:9:16'],
      ],
    });
  });

  it('also loads the ESM hooks from the CommonJS entry (--require) on Node 20', () => {
    const r = run(NODE20, ['--require', 'stepmark/register', 'main.mjs']);
    expect(r.json()).toEqual({ result: ['placed', 4, 'audit:o1'], spans: SPANS, steps: STEPS });
  });

  it.each([
    ['Node 24', NODE24],
    ['Node 20', NODE20],
  ])('takes options from STEPMARK_OPTIONS; stack traces keep the original lines (%s)', (_label, node) => {
    const r = run(node, ['--enable-source-maps', '--import', 'stepmark/register', 'included.mjs'], {
      STEPMARK_OPTIONS: JSON.stringify({ include: ['unmarked.js'] }),
    });
    // `boom` throws at line 7, column 9 of unmarked.js, before and after instrumentation
    expect(r.json()).toEqual({ spans: [['helper', 'unmarked.js:1:8']], at: ['7', '9'] });
    // `include` selected a file (an ES module: on Node 20, seen in the hooks thread): no warning
    expect(r.stderr).toBe('');
    const plain = run(node, ['--enable-source-maps', 'included.mjs']);
    expect(plain.json()).toEqual({ spans: [], at: ['7', '9'] });
  });

  it('takes options from stepmark.config.json (or STEPMARK_CONFIG), the environment winning per key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepmark-register-'));
    try {
      const config = join(dir, 'stepmark.config.json');
      writeFileSync(config, JSON.stringify({ include: ['unmarked.js'], locations: false, root: APP }));
      const r = run(NODE24, ['--import', 'stepmark/register', 'included.mjs'], { STEPMARK_CONFIG: config });
      expect(r.json().spans).toEqual([['helper', null]]);
      expect(r.stderr).toBe('');
      const both = run(NODE24, ['--import', 'stepmark/register', 'included.mjs'], {
        STEPMARK_CONFIG: config,
        STEPMARK_OPTIONS: '{"locations": true}',
      });
      expect(both.json().spans).toEqual([['helper', 'unmarked.js:1:8']]);
      // both set `locations`, differently: it says which one it used
      expect(both.stderr).toBe(`[stepmark] register: STEPMARK_OPTIONS replaces "locations" of ${config}\n`);
      // under debug, where the options came from
      const debug = run(NODE24, ['--import', 'stepmark/register', 'included.mjs'], {
        STEPMARK_CONFIG: config,
        STEPMARK_OPTIONS: '{"debug": true}',
      });
      expect(debug.stderr).toContain(`[stepmark] register: options from ${config} and STEPMARK_OPTIONS\n`);
      // an error names the source the offending option was set in
      writeFileSync(config, JSON.stringify({ include: ['unmarked.js'], getter: true }));
      const bad = run(NODE24, ['--import', 'stepmark/register', 'included.mjs'], {
        STEPMARK_CONFIG: config,
        STEPMARK_OPTIONS: '{"locations": true}',
      });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain(
        `stepmark/register (options from ${config} and STEPMARK_OPTIONS): Invalid option "getter" (did you mean "getters"?)`,
      );
      expect(bad.stderr).toContain(`(set in ${config})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('an include that selects none of the files loaded', () => {
    const include = { STEPMARK_OPTIONS: JSON.stringify({ include: ['src/**'], exclude: ['*.test.ts'] }) };
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const WARNING = new RegExp(
      String.raw`^\(node:\d+\) \[STEPMARK_INCLUDE_UNMATCHED\] StepmarkWarning: ` +
        escaped('stepmark/register: include ["src/**"] (less exclude ["*.test.ts"]) selected none of the ') +
        String.raw`\d+` +
        escaped(
          ' JavaScript or TypeScript files this process loaded outside node_modules ' +
            `(patterns are relative to root "${APP}")\n`,
        ),
    );
    const warnings = (stderr: string) => stderr.split('STEPMARK_INCLUDE_UNMATCHED').length - 1;

    it.each([
      ['Node 24', NODE24, 'main.mjs'],
      ['Node 20', NODE20, 'main.mjs'],
      ['Node 24', NODE24, 'main.cjs'],
    ])('is warned of once when the process ends (%s, %s)', (_label, node, entry) => {
      const r = run(node, ['--import', 'stepmark/register', entry], include);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(WARNING);
      expect(warnings(r.stderr)).toBe(1);
      // the program ran as it does without stepmark: the marked files still instrumented
      expect(r.json().spans.length).toBeGreaterThan(0);
    });

    it.each([
      ['Node 24', NODE24],
      ['Node 20', NODE20],
    ])(
      'is not when it selected only an ES module (%s; on Node 20 one the hooks thread loads)',
      (_l, node) => {
        const r = run(node, ['--import', 'stepmark/register', 'main.mjs'], {
          STEPMARK_OPTIONS: JSON.stringify({ include: ['main.mjs'] }),
        });
        expect(r.status).toBe(0);
        expect(r.stderr).toBe('');
      },
    );

    it('is not after a failure, when a signal ends the process, or with no source file loaded', () => {
      const script = (code: string) => ['--import', 'stepmark/register', '--input-type=module', '-e', code];
      const failed = run(NODE24, script("await import('./orders.js'); process.exitCode = 3;"), include);
      expect(failed.status).toBe(3);
      expect(failed.stderr).toBe('');
      const thrown = run(NODE24, script("await import('./orders.js'); throw new Error('boom');"), include);
      expect(thrown.status).toBe(1);
      expect(warnings(thrown.stderr)).toBe(0);
      const killed = run(
        NODE24,
        script("await import('./orders.js'); process.kill(process.pid, 'SIGTERM');"),
        include,
      );
      expect(killed.signal).toBe('SIGTERM');
      expect(killed.stderr).toBe('');
      const nothing = run(NODE24, script('void 0;'), include);
      expect(nothing.status).toBe(0);
      expect(nothing.stderr).toBe('');
      // a tool run from node_modules that loads one of the project's files (its config file, say)
      const dir = mkdtempSync(join(tmpdir(), 'stepmark-register-tool-'));
      try {
        const cli = join(dir, 'node_modules', 'some-tool', 'cli.mjs');
        mkdirSync(join(cli, '..'), { recursive: true });
        writeFileSync(cli, `await import(${JSON.stringify(pathToFileURL(join(APP, 'orders.js')).href)});\n`);
        const tool = run(NODE24, ['--import', 'stepmark/register', cli], include);
        expect(tool.status).toBe(0);
        expect(tool.stderr).toBe('');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // the same program with no failure does warn
      expect(run(NODE24, script("await import('./orders.js');"), include).stderr).toMatch(WARNING);
    });

    it('is silenced like any process warning (--no-warnings, --disable-warning=<code>)', () => {
      for (const flag of ['--no-warnings', '--disable-warning=STEPMARK_INCLUDE_UNMATCHED']) {
        for (const node of [NODE24, NODE20]) {
          const r = run(node, [flag, '--import', 'stepmark/register', 'main.mjs'], include);
          expect(r.status).toBe(0);
          expect(r.stderr).toBe('');
        }
      }
    });
  });

  it('rejects an unknown option by name and says where options come from', () => {
    const r = run(NODE24, ['--import', 'stepmark/register', 'main.mjs'], {
      STEPMARK_OPTIONS: '{"callback": true}',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Invalid option "callback" (did you mean "callbacks"?)');
    expect(r.stderr).toContain('STEPMARK_OPTIONS');
    const bad = run(NODE24, ['--import', 'stepmark/register', 'main.mjs'], { STEPMARK_OPTIONS: '{oops' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('STEPMARK_OPTIONS is not valid JSON');
  });

  it.each([
    ['Node 24', NODE24],
    ['Node 20', NODE20],
  ])('fails to load a file with a bad directive, at its file:line:col (%s)', (_label, node) => {
    const r = run(node, ['--import', 'stepmark/register', 'bad-directive.mjs']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      `${join(APP, 'bad-directive.mjs')}:6:15: @stepmark option "kind" needs "entity"`,
    );
  });

  it('reports what it did under debug', () => {
    const r = run(NODE24, ['--import', 'stepmark/register', 'main.cjs'], {
      STEPMARK_OPTIONS: '{"debug": true}',
    });
    expect(r.stderr).toContain('legacy.cjs: 2 function(s) instrumented, 1 call(s) rewritten');
    expect(r.stderr).toMatch(
      /register: 1 file\(s\) instrumented, \d+ parsed with nothing to do, \d+ skipped/,
    );
  });

  it.each([
    ['Node 24', NODE24, ['legacy.cjs', 'orders.js', 'pricing.ts']],
    ['Node 20', NODE20, ['legacy.cjs', 'orders.js']],
  ])(
    'writes the stage catalog of what it instrumented, ES modules from the hooks thread included (%s)',
    (_label, node, files) => {
      const dir = mkdtempSync(join(tmpdir(), 'stepmark-register-'));
      try {
        const catalog = join(dir, 'catalog.json');
        const r = run(node, ['--import', 'stepmark/register', 'main.mjs'], {
          STEPMARK_OPTIONS: JSON.stringify({ catalog }),
        });
        expect(r.status).toBe(0);
        const c = JSON.parse(readFileSync(catalog, 'utf8'));
        expect(c.stepmark_catalog).toBe(1);
        expect([...new Set(c.sites.map((s: { file: string }) => s.file))]).toEqual(files);
        expect(c.sites).toContainEqual({
          name: 'OrderService.validate',
          kind: 'method',
          file: 'orders.js',
          line: 5,
          column: 3,
        });
        expect(c.sites).toContainEqual({
          name: 'OrderService.validate',
          kind: 'step',
          file: 'orders.js',
          line: 6,
          column: 5,
          call: 'step',
          actions: ['accepted', 'rejected'],
          dynamic: false,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.each([
    ['Node 24', NODE24],
    ['Node 20', NODE20],
  ])('instruments a .js file of a package without "type" (CommonJS by default, %s)', (_label, node) => {
    // Node 24's hooks leave `format` unset for such a file: most published CommonJS packages.
    const dir = mkdtempSync(join(tmpdir(), 'stepmark-register-untyped-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{}');
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(resolve(APP, '..', '..', '..'), join(dir, 'node_modules', 'stepmark'), 'dir');
      writeFileSync(join(dir, 'lib.js'), 'function twice(n) { return n * 2; }\nmodule.exports = twice;\n');
      writeFileSync(
        join(dir, 'main.cjs'),
        "const stepmark = require('stepmark');\nconst twice = require('./lib.js');\n" +
          'const { result, trace } = stepmark.captureSync(() => twice(21));\n' +
          'console.log(JSON.stringify({ result, spans: trace.spans.map((s) => s.name) }));\n',
      );
      const r = spawnSync(node, ['--import', 'stepmark/register', 'main.cjs'], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          STEPMARK_CONFIG: '',
          STEPMARK_OPTIONS: JSON.stringify({ include: ['lib.js'] }),
        },
      });
      expect(JSON.parse(r.stdout), r.stderr).toEqual({ result: 42, spans: ['twice'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('strips instead of instrumenting with strip: true (same results, nothing recorded)', () => {
    const r = run(NODE24, ['--import', 'stepmark/register', 'main.mjs'], {
      STEPMARK_OPTIONS: '{"strip": true}',
    });
    expect(r.json()).toEqual({ result: ['placed', 4, 'audit:o1', 135, 1], spans: [], steps: [] });
  });

  // tsx compiles TypeScript to comment-free JavaScript: registered after stepmark/register, its
  // hook hands stepmark the source first, markers and all (registered before, it would not). On
  // Node 24 it also compiles CommonJS itself, past the load hook: legacy.cjs is instrumented as
  // Node compiles it.
  it('instruments what tsx loads, stepmark/register imported before tsx (Node 24 and 20)', () => {
    const on24 = run(NODE24, ['--import', 'stepmark/register', '--import', 'tsx', 'main.mjs']);
    expect(on24.json()).toEqual({
      result: ['placed', 4, 'audit:o1', 135, 1],
      spans: [...SPANS, ['discount', null, 'pricing.ts:9:8', 'o1', 'ok']],
      steps: [...STEPS, ['discount', 'discounted']],
    });
    const on20 = run(NODE20, ['--import', 'stepmark/register', '--import', 'tsx', 'main.mjs']);
    expect(on20.json()).toEqual({ result: ['placed', 4, 'audit:o1'], spans: SPANS, steps: STEPS });
    const ts20 = run(NODE20, ['--import', 'stepmark/register', '--import', 'tsx', 'ts-main.mts']);
    expect(ts20.json()).toEqual({ result: 135, spans: [['discount', 'pricing.ts:9:8']] });
  });

  it('instruments the output of a loader the user registered before it (Node 24)', () => {
    const r = run(NODE24, ['--import', './user-loader.mjs', '--import', 'stepmark/register', 'chained.mjs']);
    expect(r.json()).toEqual({ result: 'from the user loader', spans: [['greet', 'loaded.js:2:8']] });
  });
});
