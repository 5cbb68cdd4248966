/**
 * The oxc-based instrumentation shared by `stepmark/esbuild-plugin` and `stepmark/vite`:
 * parse with oxc-parser, decide with the shared rules (`instrument/`), emit docs/ABI.md's code
 * as string edits with magic-string, return the code and a source map (exact at every AST node
 * start: each token a stack trace or breakpoint can point at).
 *
 * The heavy dependencies (oxc-parser, magic-string; optional peer dependencies of stepmark) are
 * loaded once by {@link loadToolchain}, so the transform itself is synchronous.
 */

import { basename, sep } from 'node:path';
import type MagicStringType from 'magic-string';
import type { SourceMap } from 'magic-string';
import type { FileCatalog } from '../../instrument/catalog.js';
import { runtimeImportCjs, runtimeImportEsm, usesCommonJs } from '../../instrument/constants.js';
import { StepmarkDirectiveError } from '../../instrument/errors.js';
import { analyze } from '../../instrument/estree/analyze.js';
import { type Comment, firstStatementOffset, type Node, prologueEnd } from '../../instrument/estree/ast.js';
import { catalogOf } from '../../instrument/estree/catalog.js';
import { DirectiveIndex } from '../../instrument/estree/directives.js';
import { planStrip } from '../../instrument/estree/strip.js';
import { matchesAnyGlob } from '../../instrument/glob.js';
import { formatLocation, LineIndex, projectRelativePath } from '../../instrument/locations.js';
import type { ResolvedOptions } from '../../instrument/options.js';
import { selectFile, selectsWholeFile } from '../../instrument/options.js';
import { emitFrames } from './emit.js';
import { emitStrip } from './strip.js';

/** What oxc-parser reports about a module's imports and exports (the part read here). */
interface ModuleInfo {
  readonly hasModuleSyntax: boolean;
  readonly staticImports: readonly { readonly moduleRequest: { readonly value: string } }[];
}

/** The parser and string editor, loaded lazily (they are optional peer dependencies). */
export interface Toolchain {
  readonly parseSync: (
    filename: string,
    source: string,
    options: Record<string, unknown>,
  ) => {
    program: unknown;
    comments: unknown;
    errors: readonly { message: string; labels: readonly { start: number; end: number }[] }[];
    module: ModuleInfo;
  };
  readonly visitorKeys: Readonly<Record<string, readonly string[]>>;
  readonly MagicString: typeof MagicStringType;
  readonly rawTransfer: boolean;
}

let toolchain: Promise<Toolchain> | undefined;

/** Loads oxc-parser and magic-string once, with a message that says what to install when missing. */
export function loadToolchain(host: string): Promise<Toolchain> {
  toolchain ??= (async () => {
    try {
      const [oxc, ms] = await Promise.all([import('oxc-parser'), import('magic-string')]);
      const tools = toolchainOf(oxc as unknown as OxcParser, ms);
      const parseSync = tools.rawTransfer && (await unwrappedParser(tools.parseSync));
      return parseSync ? { ...tools, parseSync } : tools;
    } catch (error) {
      toolchain = undefined;
      throw missingToolchain(host, error);
    }
  })();
  return toolchain;
}

/** What {@link toolchainOf} reads of the oxc-parser module. */
export interface OxcParser {
  readonly parseSync: Toolchain['parseSync'];
  readonly visitorKeys: Toolchain['visitorKeys'];
  rawTransferSupported(): boolean;
}

/** The toolchain from the loaded oxc-parser and magic-string modules (ESM or through CommonJS interop). */
export function toolchainOf(oxc: OxcParser, magicString: unknown): Toolchain {
  return {
    parseSync: oxc.parseSync,
    visitorKeys: oxc.visitorKeys,
    MagicString: defaultExport(magicString) as typeof MagicStringType,
    rawTransfer: oxc.rawTransferSupported(),
  };
}

/** The error for a host that cannot load the toolchain: what to install. */
export function missingToolchain(host: string, cause: unknown): Error {
  return new Error(
    `${host} needs the packages "oxc-parser" and "magic-string" (optional peer dependencies of stepmark): ` +
      `install them with \`npm install -D oxc-parser magic-string\`. Cause: ${(cause as Error).message}`,
  );
}

/** The parts of oxc-parser's raw transfer that {@link unwrappedParser} calls (oxc-parser/src-js/…). */
interface RawTransferParts {
  parseSyncRawImpl(
    filename: string,
    source: string,
    options: Record<string, unknown>,
    convert: (buffer: Uint8Array, source: string, start: number, length: number) => unknown,
  ): unknown;
  returnBufferToCache(buffer: Uint8Array): void;
  isJsAst(buffer: Uint8Array): boolean;
}

type Deserialize = (buffer: Uint8Array, source: string, start: number, length: number) => RawData;
interface RawData {
  program: { hashbang?: { value: string; start: number; end: number } | null };
  comments: { type: string; value: string; start: number; end: number }[];
}

/** Sample files the self-check parses both ways: TypeScript with comments and imports; JavaScript with a hashbang. */
const SELF_CHECK = [
  [
    'check.ts',
    'ts',
    '// @stepmark\nimport { step } from "stepmark";\nexport async function f(a: number): Promise<number> { /* c */ step("x"); return await g(a as number); }\n',
  ],
  [
    'check.js',
    'js',
    '#!/usr/bin/env node\n"use strict";\nconst s = require("stepmark"); // c\nmodule.exports = function* g() { yield 1; };\n',
  ],
] as const;

/**
 * oxc-parser's `parseSync` (raw transfer) without the object it wraps each result in. That
 * wrapper is an object literal whose getters close over the whole result. Measured here (Node 24),
 * results handed out through such an object stayed alive through V8's young-generation
 * collections: each file's tree was promoted to the old generation, ~13 MB survived every
 * scavenge, and scavenges took ~20 ms instead of under 1. Without it the transform's sustained
 * CPU per file fell by ~40%. This runs the same steps as oxc-parser's `parseSyncRaw`
 * (`src-js/raw-transfer/eager.js`), through entry points its package exports, and returns the
 * plain result. A self-check compares it with `parseSync` on sample files once; on any
 * difference, a missing part or an error it returns undefined and the caller keeps `parseSync`.
 */
export async function unwrappedParser(
  parseSync: Toolchain['parseSync'],
): Promise<Toolchain['parseSync'] | undefined> {
  try {
    const dir = 'oxc-parser/src-js/';
    const [common, ts, js] = (await Promise.all([
      import(`${dir}raw-transfer/common`),
      import(`${dir}generated/deserialize/ts`),
      import(`${dir}generated/deserialize/js`),
    ])) as [RawTransferParts, { deserialize: Deserialize }, { deserialize: Deserialize }];
    const { parseSyncRawImpl, returnBufferToCache, isJsAst } = common;
    if (
      typeof parseSyncRawImpl !== 'function' ||
      typeof returnBufferToCache !== 'function' ||
      typeof isJsAst !== 'function' ||
      typeof ts.deserialize !== 'function' ||
      typeof js.deserialize !== 'function'
    ) {
      return undefined;
    }
    const convert = (buffer: Uint8Array, source: string, start: number, length: number): RawData => {
      const isJs = isJsAst(buffer);
      const data = (isJs ? js.deserialize : ts.deserialize)(buffer, source, start, length);
      if (isJs) {
        // as eager.js does: the hashbang is reported as the first line comment
        const hashbang = data.program.hashbang;
        if (hashbang)
          data.comments.unshift({
            type: 'Line',
            value: hashbang.value,
            start: hashbang.start,
            end: hashbang.end,
          });
      }
      returnBufferToCache(buffer);
      return data;
    };
    const parse: Toolchain['parseSync'] = (filename, source, options) =>
      parseSyncRawImpl(filename, source, options, convert) as ReturnType<Toolchain['parseSync']>;
    for (const [name, lang, text] of SELF_CHECK) {
      const options = { lang, sourceType: 'unambiguous', experimentalRawTransfer: true };
      const a = parse(name, text, options);
      const b = parseSync(name, text, options);
      const shape = (r: ReturnType<Toolchain['parseSync']>) =>
        JSON.stringify([r.program, r.comments, r.module, r.errors]);
      if (shape(a) !== shape(b)) return undefined;
    }
    return parse;
  } catch {
    return undefined;
  }
}

/** The class a module exports as default, whether loaded as ESM or through CommonJS interop. */
function defaultExport(mod: unknown): unknown {
  let value = mod;
  for (let i = 0; i < 3 && typeof value !== 'function' && value; i++)
    value = (value as { default?: unknown }).default;
  return value;
}

/** The language oxc parses a file as: esbuild's loader names. */
export type SourceLanguage = 'ts' | 'tsx' | 'js' | 'jsx';

/** The language of a file from its extension (`.mts`/`.cts` → ts, `.mjs`/`.cjs` → js), or undefined. */
export function languageOf(filename: string): SourceLanguage | undefined {
  const dot = filename.lastIndexOf('.');
  switch (filename.slice(dot + 1)) {
    case 'ts':
    case 'mts':
    case 'cts':
      return 'ts';
    case 'tsx':
      return 'tsx';
    case 'js':
    case 'mjs':
    case 'cjs':
      return 'js';
    case 'jsx':
      return 'jsx';
    default:
      return undefined;
  }
}

/**
 * The cheap text check: a file that mentions neither `@stepmark` nor the import source (and is
 * not selected by `include`) cannot need any change, and is not parsed.
 */
export function mayNeedWork(source: string, relativePath: string, options: ResolvedOptions): boolean {
  if (source.includes(options.importSource) || source.includes('@stepmark')) return true;
  return isIncluded(relativePath, options);
}

/**
 * Whether a file under `node_modules` is to be looked at: only when an `include` pattern that
 * names `node_modules` selects it (a broad `**\/*.ts` is not meant to reach into dependencies).
 */
export function isIncludedDependency(relativePath: string, options: ResolvedOptions): boolean {
  const patterns = options.include.filter((p) => p.includes('node_modules'));
  return (
    patterns.length > 0 &&
    matchesAnyGlob(relativePath, patterns) &&
    !matchesAnyGlob(relativePath, options.exclude)
  );
}

/** Whether a file is a dependency (under `node_modules`) that no `include` pattern names: left alone. */
export function isExcludedDependency(
  filename: string,
  options: ResolvedOptions,
  relativePath: () => string,
): boolean {
  return (
    (filename.includes('/node_modules/') || filename.includes('\\node_modules\\')) &&
    !isIncludedDependency(relativePath(), options)
  );
}

/** Whether `include` (and not `exclude`) selects a file by its project-relative path. */
export function isIncluded(relativePath: string, options: ResolvedOptions): boolean {
  return options.include.length > 0 && selectsWholeFile(selectFile(relativePath, false, options));
}

export interface TransformResult {
  readonly code: string;
  /** Hi-res source map to the original text (undefined when not asked for). */
  readonly map: SourceMap | undefined;
  /** Number of functions wrapped. */
  readonly frames: number;
  /** Number of explicit calls rewritten (removed with `strip`). */
  readonly calls: number;
  /**
   * This file's part of the stage catalog (docs/CATALOG.md), worked out when called. A method, not
   * a getter: V8 keeps what an object literal's accessors close over (here the whole AST) alive
   * through young-generation collections, which tripled the garbage collector's work per file.
   */
  catalog(): FileCatalog;
}

/** The `debug` line for a transformed file. */
export function transformSummary(file: string, out: TransformResult): string {
  return `[stepmark] ${file}: ${out.frames} function(s) instrumented, ${out.calls} call(s) rewritten\n`;
}

/**
 * The inline source map comment, spelled in two pieces: tools that strip source map comments
 * from modules they load (Vite, Vitest) would otherwise cut this line out of stepmark itself.
 */
const SOURCE_MAPPING_URL = ['//#', 'sourceMappingURL='].join(' ');

/** The transformed code with its source map inline (for hosts that take code only: esbuild's `onLoad`, Node's loaders). */
export function withInlineSourceMap(out: TransformResult, filename: string): string {
  if (!out.map) return out.code;
  out.map.sources = [basename(filename)];
  // Buffer's native base64 (magic-string's toUrl goes through btoa(unescape(encodeURIComponent())).
  const url = `data:application/json;charset=utf-8;base64,${Buffer.from(out.map.toString()).toString('base64')}`;
  return `${out.code}\n${SOURCE_MAPPING_URL}${url}\n`;
}

/** Why a file was left unchanged (for the `debug` option). */
export type SkipReason = 'no-marker' | 'nothing-selected' | 'parse-error';

export class StepmarkParseError extends Error {
  override name = 'StepmarkParseError';
  /** Offset of the first error in the source, when oxc gives one. */
  readonly offset: number | undefined;
  constructor(message: string, offset: number | undefined) {
    super(message);
    this.offset = offset;
  }
}

/**
 * Instruments one file. Returns `undefined` when nothing changed. Throws
 * {@link StepmarkDirectiveError} for a bad directive and {@link StepmarkParseError} when oxc
 * cannot parse the file.
 */
export function transform(
  tools: Toolchain,
  source: string,
  filename: string,
  language: SourceLanguage,
  options: ResolvedOptions,
  sourceMap = true,
): TransformResult | undefined {
  const relativePath = relativeToRoot(filename, options.root);
  const parsed = tools.parseSync(filename, source, {
    lang: language,
    sourceType: sourceTypeOf(filename),
    experimentalRawTransfer: tools.rawTransfer,
  });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0]!;
    throw new StepmarkParseError(e.message, e.labels[0]?.start);
  }
  const program = parsed.program as Node;
  const comments = parsed.comments as Comment[];
  const directives = DirectiveIndex.build(source, comments, firstStatementOffset(program));
  const selection = selectFile(relativePath, directives.fileMarked, options);
  // Mentions "stepmark" only in text (no marker, no directive, no import of it): nothing to walk.
  if (
    !selectsWholeFile(selection) &&
    directives.isEmpty &&
    !importsSource(parsed.module, options.importSource, source)
  ) {
    return undefined;
  }
  // Source map resolution: every node start (each token a stack trace, a breakpoint or a bundler's
  // own map can point at) plus each line start, instead of every character or word: the map is
  // as exact where it matters and several times cheaper to build (the map dominated the cost).
  const nodeStarts = sourceMap ? ([] as number[]) : undefined;
  const analysis = analyze(
    program,
    source,
    directives,
    {
      wholeFile: selectsWholeFile(selection),
      callbacks: options.callbacks,
      getters: options.getters,
      importSource: options.importSource,
    },
    tools.visitorKeys,
    nodeStarts,
  );
  if (analysis.frames.length === 0 && analysis.calls.length === 0 && !options.strip) return undefined;

  const ms = new tools.MagicString(source);
  if (nodeStarts) for (let i = 0; i < nodeStarts.length; i++) ms.addSourcemapLocation(nodeStarts[i]!);
  let lines: LineIndex | undefined;
  // computed when asked for (catalog option, parity tests), not on every transform
  const catalog = (): FileCatalog =>
    catalogOf(analysis, relativePath, {
      program,
      importSource: options.importSource,
      visitorKeys: tools.visitorKeys,
      locate: (offset) => (lines ??= new LineIndex(source)).locate(offset),
    });
  if (options.strip) {
    const plan = planStrip(program, analysis, options.importSource, tools.visitorKeys);
    emitStrip(ms, program, plan);
    if (!ms.hasChanged()) return undefined;
    return {
      code: ms.toString(),
      map: sourceMap ? ms.generateMap({ source: filename, includeContent: true }) : undefined,
      frames: 0,
      calls: plan.calls.length,
      catalog,
    };
  }
  emitFrames(ms, source, analysis, {
    location: options.locations
      ? (offset) => {
          lines ??= new LineIndex(source);
          const { line, column } = lines.locate(offset);
          return formatLocation(relativePath, line, column);
        }
      : () => undefined,
  });
  const esm = parsed.module.hasModuleSyntax || isModuleFile(filename) || !looksCommonJs(filename, source);
  const runtimeImport = esm ? runtimeImportEsm(options.importSource) : runtimeImportCjs(options.importSource);
  ms.prependRight(importOffset(program), runtimeImport);
  return {
    code: ms.toString(),
    map: sourceMap ? ms.generateMap({ source: filename, includeContent: true }) : undefined,
    frames: analysis.frames.length,
    calls: analysis.calls.length,
    catalog,
  };
}

/**
 * Whether the file may bind the import source: an ESM import of it, or (CommonJS, TS
 * `import x = require()`) a `require` of it somewhere in the text.
 */
function importsSource(module: ModuleInfo, importSource: string, text: string): boolean {
  for (const i of module.staticImports) if (i.moduleRequest.value === importSource) return true;
  return text.includes('require');
}

/**
 * {@link projectRelativePath} with a fast path for the usual case, a file under the root
 * (`path.relative` normalises both paths on every call, a measurable cost per file).
 */
export function relativeToRoot(filename: string, root: string): string {
  if (sep === '/' && filename.startsWith(root) && filename.charCodeAt(root.length) === 47 /* / */) {
    const rest = filename.slice(root.length + 1);
    if (!rest.includes('/.')) return rest; // no `.`/`..` segments to normalise
  }
  return projectRelativePath(filename, root);
}

/** Where the runtime import goes: before the first statement after the directive prologue. */
function importOffset(program: Node): number {
  const body = program.body as Node[];
  const i = prologueEnd(program);
  if (i < body.length) return body[i]!.start;
  return i > 0 ? body[i - 1]!.end : program.end;
}

function sourceTypeOf(filename: string): 'module' | 'commonjs' | 'unambiguous' {
  if (isModuleFile(filename)) return 'module';
  if (/\.c[jt]s$/.test(filename)) return 'commonjs';
  return 'unambiguous';
}

function isModuleFile(filename: string): boolean {
  return /\.m[jt]s$/.test(filename);
}

/** A file without import/export syntax that uses CommonJS gets the `require` form of the runtime import. */
function looksCommonJs(filename: string, source: string): boolean {
  return /\.c[jt]s$/.test(filename) || usesCommonJs(source);
}

export { StepmarkDirectiveError };
