/**
 * The shared fixture corpus (test/fixtures, harness in test/corpus) through the esbuild plugin
 * inside a real `esbuild.build` per fixture, emitting ESM and CommonJS. The harness holds every
 * plugin to the same expectations written in the fixtures, so a pass here means traces
 * identical to the Babel plugin's and the TypeScript transformer's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeTrace, renderJourneys, renderSpanTree } from 'stepmark/testing';
import { describe, expect, it } from 'vitest';
import type { StepmarkOptions } from '../../instrument/index.js';
import {
  FIXTURES_DIR,
  fixtureBatch,
  listFixtures,
  parseExpectation,
  REPO_ROOT,
  runCorpus,
} from '../corpus/harness.js';
import { esbuildFile } from '../support/esbuild-build.js';

/** See the last suite. */
const ESBUILD_RENAMES_DEFAULT_EXPORT = /^default-export-/;

function compile(format: 'esm' | 'cjs') {
  return async (_source: string, filename: string, options: StepmarkOptions | null) => ({
    code: await esbuildFile(filename, format, options),
  });
}

const filter = (fixture: string) => !ESBUILD_RENAMES_DEFAULT_EXPORT.test(fixture);
runCorpus({ label: 'esbuild-esm', moduleFormat: 'esm', compile: compile('esm'), filter });
runCorpus({ label: 'esbuild-cjs', moduleFormat: 'cjs', compile: compile('cjs'), filter });

/**
 * Anonymous default exports: esbuild names them itself (`export default () => …` becomes
 * `default_export_arrow_default`), so in an uninstrumented esbuild build the run-time fallback
 * reads that name from the stack, not `default`; the harness's "fallback equals plugin" check
 * cannot hold for these fixtures under esbuild (it does for Babel and TypeScript). They run
 * through the whole harness except that check, in the suite below.
 */

describe('corpus: esbuild, anonymous default exports (stack fallback renamed by esbuild)', () => {
  const fixtures = listFixtures().filter((f) => ESBUILD_RENAMES_DEFAULT_EXPORT.test(f));
  const batch = fixtureBatch('corpus/esbuild-default-export', fixtures, async (fixture, dir) => {
    const filename = join(FIXTURES_DIR, fixture);
    const expected = parseExpectation(readFileSync(filename, 'utf8'), fixture);
    const write = (name: string, code: string) => {
      writeFileSync(join(dir, name), code);
      return join(dir, name);
    };
    const plain = (await compile('esm')('', filename, null)).code;
    const instrumented = (await compile('esm')('', filename, { root: REPO_ROOT, ...expected.options })).code;
    // one file per run: each run needs a fresh module instance
    return {
      data: expected,
      runs: [
        { id: 'plain', file: write('plain.mjs', plain), traced: false },
        { id: 'off', file: write('instrumented.mjs', instrumented), traced: false },
        { id: 'on', file: write('instrumented-on.mjs', instrumented), traced: true },
        { id: 'fallback', file: write('plain-on.mjs', plain), traced: true },
      ],
    };
  });
  for (const fixture of fixtures) {
    it(fixture, () => {
      const { data: expected, results: runs } = batch.get(fixture);
      const behaviour = (id: string) => {
        const { ok, value, thrown, log } = runs[id]!;
        return { ok, value, thrown, log };
      };
      expect(behaviour('off')).toEqual(behaviour('plain'));
      expect(behaviour('on')).toEqual(behaviour('plain'));
      const trace = normalizeTrace(runs.on!.trace!);
      expect(renderSpanTree(trace, { locations: expected.locations })).toBe(expected.spans);
      expect(renderJourneys(trace)).toBe(expected.events);
      // What the fallback sees instead: esbuild's generated name.
      expect(renderJourneys(normalizeTrace(runs.fallback!.trace!))).toMatch(/default_export_\w+_default/);
    });
  }
});
