/**
 * Parity with the Babel plugin (the reference): for every corpus fixture, the TypeScript
 * transformer's whole normalised trace — span names, tree, locations, entities, events and
 * their meta — equals the Babel plugin's for the same source and options. The corpus harness
 * already holds both to the same span tree and journeys; this compares everything else too, and
 * prints the first difference (its JSON path and both values).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeTrace } from 'stepmark/testing';
import { describe, expect, it } from 'vitest';
import { compileWith, decoratorsPlugin } from '../babel/compile.js';
import { firstDifference } from '../corpus/diff.js';
import { FIXTURES_DIR, fixtureBatch, listFixtures, parseExpectation, REPO_ROOT } from '../corpus/harness.js';
import { compilers, transpileFixture } from './helpers.js';

const ts = compilers['typescript 6']!;

describe('parity with the Babel plugin: whole normalised traces', () => {
  it('firstDifference finds and prints the first difference', () => {
    expect(firstDifference({ a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] })).toBe('$.a[1].b: "x" !== "y"');
    expect(firstDifference({ a: 1 }, { a: 1 })).toBeUndefined();
  });

  const fixtures = listFixtures();
  const batch = fixtureBatch(
    'transformer-parity',
    fixtures,
    async (fixture, dir) => {
      const filename = join(FIXTURES_DIR, fixture);
      const source = readFileSync(filename, 'utf8');
      const options = { root: REPO_ROOT, ...parseExpectation(source, fixture).options };
      const babel = await compileWith(
        { major: 8, moduleFormat: 'esm', plugins: [decoratorsPlugin(8)], sourceMaps: false },
        source,
        filename,
        options,
      );
      const typescript = transpileFixture(source, filename, {
        ts,
        options,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      });
      writeFileSync(join(dir, 'babel.mjs'), babel.code);
      writeFileSync(join(dir, 'typescript.mjs'), typescript.code);
      return {
        data: undefined,
        runs: [
          { id: 'babel', file: join(dir, 'babel.mjs'), traced: true },
          { id: 'typescript', file: join(dir, 'typescript.mjs'), traced: true },
        ],
      };
    },
    (runs) => !runs.babel?.trace || !runs.typescript?.trace,
  );
  for (const fixture of fixtures) {
    it(fixture, () => {
      const { results: runs } = batch.get(fixture);
      for (const id of ['babel', 'typescript']) {
        expect(
          runs[id]?.trace,
          `${fixture}: the ${id} build produced no trace: ${JSON.stringify(runs[id]?.thrown)}`,
        ).toBeDefined();
      }
      const reference = normalizeTrace(runs.babel!.trace!);
      const ours = normalizeTrace(runs.typescript!.trace!);
      const difference = firstDifference(reference, ours);
      expect(
        difference,
        `${fixture}: Babel plugin vs TypeScript transformer, first difference`,
      ).toBeUndefined();
    });
  }
});
