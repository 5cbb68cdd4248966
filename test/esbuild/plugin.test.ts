/**
 * The esbuild plugin inside real esbuild builds: what it instruments, what it leaves alone, the
 * loaders and module formats it keeps, its source maps, its error messages, and the build modes
 * (build, context/rebuild, tsup).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { capture } from 'stepmark';
import stepmark, { type StepmarkEsbuildOptions } from 'stepmark/esbuild-plugin';
import { describe, expect, it, vi } from 'vitest';
import { bundle, load, ORDER, project, repoRoot, runNode } from './helpers.js';

type Span = { span_id: string; parent_id?: string | null; name: string; status: string; location?: string };

/** `name (parent) status` per span, in start order. */
function spanSummary(spans: Span[]): string[] {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  return spans.map((s) => {
    const parent = s.parent_id ? byId.get(s.parent_id)?.name : undefined;
    return `${s.name}${parent ? ` < ${parent}` : ''} ${s.status}`;
  });
}

describe('esbuild plugin: instrumenting', () => {
  it('wraps the functions of a marked file and names explicit steps after their function', async () => {
    const dir = project({
      'src/order.ts': ORDER,
      'src/main.ts': `export { OrderService } from './order';\n`,
    });
    const { outfile, code } = await bundle(dir, 'src/main.ts');
    expect(code).toContain('__stepmark.enter("OrderService.place", "src/order.ts:5:9", 1)');
    const mod = await load<{ OrderService: new () => { place(o: object): Promise<string> } }>(outfile);
    const { result, trace } = await capture(() => new mod.OrderService().place({ id: 'o1', total: 3 }));
    expect(result).toBe('o1');
    expect(spanSummary(trace.spans as Span[])).toEqual([
      'OrderService.place ok',
      'OrderService.validate < OrderService.place ok',
    ]);
    expect(trace.events.find((e) => e.action === 'placed')).toMatchObject({
      stage: 'OrderService.place',
      meta: { total: 3 },
    });
  });

  it('records a thrown error on the span and the stack trace points at the original source line', async () => {
    const dir = project({
      'src/order.ts': ORDER,
      'src/main.ts': `import { OrderService } from './order';
new OrderService().place({ id: 'o2', total: 0 }).catch((e) => console.log(e.stack));
`,
    });
    const { outfile } = await bundle(dir, 'src/main.ts');
    const { stdout } = await runNode(outfile);
    expect(stdout).toContain('Error: bad total');
    expect(stdout).toMatch(/at OrderService\.validate \(.*src[\\/]order\.ts:12:33\)/);
    expect(stdout).toMatch(/at (async )?OrderService\.place \(.*src[\\/]order\.ts:6:16\)/);

    const mod = await load<{ OrderService: new () => { place(o: object): Promise<string> } }>(
      (await bundle(dir, 'src/order.ts')).outfile,
    );
    const { trace } = await capture(() =>
      new mod.OrderService().place({ id: 'o2', total: 0 }).catch(() => 'caught'),
    );
    expect(spanSummary(trace.spans as Span[])).toEqual([
      'OrderService.place error',
      'OrderService.validate < OrderService.place error',
    ]);
    expect((trace.spans as Span[] & { error?: string }[])[1]).toMatchObject({ error: 'bad total' });
  });

  it('rewrites only calls bound to the stepmark import: aliases, namespaces, require, scope objects', async () => {
    const dir = project({
      'src/calls.ts': `import { step as s, scope } from 'stepmark';
import * as sm from 'stepmark';
const orders = scope('order');
export function a() { s('one'); sm.step('two'); orders.step('o1', 'three'); }
export function b(s: (x: string) => void) { s('not-rewritten'); }
function step(x: string) { return x; }
export function c() { return step('local'); }
`,
      'src/legacy.cjs': `const { step } = require('stepmark');
const stepmark = require('stepmark');
module.exports = function legacy() { step('four'); stepmark.step('five'); };
`,
    });
    const calls = await bundle(dir, 'src/calls.ts');
    expect(calls.code).toContain('__stepmark.step("a", "one")');
    expect(calls.code).toContain('__stepmark.step("a", "two")');
    expect(calls.code).toContain('__stepmark.scopeStep(orders, "a", "o1", "three")');
    expect(calls.code).toMatch(/\bs2?\("not-rewritten"\)/);
    expect(calls.code).toContain('step("local")');
    const mod = await load<{ a(): void; b(f: (x: string) => void): void }>(calls.outfile);
    const { trace } = await capture(() => {
      mod.a();
      mod.b(() => {});
    });
    const events = [...trace.events, ...Object.values(trace.entities).flatMap((e) => e.events)];
    expect(events.map((e) => `${e.stage}:${e.action}`).sort()).toEqual(['a:one', 'a:three', 'a:two']);

    const legacy = await bundle(dir, 'src/legacy.cjs', {}, { format: 'cjs' });
    expect(legacy.code).toContain('__stepmark.step("legacy", "four")');
    expect(legacy.code).toContain('__stepmark.step("legacy", "five")');
    expect(legacy.code).toContain('.abi(2)');
  });

  it('keeps each extension’s loader and the tsconfig’s JSX settings', async () => {
    const dir = project({
      'tsconfig.json': JSON.stringify({ compilerOptions: { jsx: 'react', jsxFactory: 'h' } }),
      'src/view.tsx': `// @stepmark\nexport function View(props: { n: number }) { return <b>{props.n}</b>; }\n`,
      'src/plain.jsx': `// @stepmark\nexport function Plain() { return <i />; }\n`,
      'src/m.mts': `// @stepmark\nexport function m(x: number): number { return x + 1; }\n`,
      'src/c.cts': `// @stepmark\nexport function c(x: number): number { return x * 2; }\n`,
      'src/j.mjs': `// @stepmark\nexport function j() { return 'j'; }\n`,
      'src/k.cjs': `// @stepmark\nexports.k = function () { return 'k'; };\n`,
      'src/main.ts': `export { View } from './view';
export { Plain } from './plain';
export { m } from './m.mts';
export { c } from './c.cts';
export { j } from './j.mjs';
export { k } from './k.cjs';
export const h = (tag: unknown, props: unknown, ...children: unknown[]) => ({ tag, children });
`,
    });
    const { outfile, code } = await bundle(
      dir,
      'src/main.ts',
      {},
      { jsx: undefined, tsconfig: join(dir, 'tsconfig.json') },
    );
    expect(code).toMatch(/h\("b", null, props\.n\)/); // tsconfig's jsxFactory applied to the instrumented .tsx
    for (const name of ['View', 'Plain', 'm', 'c', 'j', 'exports.k']) {
      expect(code).toMatch(new RegExp(`__stepmark\\d*\\.enter\\("${name}"`));
    }
    expect(code).toContain('require("stepmark/runtime").abi(2)'); // the CommonJS file got the require form
    const mod = await load<Record<string, (...a: unknown[]) => unknown>>(outfile);
    const { trace } = await capture(() => [mod.m!(1), mod.c!(2), mod.j!(), mod.k!()]);
    expect((trace.spans as Span[]).map((s) => s.name)).toEqual(['m', 'c', 'j', 'exports.k']);
  });

  it('leaves files that cannot need work byte-for-byte as esbuild builds them', async () => {
    const dir = project({
      'src/main.ts': `import { util } from './util';\nexport const main = () => util(1);\n`,
      'src/util.ts': `/** says @step mark, not a marker */\nexport function util(n: number) { return n + 1; }\n`,
    });
    const withPlugin = await bundle(dir, 'src/main.ts', {});
    const without = await bundle(dir, 'src/main.ts', false);
    expect(withPlugin.code).toBe(without.code);
  });

  it('returns skipped files to esbuild so plugins after it still load them', async () => {
    const dir = project({
      'src/main.ts': `import './plain';\nimport './marked';\n`,
      'src/plain.ts': `export const p = 1;\n`,
      'src/marked.ts': ORDER,
    });
    const seen: string[] = [];
    await bundle(
      dir,
      'src/main.ts',
      {},
      {
        plugins: [
          stepmark(),
          {
            name: 'spy',
            setup: (b) => b.onLoad({ filter: /\.ts$/ }, (a) => void seen.push(a.path.slice(dir.length + 1))),
          },
        ],
      },
    );
    expect(seen.sort()).toEqual(['src/main.ts', 'src/plain.ts']);
  });

  it('skips node_modules unless an include pattern names them', async () => {
    const lib = `// @stepmark\nexport function fromLib() { return 1; }\n`;
    const dir = project({
      'node_modules/lib/index.js': lib,
      'node_modules/lib/package.json': '{"name":"lib","main":"index.js"}',
      'src/main.ts': `export { fromLib } from 'lib';\n`,
    });
    expect((await bundle(dir, 'src/main.ts')).code).not.toContain('__stepmark');
    // a pattern that does not name node_modules selects nothing there, and says so
    const lines: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      expect((await bundle(dir, 'src/main.ts', { include: ['**/*.js'] })).code).not.toContain('__stepmark');
    } finally {
      write.mockRestore();
    }
    expect(lines).toEqual([expect.stringContaining('include ["**/*.js"] matched no file of this build')]);
    expect((await bundle(dir, 'src/main.ts', { include: ['node_modules/lib/**'] })).code).toContain(
      '__stepmark.enter("fromLib"',
    );
  });

  it('selects files by include/exclude globs and honours callbacks, getters and locations', async () => {
    const dir = project({
      'src/services/a.service.ts': `export class A { get g() { return 1; } run() { return [1].map((x) => x); } }\n`,
      'src/services/skip.service.ts': `export function skipped() {}\n`,
      'src/main.ts': `export * from './services/a.service';\nexport * from './services/skip.service';\n`,
    });
    const { code } = await bundle(dir, 'src/main.ts', {
      include: ['*.service.ts'],
      exclude: ['**/skip.*'],
      callbacks: true,
      getters: true,
      locations: false,
    });
    expect(code).toContain('__stepmark.enter("A.run", void 0)');
    expect(code).toContain('__stepmark.enter("A.get g", void 0)');
    expect(code).toContain('__stepmark.enter("A.run.<anonymous>", void 0)');
    expect(code).not.toContain('"skipped"');
  });
});

describe('esbuild plugin: debug output', () => {
  it('says per file what was instrumented and per build what was skipped and why', async () => {
    const dir = project({
      'src/main.ts': `import './marked';\nimport './plain';\nimport './mentions';\n`,
      'src/marked.ts': ORDER,
      'src/plain.ts': 'export const p = 1;\n',
      'src/mentions.ts': '// see the stepmark docs\nexport const q = 2;\n',
    });
    const debugOutput = async (options: StepmarkEsbuildOptions) => {
      const lines: string[] = [];
      const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
      try {
        await bundle(dir, 'src/main.ts', { debug: true, ...options });
      } finally {
        write.mockRestore();
      }
      return lines.join('');
    };
    // the default: main.ts and plain.ts were read at setup and never reach the plugin
    const text = await debugOutput({});
    expect(text).toMatch(
      /prescan: 2 file\(s\) need nothing and stay in esbuild, 2 need work \(\d+\.\d ms\)\n/,
    );
    expect(text).toMatch(/marked\.ts: 2 function\(s\) instrumented, 1 call\(s\) rewritten/);
    expect(text).toMatch(/mentions\.ts: nothing selected and no stepmark calls: left unchanged/);
    expect(text).toMatch(/1 file\(s\) instrumented, 1 parsed with nothing to do, 0 skipped without parsing/);
    // without the scan every file reaches the plugin, which skips two on their bytes
    const unscanned = await debugOutput({ prescan: false });
    expect(unscanned).not.toMatch(/prescan/);
    expect(unscanned).toMatch(
      /1 file\(s\) instrumented, 1 parsed with nothing to do, 2 skipped without parsing/,
    );
  });
});

describe('esbuild plugin: errors', () => {
  it('warns once when include selects no file (wrong root or pattern), never when it does', async () => {
    const dir = project({ 'src/main.ts': 'export const m = 1;\n' });
    const lines: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await bundle(dir, 'src/main.ts', { include: ['source/**'] });
      await bundle(dir, 'src/main.ts', { include: ['src/**'] });
    } finally {
      write.mockRestore();
    }
    const warnings = lines.filter((l) => l.includes('matched no file'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('include ["source/**"] matched no file of this build');
  });

  it('fails the build on a bad directive with file, line, column and the source line', async () => {
    const dir = project({
      'src/bad.ts': `export const x = 1;\n\n  /** @stepmark entity=order.id kind=order colour=red */\nexport function f(order: { id: string }) {}\n`,
    });
    const error = await bundle(dir, 'src/bad.ts').catch((e: esbuild.BuildFailure) => e);
    expect(error).toBeInstanceOf(Error);
    const [m] = (error as esbuild.BuildFailure).errors;
    expect(m!.text).toMatch(/Unknown @stepmark option "colour"/);
    expect(m!.location).toMatchObject({
      file: 'src/bad.ts',
      line: 3,
      column: 43,
      lineText: '  /** @stepmark entity=order.id kind=order colour=red */',
    });
  });

  it('reports a directive that precedes nothing', async () => {
    const dir = project({
      'src/bad.ts': `export const x = 1;\nconsole.log(x);\n// @stepmark\nconsole.log(2);\n`,
    });
    const error = (await bundle(dir, 'src/bad.ts').catch((e) => e)) as esbuild.BuildFailure;
    expect(error.errors[0]!.text).toMatch(/must directly precede a function/);
    expect(error.errors[0]!.location).toMatchObject({ line: 3, column: 3 });
  });

  it('rejects an unknown option by name when the plugin is created', () => {
    expect(() => stepmark({ callback: true } as never)).toThrow(
      /Invalid option "callback" \(did you mean "callbacks"\?\)/,
    );
  });
});

describe('esbuild plugin: build modes', () => {
  it('works with esbuild.context and rebuild: edits are re-instrumented, unchanged files come from the cache', async () => {
    const dir = project({ 'src/a.ts': `// @stepmark\nexport function first() {}\n` });
    const ctx = await esbuild.context({
      absWorkingDir: dir,
      entryPoints: ['src/a.ts'],
      bundle: true,
      format: 'esm',
      write: false,
      external: ['stepmark', 'stepmark/*'],
      logLevel: 'silent',
      plugins: [stepmark()],
    });
    try {
      const one = await ctx.rebuild();
      expect(one.outputFiles![0]!.text).toContain('__stepmark.enter("first"');
      writeFileSync(join(dir, 'src/a.ts'), `// @stepmark\nexport function second() {}\n`);
      const two = await ctx.rebuild();
      expect(two.outputFiles![0]!.text).toContain('__stepmark.enter("second"');
      expect(two.outputFiles![0]!.text).not.toContain('"first"');
    } finally {
      await ctx.dispose();
    }
  });

  it('keeps the catalog of a running context true as markers are removed and put back', async () => {
    const marked = `// @stepmark\nexport function place() {}\n`;
    const dir = project({ 'src/a.ts': marked, 'src/main.ts': `export * from './a';\n` });
    const ctx = await esbuild.context({
      absWorkingDir: dir,
      entryPoints: ['src/main.ts'],
      bundle: true,
      format: 'esm',
      write: false,
      external: ['stepmark', 'stepmark/*'],
      logLevel: 'silent',
      plugins: [stepmark({ catalog: 'catalog.json' })],
    });
    const sites = () =>
      JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')).sites.map(
        (s: { name: string; file: string }) => `${s.name} ${s.file}`,
      );
    try {
      await ctx.rebuild();
      expect(sites()).toEqual(['place src/a.ts']);
      writeFileSync(join(dir, 'src/a.ts'), 'export function place() {}\n');
      await ctx.rebuild();
      expect(sites()).toEqual([]);
      writeFileSync(join(dir, 'src/a.ts'), marked); // the text of the first build, from the plugin's cache
      await ctx.rebuild();
      expect(sites()).toEqual(['place src/a.ts']);
    } finally {
      await ctx.dispose();
    }
  });

  it('works with esbuild.context().watch(): an edited file is rebuilt instrumented', async () => {
    const dir = project({ 'src/a.ts': `// @stepmark\nexport function before() {}\n` });
    const outputs: string[] = [];
    let notify: (() => void) | undefined;
    const ctx = await esbuild.context({
      absWorkingDir: dir,
      entryPoints: ['src/a.ts'],
      bundle: true,
      format: 'esm',
      write: false,
      external: ['stepmark', 'stepmark/*'],
      logLevel: 'silent',
      plugins: [
        stepmark(),
        {
          name: 'collect',
          setup: (b) =>
            b.onEnd((r) => {
              outputs.push(r.outputFiles?.[0]?.text ?? '');
              notify?.();
            }),
        },
      ],
    });
    try {
      const next = () => new Promise<void>((resolve) => (notify = resolve));
      let built = next();
      await ctx.watch();
      await built;
      expect(outputs.at(-1)).toContain('__stepmark.enter("before"');
      built = next();
      writeFileSync(join(dir, 'src/a.ts'), `// @stepmark\nexport function after() {}\n`);
      await built;
      expect(outputs.at(-1)).toContain('__stepmark.enter("after"');
    } finally {
      await ctx.dispose();
    }
  });

  it('tsup --watch picks up a marker added to an unmarked file, with no restart', async () => {
    const dir = project({
      'src/main.ts': "import { id } from './util';\nexport const run = () => id(1);\n",
      'src/util.ts': 'export function id(x: number) { return x; }\n',
      'tsup.config.mjs': `import stepmark from 'stepmark/esbuild-plugin';
export default {
  entry: ['src/main.ts'], format: ['esm'], outDir: 'dist', outExtension: () => ({ js: '.js' }),
  external: ['stepmark'], esbuildPlugins: [stepmark()],
};
`,
    });
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'node_modules/tsup/dist/cli-default.js'), '--watch', 'src'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const output = join(dir, 'dist/main.js');
    // `each` runs every second while waiting: tsup starts its file watcher only after the first
    // build, so an edit made at once can land before the watcher is ready
    const until = async (ok: (text: string) => boolean, each?: () => void) => {
      for (let waited = 0; waited < 30_000; waited += 100) {
        const text = existsSync(output) ? readFileSync(output, 'utf8') : '';
        if (ok(text)) return text;
        if (each && waited % 1000 === 0) each();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`tsup --watch: no matching output after 30 s; it printed:\n${log}`);
    };
    try {
      const first = await until((t) => t.includes('function id('));
      expect(first).not.toContain('__stepmark');
      // util.ts was scanned as needing nothing; tsup builds again with a new scan
      const mark = () =>
        writeFileSync(
          join(dir, 'src/util.ts'),
          '// @stepmark\nexport function id(x: number) { return x; }\n',
        );
      const second = await until((t) => t.includes('__stepmark'), mark);
      expect(second).toMatch(/__stepmark\d*\.enter\("id", "src\/util\.ts:2:8"\)/);
    } finally {
      child.kill();
    }
  }, 60_000);

  it('works inside tsup (a tool built on esbuild’s plugin API)', async () => {
    const dir = project({ 'src/order.ts': ORDER });
    const { build } = await import('tsup');
    await build({
      entry: { order: join(dir, 'src/order.ts') },
      outDir: join(dir, 'dist'),
      format: ['esm'],
      silent: true,
      esbuildPlugins: [stepmark({ root: dir })],
      external: ['stepmark'],
    });
    const code = readFileSync(join(dir, 'dist/order.js'), 'utf8');
    expect(code).toContain('__stepmark.enter("OrderService.place", "src/order.ts:5:9", 1)');
    expect(code).toContain('__stepmark.step("OrderService.place", "placed"');
  });
});
