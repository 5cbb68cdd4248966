// Builds a library of test/libraries/libraries.mjs through each stepmark route, instrumented
// (every function: `include` selects every file, callbacks and getters on) or not (the same
// compiler without stepmark: the baseline). Used by the differential suite and by
// bench/libraries.bench.mjs, so it goes through the package's own entries (dist/), as users do.
//
//   babel       @babel/core 8 on each file (preset-typescript for TypeScript source)
//   esbuild     one esbuild bundle of the library (the Vite plugin runs the same transform)
//   typescript  TypeScript 6's transpileModule on each file, the transformer as a `before` transformer
//   register    no build: a copy of the published files, which Node instruments as it loads them
//               (`--import stepmark/register` with STEPMARK_OPTIONS, see differential.ts)
//
// The build routes compile the library's TypeScript source where the table names one (zod).
// A per-file build is a tree of files mirroring the package (TypeScript files renamed to .js), so
// the library's relative imports keep working; its dependencies (rxjs's tslib) and `stepmark`
// resolve through node_modules (`linkRuntime`).
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { moduleFiles, packageDir, packageVersion, REPO_ROOT } from './libraries.mjs';

const require = createRequire(import.meta.url);

export const OUTPUT = join(REPO_ROOT, 'test-output/libraries');

/** Every route, in report order. */
export const ROUTES = ['babel', 'esbuild', 'typescript', 'register'];

/** The plugin options of every instrumented build: every function of the library. */
export function pluginOptions(lib) {
  return {
    root: REPO_ROOT,
    include: [`node_modules/${lib.name}/**`],
    callbacks: true,
    getters: true,
  };
}

/**
 * One build: `files` maps paths relative to the output root to their code; `entry` is the path
 * a workload loads. (`register` builds nothing: it copies the published files.)
 */
export async function build(lib, route, instrument) {
  switch (route) {
    case 'babel':
    case 'typescript':
      return buildEachFile(lib, lib.source ?? lib.entry, (code, file) =>
        compileFile(route, code, file, lib.format, instrument ? pluginOptions(lib) : null),
      );
    case 'esbuild':
      return esbuildBundle(lib, instrument);
    case 'register':
      return buildEachFile(lib, lib.entry, (code) => code);
    default:
      throw new Error(`unknown route ${route}`);
  }
}

function buildEachFile(lib, entry, compile) {
  const root = packageDir(lib.name);
  const files = {};
  for (const rel of moduleFiles(lib, entry)) {
    const filename = join(root, rel);
    files[rel.replace(/\.ts$/, '.js')] = compile(readFileSync(filename, 'utf8'), filename);
  }
  return { files, entry: entry.replace(/\.ts$/, '.js') };
}

/**
 * Compiles one file through a per-file route (`babel` or `typescript`), keeping its module
 * format, with the stepmark plugin configured by `options`, or without it (`null`).
 */
export function compileFile(route, code, filename, format, options) {
  if (route === 'babel') {
    return require('@babel/core').transformSync(code, {
      filename,
      babelrc: false,
      configFile: false,
      // CommonJS stays a script: sloppy mode is part of what lodash's code relies on
      sourceType: format === 'esm' ? 'module' : 'script',
      presets: /\.tsx?$/.test(filename) ? [require.resolve('@babel/preset-typescript')] : [],
      plugins: options ? [[require.resolve('stepmark/babel-plugin'), options]] : [],
      sourceMaps: false,
      // What Babel's default ('auto') does, without the note it prints for files over 500 KB (lodash)
      compact: code.length > 500_000,
    }).code;
  }
  const ts = require('typescript');
  const transformer = require('stepmark/transformer').default;
  return ts.transpileModule(code, {
    fileName: filename,
    compilerOptions: {
      allowJs: true,
      module: format === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
    },
    transformers: options ? { before: [transformer(undefined, options, { ts })] } : undefined,
  }).outputText;
}

async function esbuildBundle(lib, instrument) {
  const esbuild = require('esbuild');
  const { stepmark } = require('stepmark/esbuild-plugin');
  const result = await esbuild.build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(packageDir(lib.name), lib.source ?? lib.entry)],
    bundle: true,
    write: false,
    format: lib.format,
    platform: 'node',
    target: 'node20',
    outfile: 'out.js',
    external: ['stepmark', 'stepmark/*'],
    logLevel: 'silent',
    plugins: instrument ? [stepmark(pluginOptions(lib))] : [],
  });
  const entry = lib.format === 'esm' ? 'bundle.mjs' : 'bundle.cjs';
  return { files: { [entry]: result.outputFiles[0].text }, entry };
}

/**
 * Writes a build under `dir` (replacing what was there), with a package.json that gives `.js`
 * files the library's module format (and hides this repository's `"type": "module"`). Returns
 * the absolute path of the entry.
 */
export function writeBuild(dir, lib, built) {
  rmSync(dir, { recursive: true, force: true });
  for (const [rel, code] of Object.entries(built.files)) {
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, code);
  }
  // As the packages say it: ES module packages declare `"type": "module"`; CommonJS ones (lodash,
  // rxjs) declare no type, so Node finds the format of their `.js` files itself.
  const type = lib.format === 'esm' ? { type: 'module' } : {};
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, ...type })}\n`);
  return join(dir, built.entry);
}

/**
 * Lets built code under `dir` import `stepmark` (and so `stepmark/runtime`): the package.json of
 * each build hides the repository's own, through which the package would find itself.
 */
export function linkRuntime(dir = OUTPUT) {
  const link = join(dir, 'node_modules', 'stepmark');
  // kept only when it leads to this checkout (a copied folder may link to another one)
  if (existsSync(join(link, 'package.json')) && realpathSync(link) === realpathSync(REPO_ROOT)) return;
  mkdirSync(dirname(link), { recursive: true });
  rmSync(link, { force: true }); // a link left dangling by a moved checkout, or to another one
  try {
    symlinkSync(REPO_ROOT, link, 'dir');
  } catch (e) {
    // another test file made it meanwhile
    if (e.code !== 'EEXIST') throw e;
  }
}

/**
 * A key for cached builds: the library's version and files, and the plugins' built code (dist/).
 * Any change to either rebuilds.
 */
export function buildKey(lib, route) {
  const hash = createHash('sha256');
  hash.update(`${lib.name}@${packageVersion(lib.name)} ${lib.entry} ${route}\n`);
  hash.update(readFileSync(new URL(import.meta.url)));
  for (const file of distFiles()) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

let dist;
function distFiles() {
  if (!dist) {
    const walk = (d) =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.map') ? [] : [join(d, e.name)],
      );
    dist = walk(join(REPO_ROOT, 'dist')).sort();
  }
  return dist;
}
