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
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type {
  BuildOptions,
  Loader,
  OnLoadArgs,
  OnLoadResult,
  PartialMessage,
  Plugin,
  PluginBuild,
} from 'esbuild';
import { catalogWriter, type FileCatalog } from '../instrument/catalog.js';
import { StepmarkBuildError, StepmarkOptionsError } from '../instrument/errors.js';
import { LineIndex } from '../instrument/locations.js';
import type { ResolvedOptions, StepmarkOptions } from '../instrument/options.js';
import { resolveOptions } from '../instrument/options.js';
import { PROJECT_SOURCE_FILTER, SOURCE_FILTER } from './filter.js';
import { changedKnownFiles, ENTRIES_PER_FILE, type Prescan, prescan } from './prescan.js';
import type { SourceLanguage, Toolchain } from './transform/index.js';
import {
  isExcludedDependency,
  isIncluded,
  languageOf,
  loadToolchain,
  relativeToRoot,
  StepmarkParseError,
  transform,
  transformSummary,
  withInlineSourceMap,
} from './transform/index.js';

export type { StepmarkOptions };

/** Options of the esbuild plugin: the shared ones, and `prescan`. */
export interface StepmarkEsbuildOptions extends StepmarkOptions {
  /**
   * Which files the plugin reads once when esbuild sets it up, to keep every file that needs
   * nothing out of its `onLoad` filter: esbuild then never calls into JavaScript for those files,
   * and a build with no marked file costs about what a build without the plugin does.
   *
   * - `true` (the default): the directories of the entry points (`stdin.resolveDir` for stdin),
   *   at most 5,000 source files and 100,000 directory entries;
   * - a directory or a list of directories, relative to `root`: those, without a limit;
   * - `false`: no scan; every project source file reaches the plugin, which looks for the marker.
   *
   * New files, files outside the scanned directories, `node_modules` (unless `include` names it)
   * and files that need work always reach the plugin. The one thing a filter cannot follow is a
   * file that needed nothing being edited to need work in a running `esbuild.context()` (its
   * filters are fixed when it starts): that rebuild fails with a message to restart it. Pass
   * `false` for context watch sessions in which you add markers. tsup and other tools that call
   * `esbuild.build` for each rebuild scan again each time. docs/ESBUILD.md "Which files reach
   * the plugin".
   */
  prescan?: boolean | string | readonly string[];
}

const HOST = 'stepmark/esbuild-plugin';
/** Options of this plugin besides the shared schema. */
const HOST_OPTIONS = ['prescan'];

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
  resolveOptions(options, { host: HOST, hostOptions: HOST_OPTIONS });
  const { prescan: prescanOption, ...shared } = options ?? {};
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
      const cache = new Map<
        string,
        { source: string; result: OnLoadResult | undefined; sites: FileCatalog | undefined }
      >();
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
      const workingDir = build.initialOptions.absWorkingDir ?? process.cwd();
      const scanStart = performance.now();
      const scan: Prescan | undefined =
        prescanDirs === undefined
          ? undefined
          : prescan(
              prescanDirs === AUTOMATIC
                ? entryDirectories(build.initialOptions, workingDir)
                : prescanDirs.map((d) => existingDirectory(d, resolved.root)),
              needsWork,
              dependencies,
              {
                maxFiles: prescanDirs === AUTOMATIC ? AUTOMATIC_MAX_FILES : undefined,
                skip: build.initialOptions.outdir ? [resolve(workingDir, build.initialOptions.outdir)] : [],
              },
            );
      const scanMs = performance.now() - scanStart;
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
              `"${resolved.importSource}" import), but the files stepmark sees (its prescan) are ` +
              'fixed when the build context starts: restart it, or pass prescan: false to the plugin for ' +
              'watch sessions in which you add markers',
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
        if (scan) {
          process.stderr.write(
            `[stepmark] esbuild: prescan: ${scan.known.size} file(s) need nothing and stay in esbuild, ` +
              `${scan.needWork} need work (${scanMs.toFixed(1)} ms)` +
              (scan.complete
                ? ''
                : `; stopped at its limit (${AUTOMATIC_MAX_FILES} source files, ${AUTOMATIC_MAX_FILES * ENTRIES_PER_FILE} entries): the rest reach the plugin`) +
              '\n',
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
          const relative = (): string => (relativePath ??= relativeToRoot(path, resolved.root));
          if (isExcludedDependency(path, resolved, relative)) {
            stats.skippedNodeModules++;
            return undefined;
          }
          const included = resolved.include.length > 0 && isIncluded(relative(), resolved);
          if (included) stats.includeMatched = true;
          // The common case, decided on the raw bytes without decoding them: nothing to do.
          const bytes = readFileSync(path);
          if (!included && !bytesMayNeedWork(bytes, resolved)) {
            stats.skippedNoMarker++;
            catalog?.forget(relative());
            return undefined;
          }
          const source = bytes.toString('utf8');
          let entry = cache.get(path);
          if (entry === undefined || entry.source !== source) {
            let sites: FileCatalog | undefined;
            const result = instrument(
              tools,
              source,
              path,
              loader as SourceLanguage,
              resolved,
              wantsMap,
              (c) => {
                sites = c;
              },
            );
            entry = { source, result, sites };
            if (!result?.errors?.length) cache.set(path, entry);
            if (resolved.debug && result?.contents === undefined && !result?.errors?.length) {
              process.stderr.write(
                `[stepmark] ${path}: nothing selected and no stepmark calls: left unchanged\n`,
              );
            }
          }
          const { result, sites } = entry;
          // In a watch session a file's sites replace its earlier ones, and go with its marker.
          if (sites) catalog?.set(sites);
          else if (!result?.errors?.length) catalog?.forget(relative());
          count(stats, result);
          return result;
        },
      );
    },
  };
}

export default stepmark;

/** The default scan: the directories of the entry points, up to this many source files. */
const AUTOMATIC = Symbol('automatic');
const AUTOMATIC_MAX_FILES = 5000;

/**
 * The `prescan` option: the automatic scope, a list of directories, or undefined when off; a
 * wrong type throws at configuration time.
 */
function prescanDirectories(value: unknown): readonly string[] | typeof AUTOMATIC | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return AUTOMATIC;
  if (typeof value === 'string' && value) return [value];
  if (Array.isArray(value) && value.length && value.every((d) => typeof d === 'string' && d)) return value;
  throw new StepmarkOptionsError(
    'prescan',
    `${HOST}: option "prescan" must be true, false, a directory or a list of directories, got ${JSON.stringify(value)}`,
  );
}

/**
 * A directory named by `prescan`, made absolute. One that does not exist is a configuration
 * error: scanning nothing would silently leave every file to the plugin's slower path, or, with
 * a string such as "no", read as the wrong switch.
 */
function existingDirectory(dir: string, root: string): string {
  const path = resolve(root, dir);
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {}
  if (isDirectory) return path;
  const hint = /^(?:no|off|false|none|0)$/i.test(dir)
    ? '; to turn the scan off, pass the boolean false'
    : /^(?:yes|on|true|auto|1)$/i.test(dir)
      ? '; for the default scan, pass the boolean true (or leave the option out)'
      : '';
  throw new StepmarkOptionsError(
    'prescan',
    `${HOST}: option "prescan" names ${JSON.stringify(dir)}, which is not a directory ` +
      `(${path}, relative to root ${JSON.stringify(root)})${hint}. prescan takes true, false, ` +
      'a directory or a list of directories',
  );
}

/**
 * The directories the automatic prescan reads: those of the entry points (for a glob, the part
 * before its first wildcard) and of `stdin.resolveDir`, absolute.
 */
function entryDirectories(options: BuildOptions, workingDir: string): string[] {
  const dirs: string[] = [];
  const add = (entry: unknown): void => {
    if (typeof entry !== 'string' || entry === '') return;
    const wildcard = entry.search(/[*?[{]/);
    if (wildcard === -1) dirs.push(dirname(resolve(workingDir, entry)));
    else {
      const slash = Math.max(entry.lastIndexOf('/', wildcard), entry.lastIndexOf('\\', wildcard), 0);
      dirs.push(resolve(workingDir, entry.slice(0, slash)));
    }
  };
  const entries: unknown = options.entryPoints;
  if (Array.isArray(entries)) {
    for (const e of entries) add(typeof e === 'object' && e !== null ? (e as { in?: unknown }).in : e);
  } else if (typeof entries === 'object' && entries !== null) {
    for (const e of Object.values(entries)) add(e);
  }
  if (options.stdin?.resolveDir) dirs.push(resolve(workingDir, options.stdin.resolveDir));
  return dirs;
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
    if (options.debug) process.stderr.write(transformSummary(path, out));
    return { contents: withInlineSourceMap(out, path), loader };
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
