#!/usr/bin/env node
// stepmark in a TypeScript 7 project, as a user gets it: `npm pack` of this repository (dist/
// built beforehand: `npm run build`), then a fresh project that installs the tarball beside
// typescript@7 and the esbuild route's packages (from npm's cache when they are there), and:
// - the install succeeds (no ERESOLVE against the `typescript` peer);
// - TypeScript 7's tsc type-checks code that uses stepmark, stepmark/testing and the esbuild plugin;
// - an esbuild build with stepmark/esbuild-plugin runs and records build-time names;
// - stepmark/transformer, loaded in that project (ESM, CommonJS, ts-jest's entry), refuses
//   TypeScript 7 with an error that points to the esbuild, Vite and Babel plugins.
// Plain node, no test framework (CI runs it as a step). Exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
if (!existsSync(join(repo, 'dist/runtime/index.d.ts'))) {
  console.error('test/install/ts7.mjs: dist/ is not built with types: run `npm run build` first');
  process.exit(1);
}
const devDependencies = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies;
/** `name@range` with the range this repository uses, so npm finds it in its cache. */
const asInRepo = (name) => `${name}@${devDependencies[name]}`;

const dir = mkdtempSync(join(tmpdir(), 'stepmark-ts7-'));
const sh = (command, args, options = {}) =>
  execFileSync(command, args, { cwd: dir, encoding: 'utf8', stdio: 'pipe', ...options });
const results = [];
const ok = (what) => results.push(`ok   ${what}`);

try {
  // --ignore-scripts: dist/ is already built; a prepack build would only redo it.
  const [packed] = JSON.parse(
    sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: repo }),
  );
  const tarball = join(dir, packed.filename);

  const project = join(dir, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  const files = {
    'package.json': JSON.stringify({ name: 'ts7-project', private: true, type: 'module' }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        strict: true,
        noEmit: true,
        types: ['node'],
      },
      include: ['src', 'build.ts'],
    }),
    'src/order.ts': `// @stepmark
import { step } from 'stepmark';

export class OrderService {
  async place(order: { id: string; total: number }): Promise<string> {
    await Promise.resolve();
    const verdict = this.check(order.total);
    step(verdict, { total: order.total });
    return verdict;
  }

  check(total: number): 'accepted' | 'refused' {
    return total > 100 ? 'refused' : 'accepted';
  }
}
`,
    'src/main.ts': `import { capture } from 'stepmark';
import { renderJourneys, renderSpanTree } from 'stepmark/testing';
import { OrderService } from './order.js';

const { result, trace } = await capture(() => new OrderService().place({ id: 'o1', total: 250 }));
console.log(JSON.stringify({ result, spans: renderSpanTree(trace, { locations: true }), journeys: renderJourneys(trace) }));
`,
    'build.ts': `import { build } from 'esbuild';
import stepmark from 'stepmark/esbuild-plugin';

await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: 'dist/main.mjs',
  external: ['stepmark', 'stepmark/*'],
  logLevel: 'warning',
  plugins: [stepmark()],
});
`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);

  const packages = [
    'typescript@^7',
    ...['@types/node', 'esbuild', 'oxc-parser', 'magic-string'].map(asInRepo),
  ];
  try {
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...packages], {
      cwd: project,
    });
  } catch (error) {
    throw new Error(`npm install of the tarball beside TypeScript 7 failed:\n${error.stderr}`);
  }
  const ts = JSON.parse(readFileSync(join(project, 'node_modules/typescript/package.json'), 'utf8'));
  assert.match(ts.version, /^7\./, 'typescript installed');
  ok(`npm install ${packed.filename} beside typescript@${ts.version}`);

  try {
    sh(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: project });
  } catch (error) {
    throw new Error(`tsc ${ts.version} found errors:\n${error.stdout}${error.stderr}`);
  }
  ok(`tsc ${ts.version} type-checks code using stepmark, stepmark/testing and stepmark/esbuild-plugin`);

  // Node ≥ 22.18 runs build.ts as it is; on Node 20 esbuild turns it into JavaScript first.
  sh(
    process.execPath,
    ['-e', "require('esbuild').buildSync({ entryPoints: ['build.ts'], outfile: 'build.mjs' })"],
    {
      cwd: project,
    },
  );
  sh(process.execPath, ['build.mjs'], { cwd: project });
  const run = JSON.parse(sh(process.execPath, ['dist/main.mjs'], { cwd: project }));
  assert.equal(run.result, 'refused');
  assert.equal(run.spans, 'OrderService.place @src/order.ts:5:9\n  OrderService.check @src/order.ts:12:3');
  assert.equal(run.journeys, '(events): OrderService.place:refused');
  ok('esbuild + stepmark/esbuild-plugin: build-time names and locations');

  const refusal =
    /^stepmark\/transformer supports TypeScript 5\.0 to 6\.x; TypeScript 7\.\d+\.\d+ has no transformer API .*stepmark\/esbuild-plugin, stepmark\/vite or stepmark\/babel-plugin/;
  const attempts = {
    'import()': "import('stepmark/transformer').then((m) => m.default())",
    "require() with the project's ts":
      "require('stepmark/transformer').stepmarkTransformer(undefined, {}, { ts: require('typescript') })",
    "ts-jest's factory":
      "require('stepmark/transformer').factory({ configSet: { compilerModule: require('typescript') } })",
  };
  for (const [how, code] of Object.entries(attempts)) {
    const script = `Promise.resolve().then(() => ${code}).then(
  () => { console.log('no error'); },
  (e) => { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); })`;
    const error = JSON.parse(sh(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: project }));
    assert.equal(error.code, 'ERR_STEPMARK_UNSUPPORTED_TYPESCRIPT', `${how}: ${JSON.stringify(error)}`);
    assert.match(error.message, refusal, how);
  }
  ok(
    `stepmark/transformer under TypeScript ${ts.version} (${Object.keys(attempts).join(', ')}) says to use esbuild, Vite or Babel`,
  );
  console.log(results.join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
