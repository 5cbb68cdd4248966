/**
 * `stepmark/webpack`: the stepmark instrumentation as a webpack 5 plugin. It adds a pre-loader
 * that shares the transform of `stepmark/esbuild-plugin` (same options, same emitted code, same
 * traces) and runs before any other loader, so TypeScript may be compiled by the loader of your
 * choice (ts-loader, babel-loader, esbuild-loader, swc-loader) after it.
 *
 * @example
 * // webpack.config.mjs
 * import stepmark from 'stepmark/webpack';
 * export default { entry: './src/main.ts', devtool: 'source-map', plugins: [stepmark()], module: { rules: [...] } };
 */
import type { WebpackPluginInstance } from 'webpack';
import type { StepmarkOptions } from '../instrument/options.js';
import { loaderBesideCaller, webpackApiPlugin } from './webpack-api.js';

export type { StepmarkOptions };

/** The loader module beside this file, in this file's format (found from this module's own code). */
const LOADER = loaderBesideCaller();

/**
 * The webpack plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options are
 * rejected by name. `root` defaults to webpack's `context`.
 */
export function stepmark(options: StepmarkOptions = {}): WebpackPluginInstance {
  return webpackApiPlugin(options, { host: 'stepmark/webpack', loader: LOADER });
}

export default stepmark;
