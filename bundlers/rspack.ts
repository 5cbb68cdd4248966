/**
 * `stepmark/rspack`: the stepmark instrumentation as an rspack plugin. It adds a pre-loader that
 * shares the transform of `stepmark/esbuild-plugin` (same options, same emitted code, same traces)
 * and runs before any other loader, `builtin:swc-loader` included, on the module as written.
 *
 * @example
 * // rspack.config.mjs
 * import stepmark from 'stepmark/rspack';
 * export default { entry: './src/main.ts', devtool: 'source-map', plugins: [stepmark()], module: { rules: [...] } };
 */
import type { RspackPluginInstance } from '@rspack/core';
import type { StepmarkOptions } from '../instrument/options.js';
import { loaderBesideCaller, webpackApiPlugin } from './webpack-api.js';

export type { StepmarkOptions };

/** The loader module beside this file, in this file's format (found from this module's own code). */
const LOADER = loaderBesideCaller();

/**
 * The rspack plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options are
 * rejected by name. `root` defaults to rspack's `context`.
 */
export function stepmark(options: StepmarkOptions = {}): RspackPluginInstance {
  return webpackApiPlugin(options, { host: 'stepmark/rspack', loader: LOADER });
}

export default stepmark;
