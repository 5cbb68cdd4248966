/**
 * `stepmark/register`: instruments marked files as Node loads them, for development and scripts
 * without a build step.
 *
 *     node --import stepmark/register app.js          # ESM or CommonJS app
 *     node --import stepmark/register app.ts          # Node >= 22.18/24: TypeScript via type stripping
 *     node --import stepmark/register --import tsx app.ts   # another TypeScript loader, after it
 *
 * Same transform as `stepmark/esbuild-plugin` (esbuild-plugin/transform: oxc-parser and
 * magic-string, optional peer dependencies), so the same selection, names, locations and emitted
 * ABI calls; options from `stepmark.config.json` and `STEPMARK_OPTIONS` (register/options.ts,
 * docs/REGISTER.md).
 *
 * Hooks, by what the running Node offers:
 * - `module.registerHooks` (Node >= 22.15, 24): synchronous in-thread hooks that see `import`
 *   and `require` alike, before Node strips TypeScript types; `Module.prototype._compile` catches the
 *   CommonJS files a loader of the user's compiles past them (tsx does);
 * - otherwise (Node 20, early 22): `module.register` with this same module as the hooks module
 *   (loaded again in the hooks thread, told apart by a query in its URL) for ES modules, and a
 *   wrapper around `Module.prototype._compile` for CommonJS, which those hooks do not see.
 *
 * Importing this module twice (ESM and CommonJS copies, or two `--import`s) installs once.
 */
import * as nodeModule from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Toolchain } from '../esbuild-plugin/transform/index.js';
import { type CatalogSite, catalogWriter, FileCatalog } from '../instrument/catalog.js';
import { INCLUDE_UNMATCHED_WARNING } from '../instrument/errors.js';
import type { ResolvedOptions, StepmarkOptions } from '../instrument/options.js';
import {
  type FileObservers,
  IncludeTally,
  instrumentFile,
  loadToolchainSync,
  type RegisterStats,
} from './instrument.js';
import { describeRegisterSources, HOST, readRegisterConfig, resolveRegisterOptions } from './options.js';

export { CONFIG_FILE, readRegisterOptions, resolveRegisterOptions } from './options.js';

const HOOKS_QUERY = '?stepmark-hooks';
const INSTALLED = Symbol.for('stepmark.register.v1');

/**
 * URL of the file this code runs from, with its query (the hooks thread loads this module with
 * {@link HOOKS_QUERY}). Read from a V8 call site rather than `import.meta.url`, which the
 * CommonJS build cannot contain; the call site is the generated file even under
 * `--enable-source-maps`.
 */
function selfUrl(): string {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, sites) => sites;
    const file = (new Error().stack as unknown as NodeJS.CallSite[])[0]?.getFileName() ?? '';
    return file.startsWith('file:') ? file : pathToFileURL(file).href;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** The hooks module for `module.register`: the ESM build of this file (also when running from the CommonJS one). */
function hooksUrl(): string {
  return selfUrl().replace(/\.cjs$/, '.js') + HOOKS_QUERY;
}

/** Module formats whose source the hooks instrument (the TypeScript ones before type stripping). */
const FORMATS: ReadonlySet<string> = new Set([
  'module',
  'commonjs',
  'module-typescript',
  'commonjs-typescript',
]);

/** Extensions whose files Node may load with no `format` decided yet (see instrumentLoaded). */
const UNTYPED_SOURCE = /\.(?:[cm]?js|jsx)(?:[?#].*)?$/;

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}
type Context = { format?: string | null; conditions?: readonly string[] };

function text(source: NonNullable<LoadResult['source']>): string {
  if (typeof source === 'string') return source;
  const view = ArrayBuffer.isView(source)
    ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
    : new Uint8Array(source);
  return new TextDecoder().decode(view);
}

/** The load step shared by both hook kinds: instrument the result of the next loader when it is ours. */
function instrumentLoaded(
  tools: Toolchain,
  options: ResolvedOptions,
  url: string,
  result: LoadResult,
  observers: FileObservers,
): LoadResult {
  if (!url.startsWith('file:') || result.source == null) return result;
  // Node 24's hooks leave `format` unset for a `.js` file whose package.json has no "type" (most
  // CommonJS packages): the CommonJS loader decides later. Such a file is instrumented too.
  const format = result.format ?? (UNTYPED_SOURCE.test(url) ? 'commonjs' : '');
  if (!FORMATS.has(format)) return result;
  const out = instrumentFile(tools, options, text(result.source), fileURLToPath(url), observers);
  return out === undefined ? result : { ...result, source: out };
}

function toolchainFor(options: ResolvedOptions): Toolchain {
  return loadToolchainSync([`${options.root}/package.json`, fileURLToPath(selfUrl())]);
}

function install(): void {
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (g[INSTALLED]) return;
  g[INSTALLED] = true;
  const config = readRegisterConfig();
  const raw = config.options;
  const options = resolveRegisterOptions(raw, config);
  // Both sources set the same option differently: say which one is used, or an edit of the file
  // that a stale variable overrides would go unnoticed.
  if (config.replaced.length > 0) {
    process.stderr.write(
      `[stepmark] register: STEPMARK_OPTIONS replaces ${config.replaced.map((k) => JSON.stringify(k)).join(', ')} ` +
        `of ${config.file}\n`,
    );
  }
  if (options.debug)
    process.stderr.write(`[stepmark] register: options from ${describeRegisterSources(config)}\n`);
  const tools = toolchainFor(options);
  const stats: RegisterStats = { instrumented: 0, unchanged: 0, skipped: 0 };
  // `catalog`: written shortly after the last file loaded and at exit (docs/CATALOG.md)
  const writer = options.catalog !== undefined ? catalogWriter(options.catalog, options.root) : undefined;
  const includes = options.include.length > 0 ? new IncludeTally() : undefined;
  const observers: FileObservers = { stats, includes, onCatalog: (c) => writer?.set(c) };
  const mod = nodeModule as unknown as {
    registerHooks?: (hooks: {
      load(
        url: string,
        context: Context,
        nextLoad: (url: string, context?: Context) => LoadResult,
      ): LoadResult;
    }) => unknown;
    register?: (specifier: string, options: { data: unknown; transferList?: unknown[] }) => void;
    Module: {
      prototype: {
        _compile: (this: unknown, content: string, filename: string, ...rest: unknown[]) => unknown;
      };
    };
  };
  // With registerHooks: the files the hook loaded, until Node compiles them. A CommonJS loader of
  // the user's (tsx's) reads and compiles files itself, past the hook: those are instrumented
  // in `_compile` below, as every CommonJS file is on Node 20.
  let hooked: Set<string> | undefined;
  if (typeof mod.registerHooks === 'function') {
    hooked = new Set();
    mod.registerHooks({
      load(url, context, nextLoad) {
        if (url.startsWith('file:')) hooked?.add(fileURLToPath(url));
        return instrumentLoaded(tools, options, url, nextLoad(url, context), observers);
      },
    });
  } else {
    // The hooks thread sends the catalogs of the ES modules it instruments back here.
    let port: MessagePort | undefined;
    if (writer !== undefined) {
      const channel = new MessageChannel();
      port = channel.port2;
      channel.port1.on('message', (m: { file: string; sites: CatalogSite[] }) => {
        const c = new FileCatalog(m.file);
        c.sites.push(...m.sites);
        writer.set(c);
      });
      channel.port1.unref();
    }
    const data: HookData = { options: raw, port, includes: includes?.buffer };
    // (an empty transferList makes Node 20 exit silently when registering from --require)
    mod.register?.(hooksUrl(), port ? { data, transferList: [port] } : { data });
  }
  const proto = mod.Module.prototype;
  const compile = proto._compile;
  proto._compile = function (this: unknown, content: string, filename: string, ...rest: unknown[]) {
    const out =
      typeof content === 'string' && !hooked?.delete(filename)
        ? instrumentFile(tools, options, content, filename, observers)
        : undefined;
    return compile.call(this, out ?? content, filename, ...rest);
  };
  // An `include` that selects none of the files the process loaded is most likely a wrong `root`
  // or pattern: the build plugins say so when a build ends, this says so when the process does,
  // once every file it was going to load has loaded. Not after a failure (which has its own
  // message) nor when a signal kills the process (no 'exit' then); not for a tool that runs from
  // node_modules (a linter or test runner loading the project's config file, with the same
  // NODE_OPTIONS); in the main thread only, as a worker thread sees its own share of the files.
  if (includes !== undefined && isMainThread) {
    process.on('exit', (code) => {
      if (code !== 0 || includes.sources === 0 || includes.included > 0) return;
      if (DEPENDENCY.test(process.argv[1] ?? '')) return;
      const n = includes.sources;
      warnNow(
        INCLUDE_UNMATCHED_WARNING,
        `${HOST}: include ${JSON.stringify(options.include)}` +
          (options.exclude.length > 0 ? ` (less exclude ${JSON.stringify(options.exclude)})` : '') +
          ` selected none of the ${n} JavaScript or TypeScript file${n === 1 ? '' : 's'} this process loaded ` +
          `outside node_modules (patterns are relative to root ${JSON.stringify(options.root)})`,
      );
    });
  }
  if (options.debug) {
    process.on('exit', () => {
      process.stderr.write(
        `[stepmark] register: ${stats.instrumented} file(s) instrumented, ${stats.unchanged} parsed with nothing to do, ` +
          `${stats.skipped} skipped (no "@stepmark" or "${options.importSource}" in the text, or in node_modules)` +
          `${typeof mod.registerHooks === 'function' ? '' : '; ES modules are counted in the hooks thread, not here'}\n`,
      );
    });
  }
}

/** A path inside a `node_modules` folder. */
const DEPENDENCY = /[\\/]node_modules[\\/]/;

/**
 * A process warning (`StepmarkWarning`, with its code) given at once: in an 'exit' listener,
 * `process.emitWarning` would print nothing, since it emits on a next tick that never comes.
 * Node's own printer, `--no-warnings`, `--disable-warning=<code>` and 'warning' listeners all
 * treat it as any other warning.
 */
function warnNow(code: string, message: string): void {
  const warning = Object.assign(new Error(message), { name: 'StepmarkWarning', code });
  try {
    process.emit('warning', warning);
  } catch {
    // a 'warning' listener that throws must not change how the program exits
  }
}

// --- the hooks module of `module.register` (Node 20 / early 22; runs in the hooks thread) ---

interface HookData {
  options: StepmarkOptions;
  /** Where to send file catalogs (when the `catalog` option is set). */
  port: MessagePort | undefined;
  /** The main thread's {@link IncludeTally} (when `include` is set). */
  includes: SharedArrayBuffer | undefined;
}

let threadState: { tools: Toolchain; options: ResolvedOptions; observers: FileObservers } | undefined;

/** @internal `module.register` hook: receives the raw options read in the main thread. */
export function initialize(data: HookData): void {
  const options = resolveRegisterOptions(data.options);
  const port = data.port;
  threadState = {
    tools: toolchainFor(options),
    options,
    observers: {
      includes: data.includes && new IncludeTally(data.includes),
      onCatalog: (c) => port?.postMessage({ file: c.file, sites: c.sites }),
    },
  };
}

/** @internal `module.register` hook: instruments ES modules (CommonJS goes through `_compile`). */
export async function load(
  url: string,
  context: Context,
  nextLoad: (url: string, context?: Context) => Promise<LoadResult>,
): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (threadState === undefined || result.format !== 'module') return result;
  return instrumentLoaded(threadState.tools, threadState.options, url, result, threadState.observers);
}

if (!selfUrl().endsWith(HOOKS_QUERY)) install();
