// Child process of bench/recorder.bench.mjs (run with --expose-gc): `argv[2]` request-sized traces,
// each with its own order and one of 1,000 customers, recorded into a 16 MiB flight recorder; the
// heap after a forced GC before, at 10%, 50% and 100%. Prints one JSON line.
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
import { request } from './request.mjs';

const total = Number(process.argv[2]);
const recorder = flightRecorder({ maxBytes: 16 * 2 ** 20, keep: { errors: true } });
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
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
