// Child-process measurements for bench/libraries.bench.mjs on the register route, run with
// `--import stepmark/register` and STEPMARK_OPTIONS including the instrumented copy only. Prints
// one JSON line.
//   node --import stepmark/register bench/libraries-process.mjs load <library> <entry>
//     the time the first load of the library takes in this process (ms)
//   node --import stepmark/register bench/libraries-process.mjs workload <library> <plain entry> <instrumented entry> <label>
//     the workload rows of libraries.bench.mjs, measured here
import { performance } from 'node:perf_hooks';
import { LIBRARIES } from '../test/libraries/libraries.mjs';
import { compareWorkloads, loadLibrary } from './libraries.bench.mjs';
import { makeHarness } from './run.mjs';

const [mode, name, ...args] = process.argv.slice(2);
const lib = LIBRARIES.find((l) => l.name === name);

if (mode === 'load') {
  const t0 = performance.now();
  await loadLibrary(lib, args[0]);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0 })}\n`);
} else if (mode === 'workload') {
  const [plain, instrumented, label] = args;
  const rows = [];
  try {
    await compareWorkloads(
      makeHarness('libraries', rows),
      label,
      lib,
      await loadLibrary(lib, plain),
      await loadLibrary(lib, instrumented),
    );
    process.stdout.write(`${JSON.stringify({ rows })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: String(e?.message ?? e) })}\n`);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
