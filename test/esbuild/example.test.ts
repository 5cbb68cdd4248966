/**
 * The examples/order-service project's own Vitest suite (its vitest.config uses `stepmark/vite`),
 * run as a user would run it, so `npm test` covers the Vite plugin's user story end to end.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { project, repoRoot } from './helpers.js';

const exec = promisify(execFile);

it('the example order service passes its own Vitest suite through stepmark/vite', async () => {
  const report = join(project({}), 'vitest.json');
  const run = await exec(
    process.execPath,
    [
      join(repoRoot, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'examples/order-service/vitest.config.ts',
      '--reporter=json',
      `--outputFile=${report}`,
    ],
    { cwd: repoRoot, env: { ...process.env, CI: 'true' } },
  ).catch((error: { stdout: string; stderr: string }) => error);
  const result = JSON.parse(readFileSync(report, 'utf8'));
  expect(result.numFailedTests, run.stderr).toBe(0);
  expect(result.numPassedTests).toBeGreaterThanOrEqual(5);
  expect(result.success).toBe(true);
});
