// Child-process measurements for bench/runtime.bench.mjs: things that depend on the state of the
// whole process (whether an AsyncLocalStorage exists or is enabled, GC), so they are measured in a
// fresh process of the Node under test. Prints one JSON line.
//   node bench/runtime-process.mjs heap        (run with --expose-gc --min-semi-space-size=64 --max-semi-space-size=64)
//   node bench/runtime-process.mjs await-tax
import * as stepmark from 'stepmark';
import { v1 } from 'stepmark/runtime';

const mode = process.argv[2];
const state = globalThis[Symbol.for('stepmark.runtime.v1')];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

if (mode === 'heap') {
  // Bytes allocated per call: heap growth over 1e6 calls with a young generation large enough
  // that no scavenge runs meanwhile (checked: heap must not shrink), after a full GC.
  const N = 1e6;
  const holder = {};
  const cases = {
    'record (disabled)': () => stepmark.record('stage', 'action'),
    'step (disabled)': () => stepmark.step('action'),
    'enter+exit frame (disabled)': () => {
      const f = v1.enter('Name', 'src/a.ts:1:1');
      f.exit();
    },
    'user enter()+exit (disabled)': () => stepmark.enter()(),
    'ABI step (disabled)': () => v1.step('Name', 'action'),
    // escapes into a module-level object, so V8 cannot optimise the allocation away
    'control: allocates a {a, b} object': () => {
      holder.x = { a: 1, b: 2 };
    },
  };
  const out = {};
  const measureAll = (suffix) => {
    for (const [name, fn] of Object.entries(cases)) {
      let sink;
      for (let i = 0; i < 1e5; i++) sink = fn(); // warm up (optimise) first
      const samples = [];
      for (let r = 0; r < 3; r++) {
        globalThis.gc();
        const h0 = process.memoryUsage().heapUsed;
        for (let i = 0; i < N; i++) sink = fn();
        const h1 = process.memoryUsage().heapUsed;
        samples.push((h1 - h0) / N);
      }
      globalThis.__sink = sink;
      // whole bytes: any real allocation is at least 12 bytes per call; fractions are the
      // measurement's own noise (memoryUsage itself allocates)
      out[name + suffix] = Math.max(0, Math.round(median(samples)));
    }
  };
  measureAll('');
  // the same calls from a context without a trace while another context is traced (store lookup runs)
  let release;
  const open = stepmark.run(() => new Promise((r) => (release = r)));
  await new Promise((r) => setTimeout(r, 0));
  delete cases['control: allocates a {a, b} object'];
  delete cases['user enter()+exit (disabled)'];
  measureAll(', traced elsewhere');
  release();
  await open;
  console.log(JSON.stringify(out));
} else if (mode === 'await-tax') {
  // Cost of an `await` in code that has nothing to do with stepmark: before any trace, while a
  // trace is active elsewhere in the process, right after the last trace ended (the hooked store
  // is disabled by a timer 200 ms later: until then it still costs), and after that.
  const N = 200_000;
  async function awaits(n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += await i;
    return s;
  }
  async function measure() {
    const xs = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      await awaits(N);
      xs.push(((performance.now() - t0) * 1e6) / N);
    }
    return median(xs);
  }
  await awaits(N); // warm up
  const before = await measure();
  let release;
  const open = stepmark.run(() => new Promise((r) => (release = r)));
  const during = await measure();
  release();
  await open;
  const justAfter = await measure();
  await new Promise((r) => setTimeout(r, 400)); // the hooked store is disabled 200 ms after the last trace
  const after = await measure();
  // what every process would pay if the store stayed enabled (no idle disable): a fresh store kept enabled
  let kept;
  if (state.alsHooked) {
    const { AsyncLocalStorage } = process.getBuiltinModule('node:async_hooks');
    const als = new AsyncLocalStorage();
    als.enterWith({});
    kept = await measure();
  }
  console.log(
    JSON.stringify({
      node: process.version,
      hooked: state.alsHooked,
      before,
      during,
      justAfter,
      after,
      kept,
    }),
  );
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
