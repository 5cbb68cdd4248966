/**
 * The shape ts-jest's `astTransformers` expects of a transformer module: `name`, `version` (part
 * of Jest's cache key: bump it whenever the emitted code changes) and `factory(compiler, options)`.
 *
 *   transform: { '^.+\\.tsx?$': ['ts-jest', { astTransformers: { before: ['stepmark/transformer'] } }] }
 */
import type * as TS from 'typescript';
import { ABI_VERSION } from '../instrument/constants.js';
import { createTransformer, type TransformerConfig } from './plugin.js';

export const name = 'stepmark/transformer';

/** ABI version and revision of what this transformer emits. */
export const version = `abi${ABI_VERSION}.1`;

/** What this module needs of ts-jest's compiler instance. */
export interface TsJestCompiler {
  readonly configSet: { readonly compilerModule: typeof TS };
  readonly program?: TS.Program;
}

/** ts-jest entry: its own TypeScript, its program when it has one (not under `isolatedModules`). */
export function factory(
  compiler: TsJestCompiler,
  options?: TransformerConfig,
): TS.TransformerFactory<TS.SourceFile> {
  return createTransformer(
    compiler.program,
    options,
    { ts: compiler.configSet.compilerModule },
    "the Jest config (ts-jest's astTransformers)",
  );
}
