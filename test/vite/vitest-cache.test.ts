/**
 * Vitest 5 keeps transformed modules on disk between runs (`fsModuleCache`, on by default),
 * keyed by the file and the config. The same vitest.config giving stepmark other options (here
 * from an environment variable) must not run the instrumentation of the run before.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { project, repoRoot } from '../esbuild/helpers.js';

const exec = promisify(execFile);

const dir = project({
  'src/order.ts': `// @stepmark
export function place(id: string): string {
  return 'placed ' + id;
}
`,
  'test/order.test.ts': `import { expect, it } from 'vitest';
import { place } from '../src/order';
it('runs the code the options ask for', () => {
  expect(place('o1')).toBe('placed o1');
  // a frame's enter call (Vite renames the runtime import, so look for the call)
  expect(/\\.enter\\(/.test(String(place))).toBe(process.env.EXPECT_FRAMES === '1');
});
`,
  'vitest.config.mjs': `import stepmark from 'stepmark/vite';
import { defineConfig } from 'vitest/config';
export default defineConfig({
  plugins: [stepmark({ strip: process.env.STRIP === '1' })],
  test: {
    include: ['test/**/*.test.ts'],
    fsModuleCache: true,
    fsModuleCachePath: ${JSON.stringify('.vitest-cache')},
  },
});
`,
});
const catalogDir = project({
  'src/order.ts': `// @stepmark
export function place(id: string): string {
  return 'placed ' + id;
}
`,
  'src/plain.ts': `export const tax = 0.2;\n`,
  'test/order.test.ts': `import { expect, it } from 'vitest';
import { place } from '../src/order';
import { tax } from '../src/plain';
it('runs', () => expect(place('o1') + tax).toBe('placed o10.2'));
`,
  'vitest.config.mjs': `import stepmark from 'stepmark/vite';
import { defineConfig } from 'vitest/config';
export default defineConfig({
  plugins: [stepmark({ catalog: 'catalog.json' })],
  test: { include: ['test/**/*.test.ts'], fsModuleCache: true, fsModuleCachePath: '.vitest-cache' },
});
`,
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(catalogDir, { recursive: true, force: true });
});

async function vitest(
  strip: boolean,
  cwd = dir,
): Promise<{ failed: number; passed: number; stderr: string }> {
  const report = join(cwd, `report-${strip}.json`);
  const run = await exec(
    process.execPath,
    [join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`],
    {
      cwd,
      env: { ...process.env, CI: 'true', STRIP: strip ? '1' : '0', EXPECT_FRAMES: strip ? '0' : '1' },
    },
  ).catch((error: { stdout: string; stderr: string }) => error);
  const result = JSON.parse(readFileSync(report, 'utf8'));
  return { failed: result.numFailedTests, passed: result.numPassedTests, stderr: run.stderr };
}

it('writes the whole catalog on every run, with the module cache on', async () => {
  const catalog = join(catalogDir, 'catalog.json');
  const sites = () => JSON.parse(readFileSync(catalog, 'utf8')).sites.map((s: { name: string }) => s.name);
  for (const run of [1, 2]) {
    rmSync(catalog, { force: true });
    const result = await vitest(false, catalogDir);
    expect(result.passed, result.stderr).toBe(1);
    expect(existsSync(catalog), `run ${run}`).toBe(true);
    expect(sites()).toEqual(['place']);
  }
  // The modules stepmark leaves alone are still cached; the marked one is transformed each run.
  const cache = join(catalogDir, '.vitest-cache');
  const cached = readdirSync(cache, { recursive: true, encoding: 'utf8' })
    .filter((name) => name !== 'CACHEDIR.TAG')
    .map((name) => readFileSync(join(cache, name), 'utf8'));
  expect(cached.some((code) => code.includes('tax = 0.2'))).toBe(true);
  expect(cached.some((code) => code.includes('function place('))).toBe(false);
});

it('runs each option set on its own instrumentation, with the module cache on', async () => {
  const first = await vitest(false);
  expect(first.failed, first.stderr).toBe(0);
  expect(first.passed).toBe(1);
  const second = await vitest(true);
  expect(second.failed, second.stderr).toBe(0);
  const third = await vitest(false);
  expect(third.failed, third.stderr).toBe(0);
});
