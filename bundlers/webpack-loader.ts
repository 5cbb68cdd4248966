/**
 * The loader that `stepmark/webpack` and `stepmark/rspack` add to the build (as an `enforce: 'pre'`
 * rule): one module's text through the build's {@link ModuleInstrumenter}. Not a public entry:
 * the plugins add it with its options; used on its own it fails and says to use a plugin.
 */
import { resolveOptions } from '../instrument/options.js';
import type { ModuleProblem } from './instrumenter.js';
import { codeFrame, ModuleInstrumenter } from './instrumenter.js';
import { type LoaderOptions, type LoaderState, loaderRegistry } from './webpack-api.js';

/** The part of webpack's and rspack's loader context used here. */
interface LoaderContext {
  resourcePath: string;
  sourceMap?: boolean;
  query: unknown;
  getOptions?(): unknown;
  async(): (error: Error | null, code?: string, map?: unknown, meta?: unknown) => void;
  emitWarning(warning: Error): void;
  _module?: { type?: unknown };
  _compiler?: { webpack?: { sources?: { SourceMapSource?: unknown } } };
}

/** Instrumenters of loaders that run without their plugin's state (in a worker), by options. */
const standalone = new Map<string, ModuleInstrumenter>();

export default function stepmarkLoader(
  this: LoaderContext,
  source: string,
  inputMap?: string | object | null,
  meta?: unknown,
): void {
  const callback = this.async();
  const fail = (message: string): void => callback(messageError(message));
  const raw = (this.getOptions ? this.getOptions() : this.query) as
    | Partial<LoaderOptions>
    | string
    | undefined;
  if (
    typeof raw !== 'object' ||
    raw === null ||
    typeof raw.plugin !== 'string' ||
    typeof raw.host !== 'string'
  ) {
    fail(
      "stepmark: this loader is added by stepmark's webpack and rspack plugins, with its options; " +
        "use `plugins: [stepmark()]` from 'stepmark/webpack' or 'stepmark/rspack' instead of naming the loader",
    );
    return;
  }
  const { plugin, host, options } = raw as LoaderOptions;
  // A module the rules typed as something else (`asset/source` for `?raw`, JSON, …) is not code to instrument.
  const type = this._module?.type;
  if (typeof type === 'string' && !type.startsWith('javascript')) {
    callback(null, source, inputMap ?? undefined, meta);
    return;
  }
  let state: LoaderState | undefined = loaderRegistry().get(plugin);
  if (state === undefined) {
    // A worker (thread-loader runs the loaders after it in other processes): the options are all there is.
    if (options.catalog !== undefined) {
      fail(
        `${host}: the loader runs apart from its plugin (in a worker of thread-loader), so the "catalog" ` +
          "option cannot collect this build's sites: keep thread-loader out of the rules of the modules " +
          'stepmark instruments, or build the catalog without it',
      );
      return;
    }
    const key = JSON.stringify(options);
    let instrumenter = standalone.get(key);
    if (instrumenter === undefined) {
      instrumenter = new ModuleInstrumenter(host, resolveOptions(options, { host }));
      standalone.set(key, instrumenter);
    }
    const SourceMapSource = this._compiler?.webpack?.sources?.SourceMapSource;
    state = {
      instrumenter,
      SourceMapSource:
        typeof SourceMapSource === 'function'
          ? (SourceMapSource as LoaderState['SourceMapSource'])
          : undefined,
    };
  }
  const { instrumenter, SourceMapSource } = state;
  const resourcePath = this.resourcePath;
  const wantsMap = this.sourceMap !== false;
  instrumenter
    .ready()
    .then(() => {
      const outcome = instrumenter.instrument(source, resourcePath, undefined, wantsMap);
      switch (outcome.kind) {
        case 'unchanged':
          callback(null, source, inputMap ?? undefined, meta);
          return;
        case 'warning':
          this.emitWarning(messageError(formatProblem(outcome.problem)));
          callback(null, source, inputMap ?? undefined, meta);
          return;
        case 'error':
          fail(formatProblem(outcome.problem));
          return;
        case 'instrumented': {
          const { code, map } = outcome.module;
          if (!map) {
            callback(null, code, undefined, meta);
            return;
          }
          if (!inputMap) {
            callback(null, code, JSON.parse(map.toString()), meta);
            return;
          }
          // An earlier loader changed the text and passed its map: chain it, or the final map
          // would point into that loader's output instead of the file as written.
          if (SourceMapSource === undefined) {
            fail(
              `${host}: an earlier loader passed a source map for ${resourcePath}, and this bundler's ` +
                '`compiler.webpack.sources` (needed to chain it) is missing: put stepmark first',
            );
            return;
          }
          const chained = new SourceMapSource(
            code,
            resourcePath,
            map.toString(),
            source,
            inputMap,
            true,
          ).map();
          callback(null, code, chained ?? undefined, meta);
          return;
        }
      }
    })
    // a missing toolchain (what to install), or a bug: the module fails rather than the build hanging
    .catch((error: Error) => callback(error));
}

function formatProblem(problem: ModuleProblem): string {
  const frame = codeFrame(problem);
  return frame ? `${problem.message}\n${frame}` : problem.message;
}

/** An error or warning that webpack and rspack show by its message alone (it says it all), without a stack. */
function messageError(message: string): Error {
  const error = new Error(message);
  (error as Error & { hideStack?: boolean }).hideStack = true;
  return error;
}
