/**
 * The stepmark plugin for hosts of the webpack plugin and loader API: webpack 5 and rspack. The
 * plugin adds one `enforce: 'pre'` rule whose loader (bundlers/webpack-loader.ts) hands each
 * JavaScript/TypeScript module, as read from disk, to the build's {@link ModuleInstrumenter} —
 * before any other loader compiles it, so it sees the module as written, comments included.
 *
 * The loader finds its plugin through a process-wide registry (the loader module is loaded by the
 * bundler, maybe as another copy of this package's code); its options carry everything else, so a
 * loader that runs where the registry is not (a worker of thread-loader) still instruments, and
 * says so loudly if it cannot do what was asked of it (the `catalog` option).
 */
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StepmarkOptionsError } from '../instrument/errors.js';
import type { StepmarkOptions } from '../instrument/options.js';
import { resolveOptions } from '../instrument/options.js';
import { ModuleInstrumenter, SOURCE_FILE, uncalledFactoryError } from './instrumenter.js';

/**
 * `webpack-sources`' `SourceMapSource`, which both bundlers expose as `compiler.webpack.sources`:
 * the loader composes its map with the one an earlier loader passed (`innerSourceMap`).
 */
export type SourceMapSourceClass = new (
  value: string,
  name: string,
  sourceMap: string | object,
  originalSource: string,
  innerSourceMap: string | object,
  removeOriginalSource?: boolean,
) => { map(): object | null };

/** What the loader of one compiler needs from its plugin. */
export interface LoaderState {
  readonly instrumenter: ModuleInstrumenter;
  readonly SourceMapSource: SourceMapSourceClass | undefined;
}

/** The loader's options, as the plugin writes them into the rule (plain JSON: rspack serialises them). */
export interface LoaderOptions {
  /** Key of the plugin's {@link LoaderState} in the registry. */
  readonly plugin: string;
  readonly host: string;
  /** The stepmark options, `root` settled. */
  readonly options: StepmarkOptions;
}

const REGISTRY = Symbol.for('stepmark.webpack-loader.v1');

/** The process-wide map from {@link LoaderOptions.plugin} to its state, shared by every copy of this code. */
export function loaderRegistry(): Map<string, LoaderState> {
  const holder = globalThis as { [REGISTRY]?: Map<string, LoaderState> };
  holder[REGISTRY] ??= new Map();
  return holder[REGISTRY];
}

let plugins = 0;

/** The part of a webpack or rspack `Compiler` the plugin uses. */
interface Compiler {
  context: string;
  options: { module: { rules: unknown[] } };
  webpack?: { sources?: { SourceMapSource?: unknown } };
  hooks: {
    compile: { tap(name: string, fn: () => void): void };
    done: { tap(name: string, fn: () => void): void };
    shutdown?: { tap(name: string, fn: () => void): void };
  };
}

const NODE_MODULES = /[\\/]node_modules[\\/]/;

/**
 * The loader module beside the entry module that calls this, in the entry's own format (`.js` or
 * `.cjs`). The caller's file is read from a V8 call site: the CommonJS build cannot contain
 * `import.meta.url`, and code shared by several entries lives in a chunk elsewhere in dist/, so
 * only the entry module itself knows where it is. Under `--enable-source-maps` the call site is
 * still the generated file.
 */
export function loaderBesideCaller(): string {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  let file: string | null | undefined;
  try {
    Error.stackTraceLimit = 2;
    Error.prepareStackTrace = (_error, sites) => sites;
    file = (new Error().stack as unknown as NodeJS.CallSite[])[1]?.getFileName();
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
  if (!file) throw new Error('stepmark: cannot tell where its webpack loader is (no call site file name)');
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  return join(dirname(path), `webpack-loader${extname(path)}`);
}

/** A webpack or rspack plugin: `{ apply(compiler) }`. */
export interface WebpackApiPlugin {
  apply(compiler: Compiler): void;
}

/**
 * The plugin. The options are validated now, so that a typo fails when the config is read; `root`
 * defaults to the compiler's `context` (webpack's project root, itself the current directory by
 * default).
 */
export function webpackApiPlugin(
  options: StepmarkOptions,
  host: { host: string; loader: string },
): WebpackApiPlugin {
  // `plugins: [stepmark]`: the bundler calls the factory with its compiler.
  if (typeof options === 'object' && options !== null && 'hooks' in options && 'options' in options) {
    throw uncalledFactoryError(host.host);
  }
  // `loader: 'stepmark/webpack'` in a rule: the bundler calls this factory with a module's text.
  if (typeof options === 'string' || options instanceof Uint8Array) {
    throw new StepmarkOptionsError(
      '(options)',
      `${host.host} is a plugin, not a loader: add stepmark() from '${host.host}' to the configuration's ` +
        '`plugins` (it adds its own pre-loader) instead of naming it in a rule',
    );
  }
  resolveOptions(options, { host: host.host });
  return {
    apply(compiler: Compiler) {
      const settled: StepmarkOptions = {
        ...options,
        root: options?.root ?? compiler.context ?? process.cwd(),
      };
      const instrumenter = new ModuleInstrumenter(host.host, resolveOptions(settled, { host: host.host }));
      const key = `${process.pid}:${++plugins}`;
      const SourceMapSource = compiler.webpack?.sources?.SourceMapSource;
      loaderRegistry().set(key, {
        instrumenter,
        SourceMapSource:
          typeof SourceMapSource === 'function' ? (SourceMapSource as SourceMapSourceClass) : undefined,
      });
      const dependencies = instrumenter.options.include.some((p) => p.includes('node_modules'));
      const loaderOptions: LoaderOptions = { plugin: key, host: host.host, options: settled };
      compiler.options.module.rules.push({
        enforce: 'pre',
        test: SOURCE_FILE,
        // Dependencies never reach the loader unless an include pattern names node_modules.
        ...(dependencies ? {} : { exclude: NODE_MODULES }),
        use: [{ loader: host.loader, options: loaderOptions }],
      });
      compiler.hooks.compile.tap('stepmark', () => instrumenter.startBuild());
      compiler.hooks.done.tap('stepmark', () => instrumenter.endBuild());
      compiler.hooks.shutdown?.tap('stepmark', () => loaderRegistry().delete(key));
    },
  };
}
