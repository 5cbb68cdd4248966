/**
 * Shared helpers for the transformer tests: compile with the real TypeScript compilers (6.0 and
 * 5.9) through the transformer, write the output next to the package so `stepmark` resolves by
 * self-reference, and import it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts6 from 'typescript';
import ts5 from 'typescript-5';
import stepmarkTransformer, { type TransformerConfig } from '../../transformer/index.js';
import { SCRATCH_ROOT } from '../support/scratch.js';

export type TypeScript = typeof ts6;

/** The compilers the transformer supports, by label. */
export const compilers: Record<string, TypeScript> = {
  'typescript 6': ts6,
  'typescript 5.9': ts5 as unknown as TypeScript,
};

export const ROOT = join(import.meta.dirname, '..', '..');
export const OUTPUT = join(SCRATCH_ROOT, 'transformer');

export interface TranspileOptions {
  ts?: TypeScript;
  fileName?: string;
  compilerOptions?: ts6.CompilerOptions;
  options?: TransformerConfig;
}

/** `ts.transpileModule` with the transformer as a `before` transformer; `root` defaults to the repo. */
export function transpile(source: string, o: TranspileOptions = {}): { code: string; map?: string } {
  const ts = o.ts ?? ts6;
  const out = ts.transpileModule(source, {
    fileName: o.fileName ?? join(ROOT, 'src', 'example.ts'),
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      ...o.compilerOptions,
    },
    transformers: { before: [stepmarkTransformer(undefined, { root: ROOT, ...o.options }, { ts })] },
  });
  return { code: out.outputText, map: out.sourceMapText };
}

/** The same without the transformer (the baseline a test compares behaviour with). */
export function transpilePlain(source: string, o: TranspileOptions = {}): string {
  const ts = o.ts ?? ts6;
  return ts.transpileModule(source, {
    fileName: o.fileName ?? join(ROOT, 'src', 'example.ts'),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, ...o.compilerOptions },
  }).outputText;
}

let counter = 0;

/** Writes `code` into the run's scratch folder and imports it (a fresh module every call). */
export async function load(code: string, ext: '.mjs' | '.cjs', label = 'mod'): Promise<Record<string, any>> {
  const file = join(OUTPUT, 'run', `${label}-${process.pid}-${counter++}${ext}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  return import(pathToFileURL(file).href);
}

/**
 * Compiles one corpus fixture (`.ts` or `.js`) the way a TypeScript project would, with the
 * transformer (`options`) or without it (`null`), returning the code and its source map.
 */
export function transpileFixture(
  source: string,
  filename: string,
  o: { ts: TypeScript; options: TransformerConfig | null; compilerOptions: ts6.CompilerOptions },
): { code: string; map?: string } {
  const { ts } = o;
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { allowJs: true, sourceMap: true, esModuleInterop: true, ...o.compilerOptions },
    transformers: o.options ? { before: [stepmarkTransformer(undefined, o.options, { ts })] } : undefined,
  });
  // The harness inlines the map itself.
  return { code: out.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'), map: out.sourceMapText };
}
