/**
 * The host-independent core shared by every stepmark build plugin (Babel plugin, TypeScript
 * transformer, esbuild plugin). It decides *what* is instrumented and *what it is called*; each
 * plugin only speaks its own AST or host API. Nothing here depends on a parser.
 *
 * - options: the one options schema, validated with messages that name the option
 * - directives: `// @stepmark`, `/** @stepmark entity=… kind=… *\/`, `// @stepmark-ignore`
 * - sites: whether a function gets a frame and what its `enter` call says (docs/NAMING.md §3, docs/ABI.md)
 * - layout: where the frame puts each statement of an instrumented body (docs/ABI.md)
 * - naming: names of functions from a host-neutral description (docs/NAMING.md)
 * - locations: `path:line:col` strings and offset → line/column conversion
 * - constants: the fixed identifiers and strings of the emitted code (docs/ABI.md)
 *
 * Not re-exported here: catalog.ts and strip.ts (stage catalog, strip mode), and estree/, the
 * analysis of ESTree-shaped ASTs that the esbuild plugin (oxc's AST) and the Babel plugin share.
 */
export * from './constants.js';
export * from './directives.js';
export * from './errors.js';
export * from './glob.js';
export * from './layout.js';
export * from './locations.js';
export * from './naming.js';
export * from './options.js';
export * from './sites.js';
