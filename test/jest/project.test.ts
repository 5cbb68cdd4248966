// The Jest 30 example project (examples/jest) on Node 20, the oldest Node users run: one project
// transforms with babel-jest and stepmark/babel-plugin, the other with ts-jest and
// stepmark/transformer; both register the matchers with `setupFilesAfterEnv:
// ['stepmark/testing/jest']`. ts-jest type-checks every test file (matchers typed through both
// `@jest/globals` and `@types/jest`, misuse rejected by `@ts-expect-error` lines), so a missing
// or wrong augmentation fails the run.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const require = createRequire(import.meta.url);
const project = join(REPO_ROOT, 'examples/jest');

// Babel and ts-jest resolve plugin names from the project's node_modules, as in a user's project.
const link = join(project, 'node_modules/stepmark');
const linked = !existsSync(link);
if (linked) {
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(REPO_ROOT, link, 'dir');
}
mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
const tmp = mkdtempSync(join(REPO_ROOT, 'test-output', 'jest-project-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (linked && lstatSync(link).isSymbolicLink()) rmSync(join(project, 'node_modules'), { recursive: true });
});

it('babel-jest and ts-jest projects pass on Node 20, type-checked, without warnings', () => {
  // ts-jest type-checks against the package's declarations, which `npm run build:fast` does not write
  expect(existsSync(join(REPO_ROOT, 'dist/testing/jest.d.ts')), 'run `npm run build` first').toBe(true);
  const out = join(tmp, 'result.json');
  const r = spawnSync(
    '/usr/bin/node',
    [
      require.resolve('jest/bin/jest'),
      '--config',
      join(project, 'jest.config.cjs'),
      '--runInBand',
      '--ci',
      // a fresh transform cache: babel-jest's cache key does not cover the plugin's own code
      `--cacheDirectory=${join(tmp, 'cache')}`,
      '--json',
      `--outputFile=${out}`,
    ],
    { cwd: project, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } },
  );
  const result = JSON.parse(readFileSync(out, 'utf8')) as {
    numPassedTests: number;
    numFailedTestSuites: number;
    testResults: { name: string; status: string; message: string }[];
  };
  expect(result.testResults.filter((t) => t.status !== 'passed').map((t) => t.message)).toEqual([]);
  expect(result.numFailedTestSuites).toBe(0);
  // two test files with 4 tests, in each of the two projects
  expect(result.numPassedTests).toBe(8);
  expect(r.stderr).not.toMatch(/JEST-01|soft deleted|DeprecationWarning|stepmark\]/);
  expect(r.status).toBe(0);
}, 240_000);
