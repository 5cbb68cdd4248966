/**
 * One module handed over by a bundler, through the shared transform of `stepmark/esbuild-plugin`
 * (esbuild-plugin/transform: parse with oxc, decide with instrument/, emit as string edits). Every
 * bundler entry (`stepmark/vite`, `/rollup`, `/rolldown`, `/webpack`, `/rspack`) owns one
 * {@link ModuleInstrumenter} per build and only adapts its host's hook API to it: which modules
 * are looked at, what is written, the catalog, the `debug` report and the messages are decided
 * here once, so every bundler instruments a module byte for byte as the esbuild plugin does.
 *
 * Why thin adapters of our own rather than unplugin: two small ones cover the four bundlers
 * (Rollup's plugin API for Rollup, rolldown and Vite; webpack's plugin and loader API for webpack
 * and rspack), users install no extra package, the webpack loader chains an earlier loader's
 * source map (with the bundler's own webpack-sources), and errors keep their file, line, column
 * and code frame in each bundler's own format.
 */
import type { SourceMap } from 'magic-string';
import type { SourceLanguage, Toolchain } from '../esbuild-plugin/transform/index.js';
import {
  isExcludedDependency,
  isIncluded,
  languageOf,
  loadToolchain,
  mayNeedWork,
  relativeToRoot,
  StepmarkParseError,
  transform,
} from '../esbuild-plugin/transform/index.js';
import { type CatalogWriter, catalogWriter } from '../instrument/catalog.js';
import { StepmarkBuildError, StepmarkOptionsError } from '../instrument/errors.js';
import { LineIndex } from '../instrument/locations.js';
import type { ResolvedOptions } from '../instrument/options.js';

/** What the transform made of a module. */
export interface InstrumentedModule {
  readonly code: string;
  /** Map from `code` to the text the bundler handed over (undefined when not asked for). */
  readonly map: SourceMap | undefined;
}

/**
 * A problem with one module, placed for the bundler's own diagnostics: `line` 1-based, `column`
 * 0-based (as Rollup, webpack and esbuild locations are), `message` ending with
 * `(path:line:col)` (1-based column, relative to `root`) so it reads the same in every host.
 */
export interface ModuleProblem {
  readonly message: string;
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** The source line, for a code frame. */
  readonly lineText?: string;
}

/** The outcome for one module: changed, left alone, or a problem to report. */
export type ModuleOutcome =
  | { readonly kind: 'instrumented'; readonly module: InstrumentedModule }
  | { readonly kind: 'unchanged' }
  /** A bad directive: the build must fail. */
  | { readonly kind: 'error'; readonly problem: ModuleProblem }
  /**
   * oxc cannot parse the module as its language: left uninstrumented (the bundler's own parser
   * reports real syntax errors; a dialect a later plugin compiles is not stepmark's to judge).
   */
  | { readonly kind: 'warning'; readonly problem: ModuleProblem };

const UNCHANGED: ModuleOutcome = Object.freeze({ kind: 'unchanged' });

/** Counts for the `debug` report of one build. */
interface Stats {
  instrumented: number;
  unchanged: number;
  skippedNoMarker: number;
  skippedNodeModules: number;
  includeMatched: boolean;
}

/** Files the bundler entries look at: JavaScript and TypeScript (`.ts .tsx .mts .cts .js .jsx .mjs .cjs`). */
export const SOURCE_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;
/** {@link SOURCE_FILE} as a module id, any query after it. */
export const SOURCE_ID = new RegExp(`${SOURCE_FILE.source.slice(0, -1)}(?:\\?.*)?$`);

/** The instrumentation of one bundler build (or of a long-lived dev server / watcher). */
export class ModuleInstrumenter {
  readonly host: string;
  readonly options: ResolvedOptions;
  private tools: Toolchain | undefined;
  private readonly catalog: CatalogWriter | undefined;
  private stats: Stats = newStats();
  private warnedInclude = false;

  constructor(host: string, options: ResolvedOptions) {
    this.host = host;
    this.options = options;
    this.catalog = options.catalog === undefined ? undefined : catalogWriter(options.catalog, options.root);
  }

  /** Loads oxc-parser and magic-string (once per process); fails with what to install. */
  async ready(): Promise<void> {
    this.tools ??= await loadToolchain(this.host);
  }

  /** A new build starts (watch mode, rebuilds): the `debug` counts start again. */
  startBuild(): void {
    this.stats = newStats();
  }

  /**
   * Whether {@link instrument} would parse this module, and so could change it or list it in the
   * catalog: the checks it makes before parsing, which read only the text.
   */
  mayInstrument(code: string, id: string): boolean {
    const seen = this.triage(code, id, undefined);
    return seen !== undefined && seen.skip === undefined;
  }

  /**
   * Instruments one module. `id` is the module's file, optionally with a query (`?…`), which is
   * ignored; `language` overrides the one its extension gives (a host that knows the module's
   * type, e.g. rolldown's `moduleType`). {@link ready} must have resolved.
   */
  instrument(code: string, id: string, language?: SourceLanguage, sourceMap = true): ModuleOutcome {
    const seen = this.triage(code, id, language);
    if (seen === undefined) return UNCHANGED;
    const { file, lang, relativePath, skip } = seen;
    const options = this.options;
    if (skip === 'dependency') {
      this.stats.skippedNodeModules++;
      return UNCHANGED;
    }
    if (isIncluded(relativePath, options)) this.stats.includeMatched = true;
    if (skip === 'no-marker') {
      this.stats.skippedNoMarker++;
      this.catalog?.forget(relativePath); // its marker went while a watcher or dev server ran
      return UNCHANGED;
    }
    const tools = this.tools;
    if (tools === undefined) throw new Error(`${this.host}: internal error: instrument() before ready()`);
    try {
      const out = transform(tools, code, file, lang, options, sourceMap);
      if (!out) {
        this.stats.unchanged++;
        this.catalog?.forget(relativePath);
        if (options.debug) this.log(`${file}: nothing selected and no stepmark calls: left unchanged`);
        return UNCHANGED;
      }
      this.stats.instrumented++;
      this.catalog?.set(out.catalog());
      if (options.debug) {
        this.log(`${file}: ${out.frames} function(s) instrumented, ${out.calls} call(s) rewritten`);
      }
      return { kind: 'instrumented', module: { code: out.code, map: out.map } };
    } catch (error) {
      if (error instanceof StepmarkBuildError) {
        return { kind: 'error', problem: problem(error.message, file, relativePath, code, error.offset) };
      }
      if (error instanceof StepmarkParseError) {
        return {
          kind: 'warning',
          problem: problem(
            `stepmark could not parse this file and left it uninstrumented: ${error.message}`,
            file,
            relativePath,
            code,
            error.offset,
          ),
        };
      }
      throw error;
    }
  }

  /**
   * A build ended: writes the stage catalog (docs/CATALOG.md), prints the `debug` summary, and
   * warns once when `include` selected no module (most likely a wrong `root` or pattern; not
   * `complete` for a dev server, which transforms only the modules that were requested).
   */
  endBuild(complete = true): void {
    this.catalog?.flush();
    const { options, stats } = this;
    if (complete && options.include.length > 0 && !stats.includeMatched && !this.warnedInclude) {
      this.warnedInclude = true;
      process.stderr.write(
        `[stepmark] ${this.host}: warning: include ${JSON.stringify(options.include)} matched no module of ` +
          `this build (patterns are relative to root ${JSON.stringify(options.root)})\n`,
      );
    }
    if (options.debug) {
      this.log(
        `${stats.instrumented} module(s) instrumented, ${stats.unchanged} parsed with nothing to do, ` +
          `${stats.skippedNoMarker} skipped without parsing (no "@stepmark" or "${options.importSource}" in the text), ` +
          `${stats.skippedNodeModules} in node_modules skipped (not in "include")`,
      );
    }
  }

  /**
   * What the text alone says of a module: undefined when it is no source file (a virtual module,
   * `\0…`, or another extension), else its file, language and path relative to root, and why it
   * needs no parse (a dependency not included; no marker, import source or `include` match).
   */
  private triage(code: string, id: string, language: SourceLanguage | undefined): Triage | undefined {
    if (id.charCodeAt(0) === 0) return undefined;
    const query = id.indexOf('?');
    const file = query === -1 ? id : id.slice(0, query);
    const lang = language ?? languageOf(file);
    if (lang === undefined) return undefined;
    const options = this.options;
    const relativePath = relativeToRoot(file, options.root);
    const skip = isExcludedDependency(file, options, () => relativePath)
      ? 'dependency'
      : mayNeedWork(code, relativePath, options)
        ? undefined
        : 'no-marker';
    return { file, lang, relativePath, skip };
  }

  private log(line: string): void {
    process.stderr.write(`[stepmark] ${this.host}: ${line}\n`);
  }
}

interface Triage {
  readonly file: string;
  readonly lang: SourceLanguage;
  readonly relativePath: string;
  readonly skip: 'dependency' | 'no-marker' | undefined;
}

function newStats(): Stats {
  return { instrumented: 0, unchanged: 0, skippedNoMarker: 0, skippedNodeModules: 0, includeMatched: false };
}

function problem(
  message: string,
  file: string,
  relativePath: string,
  code: string,
  offset: number | undefined,
): ModuleProblem {
  if (offset === undefined) return { message, file };
  const lines = new LineIndex(code);
  const { line, column } = lines.locate(offset);
  return {
    message: `${message} (${relativePath}:${line}:${column})`,
    file,
    line,
    column: column - 1,
    lineText: lines.lineText(line),
  };
}

/** The problem's source line with a caret under its column (what the bundlers print as a code frame). */
export function codeFrame(problem: ModuleProblem): string | undefined {
  const { line, column, lineText } = problem;
  if (line === undefined || column === undefined || lineText === undefined) return undefined;
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  // Tabs stay tabs under the caret, so it lines up with the text above it.
  const indent = lineText.slice(0, column).replace(/[^\t]/g, ' ');
  return `${gutter} | ${lineText}\n${pad} | ${indent}^`;
}

/**
 * `plugins: [stepmark]`, the factory without its call: Rollup and rolldown take the function for a
 * plugin with no hooks and build uninstrumented; webpack and rspack call it with their compiler.
 */
export function uncalledFactoryError(host: string): StepmarkOptionsError {
  return new StepmarkOptionsError(
    '(options)',
    `${host}: \`plugins: [stepmark]\` passes the plugin's factory; call it: \`plugins: [stepmark()]\``,
  );
}
