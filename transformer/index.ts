/**
 * `stepmark/transformer`: the TypeScript custom transformer — a ts-patch plugin
 * (`{ "transform": "stepmark/transformer" }` in tsconfig.json `compilerOptions.plugins`), a
 * `before` transformer for `program.emit` / `ts.transpileModule` / ts-loader, and a ts-jest
 * `astTransformers` module. See docs/TRANSFORMER.md.
 */
export type { StepmarkOptions } from '../instrument/options.js';
export type { TransformerConfig, TransformerExtras } from './plugin.js';
export { DIAGNOSTIC_CODE, default, default as stepmarkTransformer } from './plugin.js';
export { factory, name, type TsJestCompiler, version } from './ts-jest.js';
