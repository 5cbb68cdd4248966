// The Babel plugin under Jest with babel-jest, the set-up where the test runner owns the
// transform: Jest applies the map babel-jest returns when it prints a failure, so the stack lines
// and the code frame of a failure thrown inside an instrumented file must show the original
// lines. Run with and without `--coverage` (babel-plugin-istanbul then shares the pass, so the
// plugin takes its general path, docs/BABEL.md) and with `retainLines` (line numbers right even
// where no map is applied).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, scratchDir } from '../support/scratch.js';

const require = createRequire(import.meta.url);

const ORDER = `// @stepmark
import { step } from 'stepmark';

export class Order {
  constructor(
    readonly id: string,
    private readonly total: number,
  ) {}

  check(): number {
    step('checking', { total: this.total });
    if (this.total < 0) throw new RangeError('negative total');
    return this.total;
  }
}

export const checkAll = async (orders: Order[]) => {
  await Promise.resolve();
  return orders.map((o) => o.check());
};
`;

const TEST = `import { capture } from 'stepmark';
import { checkAll, Order } from './order';

test('traces the journey', async () => {
  const { trace } = await capture(() => checkAll([new Order('a', 3)]));
  expect(trace.spans.map((s) => s.name)).toEqual(['Order.constructor', 'checkAll', 'Order.check']);
  expect(trace.events.filter((e) => e.stage === 'Order.check').map((e) => e.action)).toEqual(['entered', 'checking', 'exited']);
});

test('fails inside the instrumented file', async () => {
  await checkAll([new Order('b', -1)]);
});
`;

interface JestResult {
  numPassedTests: number;
  numFailedTests: number;
  testResults: { message: string; assertionResults: { title: string; status: string }[] }[];
}

function runJest(
  name: string,
  babelOptions: object,
  args: string[] = [],
  /** More plugin options; more files, written before Jest runs. */
  extra: { plugin?: object; setup?: (dir: string) => void } = {},
): JestResult & { stderr: string; dir: string } {
  const dir = scratchDir(`babel-jest-${name}`);
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  if (!existsSync(join(dir, 'node_modules/stepmark')))
    symlinkSync(REPO_ROOT, join(dir, 'node_modules/stepmark'), 'dir');
  writeFileSync(join(dir, 'src/order.ts'), ORDER);
  writeFileSync(join(dir, 'src/order.test.ts'), TEST);
  writeFileSync(
    join(dir, 'babel.config.cjs'),
    `module.exports = ${JSON.stringify({
      presets: [require.resolve('@babel/preset-typescript')],
      plugins: [
        [require.resolve('stepmark/babel-plugin'), { root: dir, ...extra.plugin }],
        require.resolve('@babel/plugin-transform-modules-commonjs'),
      ],
      ...babelOptions,
    })};\n`,
  );
  writeFileSync(
    join(dir, 'jest.config.cjs'),
    `module.exports = ${JSON.stringify({
      rootDir: dir,
      testEnvironment: 'node',
      transform: { '\\.ts$': [require.resolve('babel-jest'), { configFile: join(dir, 'babel.config.cjs') }] },
      moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
      cacheDirectory: join(dir, '.jest-cache'),
    })};\n`,
  );
  extra.setup?.(dir);
  const out = join(dir, 'result.json');
  // one test fails on purpose: Jest exits 1
  const { stderr } = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--config',
      join(dir, 'jest.config.cjs'),
      '--json',
      `--outputFile=${out}`,
      ...args,
    ],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test', FORCE_COLOR: '0' } },
  );
  return { ...(JSON.parse(readFileSync(out, 'utf8')) as JestResult), stderr, dir };
}

/** What Jest prints for the test that fails on purpose: message, code frame, mapped stack. */
function failure(result: JestResult): string {
  const file = result.testResults[0]!;
  const test = file.assertionResults.find((a) => a.title === 'fails inside the instrumented file')!;
  expect(test.status).toBe('failed');
  return file.message;
}

describe('Babel plugin under Jest (babel-jest)', () => {
  for (const [name, options, args] of [
    ['maps', {}, []],
    ['coverage', {}, ['--coverage', '--coverageReporters=json']],
    ['retain-lines', { retainLines: true }, []],
  ] as const) {
    it(`traces, and failures point at the original lines and code (${name})`, () => {
      const result = runJest(name, options, [...args]);
      expect(result.numPassedTests).toBe(1);
      expect(result.numFailedTests).toBe(1);
      const message = failure(result);
      expect(message).toContain('RangeError: negative total');
      // the throw is on line 12, column 31 of src/order.ts; the map call on line 19
      expect(message).toMatch(/at Order\.check \(src\/order\.ts:12:31\)/);
      expect(message).toMatch(/at checkAll \(src\/order\.ts:19:17\)/);
      // Jest's code frame shows the original source line, not instrumented code
      expect(message).toContain("> 12 |     if (this.total < 0) throw new RangeError('negative total');");
    }, 180_000);
  }

  it('says once, from the first of two workers, that an include selects no file', () => {
    // two test files, so that both workers compile
    const result = runJest('include', {}, ['--maxWorkers=2', '--no-cache'], {
      plugin: { include: ['source/**'] },
      setup: (dir) =>
        writeFileSync(join(dir, 'src/other.test.ts'), "test('other', () => expect(1).toBe(1));\n"),
    });
    expect(result.numPassedTests).toBe(2);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('STEPMARK_INCLUDE_UNMATCHED'));
    expect(warnings).toEqual([
      expect.stringContaining(
        `stepmark/babel-plugin: include ["source/**"] selects no JavaScript or TypeScript file under root ${JSON.stringify(result.dir)}`,
      ),
    ]);
  }, 180_000);
});
