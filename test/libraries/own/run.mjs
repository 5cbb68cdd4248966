#!/usr/bin/env node
// `npm run test:libraries`: runs the own test suites of real libraries (suites.mjs) against their
// source instrumented on each route (every function, callbacks and getters included), next to an
// uninstrumented baseline run, for each repository present in test/libraries/repos/<name>.
// Prints pass counts per library and route, writes them to test-output/libraries-own.json, and
// fails when an instrumented run fails a test that the baseline passes.
//
//   node test/libraries/own/run.mjs [name…] [--routes babel,esbuild]
//   node test/libraries/own/run.mjs --setup <name>=<path of a git clone>[@<revision>]
//
// --setup copies the revision (default HEAD) of a clone into test/libraries/repos/<name>, with
// the submodules checked out in the clone, and installs what the suite's tests import (from npm,
// next to it, not into the clone's own package.json). Without a clone: `git clone <repository>
// /tmp/<name>` first (URLs in suites.mjs; yaml: `git submodule update --init` in it too).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compileFile, linkRuntime, ROUTES } from '../build.mjs';
import { REPO_ROOT } from '../libraries.mjs';
import { REPOS, SUITES, suiteOptions } from './suites.mjs';

const require = createRequire(import.meta.url);
const REPORTER = join(import.meta.dirname, 'node-test-reporter.mjs');
const args = process.argv.slice(2);

if (args[0] === '--setup') {
  for (const spec of args.slice(1)) setup(spec);
  process.exit(0);
}

const routeArg = args.indexOf('--routes');
const routes = routeArg >= 0 ? args[routeArg + 1].split(',') : ROUTES;
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--routes');
const suites = SUITES.filter((s) => names.length === 0 || names.includes(s.name));

linkRuntime(REPOS);
const results = {};
let regressions = 0;
for (const suite of suites) {
  const dir = join(REPOS, suite.name);
  if (!existsSync(join(dir, '.stepmark-revision'))) {
    console.log(
      `${suite.name}: not set up (git clone ${suite.repository} /tmp/${suite.name}, then ` +
        `node test/libraries/own/run.mjs --setup ${suite.name}=/tmp/${suite.name})`,
    );
    continue;
  }
  // the clone's revision, then one line per submodule copied with it: "<path> <revision>"
  const [revision, ...submoduleRevisions] = readFileSync(join(dir, '.stepmark-revision'), 'utf8')
    .trim()
    .split('\n');
  const runs = {};
  for (const route of ['baseline', ...routes]) {
    if (suite.runner === 'vitest' && route === 'register') {
      runs[route] = {
        skipped: "Vitest loads modules through Vite's module runner, which Node's load hooks never see",
      };
      continue;
    }
    const started = Date.now();
    const result = suite.runner === 'vitest' ? runVitest(suite, route) : await runNode(suite, route);
    const r = { ...result, seconds: Math.round((Date.now() - started) / 1000) };
    runs[route] = r;
    console.log(
      `${suite.name} ${route}: ${r.passed}/${r.total} passed` +
        (route === 'baseline' ? '' : `, ${r.frames} functions instrumented`) +
        (r.failed ? `, ${r.failed} failed (${r.failures.slice(0, 3).join('; ')})` : '') +
        (r.overTime ? `, ${r.overTime.length} over the suite's time limit (not compared)` : '') +
        ` in ${r.seconds}s`,
    );
  }
  const baseline = new Set(runs.baseline.failures);
  for (const route of routes) {
    const r = runs[route];
    if (r.skipped) continue;
    r.newFailures = r.failures.filter((f) => !baseline.has(f));
    if (r.newFailures.length || r.total !== runs.baseline.total) regressions++;
    if (!r.frames) {
      console.log(`${suite.name} ${route}: nothing was instrumented`);
      regressions++;
    }
  }
  results[suite.name] = {
    repository: suite.repository,
    revision,
    ...(submoduleRevisions.length && {
      submodules: Object.fromEntries(submoduleRevisions.map((line) => line.split(' '))),
    }),
    runs,
  };
}
mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'test-output/libraries-own.json'), `${JSON.stringify(results, null, 2)}\n`);
printTable(results);
if (regressions) {
  console.log(`\n${regressions} instrumented run(s) failed tests that pass uninstrumented`);
  process.exitCode = 1;
}

/**
 * A suite run by Node on bundles of its source (`suite.bundles`), built here per route as the
 * library's own build does: the route's plugin on the instrumented ones, `register` instrumenting
 * them as Node loads them.
 */
async function runNode(suite, route) {
  const dir = join(REPOS, suite.name);
  const options = suiteOptions(suite);
  const instrumented = suite.bundles.filter((b) => !b.plain);
  for (const b of suite.bundles) await bundle(suite, b, b.plain ? 'baseline' : route, options);
  let frames = instrumented.reduce(
    (sum, b) => sum + countFrames(readFileSync(join(dir, b.outfile), 'utf8')),
    0,
  );
  const hook =
    route === 'register'
      ? {
          args: ['--import', 'stepmark/register'],
          env: {
            STEPMARK_OPTIONS: JSON.stringify({
              ...options,
              debug: true,
              include: instrumented.map((b) => `test/libraries/repos/${suite.name}/${b.outfile}`),
            }),
          },
        }
      : { args: [], env: {} };
  const run = (args) =>
    spawnSync(process.execPath, [...hook.args, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', STEPMARK_CONFIG: '', ...hook.env },
      maxBuffer: 256 * 1024 * 1024,
    });
  const r =
    suite.runner === 'node'
      ? run(suite.command)
      : run(['--test', `--test-reporter=${REPORTER}`, ...suite.command]);
  // register: its debug output says what it instrumented at load (once per file: node --test
  // loads the bundle in a process per test file)
  const loaded = new Map();
  for (const m of r.stderr.matchAll(/\[stepmark\] (.*): (\d+) function\(s\) instrumented/g))
    loaded.set(m[1], Number(m[2]));
  for (const n of loaded.values()) frames += n;
  const result = suite.runner === 'node' ? acornSummary(r, route) : nodeTestSummary(suite, r, route);
  return { ...result, frames };
}

/** One bundle of a `node` or `node-test` suite, instrumented by `route` (`baseline`: not at all). */
async function bundle(suite, b, route, options) {
  const dir = join(REPOS, suite.name);
  const sourceDir = join(dir, suite.source);
  const plugins = [];
  if (route === 'esbuild') plugins.push(require('stepmark/esbuild-plugin').stepmark(options));
  if (route === 'babel' || route === 'typescript') {
    plugins.push({
      name: `stepmark-${route}`,
      setup(build) {
        build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (a) =>
          a.path.startsWith(sourceDir)
            ? {
                contents: compileFile(route, readFileSync(a.path, 'utf8'), a.path, 'esm', options),
                loader: 'js',
              }
            : undefined,
        );
      },
    });
  }
  await require('esbuild').build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(dir, b.entry)],
    outfile: join(dir, b.outfile),
    bundle: true,
    format: b.format,
    platform: 'node',
    logLevel: 'silent',
    external: ['stepmark', 'stepmark/*', ...(suite.external ?? [])],
    plugins,
  });
}

/** acorn's test/run.js prints each failure as "<test code> <message>", then a summary. */
function acornSummary(r, route) {
  const out = `${r.stdout}\n${r.stderr}`;
  const total = /Total: (\d+) tests run in \d+ms; (?:(\d+) failures|all passed)/.exec(out);
  if (!total) throw new Error(`acorn (${route}): no summary in its output:\n${out.slice(-2000)}`);
  const failed = Number(total[2] ?? 0);
  const failures = out
    .split('\n')
    .filter((l) => /^\s+\S/.test(l) && !/tests run in|^\s*(Errors|Stats|Normal|Loose)/.test(l))
    .map((l) => l.trim())
    .slice(0, 200);
  return { total: Number(total[1]), passed: Number(total[1]) - failed, failed, failures };
}

/** `node --test` through node-test-reporter.mjs: one JSON line per test (suites not counted). */
function nodeTestSummary(suite, r, route) {
  const tests = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  if (tests.length === 0)
    throw new Error(`${suite.name} (${route}): node --test reported no test:\n${r.stderr.slice(-2000)}`);
  const failed = tests.filter((t) => t.status === 'fail');
  // a test that fails only on the time it took is not compared (the machine's load decides it)
  const overTime = failed.filter((t) => suite.timeLimit && t.message?.includes(suite.timeLimit));
  const failures = failed.filter((t) => !overTime.includes(t)).map((t) => `${t.file}: ${t.name}`);
  const passed = tests.filter((t) => t.status === 'pass').length;
  return {
    total: tests.length,
    passed,
    failed: failures.length,
    failures,
    ...(overTime.length && { overTime: overTime.map((t) => `${t.file}: ${t.name}`) }),
  };
}

/** A Vitest suite, through test/libraries/own/vitest.config.mjs. */
function runVitest(suite, route) {
  const dir = join(REPOS, suite.name);
  const report = join(REPO_ROOT, 'test-output', `libraries-own-${suite.name}-${route}.json`);
  const framesFile = `${report}.frames`;
  rmSync(report, { force: true });
  rmSync(framesFile, { force: true });
  // This Node (not whichever `node` is first on PATH), for Vitest and the workers it forks
  spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      join(REPO_ROOT, 'test/libraries/own/vitest.config.mjs'),
      '--root',
      dir,
      '--reporter=json',
      `--outputFile=${report}`,
    ],
    {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        STEPMARK_SUITE: suite.name,
        STEPMARK_ROUTE: route,
        STEPMARK_FRAMES_FILE: framesFile,
        TZ: 'UTC',
        CI: 'true',
      },
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (!existsSync(report)) throw new Error(`${suite.name} (${route}): Vitest wrote no report`);
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const failures = [];
  for (const file of json.testResults) {
    // a file that fails to load counts as one failure
    if (file.status === 'failed' && file.assertionResults.length === 0)
      failures.push(`${file.name.slice(dir.length + 1)}: ${file.message.split('\n')[0]}`);
    for (const t of file.assertionResults) if (t.status === 'failed') failures.push(t.fullName);
  }
  const frames = existsSync(framesFile)
    ? readFileSync(framesFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .reduce((sum, n) => sum + Number(n), 0)
    : 0;
  return {
    total: json.numTotalTests,
    passed: json.numPassedTests,
    failed: failures.length,
    failures,
    frames,
  };
}

/** Functions instrumented in built code. */
function countFrames(code) {
  // `__stepmark.enter(`, or `import_runtime.v2.enter(` once esbuild has made the import CommonJS
  return code.match(/(?:__stepmark\d*|\bv2)\.enter(?:Entity)?\(/g)?.length ?? 0;
}

function printTable(all) {
  const header = ['library', 'revision', ...['baseline', ...routes]];
  const rows = Object.entries(all).map(([name, r]) => [
    name,
    r.revision.slice(0, 10),
    ...['baseline', ...routes].map((route) => {
      const x = r.runs[route];
      return !x ? '' : x.skipped ? 'n/a' : `${x.passed}/${x.total}`;
    }),
  ]);
  console.log(`\n${[header, ...rows].map((row) => row.join(' | ')).join('\n')}`);
}

function setup(spec) {
  const m = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(spec);
  if (!m) throw new Error(`--setup wants <name>=<path of a git clone>[@<revision>], got ${spec}`);
  const [, name, clone, revision = 'HEAD'] = m;
  const suite = SUITES.find((s) => s.name === name);
  if (!suite) throw new Error(`no suite ${name} in test/libraries/own/suites.mjs`);
  const dir = join(REPOS, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const commit = execFileSync('git', ['-C', clone, 'rev-parse', revision], { encoding: 'utf8' }).trim();
  const tar = execFileSync('git', ['-C', clone, 'archive', '--format=tar', commit], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  writeFileSync(join(dir, '.stepmark-revision'), `${commit}\n`);
  // Git submodules are not part of an archive: copy the HEAD of each one checked out in the clone
  // (yaml's test data), and name its revision beside the clone's.
  for (const path of submodules(dir)) {
    const sub = join(clone, path);
    if (!existsSync(join(sub, '.git'))) continue;
    const subCommit = execFileSync('git', ['-C', sub, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const subTar = execFileSync('git', ['-C', sub, 'archive', '--format=tar', subCommit], {
      maxBuffer: 1 << 30,
    });
    mkdirSync(join(dir, path), { recursive: true });
    execFileSync('tar', ['-x', '-C', join(dir, path)], { input: subTar });
    appendFileSync(join(dir, '.stepmark-revision'), `${path} ${subCommit}\n`);
  }
  // Give each submodule left empty that the root tsconfig.json references a tsconfig of its own, or Vite's TypeScript transform fails on every file (date-fns).
  const tsconfig = join(dir, 'tsconfig.json');
  if (existsSync(tsconfig) && existsSync(join(dir, '.gitmodules'))) {
    for (const ref of JSON.parse(readFileSync(tsconfig, 'utf8')).references ?? []) {
      const stub = join(dir, ref.path, 'tsconfig.json');
      if (existsSync(join(dir, ref.path)) && !existsSync(stub)) writeFileSync(stub, '{ "files": [] }\n');
    }
  }
  // The test dependencies go to a folder of their own, linked as the clone's node_modules, so that
  // the clone's package.json (and its package manager) is never involved.
  const deps = join(REPOS, '.deps', name);
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(deps, { recursive: true });
  const overrides = suite.overrides && { overrides: suite.overrides };
  writeFileSync(join(deps, 'package.json'), `${JSON.stringify({ private: true, ...overrides })}\n`);
  const declared = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies ?? {};
  const wanted = suite.devDependencies.map((d) =>
    /.@/.test(d) || !declared[d] || declared[d].startsWith('workspace:') ? d : `${d}@${declared[d]}`,
  );
  if (wanted.length)
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...wanted], {
      cwd: deps,
      stdio: 'inherit',
    });
  mkdirSync(join(deps, 'node_modules'), { recursive: true });
  if (name === 'acorn') symlinkSync(join(dir, 'acorn'), join(deps, 'node_modules', 'acorn'), 'dir');
  symlinkSync(join(deps, 'node_modules'), join(dir, 'node_modules'), 'dir');
  console.log(`${name}: ${commit} in ${dir}`);
}

/** The paths of the submodules that a repository's .gitmodules declares. */
function submodules(dir) {
  const file = join(dir, '.gitmodules');
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/^\s*path\s*=\s*(.+?)\s*$/gm)].map((m) => m[1]);
}
