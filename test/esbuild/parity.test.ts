/**
 * Parity with the Babel plugin (the reference): for every corpus fixture, the esbuild plugin's
 * whole normalised trace — span names, tree, locations, entities, events and their meta — equals
 * the Babel plugin's for the same source and options. The corpus harness already holds both to
 * the same span tree and journeys; this compares everything else (locations above all) too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import stepmark from 'stepmark/esbuild-plugin';
import { normalizeTrace } from 'stepmark/testing';
import { describe, expect, it } from 'vitest';
import { compileWith, decoratorsPlugin } from '../babel/compile.js';
import { firstDifference } from '../corpus/diff.js';
import { FIXTURES_DIR, fixtureBatch, listFixtures, parseExpectation, REPO_ROOT } from '../corpus/harness.js';

describe('parity with the Babel plugin: whole normalised traces (locations included)', () => {
  const fixtures = listFixtures();
  const batch = fixtureBatch(
    'esbuild-parity',
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
      const built = await esbuild.build({
        entryPoints: [filename],
        write: false,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        logLevel: 'silent',
        plugins: [stepmark(options)],
      });
      writeFileSync(join(dir, 'babel.mjs'), babel.code);
      writeFileSync(join(dir, 'esbuild.mjs'), built.outputFiles[0]!.text);
      return {
        data: undefined,
        runs: [
          { id: 'babel', file: join(dir, 'babel.mjs'), traced: true },
          { id: 'esbuild', file: join(dir, 'esbuild.mjs'), traced: true },
        ],
      };
    },
    (runs) => !runs.babel?.trace || !runs.esbuild?.trace,
  );
  for (const fixture of fixtures) {
    it(fixture, () => {
      const { results: runs } = batch.get(fixture);
      for (const id of ['babel', 'esbuild']) {
        expect(
          runs[id]?.trace,
          `${fixture}: the ${id} build produced no trace: ${JSON.stringify(runs[id]?.thrown)}`,
        ).toBeDefined();
      }
      const difference = firstDifference(
        normalizeTrace(runs.babel!.trace!),
        normalizeTrace(runs.esbuild!.trace!),
      );
      expect(difference, `${fixture}: Babel plugin vs esbuild plugin, first difference`).toBeUndefined();
    });
  }
});
