#!/usr/bin/env node
// Smoke test of the BUILT esbuild plugin on the machine's own Node (CI runs it with Node 20,
// where oxc-parser has no raw transfer and the plugin takes oxc's ordinary parse path): loads
// `stepmark/esbuild-plugin` as ESM and as CommonJS, bundles a small marked project with each (the
// default scan leaves the unmarked file to esbuild), runs the bundles with source maps on and
// checks the trace, the step, a mapped stack trace and that the unmarked file is untouched.
// Plain node, no test framework. Exits non-zero with a message on the first failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import esmPlugin from 'stepmark/esbuild-plugin';

const require = createRequire(import.meta.url);
const { stepmark: cjsPlugin } = require('stepmark/esbuild-plugin');

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = join(repo, 'test-output', 'node20-esbuild');
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'src'), { recursive: true });
const files = {
  'src/order.ts': `// @stepmark
import { step } from 'stepmark';
import { rate } from './tax';

export async function place(order: { id: string; total: number }) {
  step('received', { total: order.total });
  await Promise.resolve();
  return validate(order) * rate();
}

function validate(order: { id: string; total: number }): number {
  if (order.total <= 0) throw new Error('bad total');
  return order.total;
}
`,
  'src/tax.ts': 'export const rate = (): number => 1.2;\n',
  'src/main.ts': `import { capture } from 'stepmark';
import { place } from './order';

const { result, trace } = await capture(() => place({ id: 'o1', total: 10 }));
console.log(JSON.stringify({ result, spans: trace.spans.map((s) => s.name), events: trace.events.map((e) => e.stage + ':' + e.action) }));
await place({ id: 'o2', total: 0 }).catch((e) => console.log(e.stack.split('\\n').slice(0, 2).join(' | ')));
`,
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);

const results = [];
for (const [label, plugin] of [
  ['ESM', esmPlugin],
  ['CommonJS', cjsPlugin],
]) {
  const outfile = join(dir, `out-${label}.mjs`);
  const built = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: ['src/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    sourcemap: true,
    outfile,
    external: ['stepmark', 'stepmark/*'],
    logLevel: 'silent',
    plugins: [plugin()],
  });
  assert.deepEqual(built.errors, [], `${label}: build errors`);
  const out = execFileSync(process.execPath, ['--enable-source-maps', outfile], { encoding: 'utf8' });
  const [json, stack] = out.trim().split('\n');
  const run = JSON.parse(json);
  assert.equal(run.result, 12, `${label}: result`);
  assert.deepEqual(run.spans, ['place', 'validate'], `${label}: spans`);
  assert.deepEqual(run.events.includes('place:received'), true, `${label}: step event in ${run.events}`);
  assert.match(
    stack,
    /Error: bad total \| +at validate \(.*src[\\/]order\.ts:12:31\)/,
    `${label}: mapped stack`,
  );
  results.push(`ok   ${label} build of the plugin on Node ${process.versions.node}`);
}
// tax.ts (unmarked) comes out of a build with the plugin exactly as esbuild prints it alone
const taxBundle = async (plugins) =>
  (
    await esbuild.build({
      absWorkingDir: dir,
      entryPoints: ['src/tax.ts'],
      bundle: true,
      write: false,
      format: 'esm',
      logLevel: 'silent',
      plugins,
    })
  ).outputFiles[0].text;
assert.equal(await taxBundle([esmPlugin()]), await taxBundle([]), 'unmarked file changed');
results.push('ok   unmarked file untouched');
console.log(results.join('\n'));
rmSync(dir, { recursive: true, force: true });
