import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type * as TS from 'typescript';
import { catalogWriter } from '../instrument/catalog.js';
import { StepmarkBuildError } from '../instrument/errors.js';
import { projectRelativePath } from '../instrument/locations.js';
import {
  type ResolvedOptions,
  resolveOptions,
  type StepmarkOptions,
  selectFile,
  selectsWholeFile,
} from '../instrument/options.js';
import { unsupportedModuleKind } from './module-format.js';
import { instrumentSourceFile } from './visitor.js';

/** Code of the diagnostics stepmark reports (`error TS99001: …`). */
export const DIAGNOSTIC_CODE = 99001;

const HOST = 'stepmark/transformer';

/** Source files this module returned, so a second stepmark entry in the same pipeline skips them. */
const produced = new WeakSet<TS.SourceFile>();

/**
 * Keys ts-patch (v3 and v4) leaves in the plugin entry it passes on, and keys it consumes itself.
 * They are not stepmark options and must not be rejected as unknown.
 */
const HOST_KEYS = [
  'transform',
  'after',
  'afterDeclarations',
  'type',
  'import',
  'name',
  'tsConfig',
  'resolvePathAliases',
  'isEsm',
  'transformProgram',
];

/** The plugin entry from `tsconfig.json`: `{ "transform": "stepmark/transformer", ...options }`. */
export type TransformerConfig = StepmarkOptions & Record<string, unknown>;

/** What ts-patch passes as the third argument (a subset; everything is optional for manual use). */
export interface TransformerExtras {
  /** The TypeScript instance compiling the program. Defaults to `typescript` resolved from the working directory. */
  readonly ts?: typeof TS;
  /** ts-patch: reports a diagnostic the way the compiler reports its own errors. */
  readonly addDiagnostic?: (diagnostic: TS.Diagnostic) => unknown;
}

/**
 * The stepmark TypeScript transformer, in ts-patch's `program` plugin shape: add
 * `{ "transform": "stepmark/transformer" }` to `compilerOptions.plugins` and build with `tspc`.
 *
 * Also callable directly: pass the result as a `before` transformer to `program.emit`,
 * `ts.transpileModule`, or from ts-loader / ts-jest `getCustomTransformers`.
 * Problems in the options or in `@stepmark` comments go to `extras.addDiagnostic` when the host
 * provides it (ts-patch does) and are thrown as errors naming `file:line:col` otherwise.
 *
 * @example
 * ts.transpileModule(source, {
 *   fileName: 'src/order.ts',
 *   transformers: { before: [stepmarkTransformer(undefined, { include: ['src/**'] }, { ts })] },
 * });
 */
export default function stepmarkTransformer(
  program?: TS.Program,
  config?: TransformerConfig,
  extras?: TransformerExtras,
): TS.TransformerFactory<TS.SourceFile> {
  return createTransformer(program, config, extras);
}

/**
 * The transformer, told where its options were written (`optionsFrom`) when the caller knows:
 * ts-jest's entry does. Otherwise a host that reports diagnostics is ts-patch, whose options come
 * from tsconfig.json; any other caller passed them in code, and no place is named.
 */
export function createTransformer(
  program: TS.Program | undefined,
  config: TransformerConfig | undefined,
  extras: TransformerExtras | undefined,
  optionsFrom?: string,
): TS.TransformerFactory<TS.SourceFile> {
  const ts = supportedTypeScript(extras?.ts ?? loadTypeScript());
  const report = extras?.addDiagnostic;
  const configPath = program?.getCompilerOptions().configFilePath;
  const configFile = typeof configPath === 'string' ? configPath : undefined;
  const where = optionsFrom ?? (report && configFile && `${configFile} (compilerOptions.plugins)`);
  let options: ResolvedOptions;
  try {
    options = resolveOptions(relativeRoot(config, configFile), { host: HOST, allow: HOST_KEYS });
  } catch (error) {
    const message = where && error instanceof Error ? `${error.message} — fix it in ${where}` : undefined;
    if (!report || !message) throw message ? Object.assign(error as Error, { message }) : error;
    report(globalDiagnostic(ts, message));
    return () => (sourceFile) => sourceFile;
  }
  if (program) warnUnmatchedInclude(program, options);
  return (context) => {
    const compilerOptions = context.getCompilerOptions();
    const unsupported = unsupportedModuleKind(ts, compilerOptions);
    return (sourceFile) => {
      // Declarations carry no code; a file this transformer already produced (listed twice) is done.
      if (sourceFile.isDeclarationFile || produced.has(sourceFile)) return sourceFile;
      try {
        if (unsupported) {
          throw new StepmarkBuildError(
            'ERR_STEPMARK_INVALID_OPTION',
            `${HOST}: module "${unsupported}" is not supported; use CommonJS, an ES module kind, Node16/NodeNext or Preserve`,
          );
        }
        const { file, report: done } = instrumentSourceFile(ts, context, sourceFile, options);
        if (options.debug) debugLog(done);
        if (options.catalog !== undefined) catalogWriter(options.catalog, options.root).set(done.catalog);
        if (file !== sourceFile) produced.add(file);
        return file;
      } catch (error) {
        if (!(error instanceof StepmarkBuildError)) throw error;
        const diagnostic = fileDiagnostic(ts, sourceFile, error);
        if (!report)
          throw new StepmarkBuildError(
            error.code,
            formatDiagnostic(ts, diagnostic),
            error.offset,
            error.length,
          );
        report(diagnostic);
        return sourceFile;
      }
    };
  };
}

/**
 * Off by accident must not be silent: an `include` that selects no source file of the program is
 * most likely a wrong `root` or pattern (the esbuild plugin and the bundlers say the same when a
 * build ends). Only with a program, which lists every file up front: `transpileModule`, ts-jest
 * and ts-loader's transpile-only mode see one file at a time.
 */
function warnUnmatchedInclude(program: TS.Program, options: ResolvedOptions): void {
  if (options.include.length === 0) return;
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile) continue;
    const path = projectRelativePath(file.fileName, options.root);
    if (selectsWholeFile(selectFile(path, false, options))) return;
  }
  process.stderr.write(
    `[stepmark] ${HOST}: warning: include ${JSON.stringify(options.include)} matched no file of this program ` +
      `(patterns are relative to root ${JSON.stringify(options.root)})\n`,
  );
}

/** `root` in tsconfig.json is relative to that file, not to the working directory. */
function relativeRoot(config: TransformerConfig | undefined, configFile: string | undefined): unknown {
  if (!config || typeof config.root !== 'string' || isAbsolute(config.root) || !configFile) return config;
  return { ...config, root: resolve(dirname(configFile), config.root) };
}

function loadTypeScript(): unknown {
  return createRequire(join(process.cwd(), 'package.json'))('typescript');
}

/** The TypeScript versions whose transformer API this transformer uses (`scanner.getTokenFullStart`, the node factory). */
export const SUPPORTED_TYPESCRIPT = 'TypeScript 5.0 to 6.x';

/**
 * `ts` if this transformer can run under it; otherwise fails at once, naming the supported
 * versions, instead of failing later inside a file with a TypeError. TypeScript 7, the native
 * compiler, has no JavaScript compiler API (its `typescript` module exports only `version` and
 * `versionMajorMinor`); TypeScript 4 lacks APIs the transformer calls.
 */
function supportedTypeScript(ts: unknown): typeof TS {
  const api = ts as Partial<typeof TS> | undefined;
  const version = typeof api?.version === 'string' ? api.version : undefined;
  const which = version ? `TypeScript ${version}` : 'the given TypeScript module';
  const major = version ? Number.parseInt(version, 10) : Number.NaN;
  const hasApi = typeof api?.visitEachChild === 'function' && typeof api.factory === 'object';
  if (hasApi && major >= 5 && major < 7) return api as typeof TS;
  const instead =
    !hasApi || major >= 7
      ? `${which} has no transformer API (TypeScript 7, the native compiler, has none). ` +
        'Instrument with stepmark/esbuild-plugin, stepmark/vite or stepmark/babel-plugin instead, ' +
        'and keep tsc for type checking (docs/TRANSFORMER.md, "TypeScript 7").'
      : `this is ${which}. Upgrade TypeScript, or instrument with stepmark/esbuild-plugin, ` +
        'stepmark/vite or stepmark/babel-plugin (docs/TRANSFORMER.md).';
  throw new StepmarkBuildError(
    'ERR_STEPMARK_UNSUPPORTED_TYPESCRIPT',
    `${HOST} supports ${SUPPORTED_TYPESCRIPT}; ${instead}`,
  );
}

function globalDiagnostic(ts: typeof TS, message: string): TS.Diagnostic {
  return {
    category: ts.DiagnosticCategory.Error,
    code: DIAGNOSTIC_CODE,
    file: undefined,
    start: undefined,
    length: undefined,
    messageText: message,
    source: 'stepmark',
  };
}

function fileDiagnostic(ts: typeof TS, sourceFile: TS.SourceFile, error: StepmarkBuildError): TS.Diagnostic {
  return {
    category: ts.DiagnosticCategory.Error,
    code: DIAGNOSTIC_CODE,
    file: sourceFile,
    start: error.offset,
    length: error.length,
    messageText: error.message,
    source: 'stepmark',
  };
}

/** `file:line:col: message`, for hosts that take no diagnostics. */
function formatDiagnostic(ts: typeof TS, d: TS.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (!d.file || d.start === undefined) return message;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${d.file.fileName}:${line + 1}:${character + 1}: ${message}`;
}

function debugLog(report: ReturnType<typeof instrumentSourceFile>['report']): void {
  const skipped = report.skipped.map((s) => `${s.name} (${s.reason})`).join(', ');
  process.stderr.write(
    `[stepmark] ${report.file}: ${report.selection}; instrumented ${report.instrumented.length}` +
      `${report.instrumented.length ? ` [${report.instrumented.join(', ')}]` : ''}` +
      `; rewrote ${report.rewrittenCalls} call(s)${skipped ? `; skipped ${skipped}` : ''}\n`,
  );
}
