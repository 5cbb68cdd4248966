/**
 * `stepmark/esbuild-plugin`: instruments marked files inside an esbuild build (and in tools built
 * on esbuild's plugin API, such as tsup), and rewrites explicit `step()`/`enter()` calls in every
 * file that imports stepmark.
 *
 * @example
 * import { build } from 'esbuild';
 * import stepmark from 'stepmark/esbuild-plugin';
 * await build({ entryPoints: ['src/main.ts'], bundle: true, sourcemap: true, plugins: [stepmark()] });
 */
import { readFileSync } from 'node:fs';
import { basename, extname, isAbsolute, join, relative } from 'node:path';
import type { Loader, OnLoadArgs, OnLoadResult, PartialMessage, Plugin, PluginBuild } from 'esbuild';
import { catalogWriter, type FileCatalog } from '../instrument/catalog.js';
import { StepmarkBuildError, StepmarkOptionsError } from '../instrument/errors.js';
import { LineIndex } from '../instrument/locations.js';
import type { ResolvedOptions, StepmarkOptions } from '../instrument/options.js';
import { resolveOptions } from '../instrument/options.js';
import { PROJECT_SOURCE_FILTER, SOURCE_FILTER } from './filter.js';
import { changedKnownFiles, type Prescan, prescan } from './prescan.js';
import type { SourceLanguage, Toolchain } from './transform/index.js';
import {
  isIncluded,
  isIncludedDependency,
  languageOf,
  loadToolchain,
  relativeToRoot,
  StepmarkParseError,
  transform,
} from './transform/index.js';

export type { StepmarkOptions };

/** Options of the esbuild plugin: the shared ones, and `prescan`. */
export interface StepmarkEsbuildOptions extends StepmarkOptions {
  /**
   * Read the project once at setup and keep every file that needs nothing out of the plugin's
   * `onLoad` filter, so esbuild never calls into JavaScript for it (an unmarked build then costs
   * about what a build without the plugin does). `true` scans `root`; a directory or a list of
   * directories (relative to `root`) scans those. New files and files outside them still reach
   * the plugin. In a watch session, a file that needed nothing and is edited to need work fails the
   * rebuild with a message to restart it (the filter is fixed when the context starts).
   * Default false. docs/ESBUILD.md "Cost".
   */
  prescan?: boolean | string | readonly string[];
}

const HOST = 'stepmark/esbuild-plugin';

/**
 * The inline source map comment, spelled in two pieces: tools that strip source map comments
 * from modules they load (Vite, Vitest) would otherwise cut this line out of the plugin itself.
 */
const SOURCE_MAPPING_URL = ['//#', 'sourceMappingURL='].join(' ');

/** Languages the transform can parse, by esbuild loader name. */
const PARSEABLE: ReadonlySet<string> = new Set(['ts', 'tsx', 'js', 'jsx']);

/** What one build did, for the `debug` option. */
interface Stats {
  instrumented: number;
  unchanged: number;
  skippedNoMarker: number;
  skippedNodeModules: number;
  /** Whether `include` selected at least one file. */
  includeMatched: boolean;
}

/**
 * The esbuild plugin. Options are the shared stepmark schema (`include`, `exclude`, `callbacks`,
 * `getters`, `locations`, `importSource`, `root`, `debug`); unknown options are rejected by name.
 * `root` defaults to esbuild's `absWorkingDir`, else the current directory.
 *
 * Files the plugin leaves alone (no `@stepmark` and no stepmark import in the text, or in
 * `node_modules` without matching `include`) are returned to esbuild untouched, so later plugins
 * still see them. Put `stepmark()` after plugins that produce JavaScript/TypeScript from other
 * languages, and before plugins that claim `.ts`/`.js` files themselves.
 */
export function stepmark(options: StepmarkEsbuildOptions = {}): Plugin {
  // Validate now, so a typo fails when the config is read; `root` is settled in setup.
  const { prescan: prescanOption, ...shared } = options ?? {};
  resolveOptions(shared, { host: HOST });
  const prescanDirs = prescanDirectories(prescanOption);
  return {
    name: 'stepmark',
    async setup(build: PluginBuild) {
      const resolved = resolveOptions(
        { ...shared, root: shared.root ?? build.initialOptions.absWorkingDir ?? process.cwd() },
        { host: HOST },
      );
      const tools = await loadToolchain(HOST);
      const loaders = build.initialOptions.loader ?? {};
      // esbuild reads an input source map only when it writes one; otherwise skip making it.
      const wantsMap = !!build.initialOptions.sourcemap;
      const cache = new Map<string, { source: string; result: OnLoadResult | undefined }>();
      const stats: Stats = {
        instrumented: 0,
        unchanged: 0,
        skippedNoMarker: 0,
        skippedNodeModules: 0,
        includeMatched: false,
      };

      // `catalog`: this build's stage catalog file (docs/CATALOG.md), written when the build ends
      const catalog =
        resolved.catalog !== undefined ? catalogWriter(resolved.catalog, resolved.root) : undefined;
      if (catalog) build.onEnd(() => catalog.flush());

      const dependencies = resolved.include.some((p) => p.includes('node_modules'));
      const needsWork = (path: string, bytes: Buffer): boolean =>
        (resolved.include.length > 0 && isIncluded(relativeToRoot(path, resolved.root), resolved)) ||
        bytesMayNeedWork(bytes, resolved);
      const scan: Prescan | undefined = prescanDirs
        ? prescan(
            prescanDirs.map((d) => (isAbsolute(d) ? d : join(resolved.root, d))),
            needsWork,
            dependencies,
          )
        : undefined;
      let builds = 0;
      build.onStart(() => {
        stats.instrumented = stats.unchanged = stats.skippedNoMarker = stats.skippedNodeModules = 0;
        stats.includeMatched = false;
        if (!scan || builds++ === 0) return undefined;
        // A rebuild: a file the filter leaves out must still need nothing.
        const changed = changedKnownFiles(scan.known, needsWork);
        if (changed.length === 0) return undefined;
        return {
          errors: changed.map((file) => ({
            text:
              `stepmark: ${relative(resolved.root, file)} now needs instrumenting (it has "@stepmark" or a ` +
              `"${resolved.importSource}" import), but with the prescan option the files stepmark sees are ` +
              'fixed when the build context starts: restart it, or leave prescan off for watch mode',
            location: { file },
          })),
        };
      });
      // Off by accident must not be silent: an `include` that selects nothing is most likely a
      // wrong root or pattern. Said once per plugin instance (watch mode rebuilds often).
      let warnedInclude = false;
      build.onEnd(() => {
        if (resolved.include.length === 0 || stats.includeMatched || warnedInclude) return;
        warnedInclude = true;
        process.stderr.write(
          `[stepmark] warning: include ${JSON.stringify(resolved.include)} matched no file of this build ` +
            `(patterns are relative to root ${JSON.stringify(resolved.root)})\n`,
        );
      });
      if (resolved.debug) {
        if (prescanDirs && !scan) {
          process.stderr.write(
            '[stepmark] esbuild: prescan: file names the filter cannot spell; every file is checked\n',
          );
        }
        build.onEnd(() => {
          process.stderr.write(
            `[stepmark] esbuild: ${stats.instrumented} file(s) instrumented, ${stats.unchanged} parsed with nothing to do, ` +
              `${stats.skippedNoMarker} skipped without parsing (no "@stepmark" or "${resolved.importSource}" in the text), ` +
              `${stats.skippedNodeModules} in node_modules skipped (not in "include")` +
              (scan ? `; prescan: ${scan.known.size} source file(s) left out of the filter` : '') +
              '\n',
          );
        });
      }

      build.onLoad(
        // Dependencies never reach JavaScript unless an include pattern names node_modules.
        {
          filter: scan?.filter ?? (dependencies ? SOURCE_FILTER : PROJECT_SOURCE_FILTER),
          namespace: 'file',
        },
        (args: OnLoadArgs): OnLoadResult | undefined => {
          const path = args.path;
          const ext = extname(path);
          const loader = (loaders[ext] as Loader | undefined) ?? languageOf(path); // esbuild's default for the extension
          if (loader === undefined || !PARSEABLE.has(loader)) return undefined;
          let relativePath: string | undefined;
          if (path.includes('node_modules')) {
            relativePath = relativeToRoot(path, resolved.root);
            if (!isIncludedDependency(relativePath, resolved)) {
              stats.skippedNodeModules++;
              return undefined;
            }
          }
          const included =
            resolved.include.length > 0 &&
            isIncluded(relativePath ?? relativeToRoot(path, resolved.root), resolved);
          if (included) stats.includeMatched = true;
          // The common case, decided on the raw bytes without decoding them: nothing to do.
          const bytes = readFileSync(path);
          if (!included && !bytesMayNeedWork(bytes, resolved)) {
            stats.skippedNoMarker++;
            return undefined;
          }
          const source = bytes.toString('utf8');
          const cached = cache.get(path);
          if (cached && cached.source === source) {
            count(stats, cached.result);
            return cached.result;
          }
          const result = instrument(tools, source, path, loader as SourceLanguage, resolved, wantsMap, (c) =>
            catalog?.set(c),
          );
          if (!result?.errors?.length) cache.set(path, { source, result });
          count(stats, result);
          if (resolved.debug && result?.contents === undefined && !result?.errors?.length) {
            process.stderr.write(
              `[stepmark] ${path}: nothing selected and no stepmark calls: left unchanged\n`,
            );
          }
          return result;
        },
      );
    },
  };
}

export default stepmark;

/** The `prescan` option as a list of directories, or undefined when off; a wrong type throws at configuration time. */
function prescanDirectories(value: unknown): readonly string[] | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return ['.'];
  if (typeof value === 'string' && value) return [value];
  if (Array.isArray(value) && value.length && value.every((d) => typeof d === 'string' && d)) return value;
  throw new StepmarkOptionsError(
    'prescan',
    `${HOST}: option "prescan" must be true, false, a directory or a list of directories, got ${JSON.stringify(value)}`,
  );
}

/** `mayNeedWork` on undecoded bytes: a native substring search, no UTF-8 decoding. */
function bytesMayNeedWork(bytes: Buffer, options: ResolvedOptions): boolean {
  if (bytes.indexOf(options.importSource) !== -1) return true;
  // `@stepmark` contains the default import source: one search is enough then.
  return !'@stepmark'.includes(options.importSource) && bytes.indexOf('@stepmark') !== -1;
}

function count(stats: Stats, result: OnLoadResult | undefined): void {
  if (result?.contents !== undefined) stats.instrumented++;
  else stats.unchanged++;
}

/** Runs the transform and turns its outcome into an esbuild result (or undefined to leave the file alone). */
function instrument(
  tools: Toolchain,
  source: string,
  path: string,
  loader: SourceLanguage,
  options: ResolvedOptions,
  wantsMap: boolean,
  onCatalog: (catalog: FileCatalog) => void,
): OnLoadResult | undefined {
  try {
    const out = transform(tools, source, path, loader, options, wantsMap);
    if (!out) return undefined;
    if (options.catalog !== undefined) onCatalog(out.catalog());
    if (options.debug) {
      process.stderr.write(
        `[stepmark] ${path}: ${out.frames} function(s) instrumented, ${out.calls} call(s) rewritten\n`,
      );
    }
    if (!out.map) return { contents: out.code, loader };
    out.map.sources = [basename(path)];
    // Buffer's native base64 (magic-string's toUrl goes through btoa(unescape(encodeURIComponent())).
    const url = `data:application/json;charset=utf-8;base64,${Buffer.from(out.map.toString()).toString('base64')}`;
    return { contents: `${out.code}\n${SOURCE_MAPPING_URL}${url}\n`, loader };
  } catch (error) {
    if (error instanceof StepmarkBuildError) {
      return { errors: [message(error.message, path, source, error.offset, error.length)] };
    }
    if (error instanceof StepmarkParseError) {
      // esbuild parses the file next and reports the syntax error itself; say why it was not instrumented.
      return {
        warnings: [
          message(
            `stepmark could not parse this file and left it uninstrumented: ${error.message}`,
            path,
            source,
            error.offset,
            1,
          ),
        ],
      };
    }
    throw error;
  }
}

/** An esbuild message at an offset of the file (line 1-based, column 0-based, as esbuild wants). */
function message(
  text: string,
  file: string,
  source: string,
  offset: number | undefined,
  length: number | undefined,
): PartialMessage {
  if (offset === undefined) return { text, location: { file } } satisfies PartialMessage;
  const lines = new LineIndex(source);
  const { line, column } = lines.locate(offset);
  return {
    text,
    location: { file, line, column: column - 1, length: length ?? 1, lineText: lines.lineText(line) },
  };
}
