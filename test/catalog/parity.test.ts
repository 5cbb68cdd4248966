/**
 * Catalog parity: for every fixture of the shared corpus (with the fixture's own options), each
 * plugin writes the stage catalog through its `catalog` option, and the catalogs are identical —
 * same sites, names, kinds, positions and literal actions.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import stepmarkEsbuild from '../../esbuild-plugin/index.js';
import { type Catalog, type CatalogSite, catalogWriter } from '../../instrument/catalog.js';
import type { StepmarkOptions } from '../../instrument/options.js';
import stepmarkTransformer from '../../transformer/index.js';
import { compileWith, decoratorsPlugin } from '../babel/compile.js';
import { FIXTURES_DIR, listFixtures, parseExpectation, REPO_ROOT } from '../corpus/harness.js';
import { scratchDir } from '../support/scratch.js';

const OUT = scratchDir('catalog-parity');

type Compile = (filename: string, source: string, options: StepmarkOptions) => Promise<void> | void;

/** Each plugin compiles one file with the given options (the catalog option among them). */
const PLUGINS: Record<string, Compile> = {
  esbuild: async (filename, _source, options) => {
    await esbuild.build({
      entryPoints: [filename],
      bundle: false,
      write: false,
      format: 'esm',
      logLevel: 'silent',
      plugins: [stepmarkEsbuild(options)],
    });
  },
  babel: async (filename, source, options) => {
    await compileWith(
      { major: 8, moduleFormat: 'esm', plugins: [decoratorsPlugin(8)] },
      source,
      filename,
      options,
    );
  },
  typescript: (filename, source, options) => {
    ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      transformers: { before: [stepmarkTransformer(undefined, options, { ts })] },
    });
  },
};

/** Besides the corpus: the catalog test's app (record/recordEntity sites, which the corpus lacks). */
const EXTRA = ['test/catalog/app/orders.ts', 'test/catalog/app/main.ts'].map((f) => join(REPO_ROOT, f));

async function catalogOf(plugin: string): Promise<Catalog> {
  const path = join(OUT, `${plugin}.json`);
  rmSync(path, { force: true });
  for (const filename of [...listFixtures().map((f) => join(FIXTURES_DIR, f)), ...EXTRA]) {
    const source = readFileSync(filename, 'utf8');
    const { options } = source.includes('/* corpus') ? parseExpectation(source, filename) : { options: {} };
    await PLUGINS[plugin]!(filename, source, { ...options, root: REPO_ROOT, catalog: path });
  }
  catalogWriter(path, REPO_ROOT).flush();
  return JSON.parse(readFileSync(path, 'utf8'));
}

function byFile(c: Catalog): Map<string, CatalogSite[]> {
  const m = new Map<string, CatalogSite[]>();
  for (const s of c.sites) m.set(s.file, [...(m.get(s.file) ?? []), s]);
  return m;
}

describe('stage catalog parity across plugins (fixture corpus)', () => {
  it('every plugin writes the same catalog', async () => {
    const reference = await catalogOf('esbuild');
    // the corpus is covered: every fixture with an instrumented function or explicit call appears
    expect(byFile(reference).size).toBeGreaterThan(20);
    expect(reference.sites.some((s) => s.kind === 'step' && s.actions!.length > 0)).toBe(true);
    for (const kind of ['function', 'method', 'constructor', 'getter', 'setter', 'step', 'enter', 'record']) {
      expect(
        reference.sites.some((s) => s.kind === kind),
        `the corpus has a ${kind} site`,
      ).toBe(true);
    }
    for (const plugin of Object.keys(PLUGINS).filter((p) => p !== 'esbuild')) {
      const other = byFile(await catalogOf(plugin));
      for (const [file, sites] of byFile(reference)) {
        expect(other.get(file), `${plugin} vs esbuild: ${file}`).toEqual(sites);
      }
      expect([...other.keys()].sort(), `${plugin}: files in the catalog`).toEqual(
        [...byFile(reference).keys()].sort(),
      );
    }
  });
});
