/**
 * Strip mode on the shared fixture corpus, per plugin and module format (real esbuild builds,
 * real TypeScript compiles): the
 * stripped program behaves exactly like the uninstrumented one (results, thrown values, side
 * effects, also when run inside a trace), records nothing, and its code no longer mentions
 * stepmark.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { StepmarkOptions } from '../../instrument/index.js';
import { compileWith, decoratorsPlugin } from '../babel/compile.js';
import {
  FIXTURES_DIR,
  type FixtureResults,
  fixtureBatch,
  listFixtures,
  parseExpectation,
  REPO_ROOT,
  type RunResult,
} from '../corpus/harness.js';
import { esbuildFile } from '../support/esbuild-build.js';
import { compilers, transpileFixture } from '../transformer/helpers.js';

/** Fixtures that keep a stepmark API call strip mode does not remove (and so the import), and why. */
const KEEPS_IMPORT: Record<string, string> = {
  'recursion.js': 'calls stepmark.run(), which strip mode keeps (it runs the function; it does not record)',
};

type Compile = (
  filename: string,
  format: 'esm' | 'cjs',
  options: StepmarkOptions | null,
) => Promise<string> | string;

const esbuildCompile: Compile = (filename, format, options) => esbuildFile(filename, format, options);

const ts6 = compilers['typescript 6']!;
const typescriptCompile: Compile = (filename, format, options) => {
  const out = transpileFixture(readFileSync(filename, 'utf8'), filename, {
    ts: ts6,
    options,
    compilerOptions: {
      module: format === 'esm' ? ts6.ModuleKind.ESNext : ts6.ModuleKind.CommonJS,
      target: ts6.ScriptTarget.ES2022,
    },
  });
  return out.code;
};

/** Babel 8 for ESM, Babel 7 for CommonJS (as the Babel corpus suites do). */
const babelCompile: Compile = async (filename, format, options) => {
  const major = format === 'esm' ? 8 : 7;
  const out = await compileWith(
    { major, moduleFormat: format, plugins: [decoratorsPlugin(major)], sourceMaps: false },
    readFileSync(filename, 'utf8'),
    filename,
    options,
  );
  return out.code;
};

const PLUGINS: Record<string, Compile> = {
  esbuild: esbuildCompile,
  typescript: typescriptCompile,
  babel: babelCompile,
};

/** The code without comments and the inline source map (which quotes the original source). */
function codeOnly(code: string): string {
  return code
    .replace(/\/\/# sourceMappingURL=.*$/m, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

for (const [plugin, compile] of Object.entries(PLUGINS))
  for (const format of ['esm', 'cjs'] as const) {
    describe(`strip mode, ${plugin} ${format}`, () => {
      const ext = format === 'esm' ? '.mjs' : '.cjs';
      const fixtures = listFixtures();
      const behaviour = (r: RunResult) => ({ ok: r.ok, value: r.value, thrown: r.thrown, log: r.log });
      const differs = (runs: FixtureResults) =>
        ['stripped', 'strippedTraced'].some(
          (id) => !isDeepStrictEqual(behaviour(runs[id]!), behaviour(runs.plain!)),
        );
      const batch = fixtureBatch(
        `strip/${plugin}-${format}`,
        fixtures,
        async (fixture, dir) => {
          const filename = join(FIXTURES_DIR, fixture);
          const expected = parseExpectation(readFileSync(filename, 'utf8'), fixture);
          const plain = await compile(filename, format, null);
          const stripped = await compile(filename, format, {
            root: REPO_ROOT,
            ...expected.options,
            strip: true,
          });
          const write = (name: string, code: string) => {
            writeFileSync(join(dir, name), code);
            return join(dir, name);
          };
          // one file per run: each run needs a fresh module instance
          return {
            data: stripped,
            runs: [
              { id: 'plain', file: write(`plain${ext}`, plain), traced: false },
              { id: 'stripped', file: write(`stripped${ext}`, stripped), traced: false },
              { id: 'strippedTraced', file: write(`stripped-on${ext}`, stripped), traced: true },
            ],
          };
        },
        differs,
      );
      for (const fixture of fixtures) {
        it(fixture, () => {
          const { data: stripped, results: runs } = batch.get(fixture);
          expect(behaviour(runs.stripped!), `${fixture}: stripped vs plain`).toEqual(behaviour(runs.plain!));
          expect(behaviour(runs.strippedTraced!), `${fixture}: stripped, inside a trace, vs plain`).toEqual(
            behaviour(runs.plain!),
          );
          expect(runs.stripped!.unhandled).toEqual(runs.plain!.unhandled);
          const trace = runs.strippedTraced!.trace!;
          expect(
            { spans: trace.spans, events: trace.events, entities: trace.entities },
            `${fixture}: a stripped build records nothing`,
          ).toEqual({ spans: [], events: [], entities: {} });

          const code = codeOnly(stripped);
          expect(code).not.toContain('__stepmark');
          expect(code).not.toContain('__smf');
          if (KEEPS_IMPORT[fixture]) expect(code).toContain('stepmark');
          else expect(code, `${fixture}: stripped code still mentions stepmark`).not.toContain('stepmark');
        });
      }
    });
  }
