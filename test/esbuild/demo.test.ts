// `npm start` runs examples/demo/run.mjs (after build:fast): it must keep working and keep
// showing a newcomer the three traced stories, the untraced run and the JSON file.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

it('the npm start demo builds the example with the esbuild plugin and prints its traces', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'examples/demo/run.mjs')], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
  });
  expect(stdout).toContain('Built examples/order-service with stepmark/esbuild-plugin');
  expect(stdout).toMatch(/OrderService\.place .*\n\s+├─ validateOrder/);
  expect(stdout).toContain('FraudCheck.assess → flagged');
  expect(stdout).toMatch(/Inventory\.reserve .*✗ out of stock: monitor/);
  expect(stdout).toContain('(no trace: nothing was recorded');
  const traces = JSON.parse(readFileSync(join(repoRoot, 'examples/demo/dist/traces.json'), 'utf8'));
  expect(Object.keys(traces)).toEqual(['order_1', 'order_2', 'order_3']);
  expect(traces.order_1.entities.order_1.kind).toBe('order');
});
