// Builds every public entry point as ESM (.js) + CommonJS (.cjs) with type
// declarations (.d.ts / .d.cts). The list of entries is the single source of
// truth for package.json "exports" (checked by scripts/check-exports.mjs).
// An entry whose source file does not exist yet is skipped, so a part can be
// added by creating its folder and listing it here once.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
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
relativeSourceMaps('dist');
console.log(`built ${Object.keys(present).length} entries${fast ? ' (no .d.ts)' : ''}`);

/**
 * tsup's CommonJS step (splitting turns ESM chunks into CommonJS) leaves the absolute path of the
 * output file in each .cjs map (`file`, and among `sources`: the lines it adds map to the file
 * itself). Published maps must not carry the build machine's paths: make them relative to the map.
 */
function relativeSourceMaps(dir) {
  const fix = (from, path) => (isAbsolute(path) ? relative(from, path).split(sep).join('/') : path);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.map')) continue;
    const file = join(entry.parentPath, entry.name);
    const map = JSON.parse(readFileSync(file, 'utf8'));
    if (!map.sources?.some((s) => isAbsolute(s)) && !isAbsolute(map.file ?? '')) continue;
    map.sources = map.sources.map((s) => fix(dirname(file), s));
    if (map.file) map.file = fix(dirname(file), map.file);
    writeFileSync(file, JSON.stringify(map));
  }
}
