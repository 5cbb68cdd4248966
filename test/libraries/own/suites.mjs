// The libraries whose own test suites `npm run test:libraries` runs against their instrumented
// source (test/libraries/own/run.mjs), and how. Their repositories are not part of this one: each
// lives in test/libraries/repos/<name> (ignored by git), set up with `run.mjs --setup`.
import { join } from 'node:path';
import { REPO_ROOT } from '../libraries.mjs';

export const REPOS = join(REPO_ROOT, 'test/libraries/repos');

/**
 * @typedef {object} Suite
 * @property {string} name
 * @property {string} repository   where to clone it from
 * @property {'node' | 'node-test' | 'vitest'} runner  `node`: the repository's own Node test script
 *   (acorn's); `node-test`: test files run by `node --test`; `vitest`: its Vitest suite, run by
 *   this repository's Vitest with the route as a Vite plugin
 * @property {string[]} [command]  `node`: the arguments of Node; `node-test`: the test files
 * @property {Bundle[]} [bundles]  `node`, `node-test`: what the tests load, bundled from the source
 *   per route as the library's own build does
 * @property {string[]} [external]  `node`, `node-test`: modules the bundles leave to Node
 * @property {string} source       the folder of the code that is instrumented, relative to the repository
 * @property {string[]} [tests]    globs (relative to `source`) of the files there that are tests: not instrumented
 * @property {string[]} [include]  Vitest: the test files
 * @property {string[]} [exclude]  Vitest: test files left out, with the reason in a comment
 * @property {boolean} [globals]   Vitest: the suite uses global `describe`/`it`
 * @property {boolean} [isolate]   Vitest: false where the suite's own configuration runs its files in one module graph
 * @property {Record<string, string>} [alias]  Vitest: module aliases of the suite's own configuration
 *   (paths relative to the repository)
 * @property {string[]} [setupFiles]  Vitest: setup files of the suite's own configuration (relative to the repository)
 * @property {string[]} devDependencies  what its tests import besides Vitest, installed by --setup
 *   (the version range from the repository's package.json, unless given here)
 * @property {Record<string, string>} [overrides]  npm overrides for installing them
 * @property {string} [timeLimit]  `node-test`: the error message of a test that took longer than the
 *   suite allows: such a failure depends on the machine's load and is not compared
 */

/**
 * @typedef {object} Bundle
 * @property {string} entry     relative to the repository
 * @property {string} outfile   relative to the repository, where the tests load it from
 * @property {'esm' | 'cjs'} format
 * @property {boolean} [plain]  not instrumented (acorn-loose, tested on top of acorn)
 */

/** @type {Suite[]} */
export const SUITES = [
  {
    name: 'acorn',
    repository: 'https://github.com/acornjs/acorn',
    runner: 'node',
    source: 'acorn/src',
    command: ['test/run.js'],
    // As acorn's own rollup build does: one CommonJS file from the ES module sources; acorn-loose
    // (tested too, on top of acorn) stays uninstrumented and uses the acorn above.
    bundles: [
      { entry: 'acorn/src/index.js', outfile: 'acorn/dist/acorn.js', format: 'cjs' },
      {
        entry: 'acorn-loose/src/index.js',
        outfile: 'acorn-loose/dist/acorn-loose.js',
        format: 'cjs',
        plain: true,
      },
    ],
    external: ['acorn'],
    devDependencies: [],
  },
  {
    name: 'immer',
    repository: 'https://github.com/immerjs/immer',
    runner: 'vitest',
    source: 'src',
    include: ['__tests__/**/*.{js,ts}'],
    // Flow type checks, and checks of TypeScript types only (nothing runs)
    exclude: ['__tests__/flow/**', '__tests__/**/*.d.ts'],
    globals: true,
    devDependencies: ['deep-freeze', 'redux', 'type-plus'],
  },
  {
    name: 'date-fns',
    repository: 'https://github.com/date-fns/date-fns',
    runner: 'vitest',
    source: 'src',
    tests: ['**/test.ts', '_lib/test/**'],
    include: ['src/**/test.ts'],
    exclude: [],
    isolate: false,
    devDependencies: ['@date-fns/tz@1', '@date-fns/utc@2', 'sinon', 'fp-ts', 'js-fns', 'lodash'],
  },
  {
    name: 'marked',
    repository: 'https://github.com/markedjs/marked',
    runner: 'node-test',
    source: 'src',
    // its spec suites (CommonMark, GFM, its own) and unit tests, on the ES module build
    command: ['test/run-spec-tests.js', 'test/unit/*.test.js'],
    bundles: [{ entry: 'src/marked.ts', outfile: 'lib/marked.esm.js', format: 'esm' }],
    devDependencies: ['@markedjs/testutils'],
    // which depends on a GitHub tarball of marked for default spec folders that marked's tests
    // do not use (they pass their own): the npm package instead
    overrides: { 'marked-repo': 'npm:marked@18.0.0' },
    // a spec test fails when parsing took over a second (its ReDoS guards)
    timeLimit: 'took too long',
  },
  {
    name: 'yaml',
    repository: 'https://github.com/eemeli/yaml',
    runner: 'vitest',
    source: 'src',
    include: ['tests/**/*.{js,ts}'],
    // as yaml's own configuration: helpers and fixtures; and the data of its two spec suites
    exclude: ['tests/_*', 'tests/artifacts/**', 'tests/json-test-suite/**', 'tests/yaml-test-suite/**'],
    globals: true,
    alias: {
      '../src/test-events.ts': 'src/test-events.ts',
      'yaml/cli': 'src/cli.ts',
      'yaml/util': 'src/util.ts',
      yaml: 'src/index.ts',
    },
    setupFiles: ['tests/_setup.ts'],
    devDependencies: ['fast-check'],
  },
  {
    name: 'superstruct',
    repository: 'https://github.com/ianstormtaylor/superstruct',
    runner: 'vitest',
    source: 'src',
    include: ['test/**/*.test.ts'],
    exclude: [],
    devDependencies: ['lodash'],
  },
  {
    name: 'neverthrow',
    repository: 'https://github.com/supermacro/neverthrow',
    runner: 'vitest',
    source: 'src',
    include: ['tests/**/*.test.ts'],
    exclude: [],
    devDependencies: ['testdouble', 'ts-toolbelt'],
  },
];

/** Plugin options that instrument every function of the suite's source, not its tests. */
export function suiteOptions(suite) {
  const source = `test/libraries/repos/${suite.name}/${suite.source}`;
  return {
    root: REPO_ROOT,
    include: [`${source}/**`],
    exclude: (suite.tests ?? []).map((glob) => `${source}/${glob}`),
    callbacks: true,
    getters: true,
  };
}
