/**
 * `stepmark/vite`: the stepmark instrumentation as a Vite plugin, for `vite.config` and
 * `vitest.config`, so tests run the instrumented code and can compare its spans. It runs before
 * Vite's own TypeScript/JSX transform (`enforce: 'pre'`) and uses the same oxc-based transform as
 * `stepmark/esbuild-plugin`.
 *
 * @example
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config';
 * import stepmark from 'stepmark/vite';
 * export default defineConfig({ plugins: [stepmark()] });
 */
import type { Plugin, ResolvedConfig } from 'vite';
import type { Toolchain } from '../esbuild-plugin/transform/index.js';
import {
  isIncludedDependency,
  languageOf,
  loadToolchain,
  mayNeedWork,
  relativeToRoot,
  StepmarkParseError,
  transform,
} from '../esbuild-plugin/transform/index.js';
import { catalogWriter } from '../instrument/catalog.js';
import { StepmarkBuildError } from '../instrument/errors.js';
import { LineIndex } from '../instrument/locations.js';
import type { ResolvedOptions, StepmarkOptions } from '../instrument/options.js';
import { resolveOptions } from '../instrument/options.js';

export type { StepmarkOptions };

const HOST = 'stepmark/vite';

/** Module ids the plugin looks at (the query string, if any, is stripped first). */
const SOURCE_ID = /\.(?:[cm]?[jt]s|[jt]sx)(?:\?.*)?$/;

/**
 * The Vite plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`); unknown options are rejected by name.
 * `root` defaults to Vite's `root`.
 */
export function stepmark(options: StepmarkOptions = {}): Plugin {
  resolveOptions(options, { host: HOST }); // fail on a typo when the config is read
  let resolved: ResolvedOptions | undefined;
  let tools: Toolchain | undefined;
  return {
    name: 'stepmark',
    enforce: 'pre',
    configResolved(config: ResolvedConfig) {
      resolved = resolveOptions({ ...options, root: options.root ?? config.root }, { host: HOST });
    },
    async buildStart() {
      tools = await loadToolchain(HOST);
    },
    // `catalog` (docs/CATALOG.md): the build's stage catalog, written when the build ends
    buildEnd() {
      if (resolved?.catalog !== undefined) catalogWriter(resolved.catalog, resolved.root).flush();
    },
    transform: {
      filter: { id: SOURCE_ID },
      async handler(code: string, id: string) {
        if (id.charCodeAt(0) === 0) return null; // virtual module
        const query = id.indexOf('?');
        const file = query === -1 ? id : id.slice(0, query);
        const language = languageOf(file);
        if (!language) return null;
        const opts = (resolved ??= resolveOptions(options, { host: HOST }));
        const relativePath = relativeToRoot(file, opts.root);
        if (file.includes('/node_modules/') && !isIncludedDependency(relativePath, opts)) return null;
        if (!mayNeedWork(code, relativePath, opts)) return null;
        tools ??= await loadToolchain(HOST);
        try {
          const out = transform(tools, code, file, language, opts);
          if (!out) return null;
          if (opts.catalog !== undefined) catalogWriter(opts.catalog, opts.root).set(out.catalog());
          if (opts.debug) {
            process.stderr.write(
              `[stepmark] ${file}: ${out.frames} function(s) instrumented, ${out.calls} call(s) rewritten\n`,
            );
          }
          return { code: out.code, map: out.map };
        } catch (error) {
          if (!(error instanceof StepmarkBuildError || error instanceof StepmarkParseError)) throw error;
          const offset = error.offset;
          let log: {
            message: string;
            id: string;
            loc?: { file: string; line: number; column: number };
            frame?: string;
          } = {
            message: error.message,
            id: file,
          };
          if (offset !== undefined) {
            const lines = new LineIndex(code);
            const { line, column } = lines.locate(offset);
            log = {
              message: `${error.message} (${relativePath}:${line}:${column})`,
              id: file,
              loc: { file, line, column: column - 1 },
              frame: lines.lineText(line),
            };
          }
          if (error instanceof StepmarkBuildError) return this.error(log);
          // Not parseable as its extension says (e.g. JSX in a .js file that a later plugin
          // handles): leave it to Vite, which reports real syntax errors itself.
          this.warn({ ...log, message: `stepmark left this file uninstrumented: ${log.message}` });
          return null;
        }
      },
    },
  };
}

export default stepmark;
