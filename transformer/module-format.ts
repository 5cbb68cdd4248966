import type * as TS from 'typescript';

/**
 * Whether TypeScript will emit `sourceFile` as CommonJS.
 *
 * Decides which runtime import the file gets (docs/ABI.md). It has to be decided here, before
 * TypeScript's module transform: that transform rewrites references to imports it found while
 * type checking, and an identifier we synthesise was never seen by the checker, so an ESM import
 * we add would become `const runtime_1 = require(...)` while our `__stepmark` references stayed
 * unbound. CommonJS output therefore gets the ABI's `require(...).abi(1)` form directly.
 */
export function emitsCommonJs(
  ts: typeof TS,
  sourceFile: TS.SourceFile,
  options: TS.CompilerOptions,
): boolean {
  const internal = ts as unknown as {
    getEmitModuleFormatOfFileWorker?: (sf: TS.SourceFile, o: TS.CompilerOptions) => TS.ModuleKind;
  };
  // The compiler's own answer when this version exposes it (5.x and 6.x do, as an internal).
  if (typeof internal.getEmitModuleFormatOfFileWorker === 'function') {
    return isCommonJsKind(ts, internal.getEmitModuleFormatOfFileWorker(sourceFile, options));
  }
  const kind = moduleKindOf(ts, options);
  if (kind >= ts.ModuleKind.Node16 && kind <= ts.ModuleKind.NodeNext) {
    return sourceFile.impliedNodeFormat !== ts.ModuleKind.ESNext;
  }
  return isCommonJsKind(ts, kind);
}

function isCommonJsKind(ts: typeof TS, kind: TS.ModuleKind): boolean {
  return kind === ts.ModuleKind.CommonJS || kind === ts.ModuleKind.UMD || kind === ts.ModuleKind.None;
}

/** `compilerOptions.module` with TypeScript's default (derived from `target`) filled in. */
export function moduleKindOf(ts: typeof TS, options: TS.CompilerOptions): TS.ModuleKind {
  if (typeof options.module === 'number') return options.module;
  const target = options.target ?? ts.ScriptTarget.ES2015;
  if (target === ts.ScriptTarget.ESNext) return ts.ModuleKind.ESNext;
  if (target >= ts.ScriptTarget.ES2022) return ts.ModuleKind.ES2022;
  if (target >= ts.ScriptTarget.ES2020) return ts.ModuleKind.ES2020;
  if (target >= ts.ScriptTarget.ES2015) return ts.ModuleKind.ES2015;
  return ts.ModuleKind.CommonJS;
}

/** AMD and SystemJS load dependencies asynchronously: neither ABI import form works there. */
export function unsupportedModuleKind(ts: typeof TS, options: TS.CompilerOptions): string | undefined {
  const kind = moduleKindOf(ts, options);
  if (kind === ts.ModuleKind.AMD) return 'AMD';
  if (kind === ts.ModuleKind.System) return 'System';
  return undefined;
}
