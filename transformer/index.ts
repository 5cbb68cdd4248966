/**
 * `stepmark/transformer`: the TypeScript custom transformer (ts-patch plugin and programmatic).
 * See docs/TRANSFORMER.md.
 */
export type { StepmarkOptions } from '../instrument/options.js';
export type { TransformerConfig, TransformerExtras } from './plugin.js';
export { DIAGNOSTIC_CODE, default, default as stepmarkTransformer } from './plugin.js';
