// Cost on real code: the six libraries of the differential suite (test/libraries: their published
// code from npm, every function instrumented, callbacks and getters included), each through each
// route, measured side by side against the same library without stepmark.
//   - build: the route's compiler with the plugin vs the same compiler without it (babel: Babel 8
//     on each file; esbuild: one bundle; typescript: transpileModule on each file; CPU time of
//     this process, except esbuild, which works in a process of its own: wall time)
//     register: the time Node takes to load the library while the hook instruments it, vs
//     without the hook (each load in a fresh process)
//   - workload: the library's workload (test/libraries/workloads, real timers replaced by promise
//     jobs) on the instrumented build, tracing off, vs the uninstrumented build   target <= 1.10x
//     and the same inside stepmark.run, every span recorded                         target <= 1.5x
//     (process CPU time, not wall time: this machine is shared, and waiting for a core is not
//     the library's cost; the workloads wait on nothing else)
// A library that fails on a route (issue 17's nested-declaration bug: immer, zod) gets a row
// saying why instead of figures.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as stepmark from 'stepmark';
import { build, linkRuntime, pluginOptions, ROUTES, writeBuild } from '../test/libraries/build.mjs';
import { LIBRARIES, packageVersion, REPO_ROOT } from '../test/libraries/libraries.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = join(here, 'tmp/libraries');
const require = createRequire(import.meta.url);
const noop = () => {};

/** Loads a build of `lib` (a fresh module instance per build directory). */
export async function loadLibrary(lib, entry) {
  return lib.format === 'cjs' ? require(entry) : import(pathToFileURL(entry).href);
}

/** The workload of `lib`, without real timers, and quiet (date-fns warns about the tokens it rejects). */
export async function workloadOf(lib) {
  const { default: drive } = await import(
    pathToFileURL(join(REPO_ROOT, 'test/libraries/workloads', `${lib.name}.mjs`)).href
  );
  return async (api) => {
    const warn = console.warn;
    console.warn = noop;
    try {
      return await drive(api, noop, { timers: false });
    } finally {
      console.warn = warn;
    }
  };
}

/** Spans one traced run opens; the suite's runner allows as many. */
const MAX_SPANS = 400_000;

/** Workload rows: instrumented (tracing off, then on) vs uninstrumented. */
export async function compareWorkloads(h, label, lib, plain, instrumented) {
  const run = await workloadOf(lib);
  // The instrumented build must work before it is timed (it does not while issue 17 is open for immer and zod).
  let spans = 0;
  await stepmark.run(() => run(instrumented), {
    maxSpans: MAX_SPANS,
    onEnd(trace) {
      spans = trace.spans.length;
    },
  });
  if (spans === 0) throw new Error('the instrumented build recorded no span');
  await h.compare(
    `${label}: workload, tracing off vs uninstrumented`,
    { baseline: () => run(plain), subject: () => run(instrumented) },
    { target: '<= 1.10', clock: 'cpu', note: 'process CPU time' },
  );
  await h.compare(
    `${label}: workload, tracing on vs uninstrumented`,
    {
      baseline: () => run(plain),
      subject: () => stepmark.run(() => run(instrumented), { maxSpans: MAX_SPANS }),
    },
    { target: '<= 1.5', clock: 'cpu', note: `process CPU time; ${spans} spans per run, all recorded` },
  );
}

function child(args, env = {}) {
  const out = execFileSync(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', STEPMARK_CONFIG: '', STEPMARK_BENCH_QUICK: '', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** register: load time and workload, in child processes with the hook installed. */
async function registerRows(h, lib, label) {
  const dir = join(tmp, lib.name, 'register');
  const copy = await build(lib, 'register', false);
  const plain = writeBuild(join(dir, 'plain'), lib, copy);
  const instrumented = writeBuild(join(dir, 'instrumented'), lib, copy);
  const env = {
    STEPMARK_OPTIONS: JSON.stringify({
      ...pluginOptions(lib),
      include: [`bench/tmp/libraries/${lib.name}/register/instrumented/**`],
    }),
    STEPMARK_BENCH_QUICK: h.quick ? '1' : '',
  };
  const script = join(here, 'libraries-process.mjs');
  const hook = ['--import', 'stepmark/register'];
  const times = { plain: [], instrumented: [] };
  for (let i = 0; i < (h.quick ? 3 : 9); i++) {
    times.plain.push(child([...hook, script, 'load', lib.name, plain], env).ms);
    times.instrumented.push(child([...hook, script, 'load', lib.name, instrumented], env).ms);
  }
  h.report(
    `${label}: load, instrumented at load vs not`,
    median(times.instrumented) / median(times.plain),
    'x',
    {
      note: `median load ${median(times.instrumented).toFixed(0)} ms vs ${median(times.plain).toFixed(0)} ms, fresh process each`,
    },
  );
  const measured = child([...hook, script, 'workload', lib.name, plain, instrumented, label], env);
  if (measured.error) throw new Error(measured.error);
  h.adopt(measured.rows);
}

export default async function bench(h) {
  rmSync(tmp, { recursive: true, force: true });
  linkRuntime(tmp);
  const buildOpts = { iterations: 1, rounds: h.quick ? 3 : 7 };
  for (const lib of LIBRARIES) {
    for (const route of ROUTES) {
      const label = `${lib.name}@${packageVersion(lib.name)} ${route}`;
      try {
        if (route === 'register') {
          await registerRows(h, lib, label);
          continue;
        }
        const plainBuild = await build(lib, route, false);
        const instrumentedBuild = await build(lib, route, true);
        // Babel and TypeScript compile in this process (CPU time); esbuild in its own (wall time).
        await h.compare(
          `${label}: build, instrumented vs not`,
          { baseline: () => build(lib, route, false), subject: () => build(lib, route, true) },
          route === 'esbuild'
            ? { ...buildOpts, note: 'wall time' }
            : { ...buildOpts, clock: 'cpu', note: 'process CPU time' },
        );
        const dir = join(tmp, lib.name, route);
        const plain = await loadLibrary(lib, writeBuild(join(dir, 'plain'), lib, plainBuild));
        const instrumented = await loadLibrary(
          lib,
          writeBuild(join(dir, 'instrumented'), lib, instrumentedBuild),
        );
        await compareWorkloads(h, label, lib, plain, instrumented);
      } catch (e) {
        h.report(`${label}: workload`, 'not measured', undefined, {
          note: String(e?.message ?? e).split('\n')[0],
        });
      }
    }
  }
}
