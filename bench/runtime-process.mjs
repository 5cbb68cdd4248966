// Child-process measurements for bench/runtime.bench.mjs: things that depend on the state of the
// whole process (whether an AsyncLocalStorage exists or is enabled, GC), so they are measured in a
// fresh process of the Node under test. Prints one JSON line.
//   node bench/runtime-process.mjs heap        (run with --expose-gc --min-semi-space-size=64 --max-semi-space-size=64)
//   node bench/runtime-process.mjs await-tax
//   node bench/runtime-process.mjs entities    (run with --expose-gc)
//   node bench/runtime-process.mjs caps <the runtime before the caps, bundled> [<another runtime, instead of this one>]
//   node bench/runtime-process.mjs request-trace otel|stepmark|stepmark-recorded
import { pathToFileURL } from 'node:url';
import * as stepmark from 'stepmark';
import { v1 } from 'stepmark/runtime';

const mode = process.argv[2];
const state = globalThis[Symbol.for('stepmark.runtime.v2')].get();

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
} else if (mode === 'entities') {
  // 1,000,000 track calls on distinct entities in one trace (maxEntities keeps 10,000): the time to
  // record, collect and serialise it, the JSON's size, the heap the collected trace holds, and the
  // process's peak resident memory.
  const N = 1e6;
  globalThis.gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const { trace } = stepmark.captureSync(() => {
    for (let i = 0; i < N; i++) stepmark.track(`order_${i}`, { i, total: i * 1.5 }, { kind: 'order' });
  });
  const json = JSON.stringify(trace);
  const ms = performance.now() - t0;
  globalThis.gc();
  const held = process.memoryUsage().heapUsed - heap0;
  console.log(
    JSON.stringify({
      calls: N,
      entities: Object.keys(trace.entities).length,
      dropped_entities: trace.dropped_entities,
      seconds: ms / 1000,
      jsonMB: json.length / 2 ** 20,
      heldMB: held / 2 ** 20,
      peakRssMB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20,
    }),
  );
} else if (mode === 'caps') {
  // An ordinary trace recorded and collected by this runtime and by the one before the caps (both
  // copies share the process-wide state; each trace is run by one copy only). Rounds of 50 traces
  // each (their garbage included) alternate between the two, in either order; the figure is the
  // median of each round's ratio, so that a round slowed down by other work on the machine slows
  // both sides of its ratio. A second bundle replaces this runtime (a control: the same runtime
  // on both sides shows the method's own noise).
  const before = await import(pathToFileURL(process.argv[3]).href);
  const now = process.argv[4] ? await import(pathToFileURL(process.argv[4]).href) : { ...stepmark, v1 };
  // one copy of the ordinary trace per runtime, so both stay monomorphic
  const traceNow = (await import('./ordinary-trace.mjs?runtime=now')).ordinaryTrace;
  const traceBefore = (await import('./ordinary-trace.mjs?runtime=before')).ordinaryTrace;
  const a = traceNow(now);
  const b = traceBefore(before);
  if (JSON.stringify(a.spans.map((s) => s.name)) !== JSON.stringify(b.spans.map((s) => s.name)))
    throw new Error('the two runtimes recorded different traces');
  const time = (fn, sm) => {
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) fn(sm);
    return ((performance.now() - t0) * 1000) / 50;
  };
  for (let i = 0; i < 40; i++) {
    time(traceBefore, before);
    time(traceNow, now);
  }
  const ROUNDS = 201;
  const ratios = [];
  const tNow = [];
  const tBefore = [];
  for (let r = 0; r < ROUNDS; r++) {
    let x;
    let y;
    if (r % 2 === 0) {
      y = time(traceBefore, before);
      x = time(traceNow, now);
    } else {
      x = time(traceNow, now);
      y = time(traceBefore, before);
    }
    tNow.push(x);
    tBefore.push(y);
    ratios.push(x / y);
  }
  console.log(
    JSON.stringify({
      ratio: median(ratios),
      nowUs: median(tNow),
      beforeUs: median(tBefore),
      rounds: ROUNDS,
      spans: a.spans.length,
      events: a.events.length + Object.values(a.entities).reduce((n, e) => n + e.events.length, 0),
      entities: Object.keys(a.entities).length,
    }),
  );
} else if (mode === 'request-trace') {
  // One side of "OpenTelemetry SDK span vs stepmark span" (bench/runtime.bench.mjs), alone in its
  // process so that neither side's garbage is collected on the other's time: request-sized traces
  // (bench/request.mjs), yielding to the event loop every 64 traces as a server between requests
  // would (the SDK's in-memory exporter completes each export on a timer; without the event loop
  // turning, every span and its export stays alive and the SDK's cost grows without bound).
  // Rounds of about 200 ms after a warm-up of about 1.5 s: long enough for a CPU clock that
  // advances in 4 ms ticks. Prints medians over the rounds, µs per trace, of this thread's CPU
  // time and of the whole process's (its garbage collector's helper threads included).
  const side = process.argv[3];
  const { request } = await import('./request.mjs');
  let fn;
  if (side === 'otel') {
    const { context, trace } = await import('@opentelemetry/api');
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(
      '@opentelemetry/sdk-trace-base'
    );
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const cm = new AsyncLocalStorageContextManager();
    cm.enable();
    context.setGlobalContextManager(cm);
    trace.setGlobalTracerProvider(provider);
    const tracer = trace.getTracer('bench');
    let exported = 0;
    // the same shape as request(): a root span, active, and 19 children, an event on every 4th
    fn = () => {
      tracer.startActiveSpan('OrderService.place', (root) => {
        for (let i = 0; i < 19; i++) {
          tracer.startActiveSpan('OrderService.step', (span) => {
            if (i % 4 === 0) span.addEvent('checked', { step: i });
            span.end();
          });
        }
        root.end();
      });
      if (++exported >= 200) {
        exported = 0;
        exporter.reset();
      }
    };
  } else if (side === 'stepmark' || side === 'stepmark-recorded') {
    const handle = request('order_1');
    if (side === 'stepmark') fn = () => stepmark.run(handle);
    else {
      const { flightRecorder } = await import('stepmark/recorder');
      const recorder = flightRecorder({ maxBytes: 16 * 2 ** 20 });
      fn = () => stepmark.run(handle, { onEnd: recorder.add });
    }
  } else throw new Error(`unknown side ${side}`);
  const clocks = {
    thread: () => {
      const u = process.threadCpuUsage();
      return u.user + u.system;
    },
    process: () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const batch = async (n) => {
    for (let i = 0; i < n; i++) {
      fn();
      if ((i & 63) === 63) await turn();
    }
  };
  // warm up, and find how many traces take about 200 ms
  let n = 64;
  for (let t0 = performance.now(); performance.now() - t0 < 1500; ) {
    const s = performance.now();
    await batch(n);
    if (performance.now() - s < 200) n *= 2;
  }
  const per = { thread: [], process: [] };
  for (let r = 0; r < 9; r++) {
    const t = clocks.thread();
    const p = clocks.process();
    await batch(n);
    per.thread.push((clocks.thread() - t) / n);
    per.process.push((clocks.process() - p) / n);
  }
  console.log(JSON.stringify({ side, traces: n, thread: median(per.thread), process: median(per.process) }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
