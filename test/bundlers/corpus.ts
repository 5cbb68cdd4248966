/**
 * The shared fixture corpus (test/fixtures, harness in test/corpus) through the bundler entries,
 * in real builds: all fixtures with the same options in ONE build per bundler (one entry each).
 * Registered by one test file per plugin API (rollup-api.test.ts, webpack-api.test.ts), which
 * Vitest runs side by side:
 *
 * - Whole harness (results, side effects and traces against each fixture's expectation, with
 *   tracing on and off, and the stack fallback) for one bundler of each plugin API: rolldown
 *   (Rollup's `transform` hook, ESM output) and webpack (its loader, CommonJS output).
 * - For all four: the text of every module right after stepmark's hook is byte for byte what the
 *   esbuild plugin hands esbuild for the same file and options (instrumented, and with `strip`).
 *   The esbuild route runs the whole harness itself (test/esbuild/corpus.test.ts), so equal
 *   modules mean equal traces; what is left to each bundler is compiling that JavaScript.
 * - For all four: the stage catalog (`catalog` option) equals the esbuild plugin's.
 */
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../instrument/catalog.js';
import type { StepmarkOptions } from '../../instrument/index.js';
import { FIXTURES_DIR, listFixtures, parseExpectation, REPO_ROOT, runCorpus } from '../corpus/harness.js';
import { type BuildResult, type Bundler, build, esbuildModules, removeBuildOutputs } from './helpers.js';

const CATALOGS = join(REPO_ROOT, 'test-output/bundlers/catalogs');

/**
 * Fixtures a bundler cannot build once instrumented, and why. Checked below: the test fails once
 * the bundler builds it, so a stale entry does not survive.
 */
const UNBUILDABLE: Partial<Record<Bundler, Record<string, string>>> = {};
const buildable = (bundler: Bundler) => (file: string) => !UNBUILDABLE[bundler]?.[basename(file)];

/**
 * Fixtures a bundler builds into code Node cannot run, with or without stepmark, and why (their
 * module text is still compared below). Checked: the test fails once the output changes.
 */
const UNRUNNABLE: Partial<Record<Bundler, Record<string, { why: string; still: RegExp }>>> = {
  rolldown: {
    'scoping-lexical.js': {
      why:
        "rolldown's tree-shaking drops the plain build's call to a function that only reads a `const` " +
        'before its initialisation, so the TDZ ReferenceError the fixture checks never happens there ' +
        '(the instrumented call has a frame, so it stays and throws, as in every other build)',
      still: /function temporalDeadZone\(\) \{\s*let caught;\s*const limit = 7;/,
    },
    'decorators.ts': {
      why: 'rolldown leaves standard decorators as written (oxc does not lower them) and Node does not run them',
      still: /@tagged\s+class/,
    },
  },
};

/**
 * Why the stack fallback's stages legitimately differ from the plugin's for a fixture under one
 * bundler (checked by the harness: it fails once they are equal).
 */
const FALLBACK_DIFFERS: Partial<Record<Bundler, Record<string, string>>> = {
  webpack: {
    'explicit-calls.ts':
      'webpack wraps each module in a function, so at module level the stack shows that function, not <module>',
  },
  rolldown: Object.fromEntries(
    ['default-export-arrow.js', 'default-export-class.ts', 'default-export-function.js'].map((f) => [
      f,
      'rolldown names an anonymous default export itself (`default_export_arrow_default`), and the stack shows that name',
    ]),
  ),
};

/** Besides the corpus: the catalog test's app (record/recordEntity sites, which the corpus lacks). */
const EXTRA = ['test/catalog/app/orders.ts', 'test/catalog/app/main.ts'].map((f) => join(REPO_ROOT, f));

/** The fixtures grouped by the options the harness compiles them with. */
const GROUPS = new Map<string, { options: StepmarkOptions; files: string[] }>();
for (const fixture of listFixtures()) {
  const file = join(FIXTURES_DIR, fixture);
  const options = { root: REPO_ROOT, ...parseExpectation(readFileSync(file, 'utf8'), fixture).options };
  const key = JSON.stringify(options);
  if (!GROUPS.has(key)) GROUPS.set(key, { options, files: [] });
  GROUPS.get(key)!.files.push(file);
}
GROUPS.get(JSON.stringify({ root: REPO_ROOT }))!.files.push(...EXTRA);
const ALL_FIXTURES = listFixtures().map((f) => join(FIXTURES_DIR, f));
const STRIP: StepmarkOptions = { root: REPO_ROOT, strip: true };

/** Module format of each bundler's builds (the harness runs rolldown's as ESM and webpack's as CommonJS). */
const FORMAT: Record<Bundler, 'esm' | 'cjs'> = {
  rollup: 'esm',
  rolldown: 'esm',
  webpack: 'cjs',
  rspack: 'cjs',
  'rspack-v1': 'cjs',
};

/** With the options of a group, every build also writes its bundler's catalog (it changes no code). */
const withCatalog = (name: string, options: StepmarkOptions) => ({
  ...options,
  catalog: join(CATALOGS, `${name}.json`),
});

const builds = new Map<string, Promise<BuildResult>>();
/** The build of every file compiled with `options` (`null`: all fixtures without stepmark), once. */
function buildOf(bundler: Bundler, options: StepmarkOptions | null): Promise<BuildResult> {
  const key = `${bundler} ${JSON.stringify(options)}`;
  let result = builds.get(key);
  if (result === undefined) {
    const files =
      options === null ? ALL_FIXTURES : (GROUPS.get(JSON.stringify(options))?.files ?? ALL_FIXTURES);
    const stepmark = options === null || options.strip ? options : withCatalog(bundler, options);
    result = build(bundler, files.filter(buildable(bundler)), { format: FORMAT[bundler], stepmark });
    builds.set(key, result);
  }
  return result;
}

function harness(bundler: Bundler) {
  runCorpus({
    label: `${bundler}-${FORMAT[bundler]}`,
    moduleFormat: FORMAT[bundler],
    filter: (fixture) => buildable(bundler)(fixture) && !UNRUNNABLE[bundler]?.[fixture],
    async compile(_source, filename, options) {
      const code = (await buildOf(bundler, options)).outputs.get(filename);
      if (code === undefined) throw new Error(`${bundler}: ${filename} was not built`);
      return { code };
    },
    fallbackDiffers: (fixture) => FALLBACK_DIFFERS[bundler]?.[fixture],
  });
}

/**
 * Registers the suites for `bundlers` (their builds are shared within one test file), with the
 * whole harness for `harnessed`.
 */
export function corpusSuites(harnessed: Bundler, bundlers: readonly Bundler[]): void {
  // The esbuild plugin's catalog of the same builds, one per test file (they run side by side).
  const reference = `esbuild-${bundlers.join('-')}`;
  const catalogs = [...bundlers, reference].map((name) => join(CATALOGS, `${name}.json`));
  for (const file of catalogs) rmSync(file, { force: true });
  afterAll(() => {
    removeBuildOutputs();
    for (const file of catalogs) rmSync(file, { force: true });
  });
  harness(harnessed);
  moduleSuites(bundlers, reference);
  catalogSuites(bundlers, reference);
  limitSuites(bundlers);
}

function moduleSuites(bundlers: readonly Bundler[], reference: string): void {
  describe("every bundler hands its compiler the esbuild plugin's module text", () => {
    for (const bundler of bundlers) {
      it(`${bundler}: instrumented, each fixture with its own options`, async () => {
        for (const { options, files } of GROUPS.values()) {
          const expected = await esbuildModules(files, withCatalog(reference, options));
          const built = await buildOf(bundler, options);
          for (const file of files.filter(buildable(bundler))) {
            expect(built.modules.get(file), `${bundler}: ${file}`).toBe(expected.get(file));
          }
        }
      });
      it(`${bundler}: strip mode`, async () => {
        const expected = await esbuildModules(ALL_FIXTURES, STRIP);
        const built = await buildOf(bundler, STRIP);
        for (const file of ALL_FIXTURES.filter(buildable(bundler))) {
          expect(built.modules.get(file), `${bundler}: ${file}`).toBe(expected.get(file));
        }
      });
    }
  });
}

function catalogSuites(bundlers: readonly Bundler[], reference: string): void {
  describe('every bundler writes the stage catalog the esbuild plugin writes', () => {
    for (const bundler of bundlers) {
      it(bundler, async () => {
        for (const { options, files } of GROUPS.values()) {
          await esbuildModules(files, withCatalog(reference, options));
          await buildOf(bundler, options);
        }
        // written by each build as it ends, all groups so far in one file (docs/CATALOG.md)
        const read = (name: string): Catalog =>
          JSON.parse(readFileSync(join(CATALOGS, `${name}.json`), 'utf8'));
        const expected = read(reference);
        expect(expected.sites.length).toBeGreaterThan(50);
        const skipped = (site: { file: string }) => !buildable(bundler)(site.file);
        expect(read(bundler)).toEqual({ ...expected, sites: expected.sites.filter((s) => !skipped(s)) });
      });
    }
  });
}

function limitSuites(bundlers: readonly Bundler[]): void {
  if (!bundlers.some((b) => UNRUNNABLE[b] || UNBUILDABLE[b])) return;
  describe('fixtures a bundler cannot build or run', () => {
    for (const bundler of bundlers) {
      for (const [fixture, { why, still }] of Object.entries(UNRUNNABLE[bundler] ?? {})) {
        it(`${bundler}: ${fixture} is not run (${why})`, async () => {
          const output = (await buildOf(bundler, null)).outputs.get(join(FIXTURES_DIR, fixture));
          expect(output, `${bundler}'s output of ${fixture} changed: run it through the harness`).toMatch(
            still,
          );
        });
      }
      for (const [fixture, why] of Object.entries(UNBUILDABLE[bundler] ?? {})) {
        it(`${bundler}: ${fixture} still fails (${why})`, async () => {
          const file = join(FIXTURES_DIR, fixture);
          const options = parseExpectation(readFileSync(file, 'utf8'), fixture).options;
          const outcome = await build(bundler, [file], {
            format: FORMAT[bundler],
            stepmark: { root: REPO_ROOT, ...options },
          }).then(
            () => 'built',
            (error: Error) => error.message,
          );
          expect(outcome, `${bundler} now builds ${fixture}: remove it from UNBUILDABLE`).not.toBe('built');
        });
      }
    }
  });
}
