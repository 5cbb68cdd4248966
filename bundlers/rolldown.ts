/**
 * `stepmark/rolldown`: the stepmark instrumentation as a rolldown plugin. It shares the transform
 * of `stepmark/esbuild-plugin` and `stepmark/vite` (same options, same emitted code, same traces)
 * and runs before rolldown compiles TypeScript and JSX, on the module as written.
 *
 * @example
 * // rolldown.config.mjs
 * import stepmark from 'stepmark/rolldown';
 * export default { input: 'src/main.ts', output: { dir: 'dist', sourcemap: true }, plugins: [stepmark()] };
 */
import type { Plugin } from 'rolldown';
import type { StepmarkOptions } from '../instrument/options.js';
import { failWhenUncalled, rollupApiPlugin } from './rollup-api.js';

export type { StepmarkOptions };

/**
 * The rolldown plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options are
 * rejected by name. `root` defaults to rolldown's `cwd` option, else the current directory. Modules
 * are parsed as the `moduleType` rolldown gives them (`ts`, `tsx`, `js`, `jsx`); other types are
 * left alone.
 */
export function stepmark(options: StepmarkOptions = {}): Plugin {
  return rollupApiPlugin(options, { host: 'stepmark/rolldown' });
}

failWhenUncalled(stepmark, 'stepmark/rolldown');

export default stepmark;
