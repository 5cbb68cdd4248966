/**
 * `stepmark/rollup`: the stepmark instrumentation as a Rollup 4 plugin. It shares the transform of
 * `stepmark/esbuild-plugin` and `stepmark/vite` (same options, same emitted code, same traces) and
 * runs before other plugins' transforms, so TypeScript is compiled by a plugin that does so in its
 * own transform hook (not @rollup/plugin-typescript, which the plugin refuses: docs/BUNDLERS.md).
 *
 * @example
 * // rollup.config.mjs
 * import esbuild from 'rollup-plugin-esbuild';
 * import stepmark from 'stepmark/rollup';
 * export default { input: 'src/main.ts', output: { dir: 'dist', sourcemap: true }, plugins: [stepmark(), esbuild()] };
 */
import type { Plugin } from 'rollup';
import type { StepmarkOptions } from '../instrument/options.js';
import { failWhenUncalled, rollupApiPlugin } from './rollup-api.js';

export type { StepmarkOptions };

/**
 * The Rollup plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options are
 * rejected by name. `root` defaults to the current directory.
 */
export function stepmark(options: StepmarkOptions = {}): Plugin {
  return rollupApiPlugin(options, { host: 'stepmark/rollup' });
}

failWhenUncalled(stepmark, 'stepmark/rollup');

export default stepmark;
