/**
 * One file through the esbuild plugin's oxc transform (esbuild-plugin/transform), for the
 * load-time hooks: same selection, names, locations and emitted code as a build with
 * `stepmark/esbuild-plugin`, plus an inline source map so `--enable-source-maps` (and
 * debuggers) point at the original lines.
 */
import { createRequire } from 'node:module';
import {
  isExcludedDependency,
  isIncluded,
  languageOf,
  mayNeedWork,
  missingToolchain,
  type OxcParser,
  StepmarkParseError,
  type Toolchain,
  toolchainOf,
  transform,
  transformSummary,
  withInlineSourceMap,
} from '../esbuild-plugin/transform/index.js';
import type { FileCatalog } from '../instrument/catalog.js';
import { StepmarkBuildError } from '../instrument/errors.js';
import { LineIndex, projectRelativePath } from '../instrument/locations.js';
import type { ResolvedOptions } from '../instrument/options.js';
import { HOST } from './options.js';

/**
 * oxc-parser and magic-string loaded synchronously (the synchronous hooks of
 * `module.registerHooks` and `Module.prototype._compile` cannot await a dynamic import), resolved
 * from each of `from` in turn (the project root, then stepmark's own file).
 */
export function loadToolchainSync(from: readonly string[]): Toolchain {
  const load = (id: string): unknown => {
    let first: unknown;
    for (const place of from) {
      try {
        return createRequire(place)(id);
      } catch (error) {
        first ??= error;
      }
    }
    throw first;
  };
  try {
    return toolchainOf(load('oxc-parser') as OxcParser, load('magic-string'));
  } catch (error) {
    throw missingToolchain(HOST, error);
  }
}

/** What the hooks did, for the `debug` option (printed at exit). */
export interface RegisterStats {
  instrumented: number;
  unchanged: number;
  skipped: number;
}

/**
 * How many source files (JavaScript or TypeScript, dependencies left out) the hooks saw, and how
 * many of them `include` selected: what the warning at exit tells from (register/index.ts). In
 * shared memory, because on Node 20 the ES modules are seen in the hooks thread.
 */
export class IncludeTally {
  private readonly counts: Int32Array<SharedArrayBuffer>;

  constructor(buffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)) {
    this.counts = new Int32Array(buffer);
  }

  /** What to hand to the hooks thread. */
  get buffer(): SharedArrayBuffer {
    return this.counts.buffer;
  }

  get sources(): number {
    return Atomics.load(this.counts, 0);
  }

  get included(): number {
    return Atomics.load(this.counts, 1);
  }

  saw(included: boolean): void {
    Atomics.add(this.counts, 0, 1);
    if (included) Atomics.add(this.counts, 1, 1);
  }
}

/** Who hears of each file: the `debug` counts, the `include` tally, the stage catalog. */
export interface FileObservers {
  stats?: RegisterStats;
  /** Only when `include` is set. */
  includes?: IncludeTally;
  onCatalog?: (catalog: FileCatalog) => void;
}

/**
 * Returns the instrumented text of a file, or `undefined` to load it unchanged. A bad directive
 * throws (the program fails to load, as a build would); a file oxc cannot parse is left alone
 * with a warning (Node reports the syntax error itself).
 */
export function instrumentFile(
  tools: Toolchain,
  options: ResolvedOptions,
  source: string,
  filename: string,
  { stats, includes, onCatalog }: FileObservers = {},
): string | undefined {
  const language = languageOf(filename);
  if (language === undefined) return undefined;
  const relativePath = projectRelativePath(filename, options.root);
  const dependency = isExcludedDependency(filename, options, () => relativePath);
  if (!dependency) includes?.saw(isIncluded(relativePath, options));
  if (dependency || !mayNeedWork(source, relativePath, options)) {
    if (stats) stats.skipped++;
    return undefined;
  }
  try {
    const out = transform(tools, source, filename, language, options);
    if (out === undefined) {
      if (stats) stats.unchanged++;
      if (options.debug)
        process.stderr.write(`[stepmark] ${filename}: nothing selected and no stepmark calls\n`);
      return undefined;
    }
    if (stats) stats.instrumented++;
    if (options.catalog !== undefined) onCatalog?.(out.catalog());
    if (options.debug) process.stderr.write(transformSummary(filename, out));
    return withInlineSourceMap(out, filename);
  } catch (error) {
    if (error instanceof StepmarkBuildError) {
      let where = filename;
      if (error.offset !== undefined) {
        const { line, column } = new LineIndex(source).locate(error.offset);
        where = `${filename}:${line}:${column}`;
      }
      const e = new Error(`${where}: ${error.message}`);
      e.name = error.name;
      (e as Error & { code?: string }).code = error.code;
      throw e;
    }
    if (error instanceof StepmarkParseError) {
      process.stderr.write(
        `[stepmark] ${filename}: could not parse, loaded uninstrumented: ${error.message}\n`,
      );
      return undefined;
    }
    throw error;
  }
}
