// Builds every public entry point as ESM (.js) + CommonJS (.cjs) with type
// declarations (.d.ts / .d.cts). The list of entries is the single source of
// truth for package.json "exports" (checked by scripts/check-exports.mjs).
// An entry whose source file does not exist yet is skipped, so a part can be
// added by creating its folder and listing it here once.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { build } from 'tsup';
import { entries } from './entries.mjs';

const fast = process.argv.includes('--no-dts');
const present = Object.fromEntries(Object.entries(entries).filter(([, src]) => existsSync(src)));
// Jest's module registry provides it to stepmark/testing/jest; it is never bundled or resolved from disk.
const external = ['@jest/globals'];
// dist is overwritten in place (not removed first): several builds and test runs may share it.
const common = {
  entry: present,
  // Declarations are built below, not by tsup: its declaration build (rollup-plugin-dts compiling
  // every entry inside one rollup build) peaks at about 3 GB of memory, a TypeScript emit followed
  // by a bundle of the emitted .d.ts files at about 1 GB, with the same output.
  dts: false,
  outDir: 'dist',
  target: 'node20',
  platform: 'node',
  splitting: true,
  sourcemap: true,
  clean: false,
  silent: true,
  shims: false,
  tsconfig: 'tsconfig.json',
  external,
};
await build({ ...common, format: 'esm' });
// CommonJS with shared chunks: tsup turns esbuild's split ESM output into CommonJS with Sucrase,
// which also rewrites every `?.` and `??` into helper calls that allocate (a request-sized trace
// cost a third more through require('stepmark')) and renames classes (`_class4`); Rollup, which
// tsup uses instead when tree-shaking, converts the modules and leaves the code as it is.
await build({ ...common, format: 'cjs', treeshake: true });
relativeSourceMaps('dist');
if (!fast) await buildDeclarations(present);
console.log(`built ${Object.keys(present).length} entries${fast ? ' (no .d.ts)' : ''}`);

/**
 * The declarations of every entry, bundled as tsup bundles them (one file per entry, shared chunks
 * beside them, `.d.ts` for ESM and `.d.cts` for CommonJS, peer dependencies left as imports):
 * TypeScript emits the .d.ts of every source file the entries reach into a scratch folder, then
 * rollup-plugin-dts bundles those, which needs no TypeScript program of its own.
 */
async function buildDeclarations(entryFiles) {
  // Inside the repository, so that the emitted files resolve the packages they import as the
  // sources do; not under node_modules, where TypeScript would take them for a package's own.
  const scratch = mkdtempSync(join(process.cwd(), '.dts-'));
  try {
    await emitDeclarations(Object.values(entryFiles), scratch);
    await bundleDeclarations(entryFiles, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function emitDeclarations(sources, outDir) {
  const { default: ts } = await import('typescript');
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail([d]),
  };
  const config = ts.getParsedCommandLineOfConfigFile(
    'tsconfig.json',
    {
      noEmit: false,
      emitDeclarationOnly: true,
      declarationMap: false,
      // A type error fails the build, as it did under tsup (`npm run typecheck` checks the rest).
      noEmitOnError: true,
      outDir,
      rootDir: process.cwd(),
    },
    host,
  );
  if (config.errors.length > 0) fail(config.errors);
  const program = ts.createProgram({ rootNames: sources.map((s) => resolve(s)), options: config.options });
  const { diagnostics, emitSkipped } = program.emit(undefined, undefined, undefined, true);
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (emitSkipped || errors.length > 0) fail(errors);

  function fail(diagnostics) {
    const format = process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
    const text = format(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => process.cwd(),
      getNewLine: () => '\n',
    });
    throw new Error(`type declarations: TypeScript reported errors\n${text}`);
  }
}

async function bundleDeclarations(entryFiles, from) {
  const { rollup } = await import('rollup');
  const { dts } = await import('rollup-plugin-dts');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const packages = [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...external,
  ];
  const input = Object.fromEntries(
    Object.entries(entryFiles).map(([name, src]) => [name, join(from, src.replace(/\.ts$/, '.d.ts'))]),
  );
  const bundle = await rollup({
    input,
    plugins: [dts({ tsconfig: 'tsconfig.json' })],
    // A package's types stay an import of that package (Node's built-ins too).
    external: (id) => id.startsWith('node:') || packages.some((p) => id === p || id.startsWith(`${p}/`)),
    onwarn(warning, warn) {
      // Cycles between source files are fine. So are entries whose declarations use a type that
      // only a shared chunk exports (StepmarkAdapterOptions, say): tsup's build wrote the same
      // files without a word.
      if (warning.code === 'CIRCULAR_DEPENDENCY') return;
      if (warning.plugin === 'dts' && warning.message.includes('private shared type exports')) return;
      warn(warning);
    },
  });
  try {
    for (const ext of ['.d.ts', '.d.cts']) {
      await bundle.write({
        dir: 'dist',
        format: 'es',
        exports: 'named',
        entryFileNames: `[name]${ext}`,
        // a chunk is named after its first module, `types.d.ts` -> `types-[hash].d.ts`
        chunkFileNames: (chunk) => `${chunk.name.replace(/\.d$/, '')}-[hash]${ext}`,
      });
    }
  } finally {
    await bundle.close();
  }
}

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
