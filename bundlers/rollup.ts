/**
 * `stepmark/rollup`: the stepmark instrumentation as a Rollup 4 plugin. It shares the transform of
 * `stepmark/esbuild-plugin` and `stepmark/vite` (same options, same emitted code, same traces) and
 * runs before other plugins' transforms, so TypeScript may be compiled by any plugin after it.
 *
 * @example
 * // rollup.config.mjs
 * import typescript from '@rollup/plugin-typescript';
 * import stepmark from 'stepmark/rollup';
 * export default { input: 'src/main.ts', output: { dir: 'dist', sourcemap: true }, plugins: [stepmark(), typescript()] };
 */
import type { Plugin } from 'rollup';
import type { StepmarkOptions } from '../instrument/options.js';
import { rollupApiPlugin } from './rollup-api.js';

export type { StepmarkOptions };

/**
 * The Rollup plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options are
 * rejected by name. `root` defaults to the current directory.
 */
export function stepmark(options: StepmarkOptions = {}): Plugin {
  return rollupApiPlugin(options, { host: 'stepmark/rollup' });
}

export default stepmark;
