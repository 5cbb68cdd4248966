// Comparisons on CPU time, shared by the benches whose subjects take microseconds.
//
// Main-thread CPU time, not wall time: on a shared machine, wall time of a few microseconds of
// work mostly measures the other processes (ratios swung from 0.25x to 7x); the CPU time this
// thread spent is what the code costs. Not the whole process's either: background threads (the
// garbage collector finishing what an earlier bench left) would be billed to whatever runs.
//
// Some kernels (tick-based accounting, common in VMs; this machine's) advance a thread's CPU
// time only in steps of a scheduler tick, 4 ms: a 20 ms timing was up to ±20% wrong, a timing of
// a few ms read 0 or infinity, and a "best of" picked the luckiest rounding. So the clock's step
// is measured once, and every timing here lasts at least 50 steps (at least 20 ms).

const threadClock = process.threadCpuUsage
  ? () => {
      const u = process.threadCpuUsage();
      return u.user + u.system;
    }
  : () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };

/**
 * The typical step (µs) the CPU clock advances by: the upper quartile of the steps seen over ~40 ms of
 * spinning (not the smallest: the kernel scales tick-based figures, so odd small steps appear).
 */
function granularity() {
  const steps = [];
  let last = threadClock();
  const end = performance.now() + 40;
  while (performance.now() < end) {
    const now = threadClock();
    if (now > last) steps.push(now - last);
    last = now;
  }
  if (steps.length === 0) return 4000;
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length * 0.75)];
}

/** This thread's CPU time, µs. */
export const threadCpu = threadClock;

/** The CPU clock's step (µs). */
export const cpuStep = granularity();

/** The shortest timing that the clock's step makes at most 2% wrong (µs of CPU), at least 20 ms. */
export const minTiming = Math.max(20_000, 50 * cpuStep);

/**
 * µs of CPU per call of `batch` (synchronous), calling it as many times as a timing of at least
 * {@link minTiming} takes.
 */
export function cpuPerBatch(batch) {
  let calls = 0;
  const t0 = threadCpu();
  let spent = 0;
  do {
    batch();
    calls++;
    spent = threadCpu() - t0;
  } while (spent < minTiming);
  return spent / calls;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** The middle half of `xs` (first to third quartile), e.g. `0.97–1.04`. */
export function middleHalf(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.round(q * (sorted.length - 1))].toFixed(2);
  return `${at(0.25)}–${at(0.75)}`;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * ns of main-thread CPU per call of `fn`, over `n` calls. Calls that return promises are awaited,
 * and then the event loop turns every 64 calls, as it would between requests: what a request
 * leaves to an immediate or a timer (light-my-request's clean-up, an exporter's completion) is
 * done, and counted, instead of piling up until the heap runs out.
 */
export async function cpuPerOp(fn, n) {
  const t0 = threadCpu();
  for (let i = 0; i < n; i++) {
    const r = fn();
    if (r !== undefined && typeof r.then === 'function') {
      await r;
      if ((i & 63) === 63) await turn();
    }
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
  // At least minTiming of CPU per timing of the baseline, and at most about four times that for
  // the subject (a subject that costs much more must not run for seconds or pile up what it only
  // releases between timings).
  const calibrate = async (fn) => {
    let n = 1;
    while ((await cpuPerOp(fn, n)) * n < minTiming * 1000 && n < 1e7) n *= 2;
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
    note: `${row.subject_ns.toFixed(1)} vs ${row.baseline_ns.toFixed(1)} ns main-thread CPU per op, medians of ${rounds} interleaved rounds of ${n} (per-round ratios ${middleHalf(ratios)})${note ? `; ${note}` : ''}`,
  });
  return row;
}
