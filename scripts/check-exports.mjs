// Checks that package.json "exports" lists exactly the entries that exist (scripts/entries.mjs
// filtered by source presence), each with import/require × types/default pointing at built files,
// and that "typesVersions" gives every subpath its CommonJS declarations for resolvers that do not
// read "exports" (TypeScript's node10, the default of TypeScript 5 for "module": "commonjs").
// `--fix` rewrites both maps from the entry list.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { entries } from './entries.mjs';

const subpath = {
  'runtime/index': '.',
  'runtime/abi': './runtime',
  'testing/index': './testing',
  'testing/vitest': './testing/vitest',
  'testing/jest': './testing/jest',
  'testing/reporter': './testing/reporter',
  'testing/collect': './testing/collect',
  'babel-plugin/index': './babel-plugin',
  'transformer/index': './transformer',
  'esbuild-plugin/index': './esbuild-plugin',
  'vite/index': './vite',
  'bundlers/rollup': './rollup',
  'bundlers/rolldown': './rolldown',
  'bundlers/webpack': './webpack',
  'bundlers/rspack': './rspack',
  'adapters/http/index': './http',
  'adapters/fastify/index': './fastify',
  'adapters/koa/index': './koa',
  'adapters/hono/index': './hono',
  'adapters/grpc/index': './grpc',
  'otel/index': './otel',
  'otel/propagation': './propagation',
  'activity/index': './activity',
  'sinks/index': './sinks',
  'live/index': './live',
  'recorder/index': './recorder',
  'register/index': './register',
};
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const want = {};
for (const [dist, src] of Object.entries(entries)) {
  if (!existsSync(src) || !subpath[dist]) continue;
  want[subpath[dist]] = {
    import: { types: `./dist/${dist}.d.ts`, default: `./dist/${dist}.js` },
    require: { types: `./dist/${dist}.d.cts`, default: `./dist/${dist}.cjs` },
  };
}
want['./package.json'] = './package.json';
// One exact key per subpath: a "*" key would also redirect the lookup of the root's "types".
// The CommonJS flavour, as "types" (the root) has it: a node10 project compiles to CommonJS, and
// requires the .cjs files these declarations describe. Mixing flavours would give two
// declarations of each shared type (the .d.ts and .d.cts files import different chunks).
// node16, nodenext and bundler resolution read "exports" and never get here.
const typesVersions = {
  '*': Object.fromEntries(
    Object.entries(want)
      .filter(([s, v]) => s !== '.' && typeof v === 'object')
      .map(([s, v]) => [s.slice(2), [v.require.types]]),
  ),
};
const binWanted = existsSync(entries['cli/index']);
if (process.argv.includes('--fix')) {
  pkg.exports = want;
  pkg.typesVersions = typesVersions;
  if (binWanted) pkg.bin = { stepmark: './dist/cli/index.js' };
  else delete pkg.bin;
  writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
  console.log(`exports: ${Object.keys(want).join(' ')}`);
} else {
  const a = JSON.stringify([pkg.exports, pkg.typesVersions]);
  const b = JSON.stringify([want, typesVersions]);
  if (a !== b || Boolean(pkg.bin) !== binWanted) {
    console.error(
      'package.json exports/typesVersions/bin do not match the entries present; run: node scripts/check-exports.mjs --fix',
    );
    process.exit(1);
  }
  for (const v of Object.values(want)) {
    if (typeof v !== 'object') continue;
    for (const f of [v.import.types, v.import.default, v.require.types, v.require.default]) {
      if (!existsSync(f)) {
        console.error(`missing built file ${f} (run npm run build)`);
        process.exit(1);
      }
    }
  }
  console.log('exports match the entries');
}
