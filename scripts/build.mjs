// Builds every public entry point as ESM (.js) + CommonJS (.cjs) with type
// declarations (.d.ts / .d.cts). The list of entries is the single source of
// truth for package.json "exports" (checked by scripts/check-exports.mjs).
// An entry whose source file does not exist yet is skipped, so a part can be
// added by creating its folder and listing it here once.
import { existsSync } from 'node:fs';
import { build } from 'tsup';
import { entries } from './entries.mjs';

const fast = process.argv.includes('--no-dts');
const present = Object.fromEntries(Object.entries(entries).filter(([, src]) => existsSync(src)));
// dist is overwritten in place (not removed first): several builds and test runs may share it.
await build({
  entry: present,
  format: ['esm', 'cjs'],
  // tsup's declaration build sets baseUrl, which TypeScript 6 deprecates (TS5101).
  dts: fast ? false : { compilerOptions: { ignoreDeprecations: '6.0' } },
  outDir: 'dist',
  target: 'node20',
  platform: 'node',
  splitting: true,
  sourcemap: true,
  clean: false,
  silent: true,
  shims: false,
  tsconfig: 'tsconfig.json',
  // Jest's module registry provides it to stepmark/testing/jest; it is never bundled or resolved from disk.
  external: ['@jest/globals'],
});
console.log(`built ${Object.keys(present).length} entries${fast ? ' (no .d.ts)' : ''}`);
