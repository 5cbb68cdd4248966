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
import type { ModuleInstrumenter } from '../bundlers/instrumenter.js';
import { failWhenUncalled, rollupApiPlugin } from '../bundlers/rollup-api.js';
import type { StepmarkOptions } from '../instrument/options.js';
import { VERSION } from '../runtime/version.js';

export type { StepmarkOptions };

/**
 * The Vite plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`, `strip`, `catalog`); unknown options
 * are rejected by name. `root` defaults to Vite's `root`.
 */
export function stepmark(options: StepmarkOptions = {}): Plugin {
  let config: ResolvedConfig | undefined;
  let instrumenter: ModuleInstrumenter | undefined;
  return {
    ...rollupApiPlugin(options, {
      host: 'stepmark/vite',
      root: () => config?.root,
      // The dev server (and Vitest) transforms only the modules that are requested.
      complete: () => config?.command === 'build',
      started: (made) => {
        instrumenter = made;
      },
    }),
    enforce: 'pre',
    configResolved(resolved: ResolvedConfig) {
      config = resolved;
    },
    // Vitest (from 4, by default from 5) keeps transformed modules on disk between runs, keyed by
    // the file and the config but not by what this plugin was given: the same config reading
    // different options (from an environment variable, say), or another stepmark version, would
    // run yesterday's instrumentation. The key covers both. With `catalog`, a module the plugin
    // would instrument is not cached at all: one taken from the cache never reaches the plugin,
    // so its sites would be missing from the catalog (and with every module cached, no catalog
    // would be written).
    configureVitest(context: VitestContext) {
      const define = context.defineCacheKeyGenerator ?? context.experimental_defineCacheKeyGenerator;
      if (typeof define !== 'function') return;
      let key: string | undefined;
      define.call(context, (module) => {
        const uncached =
          options.catalog !== undefined &&
          (instrumenter === undefined ||
            typeof module?.sourceCode !== 'string' ||
            instrumenter.mayInstrument(module.sourceCode, module.id));
        return uncached ? false : (key ??= cacheKey(options, config?.root));
      });
    },
  } as Plugin;
}

failWhenUncalled(stepmark, 'stepmark/vite', 'config');

/** What Vitest's `configureVitest` hook is given, as far as this plugin uses it. */
interface VitestContext {
  defineCacheKeyGenerator?: (generator: CacheKeyGenerator) => void;
  experimental_defineCacheKeyGenerator?: (generator: CacheKeyGenerator) => void;
}

/** A module's key in Vitest's module cache; `false` keeps the module out of the cache. */
type CacheKeyGenerator = (module: { id: string; sourceCode: string } | undefined) => string | false;

/** stepmark's version and the plugin's options (the project root when they give none), as one string. */
function cacheKey(options: StepmarkOptions, root: string | undefined): string {
  const given = JSON.stringify({ root, ...options }, (_key, value: unknown) =>
    value instanceof RegExp ? String(value) : value,
  );
  return `stepmark@${VERSION} ${given}`;
}

export default stepmark;
