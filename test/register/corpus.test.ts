/**
 * The shared fixture corpus (test/fixtures, harness in test/corpus) through `stepmark/register`:
 * each fixture is compiled without stepmark (TypeScript's `transpileModule`; JavaScript fixtures
 * as written) and instrumented as Node loads it (`--import stepmark/register`, the fixture's
 * options in STEPMARK_OPTIONS), tracing off and on, against the same code run plain. The span
 * trees and journeys are held to the same expectations as every other route.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, runCorpus } from '../corpus/harness.js';
import { compilers, transpileFixture } from '../transformer/helpers.js';

const ts = compilers['typescript 6']!;

// Left out, each for what this route does by design, not by accident:
// - locations name the file Node loads (the compiled copy), not test/fixtures/<fixture>;
// - TypeScript's uninstrumented output, which register loads, has its enum and namespace helper
//   functions written out, and register instruments them as it does any code it is given;
// - TypeScript drops the comments of the overload signatures it erases, and with them the
//   `// @stepmark` directives that mark those functions.
const BY_DESIGN = new Set(['compiled-helpers.ts', 'overload-directives.ts']);
const sourceLocations = (fixture: string) =>
  /^locations: true$/m.test(readFileSync(join(FIXTURES_DIR, fixture), 'utf8'));

runCorpus({
  label: 'register-esm',
  moduleFormat: 'esm',
  filter: (fixture) => !BY_DESIGN.has(fixture) && !sourceLocations(fixture),
  compile: (source, filename) =>
    filename.endsWith('.js')
      ? { code: source }
      : transpileFixture(source, filename, {
          ts,
          options: null,
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }),
  instrumentAtLoad: (options) => ({
    args: ['--import', 'stepmark/register'],
    env: { ...process.env, STEPMARK_OPTIONS: JSON.stringify(options) },
  }),
});
