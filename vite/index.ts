/**
 * `stepmark/vite`: the stepmark instrumentation as a Vite plugin, for `vite.config` and
 * `vitest.config`, so tests run the instrumented code and can compare its spans. It runs before
 * Vite's own TypeScript/JSX transform (`enforce: 'pre'`) and uses the same oxc-based transform as
 * `stepmark/esbuild-plugin` (through the Rollup-API plugin it shares with `stepmark/rollup` and
 * `stepmark/rolldown`).
 *
 * @example
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config';
 * import stepmark from 'stepmark/vite';
 * export default defineConfig({ plugins: [stepmark()] });
 */
import type { Plugin, ResolvedConfig } from 'vite';
import { rollupApiPlugin } from '../bundlers/rollup-api.js';
import type { StepmarkOptions } from '../instrument/options.js';

export type { StepmarkOptions };

/**
 * The Vite plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options
 * are rejected by name. `root` defaults to Vite's `root`.
 */
export function stepmark(options: StepmarkOptions = {}): Plugin {
  let config: ResolvedConfig | undefined;
  return {
    ...rollupApiPlugin(options, {
      host: 'stepmark/vite',
      root: () => config?.root,
      // The dev server (and Vitest) transforms only the modules that are requested.
      complete: () => config?.command === 'build',
    }),
    enforce: 'pre',
    configResolved(resolved: ResolvedConfig) {
      config = resolved;
    },
  };
}

export default stepmark;
