/**
 * The bundler entries' own behaviour in real builds: options rejected by name, a bad directive
 * failing the build with `file:line:col` and a code frame, `root` defaulting to each bundler's
 * project directory, an `include` that matches nothing, and the webpack loader used without its
 * plugin. Output, traces, catalogs and source maps: corpus.test.ts and sourcemaps.test.ts.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { rspack } from '@rspack/core';
import { rolldown } from 'rolldown';
import { rollup } from 'rollup';
import stepmarkRolldown from 'stepmark/rolldown';
import stepmarkRollup from 'stepmark/rollup';
import stepmarkRspack from 'stepmark/rspack';
import stepmarkWebpack from 'stepmark/webpack';
import { afterAll, describe, expect, it, vi } from 'vitest';
import webpack from 'webpack';
import type { StepmarkOptions } from '../../instrument/index.js';
import { REPO_ROOT } from '../corpus/harness.js';
import { BUNDLERS, type Bundler, build, ENTRY, removeBuildOutputs } from './helpers.js';

const FACTORIES = {
  rollup: stepmarkRollup,
  rolldown: stepmarkRolldown,
  webpack: stepmarkWebpack,
  rspack: stepmarkRspack,
} as const;

const PROJECTS = join(REPO_ROOT, 'test-output/bundlers-plugin');
afterAll(() => {
  removeBuildOutputs();
  rmSync(PROJECTS, { recursive: true, force: true });
});

/** A project directory inside the repository (so `stepmark` resolves to this package). */
function project(name: string, files: Record<string, string>): string {
  const dir = join(PROJECTS, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe('options', () => {
  const entries = [...new Set(BUNDLERS.map((b) => ENTRY[b]))];
  it.each(entries)('%s rejects an unknown option by name, listing the valid ones', (entry) => {
    expect(() => FACTORIES[entry]({ getter: true } as never)).toThrow(
      new RegExp(
        `stepmark/${entry}: Invalid option "getter" \\(did you mean "getters"\\?\\); valid options are include, .*catalog`,
      ),
    );
    expect(() => FACTORIES[entry]({ strip: 'yes' } as never)).toThrow(/option "strip" must be true or false/);
  });
});

describe('a bad directive fails the build at its file, line and column', () => {
  const dir = project('bad-directive', {
    'src/bad.ts': 'export const x = 1;\n// @stepmark-off\nexport function f() {}\n',
  });
  // The position is relative to `root`: by default rolldown's `cwd`, webpack's and rspack's
  // `context` (here the project), and for Rollup, which has no project directory, the current one.
  const where: Record<Bundler, string> = {
    rollup: 'test-output/bundlers-plugin/bad-directive/src/bad.ts:2:4',
    rolldown: 'src/bad.ts:2:4',
    webpack: 'src/bad.ts:2:4',
    rspack: 'src/bad.ts:2:4',
    'rspack-v1': 'src/bad.ts:2:4',
  };
  it.each(BUNDLERS)('%s', async (bundler: Bundler) => {
    const error = await build(bundler, [join(dir, 'src/bad.ts')], { stepmark: {}, context: dir }).then(
      () => undefined,
      (e: Error) => e,
    );
    // rspack colours its message when it thinks it writes to a terminal (CI=true does it)
    const message = stripVTControlCharacters(error?.message ?? '');
    expect(message).toContain(`Unknown directive @stepmark-off`);
    expect(message).toContain(`(${where[bundler]})`);
    if (ENTRY[bundler] === 'webpack' || ENTRY[bundler] === 'rspack') {
      // the loader's own code frame (Rollup and rolldown print `frame` with the error)
      expect(message).toMatch(/2 \| \/\/ @stepmark-off\n[\s│]*\| {4}\^/);
    } else {
      expect(
        (error as Error & { loc?: object })?.loc ??
          (error as { errors?: { loc?: object }[] }).errors?.[0]?.loc,
      ).toMatchObject({ line: 2, column: 3 });
    }
  });
});

describe('an include that selects nothing', () => {
  it('warns once, naming the patterns and the root', async () => {
    const dir = project('include', { 'src/a.ts': 'export const a = 1;\n' });
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      await build('rolldown', [join(dir, 'src/a.ts')], {
        stepmark: { include: ['services/**'] },
        context: dir,
      });
    } finally {
      spy.mockRestore();
    }
    expect(writes.join('')).toContain(
      `[stepmark] stepmark/rolldown: warning: include ["services/**"] matched no module of this build (patterns are relative to root ${JSON.stringify(dir)})`,
    );
  });
});

describe('the factory passed uncalled (`plugins: [stepmark]`)', () => {
  const message = (entry: string) =>
    `${entry}: \`plugins: [stepmark]\` passes the plugin's factory; call it: \`plugins: [stepmark()]\``;

  it.each(['rollup', 'rolldown'] as const)(
    '%s fails the build instead of building uninstrumented',
    async (bundler) => {
      const dir = project(`uncalled-${bundler}`, { 'src/a.js': '// @stepmark\nexport function a() {}\n' });
      const input = { input: join(dir, 'src/a.js'), plugins: [FACTORIES[bundler] as never] };
      // rolldown builds when output is asked for
      const run = bundler === 'rollup' ? rollup(input) : rolldown(input).then((b) => b.generate({}));
      await expect(run).rejects.toThrow(message(`stepmark/${bundler}`));
    },
  );

  it.each(['webpack', 'rspack'] as const)('%s fails and says to call it', async (bundler) => {
    const dir = project(`uncalled-${bundler}`, { 'src/a.js': '// @stepmark\nexport function a() {}\n' });
    const config = {
      mode: 'none' as const,
      context: dir,
      entry: join(dir, 'src/a.js'),
      output: { path: join(dir, 'out') },
      plugins: [FACTORIES[bundler] as never],
    };
    expect(() => (bundler === 'webpack' ? webpack(config) : rspack(config))).toThrow(
      message(`stepmark/${bundler}`),
    );
  });
});

describe('the webpack loader', () => {
  it('used without its plugin, fails and says to use the plugin', async () => {
    const dir = project('loader-alone', { 'src/a.ts': '// @stepmark\nexport function a() {}\n' });
    const compiler = rspack({
      mode: 'none',
      context: dir,
      entry: join(dir, 'src/a.ts'),
      output: { path: join(dir, 'out') },
      module: {
        rules: [{ test: /\.ts$/, use: [{ loader: join(REPO_ROOT, 'dist/bundlers/webpack-loader.js') }] }],
      },
    });
    const stats = await new Promise<{ toJson(o: object): { errors?: { message: string }[] } }>(
      (resolve, reject) =>
        compiler.run((error, result) => (error ? reject(error) : resolve(result as never))),
    );
    await new Promise((resolve) => compiler.close(resolve));
    const errors = stats.toJson({ all: false, errors: true }).errors ?? [];
    expect(errors.map((e) => e.message).join('\n')).toContain(
      "use `plugins: [stepmark()]` from 'stepmark/webpack' or 'stepmark/rspack' instead of naming the loader",
    );
  });

  // The likely mistake: the package entry named as a loader. webpack then calls the plugin
  // factory with the module's text.
  it.each([
    ['webpack', 'stepmark/webpack'],
    ['rspack', 'stepmark/rspack'],
  ] as const)(
    '%s: %s named in a rule fails and says to put stepmark() in plugins',
    async (bundler, entry) => {
      const dir = project(`entry-as-loader-${bundler}`, {
        'src/a.ts': '// @stepmark\nexport function a() {}\n',
      });
      const config = {
        mode: 'none' as const,
        context: dir,
        entry: join(dir, 'src/a.ts'),
        output: { path: join(dir, 'out') },
        module: { rules: [{ test: /\.ts$/, use: [{ loader: entry }] }] },
      };
      const compiler = bundler === 'webpack' ? webpack(config) : rspack(config);
      const stats = await new Promise<{ toJson(o: object): { errors?: { message: string }[] } }>(
        (resolve, reject) =>
          (compiler as { run(cb: (e: Error | null, s: unknown) => void): void }).run((error, result) =>
            error ? reject(error) : resolve(result as never),
          ),
      );
      await new Promise((resolve) =>
        (compiler as { close(cb: () => void): void }).close(() => resolve(undefined)),
      );
      const message = (stats.toJson({ all: false, errors: true }).errors ?? [])
        .map((e) => e.message)
        .join('\n');
      expect(message).toContain(
        `${entry} is a plugin, not a loader: add stepmark() from '${entry}' to the configuration's \`plugins\` ` +
          '(it adds its own pre-loader) instead of naming it in a rule',
      );
      expect(message).not.toContain('export function a');
    },
  );

  it('passes on unchanged a module the rules give another type (`?raw` as asset/source)', async () => {
    const dir = project('raw', {
      'src/a.ts': '// @stepmark\nexport function a() { return 1; }\n',
      'src/main.js': "import text from './a.ts?raw';\nexport const source = text;\n",
    });
    const compiler = rspack({
      mode: 'none',
      context: dir,
      entry: join(dir, 'src/main.js'),
      target: 'node',
      output: { path: join(dir, 'out'), library: { type: 'commonjs2' } },
      module: { rules: [{ resourceQuery: /raw/, type: 'asset/source' }] },
      plugins: [stepmarkRspack()],
    });
    await new Promise((resolve, reject) =>
      compiler.run((error) => (error ? reject(error) : resolve(undefined))),
    );
    await new Promise((resolve) => compiler.close(resolve));
    const { source } = (await import(join(dir, 'out/main.js'))).default as { source: string };
    expect(source).toBe('// @stepmark\nexport function a() { return 1; }\n');
  });
});

describe("under thread-loader (stepmark's loader in a worker process)", () => {
  const dir = project('thread-loader', { 'src/a.js': '// @stepmark\nexport function a() { return 1; }\n' });
  const run = async (pool: string, options: StepmarkOptions) => {
    const compiler = webpack({
      mode: 'none',
      context: dir,
      entry: join(dir, 'src/a.js'),
      target: 'node',
      output: { path: join(dir, pool), library: { type: 'commonjs2' } },
      externals: [/^stepmark(?:\/|$)/],
      externalsType: 'commonjs',
      // thread-loader runs every loader after it, stepmark's pre-loader included, in its workers
      module: {
        rules: [{ test: /\.js$/, use: [{ loader: 'thread-loader', options: { workers: 1, name: pool } }] }],
      },
      plugins: [stepmarkWebpack(options)],
    });
    const stats = await new Promise<{ toJson(o: object): { errors?: { message: string }[] } }>(
      (resolve, reject) =>
        compiler.run((error, result) => (error ? reject(error) : resolve(result as never))),
    );
    await new Promise((resolve) => compiler.close(resolve));
    return (stats.toJson({ all: false, errors: true }).errors ?? []).map((e) => e.message).join('\n');
  };

  it('instruments from the options alone', async () => {
    expect(await run('plain', {})).toBe('');
    expect(readFileSync(join(dir, 'plain/main.js'), 'utf8')).toContain('.enter("a", "src/a.js:2:8")');
  });

  it('fails, saying why, when asked for the catalog it cannot collect there', async () => {
    expect(await run('catalog', { catalog: 'catalog.json' })).toContain(
      'stepmark/webpack: the loader runs apart from its plugin (in a worker of thread-loader), so the "catalog" option cannot collect',
    );
  });
});

describe('a TypeScript plugin that compiles in its load hook', () => {
  it('is refused by name when the Rollup build starts', async () => {
    const dir = project('load-time-ts', {
      'src/a.ts': '// @stepmark\nexport function a(): number { return 1; }\n',
    });
    const { rollup } = await import('rollup');
    // The name @rollup/plugin-typescript registers; its `load` returns TypeScript's emitted JavaScript.
    const typescript = { name: 'typescript', load: () => null };
    const error = await rollup({
      input: join(dir, 'src/a.ts'),
      plugins: [stepmarkRollup(), typescript],
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain(
      'stepmark/rollup: @rollup/plugin-typescript compiles TypeScript when it loads a file, so stepmark would see its JavaScript output',
    );
  });
});
