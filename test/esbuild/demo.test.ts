// `npm start` runs examples/demo/run.mjs (after build:fast): it must keep working and keep
// showing a newcomer the three traced stories, the untraced run, the JSON file, and the flight
// recorder answering for an order after the fact.
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
  expect(stdout).toMatch(
    /300 orders placed \(\d+ rejected\), none traced on request; the recorder holds 300 traces/,
  );
  const asked = /── Why was (order_\d+) rejected\?\n\1 was rejected: flagged by fraud check\.\n/.exec(stdout);
  expect(asked).not.toBeNull();
  expect(stdout).toMatch(new RegExp(`FraudCheck\\.assess \\[${asked![1]}\\]`));
  expect(stdout).toMatch(
    /FraudCheck\.assess → flagged score=0\.\d+\n\s+OrderService\.rejected → rejected reason="flagged by fraud check"/,
  );
  const dump = readFileSync(join(repoRoot, 'examples/demo/dist/recorder.ndjson'), 'utf8')
    .trimEnd()
    .split('\n');
  expect(dump).toHaveLength(300);
  expect(dump.some((line) => JSON.parse(line).entities[asked![1]] !== undefined)).toBe(true);
});
