/**
 * Real builds with Rollup 4, rolldown, webpack 5 and rspack 2 and 1 (`rspack-v1`: the peer range
 * claims both) for the bundler entries' tests: many input files in one build (one entry each),
 * the output code of each entry, and the text of each module right after stepmark's hook (a
 * capturing plugin or loader placed after it), which is what the bundler compiles next. `esbuildModules` gives the same for the esbuild plugin.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { rspack } from '@rspack/core';
import { rspack as rspackV1 } from '@rspack/core-v1';
import * as esbuild from 'esbuild';
import { rolldown } from 'rolldown';
import { rollup } from 'rollup';
import stepmarkEsbuild from 'stepmark/esbuild-plugin';
import stepmarkRolldown from 'stepmark/rolldown';
import stepmarkRollup from 'stepmark/rollup';
import stepmarkRspack from 'stepmark/rspack';
import stepmarkWebpack from 'stepmark/webpack';
import webpack from 'webpack';
import type { StepmarkOptions } from '../../instrument/index.js';
import { REPO_ROOT } from '../corpus/harness.js';

export type Bundler = 'rollup' | 'rolldown' | 'webpack' | 'rspack' | 'rspack-v1';
export const BUNDLERS: readonly Bundler[] = ['rollup', 'rolldown', 'webpack', 'rspack', 'rspack-v1'];

/** The stepmark entry that serves a bundler (rspack 1 and 2 share `stepmark/rspack`). */
export const ENTRY: Record<Bundler, 'rollup' | 'rolldown' | 'webpack' | 'rspack'> = {
  rollup: 'rollup',
  rolldown: 'rolldown',
  webpack: 'webpack',
  rspack: 'rspack',
  'rspack-v1': 'rspack',
};

export interface BuildResult {
  /** Output code of each input file's entry, by input file. */
  readonly outputs: Map<string, string>;
  /** The output file of each input file's entry (written under test-output/bundlers/). */
  readonly outputFiles: Map<string, string>;
  /** Text of each module after stepmark's hook (the file as read when stepmark is not in the build). */
  readonly modules: Map<string, string>;
  /** Warnings the bundler reported, as text. */
  readonly warnings: string[];
}

export interface BuildOptions {
  format?: 'esm' | 'cjs';
  /** Source maps: inline in each output (with a map chained through every step). */
  sourcemap?: boolean;
  /** The stepmark plugin's options; `null` builds without it. */
  stepmark: StepmarkOptions | null;
  /** webpack/rspack plugins applied after stepmark's. */
  plugins?: unknown[];
  /** The bundler's project directory: webpack's and rspack's `context`, rolldown's `cwd` (default: the repository). */
  context?: string;
}

const OUT = join(REPO_ROOT, 'test-output/bundlers');
const TS_LOADER = join(import.meta.dirname, 'ts-loader.cjs');
const CAPTURE_LOADER = join(import.meta.dirname, 'capture-loader.cjs');
const CAPTURED = Symbol.for('stepmark.test.captured-modules');

/** The entry name of an input file: its base name without the extension (unique in one build). */
export function entryName(file: string): string {
  return basename(file).replace(/\.[^.]+$/, '');
}

/** Builds every file of `files` as its own entry with `bundler` (stepmark itself stays external). */
export function build(
  bundler: Bundler,
  files: readonly string[],
  options: BuildOptions,
): Promise<BuildResult> {
  switch (bundler) {
    case 'rollup':
    case 'rolldown':
      return buildRollupApi(bundler, files, options);
    case 'webpack':
    case 'rspack':
    case 'rspack-v1':
      return buildWebpackApi(bundler, files, options);
  }
}

/** A Rollup-API plugin that records each module's text as the previous `pre` transform left it. */
function capturePlugin(modules: Map<string, string>) {
  return {
    name: 'capture',
    transform: {
      order: 'pre' as const,
      handler(code: string, id: string) {
        modules.set(id, code);
        return null;
      },
    },
  };
}

/**
 * TypeScript for Rollup, as @rollup/plugin-typescript or an esbuild plugin would compile it (after
 * stepmark), with TypeScript's `./x.js` → `./x.ts` resolution.
 */
const rollupTypeScript = {
  name: 'esbuild-ts',
  resolveId(source: string, importer: string | undefined) {
    if (!importer || !source.startsWith('.') || !source.endsWith('.js')) return null;
    const ts = join(dirname(importer), source.replace(/\.js$/, '.ts'));
    return existsSync(ts) ? ts : null;
  },
  async transform(code: string, id: string) {
    if (!/\.[cm]?[jt]s$/.test(id)) return null;
    const out = await esbuild.transform(code, {
      loader: /\.[cm]?ts$/.test(id) ? 'ts' : 'js',
      format: 'esm',
      target: 'node20',
      sourcemap: 'external',
      sourcefile: id,
    });
    return { code: out.code, map: out.map };
  },
};

const outputDirectories = new Set<string>();

/** A fresh output directory for one build, named after what is built; see {@link removeBuildOutputs}. */
function outputDirectory(bundler: Bundler, what: unknown): string {
  const hash = createHash('sha1').update(JSON.stringify(what)).digest('hex').slice(0, 12);
  const dir = join(OUT, `${bundler}-${hash}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  outputDirectories.add(dir);
  return dir;
}

/** Removes the output directories of this test file's builds (for `afterAll`). */
export function removeBuildOutputs(): void {
  for (const dir of outputDirectories) rmSync(dir, { recursive: true, force: true });
  outputDirectories.clear();
}

async function buildRollupApi(
  bundler: 'rollup' | 'rolldown',
  files: readonly string[],
  { format = 'esm', sourcemap = false, stepmark, context = REPO_ROOT }: BuildOptions,
): Promise<BuildResult> {
  const outDir = outputDirectory(bundler, [files, format, sourcemap, stepmark]);
  const ext = format === 'esm' ? 'mjs' : 'cjs';
  const modules = new Map<string, string>();
  const warnings: string[] = [];
  const input = Object.fromEntries(files.map((f) => [entryName(f), f]));
  const plugins: unknown[] = [];
  if (stepmark) plugins.push(bundler === 'rollup' ? stepmarkRollup(stepmark) : stepmarkRolldown(stepmark));
  plugins.push(capturePlugin(modules));
  const onLog = (_level: string, log: { message: string }) => void warnings.push(log.message);
  const output =
    bundler === 'rollup'
      ? await (
          await rollup({
            input,
            external: [/^stepmark(?:\/|$)/],
            plugins: [...plugins, rollupTypeScript] as never,
            onLog,
          })
        ).write({
          dir: outDir,
          entryFileNames: `[name].${ext}`,
          format: format === 'esm' ? 'es' : 'cjs',
          sourcemap: sourcemap ? 'inline' : false,
        })
      : await (
          await rolldown({
            input,
            cwd: context,
            platform: 'node',
            external: [/^stepmark(?:\/|$)/],
            transform: { target: 'node20' },
            plugins: plugins as never,
            onLog,
          })
        ).write({
          dir: outDir,
          entryFileNames: `[name].${ext}`,
          format,
          sourcemap: sourcemap ? 'inline' : false,
        });
  const outputs = new Map<string, string>();
  const outputFiles = new Map<string, string>();
  for (const chunk of output.output) {
    if (chunk.type !== 'chunk') continue;
    if (!chunk.isEntry) throw new Error(`${bundler}: unexpected shared chunk ${chunk.fileName}`);
    outputs.set(input[chunk.name]!, chunk.code);
    outputFiles.set(input[chunk.name]!, join(outDir, chunk.fileName));
  }
  return { outputs, outputFiles, modules, warnings };
}

async function buildWebpackApi(
  bundler: 'webpack' | 'rspack' | 'rspack-v1',
  files: readonly string[],
  { format = 'cjs', sourcemap = false, stepmark, plugins = [], context = REPO_ROOT }: BuildOptions,
): Promise<BuildResult> {
  const outDir = outputDirectory(bundler, [files, format, sourcemap, stepmark, plugins.length]);
  const store = outDir;
  const ext = format === 'esm' ? 'mjs' : 'cjs';
  const typescript =
    bundler === 'webpack'
      ? { loader: TS_LOADER }
      : {
          loader: 'builtin:swc-loader',
          options: {
            jsc: {
              parser: { syntax: 'typescript', decorators: true },
              transform: { decoratorVersion: '2022-03' },
              target: 'es2022',
            },
          },
        };
  const config = {
    mode: 'none' as const,
    context,
    target: 'node20',
    entry: Object.fromEntries(files.map((f) => [entryName(f), f])),
    devtool: sourcemap ? ('inline-source-map' as const) : false,
    output: {
      path: outDir,
      // Paths as Node prints them in stack traces (the default is a `webpack://` URL).
      devtoolModuleFilenameTemplate: '[absolute-resource-path]',
      filename: `[name].${ext}`,
      library: { type: format === 'esm' ? 'module' : 'commonjs2' },
      ...(format === 'esm' ? { module: true, chunkFormat: 'module' } : {}),
    },
    ...(format === 'esm' ? { experiments: { outputModule: true } } : {}),
    externals: [/^stepmark(?:\/|$)/],
    externalsType: format === 'esm' ? 'module' : 'commonjs',
    resolve: { extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } },
    optimization: {
      minimize: false,
      splitChunks: false as const,
      runtimeChunk: false,
      concatenateModules: false,
    },
    module: {
      rules: [
        {
          test: /\.[cm]?[jt]s$/,
          // right to left: the capture first (after stepmark's pre-loader), then TypeScript
          use: [typescript, { loader: CAPTURE_LOADER, options: { store } }],
        },
      ],
    },
    plugins: [
      ...(stepmark ? [bundler === 'webpack' ? stepmarkWebpack(stepmark) : stepmarkRspack(stepmark)] : []),
      ...plugins,
    ],
    infrastructureLogging: { level: 'none' as const },
  };
  const compiler =
    bundler === 'webpack'
      ? webpack(config as never)
      : bundler === 'rspack'
        ? rspack(config as never)
        : rspackV1(config as never);
  const stats = await new Promise<{
    hasErrors(): boolean;
    toJson(o: object): { errors?: { message: string }[]; warnings?: { message: string }[] };
  }>((resolve, reject) =>
    compiler.run((error, result) => (error ? reject(error) : resolve(result as never))),
  );
  await new Promise((resolve) => compiler.close(resolve));
  const json = stats.toJson({ all: false, errors: true, warnings: true });
  if (stats.hasErrors()) {
    throw new Error(`${bundler} build failed:\n${json.errors!.map((e) => e.message).join('\n\n')}`);
  }
  const stores = (globalThis as { [CAPTURED]?: Map<string, Map<string, string>> })[CAPTURED];
  const modules = stores?.get(store) ?? new Map<string, string>();
  stores?.delete(store);
  const outputFiles = new Map(files.map((f) => [f, join(outDir, `${entryName(f)}.${ext}`)]));
  const outputs = new Map([...outputFiles].map(([f, out]) => [f, readFileSync(out, 'utf8')]));
  return { outputs, outputFiles, modules, warnings: (json.warnings ?? []).map((w) => w.message) };
}

/**
 * The text the esbuild plugin gives esbuild for each file (its `onLoad` result, without the inline
 * source map it appends; the file itself where the plugin leaves it alone), from one real build.
 */
export async function esbuildModules(
  files: readonly string[],
  options: StepmarkOptions,
): Promise<Map<string, string>> {
  const modules = new Map<string, string>();
  const plugin = stepmarkEsbuild({ ...options, prescan: false });
  const recording: esbuild.Plugin = {
    name: 'stepmark',
    setup(build) {
      const proxy = new Proxy(build, {
        get(target, key, receiver) {
          if (key !== 'onLoad') return Reflect.get(target, key, receiver);
          return (filter: esbuild.OnLoadOptions, callback: (args: esbuild.OnLoadArgs) => unknown) =>
            target.onLoad(filter, async (args) => {
              const result = (await callback(args)) as esbuild.OnLoadResult | undefined;
              if (result?.contents !== undefined) modules.set(args.path, String(result.contents));
              return result;
            });
        },
      });
      return plugin.setup(proxy);
    },
  };
  await esbuild.build({
    entryPoints: [...files],
    outdir: join(OUT, 'esbuild'),
    bundle: false,
    write: false,
    format: 'esm',
    logLevel: 'silent',
    plugins: [recording],
  });
  for (const file of files) {
    const text = modules.get(file) ?? readFileSync(file, 'utf8');
    modules.set(file, text.replace(/\n\/\/# sourceMappingURL=data:[^\n]*\n$/, ''));
  }
  return modules;
}
