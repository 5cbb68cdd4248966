// The real libraries of the differential suite (test/libraries/*.test.ts) and of the cost figures
// (bench/libraries.bench.mjs): their published code, installed from npm as exact-pinned
// devDependencies, and which of its files a build instruments. Plain JavaScript, so that the
// benchmarks (plain Node) and the tests (Vitest) share it.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

/**
 * @typedef {object} Library
 * @property {string} name       npm package name
 * @property {string} entry      the published module the workload loads, relative to the package: the
 *                               uninstrumented baseline, and what `register` instruments as it loads
 * @property {string} [source]   the TypeScript source the package also publishes, compiled by the
 *                               build routes instead of `entry` (the baseline stays the published build)
 * @property {'esm' | 'cjs'} format  module format of the published code (and of every build of it)
 * @property {string} what       one line for reports: which code and why it is interesting
 */

/** @type {Library[]} */
export const LIBRARIES = [
  {
    name: 'acorn',
    entry: 'dist/acorn.mjs',
    format: 'esm',
    what: 'parser: one 6,000-line ES module, recursive descent, prototype methods, regexp validator',
  },
  {
    name: 'immer',
    entry: 'dist/immer.mjs',
    format: 'esm',
    what: 'immutable state: Proxy traps, nested closures over const/let, Map/Set drafts, patches',
  },
  {
    name: 'zod',
    entry: 'v4/classic/external.js',
    source: 'src/v4/classic/external.ts',
    format: 'esm',
    what: 'validation: its TypeScript source (src/v4, ~100 modules) on the build routes; classes built by closures',
  },
  {
    name: 'date-fns',
    entry: 'index.js',
    format: 'esm',
    what: 'dates: ~300 small ES modules, formatting and parsing state machines, locales',
  },
  {
    name: 'lodash',
    entry: 'lodash.js',
    format: 'cjs',
    what: 'functional utilities: one 17,000-line sloppy-mode CommonJS file, ~800 nested function declarations',
  },
  {
    name: 'rxjs',
    entry: 'dist/cjs/index.js',
    format: 'cjs',
    what: 'reactive streams: ~250 CommonJS modules compiled to ES5 (tslib classes), schedulers, async',
  },
];

/** The package's directory in node_modules. */
export function packageDir(name) {
  return dirname(require.resolve(`${name}/package.json`));
}

/** The installed version. */
export function packageVersion(name) {
  return JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')).version;
}

const STATIC_IMPORT =
  /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const REQUIRE = /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * Every file of the package that `entry` (default: the library's published entry) reaches
 * through relative static imports (or `require` calls with a literal), entry first, as paths
 * relative to the package. Bare
 * specifiers (other packages, e.g. rxjs's `tslib`) are not followed: they stay dependencies.
 */
export function moduleFiles(lib, entry = lib.entry) {
  const root = packageDir(lib.name);
  const typescript = entry.endsWith('.ts');
  const seen = new Set();
  const order = [];
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    order.push(relative(root, file));
    const text = readFileSync(file, 'utf8');
    const pattern = lib.format === 'cjs' ? REQUIRE : STATIC_IMPORT;
    for (const m of text.matchAll(pattern)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      visit(resolveRelative(dirname(file), spec, lib.name, typescript));
    }
  };
  visit(join(root, entry));
  return order;
}

function resolveRelative(from, spec, name, typescript) {
  const base = resolve(from, spec);
  const candidates = typescript
    ? [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]
    : [base, `${base}.js`, join(base, 'index.js')];
  const found = candidates.find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
  if (!found) throw new Error(`${name}: cannot resolve ${spec} from ${relative(REPO_ROOT, from)}`);
  return found;
}
