// The decision-coverage reporter (stepmark/testing/reporter) in real test runs: a tiny project
// run by the real Vitest and by the real Jest 30, each with stepmark/testing/collect as a setup
// file, against the catalog a real esbuild build of the project's sources wrote.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { stepmark as stepmarkPlugin } from 'stepmark/esbuild-plugin';
import type { CoverageReport } from 'stepmark/testing';
import { StepmarkCoverageReporter } from 'stepmark/testing/reporter';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const require = createRequire(import.meta.url);
const OUT = join(REPO_ROOT, 'test-output', 'reporter');

const ORDERS = `// @stepmark
import { step } from 'stepmark';

export function validate(total: number): boolean {
  if (total <= 0) {
    step('rejected', { total });
    return false;
  }
  step('ok');
  return true;
}

export function fraud(total: number): void {
  step(total > 1000 ? 'flagged' : 'cleared', { total });
}

export function ship(): void {
  step('shipped');
}
`;

// Three decisions of five taken (ok, rejected, flagged); validate and fraud reached, ship never.
const TEST = `import { capture } from 'stepmark';
import { fraud, validate } from '../src/orders';

test('a valid order', async () => {
  const { trace } = await capture(() => validate(5));
  expect(trace.spans.map((s) => s.name)).toEqual(['validate']);
});
test('an empty order', async () => {
  await capture(() => validate(0));
});
test('a large order is flagged', async () => {
  await capture(() => fraud(5000));
});
`;

/** A project directory with the sources, the test, `stepmark` linked in, and the catalog an esbuild build wrote. */
async function project(name: string): Promise<string> {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'test'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules/stepmark'), 'dir');
  writeFileSync(join(dir, 'src/orders.ts'), ORDERS);
  writeFileSync(join(dir, 'test/orders.test.ts'), TEST);
  await build({
    entryPoints: [join(dir, 'src/orders.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    external: ['stepmark', 'stepmark/*'],
    absWorkingDir: dir,
    logLevel: 'silent',
    plugins: [stepmarkPlugin({ root: dir, catalog: 'dist/catalog.json' })],
  });
  return dir;
}

function run(dir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', CI: 'true' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The report's lines for the project's file, whatever the runner printed around them. */
function reportLines(stdout: string): string[] {
  const start = stdout.indexOf('decision coverage ·');
  expect(start, stdout).toBeGreaterThanOrEqual(0);
  return stdout
    .slice(start)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, 6);
}

beforeAll(() => mkdirSync(OUT, { recursive: true }));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe('decision coverage reporter', () => {
  it('in Vitest: prints the decisions the run never took and fails under min', async () => {
    const dir = await project('vitest');
    writeFileSync(
      join(dir, 'vitest.config.mjs'),
      `import { stepmark } from 'stepmark/vite';
import { defineConfig } from 'vitest/config';
export default defineConfig({
  root: import.meta.dirname,
  plugins: [stepmark()],
  test: {
    include: ['test/**/*.test.ts'],
    globals: true,
    setupFiles: ['stepmark/testing/collect'],
    reporters: ['dot', ['stepmark/testing/reporter', { catalog: 'dist/catalog.json', min: 80, json: 'out/coverage.json' }]],
  },
});
`,
    );
    const r = run(dir, [
      join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'vitest.config.mjs',
    ]);
    // The tests pass; the run fails because 60% of the decisions were taken, not 80%.
    expect(r.stdout + r.stderr).toMatch(/3 passed/);
    expect(reportLines(r.stdout)).toEqual([
      'decision coverage · 3 traces · decisions 3/5 60.0% · sites 5/7 71.4%',
      'src/orders.ts · decisions 3/5 60.0% · sites 5/7 71.4%',
      '  ✓ fraud  14:3  ✗ cleared  ✓ flagged ×1',
      '  ✗ ship   17:8  never reached',
      '  ✗ ship   18:3  never reached',
      'decision coverage 60.0% is below the minimum of 80%',
    ]);
    expect(r.code).toBe(1);
    const json = JSON.parse(readFileSync(join(dir, 'out/coverage.json'), 'utf8')) as CoverageReport;
    expect(json.summary.decisions).toEqual({ reached: 3, total: 5, percent: 60 });
    const validate = json.files[0]!.sites.filter((s) => s.name === 'validate' && s.kind === 'step');
    expect(validate.map((s) => [s.actions, s.unreached_actions])).toEqual([
      [[{ action: 'rejected', count: 1 }], []],
      [[{ action: 'ok', count: 1 }], []],
    ]);
    expect(r.stdout + r.stderr).not.toMatch(/no traces were collected/);
  }, 60_000);

  it('in Jest 30: the same report, and the run passes over min', async () => {
    const dir = await project('jest');
    writeFileSync(
      join(dir, 'babel.config.cjs'),
      `module.exports = ${JSON.stringify({
        presets: [require.resolve('@babel/preset-typescript')],
        plugins: [
          [require.resolve('stepmark/babel-plugin'), { root: dir }],
          require.resolve('@babel/plugin-transform-modules-commonjs'),
        ],
      })};\n`,
    );
    writeFileSync(
      join(dir, 'jest.config.cjs'),
      `module.exports = ${JSON.stringify({
        rootDir: dir,
        testEnvironment: 'node',
        transform: {
          '\\.ts$': [require.resolve('babel-jest'), { configFile: join(dir, 'babel.config.cjs') }],
        },
        moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
        cacheDirectory: join(dir, '.jest-cache'),
        setupFilesAfterEnv: ['stepmark/testing/collect'],
        reporters: [
          'default',
          ['stepmark/testing/reporter', { catalog: 'dist/catalog.json', min: 50, show: 'all' }],
        ],
      })};\n`,
    );
    const r = run(dir, [require.resolve('jest/bin/jest'), '--config', 'jest.config.cjs']);
    expect(r.stderr).toMatch(/Tests:\s+3 passed, 3 total/);
    expect(reportLines(r.stdout)).toEqual([
      'decision coverage · 3 traces · decisions 3/5 60.0% · sites 5/7 71.4%',
      'src/orders.ts · decisions 3/5 60.0% · sites 5/7 71.4%',
      '  ✓ validate  4:8   ×2',
      '  ✓ validate  6:5   ✓ rejected ×1',
      '  ✓ validate  9:3   ✓ ok ×1',
      '  ✓ fraud     13:8  ×1',
    ]);
    expect(r.stdout).not.toMatch(/below the minimum/);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  }, 60_000);

  it('as Jest calls it: getLastError fails the run under min; bad options are a TypeError', async () => {
    const dir = await project('in-process');
    const saved = process.env.STEPMARK_COVERAGE_DIR;
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const reporter = new StepmarkCoverageReporter(
        { rootDir: dir },
        { catalog: 'dist/catalog.json', min: 50 },
        {},
      );
      const workers = process.env.STEPMARK_COVERAGE_DIR!;
      expect(workers).toMatch(/stepmark-coverage-/);
      reporter.onRunStart();
      // What a worker's stepmark/testing/collect appends: one line per trace ended.
      writeFileSync(
        join(workers, '1.ndjson'),
        `${JSON.stringify({ traces: 1, spans: [['validate', 'src/orders.ts:4:8', 1]], events: [['validate', 'ok', 1]] })}\n{"trac`,
      );
      reporter.onRunComplete();
      expect(reporter.getLastError()?.message).toBe('stepmark decision coverage is below the minimum of 50%');
      expect(reporter.report?.summary.decisions).toEqual({ reached: 1, total: 5, percent: 20 });
      const printed = out.mock.calls.map((c) => String(c[0])).join('');
      expect(printed).toContain('decision coverage · 1 trace · decisions 1/5 20.0%');
      expect(printed).toContain('(1 unreadable line of worker counts skipped)');
      // A new run (watch mode) starts from nothing.
      reporter.onRunStart();
      reporter.onRunComplete();
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toContain('no traces were collected');
    } finally {
      out.mockRestore();
      if (saved === undefined) delete process.env.STEPMARK_COVERAGE_DIR;
      else process.env.STEPMARK_COVERAGE_DIR = saved;
    }
    expect(() => new StepmarkCoverageReporter({})).toThrow(/`catalog` .* is required/);
    expect(() => new StepmarkCoverageReporter({ catalog: 'x.json', min: 120 })).toThrow(
      /`min` must be a percentage/,
    );
    expect(() => new StepmarkCoverageReporter({ catalog: 'x.json', mni: 80 })).toThrow(
      /unknown option "mni"/,
    );
    const [INVALID, UNKNOWN] = ['ERR_STEPMARK_INVALID_OPTION', 'ERR_STEPMARK_UNKNOWN_OPTION'];
    for (const [options, code, option] of [
      [{}, INVALID, 'catalog'],
      [{ catalog: 'x.json', min: 120 }, INVALID, 'min'],
      [{ catalog: 'x.json', show: 'some' }, INVALID, 'show'],
      [{ catalog: 'x.json', json: '' }, INVALID, 'json'],
      [{ catalog: 'x.json', mni: 80 }, UNKNOWN, 'mni'],
    ] as const)
      expect(() => new StepmarkCoverageReporter(options)).toThrow(expect.objectContaining({ code, option }));
  });
});
