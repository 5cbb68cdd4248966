/**
 * The one options schema shared by every stepmark build plugin, validated once here so that the
 * Babel plugin, the TypeScript transformer and the esbuild plugin accept exactly the same options
 * and reject the same mistakes with the same message.
 */
import { resolve } from 'node:path';
import { DEFAULT_IMPORT_SOURCE } from './constants.js';
import { StepmarkOptionsError } from './errors.js';
import { matchesAnyGlob } from './glob.js';

/** Options accepted by every stepmark build plugin. */
export interface StepmarkOptions {
  /**
   * Globs of files whose eligible functions are all instrumented, as if they started with
   * `// @stepmark`. Relative to `root`; a pattern without `/` matches a base name at any depth.
   * @default []
   */
  include?: string | readonly string[];
  /** Globs removed from `include` (a file's own `// @stepmark` comment still applies). @default [] */
  exclude?: string | readonly string[];
  /** Instrument anonymous callbacks (arrows and function expressions passed as arguments, IIFEs). @default false */
  callbacks?: boolean;
  /** Instrument getters and setters. @default false */
  getters?: boolean;
  /** Write `"path:line:col"` of each function into the emitted code (`void 0` when false). @default true */
  locations?: boolean;
  /** Package whose API calls are rewritten and whose `/runtime` entry is imported. @default "stepmark" */
  importSource?: string;
  /** Project root: locations and `include`/`exclude` globs are relative to it. @default process.cwd() */
  root?: string;
  /** Print, per file, what was instrumented and what was skipped and why (to stderr). @default false */
  debug?: boolean;
  /**
   * Remove stepmark from the output instead of instrumenting: no frames, explicit calls removed
   * (arguments with side effects kept), the import dropped when unused (docs/STRIP.md). @default false
   */
  strip?: boolean;
  /**
   * Write the stage catalog of the build (every instrumented function and explicit step/enter site,
   * docs/CATALOG.md) to this JSON file, relative to `root`. @default undefined (not written)
   */
  catalog?: string;
}

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly callbacks: boolean;
  readonly getters: boolean;
  readonly locations: boolean;
  readonly importSource: string;
  /** Absolute path. */
  readonly root: string;
  readonly debug: boolean;
  readonly strip: boolean;
  /** Catalog file path as given (relative to `root`), or undefined. */
  readonly catalog: string | undefined;
}

type Kind = 'globs' | 'boolean' | 'string';
const SCHEMA: Record<keyof StepmarkOptions, Kind> = {
  include: 'globs',
  exclude: 'globs',
  callbacks: 'boolean',
  getters: 'boolean',
  locations: 'boolean',
  importSource: 'string',
  root: 'string',
  debug: 'boolean',
  strip: 'boolean',
  catalog: 'string',
};

/** Names of all options, in documentation order. */
export const OPTION_NAMES: readonly (keyof StepmarkOptions)[] = Object.keys(
  SCHEMA,
) as (keyof StepmarkOptions)[];

/** How {@link resolveOptions} reports where the options came from. */
export interface ResolveOptionsContext {
  /** Host name used in messages, e.g. `"stepmark/babel-plugin"`. */
  host?: string;
  /** Host-specific keys that are not stepmark options and must not be rejected (e.g. ts-patch's `transform`). */
  allow?: readonly string[];
  /**
   * Options of this plugin only, which the host validates itself (e.g. the esbuild plugin's
   * `prescan`): accepted here, and listed with the shared ones when a key is unknown.
   */
  hostOptions?: readonly string[];
}

/**
 * Validates raw plugin options and fills in defaults. Throws {@link StepmarkOptionsError}
 * naming the option for an unknown key or a value of the wrong type.
 *
 * @example
 * resolveOptions({ include: ['src/services/**'] }, { host: 'stepmark/babel-plugin' })
 * resolveOptions({ callback: true }) // throws: Invalid option "callback" … did you mean "callbacks"?
 */
export function resolveOptions(input: unknown, context: ResolveOptionsContext = {}): ResolvedOptions {
  const host = context.host ?? 'stepmark';
  const raw = optionsObject(input, host);
  const hostOptions = context.hostOptions ?? [];
  const allow = new Set([...(context.allow ?? []), ...hostOptions]);
  for (const key of Object.keys(raw)) {
    if (allow.has(key) || Object.hasOwn(SCHEMA, key)) continue;
    const valid = [...OPTION_NAMES, ...hostOptions];
    const guess = closest(key, valid);
    throw new StepmarkOptionsError(
      key,
      `${host}: Invalid option ${JSON.stringify(key)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}; ` +
        `valid options are ${valid.join(', ')}`,
    );
  }
  const value = <K extends keyof StepmarkOptions>(key: K): unknown => raw[key];
  const importSource = stringOption(host, 'importSource', value('importSource')) ?? DEFAULT_IMPORT_SOURCE;
  if (importSource === '')
    throw new StepmarkOptionsError('importSource', `${host}: option "importSource" must not be empty`);
  const root = stringOption(host, 'root', value('root'));
  return Object.freeze({
    include: Object.freeze(globsOption(host, 'include', value('include'))),
    exclude: Object.freeze(globsOption(host, 'exclude', value('exclude'))),
    callbacks: booleanOption(host, 'callbacks', value('callbacks'), false),
    getters: booleanOption(host, 'getters', value('getters'), false),
    locations: booleanOption(host, 'locations', value('locations'), true),
    importSource,
    root: resolve(root ?? process.cwd()),
    debug: booleanOption(host, 'debug', value('debug'), false),
    strip: booleanOption(host, 'strip', value('strip'), false),
    catalog: stringOption(host, 'catalog', value('catalog')) || undefined,
  });
}

/**
 * The options a plugin was given, as an object (`{}` for undefined or null), before it takes out
 * its own keys: anything else throws {@link StepmarkOptionsError} "options must be an object",
 * the same words from every plugin (taking keys out of a string would give "0", "1", …).
 */
export function optionsObject(input: unknown, host: string): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new StepmarkOptionsError('(options)', `${host}: options must be an object, got ${describe(input)}`);
  }
  return input as Record<string, unknown>;
}

function globsOption(host: string, name: string, v: unknown): string[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((g) => typeof g !== 'string' || g === '')) {
    throw new StepmarkOptionsError(
      name,
      `${host}: option ${JSON.stringify(name)} must be a glob string or an array of non-empty glob strings, got ${describe(v)}`,
    );
  }
  return [...list];
}

function booleanOption(host: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') {
    throw new StepmarkOptionsError(
      name,
      `${host}: option ${JSON.stringify(name)} must be true or false, got ${describe(v)}`,
    );
  }
  return v;
}

function stringOption(host: string, name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    throw new StepmarkOptionsError(
      name,
      `${host}: option ${JSON.stringify(name)} must be a string, got ${describe(v)}`,
    );
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array ${safeJson(v)}`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The candidate within edit distance 2 of `word` (case-insensitive), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Why a file is (or is not) instrumented as a whole. */
export type FileSelection =
  /** The file starts with `// @stepmark`. */
  | 'directive'
  /** The file matches `include` and not `exclude`. */
  | 'include'
  /** The file matches `include` but also `exclude`. */
  | 'excluded'
  /** Neither: only functions with their own `@stepmark` comment are instrumented (and explicit calls rewritten). */
  | 'none';

/**
 * Decides whether every eligible function of a file is instrumented. A file's own
 * `// @stepmark` comment wins over `exclude`; `include` marks files without a comment.
 *
 * @param relativePath the file's path relative to `options.root`, POSIX separators
 *   (see {@link projectRelativePath}).
 */
export function selectFile(
  relativePath: string,
  hasFileDirective: boolean,
  options: ResolvedOptions,
): FileSelection {
  if (hasFileDirective) return 'directive';
  if (options.include.length === 0 || !matchesAnyGlob(relativePath, options.include)) return 'none';
  return matchesAnyGlob(relativePath, options.exclude) ? 'excluded' : 'include';
}

/** Whether a {@link FileSelection} means "instrument every eligible function". */
export function selectsWholeFile(selection: FileSelection): boolean {
  return selection === 'directive' || selection === 'include';
}
