/**
 * The esbuild plugin's `prescan` option: the filter built from a scan of the project must let
 * through exactly the files that may need work (marked, importing stepmark, new, outside the
 * scanned directories) and nothing from node_modules, in JavaScript's regular expressions and in
 * esbuild's Go ones; builds must come out the same as without it; and a watch session must say
 * when an edit needs the filter rebuilt.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import stepmark, { type StepmarkEsbuildOptions } from 'stepmark/esbuild-plugin';
import { describe, expect, it } from 'vitest';
import { segmentNotIn } from '../../esbuild-plugin/filter.js';
import { prescan } from '../../esbuild-plugin/prescan.js';
import { bundle, project } from './helpers.js';

const needsWork = (_path: string, bytes: Buffer) =>
  bytes.includes('@stepmark') || bytes.includes("from 'stepmark'");

/**
 * The files of `dir` (relative paths) that esbuild's Go side lets through `filter`: a build that
 * imports them all, with an `onLoad` spy on the filter. Sorted.
 */
async function throughGoFilter(dir: string, files: readonly string[], filter: RegExp): Promise<string[]> {
  const seen: string[] = [];
  await esbuild.build({
    absWorkingDir: dir,
    stdin: { contents: files.map((f) => `import './${f}';`).join('\n'), resolveDir: dir, loader: 'ts' },
    bundle: true,
    write: false,
    logLevel: 'silent',
    external: ['stepmark'],
    plugins: [
      {
        name: 'spy',
        setup(b) {
          b.onLoad({ filter }, (args) => {
            seen.push(args.path.slice(dir.length + 1));
            return undefined;
          });
        },
      },
    ],
  });
  return seen.sort();
}

describe('segmentNotIn', () => {
  it('matches exactly the non-empty segments that are none of the names', () => {
    const names = ['node_modules', 'node', 'n', 'a-b', 'x]y', 'm1.ts', 'm10.ts', 'ñandú.ts'];
    const re = new RegExp(`^${segmentNotIn(names)}$`);
    for (const n of names) expect(re.test(n), n).toBe(false);
    for (const s of [
      'no',
      'nodes',
      'node_module',
      'node_modules2',
      'm1.t',
      'm100.ts',
      'ñandu.ts',
      'x',
      'a-c',
      'x]',
    ])
      expect(re.test(s), s).toBe(true);
    for (const s of ['', 'a/b', 'a\\b']) expect(re.test(s), s).toBe(false);
  });
});

describe('prescan filter', () => {
  const dir = project({
    'src/marked.ts': '// @stepmark\nexport function f() {}\n',
    'src/uses.ts': "import { step } from 'stepmark';\nexport const g = () => step('x');\n",
    'src/plain.ts': 'export const p = 1;\n',
    'src/data.json': '{"a":1}\n',
    'src/sub/deep.ts': 'export const d = 1;\n',
    'src/.cache/hidden.ts': 'export const h = 1;\n',
    'src/node_modules/dep/index.js': 'module.exports = 1;\n',
    'lib/other.ts': 'export const o = 1;\n',
  });
  const scan = prescan([join(dir, 'src')], needsWork);

  it('leaves out the files known to need nothing, and only those', () => {
    const at = (p: string) => join(dir, p);
    const through = (p: string) => scan.filter.test(at(p));
    expect(scan.needWork).toBe(2);
    expect([...scan.known.keys()].sort()).toEqual([at('src/plain.ts'), at('src/sub/deep.ts')]);
    for (const p of [
      'src/marked.ts',
      'src/uses.ts',
      'src/new.ts',
      'src/sub/new/x.ts',
      'src/.cache/hidden.ts',
      'lib/other.ts',
    ])
      expect(through(p), p).toBe(true);
    for (const p of [
      'src/plain.ts',
      'src/data.json',
      'src/sub/deep.ts',
      'src/node_modules/dep/index.js',
      'node_modules/x/i.js',
    ])
      expect(through(p), p).toBe(false);
    expect(scan.filter.test('/elsewhere/node_modules/z/index.js')).toBe(false);
    expect(scan.filter.test('/elsewhere/app/z.ts')).toBe(true);
    const withDeps = prescan([join(dir, 'src')], needsWork, true);
    expect(withDeps.filter.test(at('src/node_modules/dep/index.js'))).toBe(true);
    expect(withDeps.filter.test(at('src/plain.ts'))).toBe(false);
  });

  it("means the same to esbuild's Go regular expressions", async () => {
    const files = [
      'src/marked.ts',
      'src/uses.ts',
      'src/plain.ts',
      'src/sub/deep.ts',
      'src/.cache/hidden.ts',
      'lib/other.ts',
    ];
    const seen = await throughGoFilter(dir, files, scan.filter);
    expect(seen).toEqual(['lib/other.ts', 'src/.cache/hidden.ts', 'src/marked.ts', 'src/uses.ts']);
  });
});

describe('prescan limits', () => {
  it('stops after maxFiles source files and lets the rest through', () => {
    const dir = project({
      'src/a.ts': 'export const a = 1;\n',
      'src/b.ts': 'export const b = 1;\n',
      'src/c/d.ts': 'export const d = 1;\n',
      'src/e.json': '{}\n',
    });
    const full = prescan([join(dir, 'src')], needsWork);
    expect(full.complete).toBe(true);
    expect(full.known.size).toBe(3);
    const partial = prescan([join(dir, 'src')], needsWork, false, { maxFiles: 1 });
    expect(partial.complete).toBe(false);
    expect(partial.known.size).toBe(1);
    // every file not known is let through, whichever one was read first
    for (const f of ['src/a.ts', 'src/b.ts', 'src/c/d.ts']) {
      const path = join(dir, f);
      expect(partial.filter.test(path), f).toBe(!partial.known.has(path));
    }
  });

  it('reads whole files of any size into its reused buffer: a marker past the first 64 KiB counts', () => {
    const filler = `export const filler = ${JSON.stringify('x'.repeat(200 * 1024))};\n`;
    const dir = project({
      'src/a-small.ts': 'export const a = 1;\n',
      'src/b-big.ts': `${filler}// @stepmark\nexport function late() {}\n`,
      'src/c-big-plain.ts': filler,
      'src/d-small.ts': 'export const d = 1;\n',
    });
    const scan = prescan([join(dir, 'src')], needsWork);
    expect(scan.needWork).toBe(1);
    expect([...scan.known.keys()].sort()).toEqual(
      ['src/a-small.ts', 'src/c-big-plain.ts', 'src/d-small.ts'].map((f) => join(dir, f)),
    );
  });

  it('also stops after 20 times maxFiles directory entries of any kind', () => {
    const files: Record<string, string> = { 'src/z/a.ts': 'export const a = 1;\n' };
    for (let i = 0; i < 30; i++) files[`src/assets/${i}.png`] = '';
    const dir = project(files);
    // 30 images and 2 directories are more than 20 entries: stopped before or inside z/, so a.ts
    // is either known or let through, never both
    const scan = prescan([join(dir, 'src')], needsWork, false, { maxFiles: 1 });
    expect(scan.complete).toBe(false);
    const a = join(dir, 'src/z/a.ts');
    expect(scan.filter.test(a)).toBe(!scan.known.has(a));
    expect(prescan([join(dir, 'src')], needsWork, false, { maxFiles: 2 }).complete).toBe(true);
  });

  it('skips the directories it is told to (the build output) and scans nested ones once', () => {
    const dir = project({ 'src/a.ts': 'export const a = 1;\n', 'src/out/b.ts': 'export const b = 1;\n' });
    const scan = prescan([join(dir, 'src'), join(dir, 'src/out'), join(dir, 'src')], needsWork, false, {
      skip: [join(dir, 'src/out')],
    });
    expect([...scan.known.keys()]).toEqual([join(dir, 'src/a.ts')]);
    expect(scan.filter.test(join(dir, 'src/out/b.ts'))).toBe(true);
  });

  it('lets through names it cannot spell, and stays within what Go accepts for long and deep paths', async () => {
    const long = 'x'.repeat(150);
    const deep = Array.from({ length: 22 }, (_, i) => `${i}${long}`).join('/');
    const files = {
      'src/plain.ts': 'export const p = 1;\n',
      'src/😀.ts': 'export const e = 1;\n',
      [`src/${'y'.repeat(200)}.ts`]: 'export const y = 1;\n',
      [`src/${deep}/z.ts`]: 'export const z = 1;\n',
    };
    const dir = project(files);
    const scan = prescan([join(dir, 'src')], needsWork);
    expect(scan.known.has(join(dir, 'src/plain.ts'))).toBe(true);
    expect(scan.known.has(join(dir, 'src/😀.ts'))).toBe(false);
    expect(scan.known.has(join(dir, `src/${'y'.repeat(200)}.ts`))).toBe(false);
    expect(scan.known.has(join(dir, `src/${deep}/z.ts`))).toBe(true);
    const seen = await throughGoFilter(dir, Object.keys(files), scan.filter);
    expect(seen).toEqual([`src/${'y'.repeat(200)}.ts`, 'src/😀.ts'].sort());
  });
});

describe('esbuild plugin with prescan', () => {
  const files = {
    'src/main.ts':
      "import { total } from './pricing';\nimport data from './data.json';\nexport const run = () => total([1, 2]) + data.a;\n",
    'src/pricing.ts':
      '// @stepmark\nexport function total(xs: number[]) { return xs.reduce((a, b) => a + b, 0); }\n',
    'src/util.ts': 'export const id = <T>(x: T) => x;\n',
    'src/data.json': '{"a":1}\n',
  };

  /** A context bundling src/main.ts of `dir`, stepmark itself external. */
  const context = async (dir: string, options: StepmarkEsbuildOptions) =>
    esbuild.context({
      absWorkingDir: dir,
      entryPoints: [join(dir, 'src/main.ts')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      external: ['stepmark', 'stepmark/*'],
      logLevel: 'silent',
      plugins: [stepmark(options)],
    });

  it('builds the same output as without it, for a project with and without marked files', async () => {
    const dir = project(files);
    const plain = await bundle(dir, 'src/main.ts', {}, { sourcemap: false });
    const pre = await bundle(dir, 'src/main.ts', { prescan: true }, { sourcemap: false });
    expect(pre.code).toBe(plain.code);
    expect(pre.code).toContain('__stepmark.enter("total", "src/pricing.ts:2:8")');
    const scanned = await bundle(dir, 'src/main.ts', { prescan: ['src'] }, { sourcemap: false });
    expect(scanned.code).toBe(plain.code);
  });

  it('in a rebuild: instruments new files, and fails with a clear message when a known file gains a marker', async () => {
    const dir = project(files);
    const ctx = await context(dir, { prescan: true });
    try {
      const first = await ctx.rebuild();
      expect(first.outputFiles![0]!.text).toContain('__stepmark.enter("total"');
      // a new marked file, imported by an edited entry (the entry needed work already)
      mkdirSync(join(dir, 'src/new'), { recursive: true });
      writeFileSync(
        join(dir, 'src/new/tax.ts'),
        '// @stepmark\nexport function tax(x: number) { return x * 0.2; }\n',
      );
      writeFileSync(join(dir, 'src/main.ts'), `${files['src/main.ts']}export { tax } from './new/tax';\n`);
      const second = await ctx.rebuild();
      expect(second.outputFiles![0]!.text).toMatch(/__stepmark\d*\.enter\("tax", "src\/new\/tax\.ts:2:8"\)/);
      // a file the filter leaves out is edited to need work: that rebuild fails and says why
      writeFileSync(join(dir, 'src/util.ts'), `// @stepmark\n${files['src/util.ts']}`);
      const later = new Date(Date.now() + 5000);
      utimesSync(join(dir, 'src/util.ts'), later, later);
      const error = await ctx.rebuild().then(
        () => undefined,
        (e: esbuild.BuildFailure) => e,
      );
      expect(error?.errors[0]?.text).toMatch(
        /^stepmark: src\/util\.ts now needs instrumenting .* fixed when the build context starts: restart it/,
      );
      expect(error?.errors[0]?.location?.file).toContain('util.ts');
    } finally {
      await ctx.dispose();
    }
  });

  it("scans by default the entry points' directories; prescan: false follows new markers in a context", async () => {
    const withLib = {
      ...files,
      'src/main.ts': `${files['src/main.ts']}export { id } from './util';\nexport { o } from '../lib/other';\n`,
      'lib/other.ts': 'export function o() { return 1; }\n',
    };
    const mark = (dir: string, file: string, text: string) => {
      writeFileSync(join(dir, file), `// @stepmark\n${text}`);
      const later = new Date(Date.now() + 5000);
      utimesSync(join(dir, file), later, later);
    };

    // default: src/ (the entry's directory) was scanned, lib/ was not
    const dir = project(withLib);
    const ctx = await context(dir, {});
    try {
      expect((await ctx.rebuild()).outputFiles![0]!.text).not.toContain('enter("o"');
      mark(dir, 'lib/other.ts', withLib['lib/other.ts']);
      expect((await ctx.rebuild()).outputFiles![0]!.text).toMatch(
        /__stepmark\d*\.enter\("o", "lib\/other\.ts:2:8"\)/,
      );
      mark(dir, 'src/util.ts', withLib['src/util.ts']);
      const error = await ctx.rebuild().then(
        () => undefined,
        (e: esbuild.BuildFailure) => e,
      );
      expect(error?.errors[0]?.text).toMatch(
        /^stepmark: src\/util\.ts now needs instrumenting .* restart it, or pass prescan: false to the plugin/,
      );
    } finally {
      await ctx.dispose();
    }

    // prescan: false: the same edit is instrumented by the next rebuild
    const dir2 = project(withLib);
    const ctx2 = await context(dir2, { prescan: false });
    try {
      expect((await ctx2.rebuild()).outputFiles![0]!.text).not.toContain('enter("id"');
      mark(dir2, 'src/util.ts', withLib['src/util.ts']);
      expect((await ctx2.rebuild()).outputFiles![0]!.text).toMatch(/__stepmark\d*\.enter\("id"/);
    } finally {
      await ctx2.dispose();
    }
  });

  it('rejects a prescan value of the wrong type when the config is read', () => {
    expect(() => stepmark({ prescan: 5 as unknown as boolean })).toThrow(
      /option "prescan" must be true, false, a directory or a list of directories, got 5/,
    );
    expect(() => stepmark({ prescan: [] })).toThrow(/option "prescan"/);
  });

  it('fails the build, naming the folder, when prescan names one that does not exist', async () => {
    const dir = project({ 'src/main.ts': 'export const x = 1;\n' });
    const missing = (await bundle(dir, 'src/main.ts', { prescan: ['src', 'source'] }).catch(
      (e) => e,
    )) as esbuild.BuildFailure;
    expect(missing.errors?.[0]?.text).toMatch(
      /option "prescan" names "source", which is not a directory \(.*source, relative to root .*\)\. prescan takes true, false, a directory or a list of directories/,
    );
    // a string is a folder name, never the boolean it looks like
    const no = (await bundle(dir, 'src/main.ts', { prescan: 'no' }).catch((e) => e)) as esbuild.BuildFailure;
    expect(no.errors?.[0]?.text).toMatch(
      /option "prescan" names "no", which is not a directory .*; to turn the scan off, pass the boolean false/,
    );
    // a file is not a folder either
    const file = (await bundle(dir, 'src/main.ts', { prescan: 'src/main.ts' }).catch(
      (e) => e,
    )) as esbuild.BuildFailure;
    expect(file.errors?.[0]?.text).toMatch(
      /option "prescan" names "src\/main\.ts", which is not a directory/,
    );
  });

  it('lists prescan among the valid options when an option is unknown', () => {
    expect(() => stepmark({ prescna: true } as never)).toThrow(
      /Invalid option "prescna" \(did you mean "prescan"\?\); valid options are include, exclude, .*, catalog, prescan$/,
    );
  });
});
