// Comparisons on CPU time, shared by the benches whose subjects take microseconds.
//
// CPU time, not wall time: on a shared machine, wall time of a few microseconds of work mostly
// measures the other processes (ratios swung from 0.25x to 7x); the CPU time spent is what the
// code costs. The clock is this thread's CPU time where the kernel accounts it finely, else the
// whole process's: some kernels (tick-based accounting, common in VMs) advance a thread's CPU
// time only in steps of a scheduler tick (4 ms), which made each 20 ms round of a comparison
// up to ±20% wrong and rounds of a few ms read 0 or infinity. The process's figure includes its
// other threads (garbage collector, compiler), which are part of what the code costs anyway.

const threadClock = () => {
  const u = process.threadCpuUsage();
  return u.user + u.system;
};
const processClock = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The smallest step (µs) a CPU clock advances by, sampled over ~10 ms of spinning. */
function granularity(clock) {
  let smallest = Number.POSITIVE_INFINITY;
  let last = clock();
  const end = performance.now() + 10;
  while (performance.now() < end) {
    const now = clock();
    if (now > last) smallest = Math.min(smallest, now - last);
    last = now;
  }
  return smallest;
}

const fineThread = typeof process.threadCpuUsage === 'function' && granularity(threadClock) < 100;

/** CPU time in µs (see above for which). */
export const threadCpu = fineThread ? threadClock : processClock;

/** What {@link threadCpu} measures, for the notes of the figures. */
export const cpuKind = fineThread ? 'main-thread CPU' : 'process CPU';

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The middle half of `xs` (first to third quartile), e.g. `0.97–1.04`. */
export function middleHalf(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.round(q * (sorted.length - 1))].toFixed(2);
  return `${at(0.25)}–${at(0.75)}`;
}

/** ns of main-thread CPU per call of `fn`, over `n` calls (awaited when they return promises). */
export async function cpuPerOp(fn, n) {
  const t0 = threadCpu();
  for (let i = 0; i < n; i++) {
    const r = fn();
    if (r !== undefined && typeof r.then === 'function') await r;
  }
  return ((threadCpu() - t0) * 1000) / n;
}

/**
 * Like h.compare, on CPU time: interleaved rounds (order swapped every round), the ratio of the
 * medians subject/baseline (the two figures the note shows), recorded with h.report; the note
 * adds the middle half of the per-round ratios, which shows how much this machine swings.
 * Returns the row's figures.
 */
export async function cpuCompare(h, label, { baseline, subject }, { target, note, rounds: given }) {
  // About 20 ms of CPU per timing of the baseline, and at most about 80 ms for the subject (a
  // subject that costs much more, such as the OpenTelemetry SDK, must not run for seconds or
  // pile up what it only releases between timings).
  const calibrate = async (fn) => {
    let n = 1;
    while ((await cpuPerOp(fn, n)) * n < 20e6 && n < 1e7) n *= 2;
    return n;
  };
  const n = Math.min(await calibrate(baseline), 4 * (await calibrate(subject)));
  await cpuPerOp(subject, n);
  const rounds = given ?? (h.quick ? 7 : 21);
  const ratios = [];
  const b = [];
  const s = [];
  for (let r = 0; r < rounds; r++) {
    let tb;
    let ts;
    if (r % 2 === 0) {
      tb = await cpuPerOp(baseline, n);
      ts = await cpuPerOp(subject, n);
    } else {
      ts = await cpuPerOp(subject, n);
      tb = await cpuPerOp(baseline, n);
    }
    b.push(tb);
    s.push(ts);
    ratios.push(ts / tb);
  }
  const row = { ratio: median(s) / median(b), subject_ns: median(s), baseline_ns: median(b) };
  h.report(label, row.ratio, 'x', {
    target,
    note: `${row.subject_ns.toFixed(1)} vs ${row.baseline_ns.toFixed(1)} ns ${cpuKind} per op, medians of ${rounds} interleaved rounds of ${n} (per-round ratios ${middleHalf(ratios)})${note ? `; ${note}` : ''}`,
  });
  return row;
}
