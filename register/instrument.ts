/**
 * One file through the esbuild plugin's oxc transform (esbuild-plugin/transform), for the
 * load-time hooks: same selection, names, locations and emitted code as a build with
 * `stepmark/esbuild-plugin`, plus an inline source map so `--enable-source-maps` (and
 * debuggers) point at the original lines.
 */
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import {
  isIncludedDependency,
  languageOf,
  mayNeedWork,
  StepmarkParseError,
  type Toolchain,
  transform,
} from '../esbuild-plugin/transform/index.js';
import type { FileCatalog } from '../instrument/catalog.js';
import { StepmarkBuildError } from '../instrument/errors.js';
import { LineIndex, projectRelativePath } from '../instrument/locations.js';
import type { ResolvedOptions } from '../instrument/options.js';
import { HOST } from './options.js';

/** Spelled in two pieces so that tools stripping source map comments from loaded modules keep this line. */
const SOURCE_MAPPING_URL = ['//#', 'sourceMappingURL='].join(' ');

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
    const oxc = load('oxc-parser') as {
      parseSync: Toolchain['parseSync'];
      visitorKeys: Toolchain['visitorKeys'];
      rawTransferSupported(): boolean;
    };
    let ms = load('magic-string') as { default?: unknown };
    while (typeof ms !== 'function' && ms?.default) ms = ms.default as { default?: unknown };
    return {
      parseSync: oxc.parseSync,
      visitorKeys: oxc.visitorKeys,
      MagicString: ms as unknown as Toolchain['MagicString'],
      rawTransfer: oxc.rawTransferSupported(),
    };
  } catch (error) {
    throw new Error(
      `${HOST} needs the packages "oxc-parser" and "magic-string" (optional peer dependencies of stepmark): ` +
        `install them with \`npm install -D oxc-parser magic-string\`. Cause: ${(error as Error).message}`,
    );
  }
}

/** What the hooks did, for the `debug` option (printed at exit). */
export interface RegisterStats {
  instrumented: number;
  unchanged: number;
  skipped: number;
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
  stats?: RegisterStats,
  onCatalog?: (catalog: FileCatalog) => void,
): string | undefined {
  const language = languageOf(filename);
  if (language === undefined) return undefined;
  const relativePath = projectRelativePath(filename, options.root);
  if (
    (filename.includes('/node_modules/') || filename.includes('\\node_modules\\')) &&
    !isIncludedDependency(relativePath, options)
  ) {
    if (stats) stats.skipped++;
    return undefined;
  }
  if (!mayNeedWork(source, relativePath, options)) {
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
    if (options.debug) {
      process.stderr.write(
        `[stepmark] ${filename}: ${out.frames} function(s) instrumented, ${out.calls} call(s) rewritten\n`,
      );
    }
    if (!out.map) return out.code;
    out.map.sources = [basename(filename)];
    return `${out.code}\n${SOURCE_MAPPING_URL}${out.map.toUrl()}\n`;
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
