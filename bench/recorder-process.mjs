// Child process of bench/recorder.bench.mjs. One measurement in a fresh process, so that what a
// variant leaves to the garbage collector is paid by that variant alone. Prints one JSON line.
//   node --expose-gc recorder-process.mjs heap <requests>
//     request-sized traces, each with its own order and one of 1,000 customers, recorded into a
//     16 MiB flight recorder; the heap after a forced GC before, at 10%, 50% and 100%.
//   node recorder-process.mjs cost <run|capture|record> <requests>
//     the process's CPU time (every thread: GC helpers included) per request-sized trace, for
//     run(fn), captureSync(fn), or run(fn, { onEnd: recorder.add }) into a full 16 MiB ring.
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
import { request } from './request.mjs';

const [mode, ...args] = process.argv.slice(2);
const recorder = flightRecorder({ maxBytes: 16 * 2 ** 20, keep: { errors: true } });

if (mode === 'heap') {
  const total = Number(args[0]);
  const heap = () => {
    globalThis.gc();
    globalThis.gc();
    // array buffers too: memory held outside the JavaScript heap counts
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const one = (i) =>
    stepmark.run(
      () => {
        request(`order_${i}`)();
        stepmark.recordEntity(`customer_${i % 1000}`, 'history', 'read', { i });
      },
      { meta: { request_id: `req-${i}` }, onEnd: recorder.add },
    );
  one(-1);
  const base = heap();
  const t0 = performance.now();
  const marks = {};
  for (let i = 0; i < total; i++) {
    one(i);
    if (i + 1 === total / 10) marks.tenth = heap();
    if (i + 1 === total / 2) marks.half = heap();
  }
  const ms = performance.now() - t0;
  const end = heap();
  console.log(JSON.stringify({ base, ...marks, end, ms, stats: recorder.stats() }));
} else if (mode === 'cost') {
  const [variant, count] = args;
  const total = Number(count);
  const handle = request('order_1');
  const variants = {
    run: () => stepmark.run(handle),
    capture: () => stepmark.captureSync(handle),
    record: () => stepmark.run(handle, { onEnd: recorder.add }),
  };
  const fn = variants[variant];
  // Warm up, and fill the ring, so every add below evicts.
  for (let i = 0; i < total; i++) fn();
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const t0 = cpu();
  for (let i = 0; i < total; i++) fn();
  console.log(JSON.stringify({ ns: ((cpu() - t0) * 1000) / total }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
