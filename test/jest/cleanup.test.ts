// The runtime under Jest 30's globals cleanup. When a test file ends, Jest rewrites every
// property of every object a test file left on its global (the runtime's shared state among them)
// as a getter/setter that warns ("soft" mode, the default) or deletes them ("on"). Whatever the
// runtime still runs after that — its idle timer on Node 20/22, a trace left running that
// settles later, an instrumented function called from a leftover timer — must not touch what Jest
// tore down: no crash, no JEST-01 warning. Four files under --runInBand, on Node 20 and 24, so
// that what one file leaves behind runs while the next one does.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const require = createRequire(import.meta.url);
const JEST = require.resolve('jest/bin/jest');

// Each file traces, then leaves behind what runs after its teardown; the next file waits long
// enough (300 ms > the 200 ms idle delay) for all of it to run while it is the current file.
const FILE = (n: number) => `const { capture, run, step } = require('stepmark');
const { v1 } = require('stepmark/runtime');

test('file ${n} traces', async () => {
  await new Promise((r) => setTimeout(r, 300));
  const { trace } = await capture(async () => {
    const f = v1.enter('work${n}', undefined, 1);
    try {
      step('checked', { n: ${n} });
      f.r(await f.s(null));
    } finally {
      f.exit();
    }
  });
  expect(trace.spans.map((s) => s.name)).toEqual(['work${n}']);
  expect(trace.events.map((e) => e.action)).toEqual(['entered', 'checked', 'exited']);
  // left behind: a trace that settles after this file ended, and an instrumented call from a timer
  run(() => new Promise((r) => setTimeout(r, 50)));
  setTimeout(() => {
    const f = v1.enter('late', undefined);
    step('late');
    f.exit();
  }, 100);
});
`;

mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
const dir = mkdtempSync(join(REPO_ROOT, 'test-output', 'jest-cleanup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (let n = 1; n <= 4; n++) writeFileSync(join(dir, `file${n}.test.js`), FILE(n));

function runJest(node: string, globalsCleanup: string) {
  const out = join(dir, `result-${globalsCleanup}.json`);
  const config = join(dir, `jest-${globalsCleanup}.config.json`);
  writeFileSync(
    config,
    JSON.stringify({
      rootDir: dir,
      testEnvironment: 'node',
      testEnvironmentOptions: { globalsCleanup },
      transform: {},
      cacheDirectory: join(dir, '.jest-cache'),
    }),
  );
  rmSync(out, { force: true });
  const r = spawnSync(node, [JEST, '--config', config, '--runInBand', '--json', `--outputFile=${out}`], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const result = JSON.parse(readFileSync(out, 'utf8')) as {
    numPassedTests: number;
    numFailedTestSuites: number;
    testResults: { message: string }[];
  };
  return { result, stderr: r.stderr, status: r.status };
}

describe('Jest 30 globals cleanup', () => {
  for (const [label, node] of [
    ['Node 20', '/usr/bin/node'],
    ['Node 24', process.execPath],
  ] as const) {
    for (const mode of ['soft', 'on']) {
      it(`four files under --runInBand pass without a warning (${label}, globalsCleanup: ${mode})`, () => {
        const { result, stderr, status } = runJest(node, mode);
        const messages = result.testResults.map((t) => t.message).join('\n');
        expect(messages).toBe('\n\n\n');
        expect(result.numFailedTestSuites).toBe(0);
        expect(result.numPassedTests).toBe(4);
        expect(stderr).not.toMatch(/JEST-01|soft deleted|RangeError|stepmark/);
        expect(status).toBe(0);
      }, 60_000);
    }
  }
});
