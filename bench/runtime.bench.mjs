// Runtime benchmarks (issue 2): every figure is a ratio measured side by side in one run, or a
// figure measured in a fresh child process where the whole process's state matters (heap per
// call, the AsyncLocalStorage tax on `await`). Run: `node bench/run.mjs runtime`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import * as stepmark from 'stepmark';
import stepmarkEsbuild from 'stepmark/esbuild-plugin';
import { FRAME_ASYNC, v1 } from 'stepmark/runtime';
import { median } from './cpu.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const state = globalThis[Symbol.for('stepmark.runtime.v2')].get();

function child(node, args) {
  const out = execFileSync(node, [...args], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  return JSON.parse(out.trim().split('\n').pop());
}

// ---- subjects ----
function empty(_a, _b) {}
const callEmpty = () => empty('stage', 'action');
const disabledRecord = () => stepmark.record('stage', 'action');
const disabledStep = () => stepmark.step('action');
const disabledFrame = () => {
  const f = v1.enter('OrderService.validate', 'src/order.ts:12:3');
  f.exit();
};

/**
 * Runs `body` inside a trace whose recorded data is cleared every 4096 calls, so enabled figures
 * measure recording, not a growing heap or the `maxEvents` cut-off. `wrap(fn)` gives each
 * benchmarked function the same reset bookkeeping.
 */
async function inTrace(body) {
  await stepmark.run(
    async () => {
      const t = state.als ? state.als.getStore().trace : state.cursor.trace;
      let n = 0;
      const wrap = (fn) => () => {
        if (++n === 4096) {
          n = 0;
          t.events.length = 0;
          t.spans.length = 0;
          t.count = 0;
          t.entities.clear();
        }
        fn();
      };
      await body(wrap);
    },
    { maxEvents: 1e9, maxSpans: 1e9 },
  );
}

/** The last commit before traces were bounded (issue 18: maxEntities, maxMetaKeys, maxStringLength). */
const BEFORE_CAPS = 'aa3ba458ea62c6b80aa6824dbd6b87f9f844b877';

/**
 * The runtime at `commit`, built from git into `dir`, to measure what the caps cost an ordinary
 * trace side by side (bench/runtime-process.mjs caps). Returns the bundle's path.
 */
async function buildRuntimeAt(commit, dir) {
  const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  for (const file of git('ls-tree', '--name-only', commit, 'runtime/').split('\n').filter(Boolean))
    writeFileSync(join(dir, file.slice('runtime/'.length)), git('show', `${commit}:${file}`));
  writeFileSync(join(dir, 'entry.ts'), "export * from './index.ts';\nexport { v1 } from './abi.ts';\n");
  const { build } = await import('esbuild');
  const outfile = join(dir, 'runtime.mjs');
  await build({
    entryPoints: [join(dir, 'entry.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

function Service() {}
Service.prototype.validate = function validate() {
  stepmark.step('ok');
};
const svc = new Service();

export default async function (h) {
  // 1. Nothing traces anywhere: the process-wide counter short-circuits every call.
  await h.compare(
    'disabled record vs empty function call',
    { baseline: callEmpty, subject: disabledRecord },
    { target: '<= 3', note: 'no trace active in the process' },
  );
  await h.compare(
    'disabled step vs empty function call',
    { baseline: callEmpty, subject: disabledStep },
    { target: '<= 3', note: 'no trace active in the process' },
  );
  await h.compare(
    'disabled enter+exit frame (ABI) vs empty function call',
    { baseline: callEmpty, subject: disabledFrame },
    { target: '<= 3', note: 'no trace active in the process' },
  );

  // 2. Another async context is traced: this context's calls look the store up (one getStore).
  let release;
  const open = stepmark.run(() => new Promise((r) => (release = r)));
  await new Promise((r) => setTimeout(r, 0));
  await h.compare(
    'disabled enter+exit frame vs empty call, another context traced',
    { baseline: callEmpty, subject: disabledFrame },
    { note: 'AsyncLocalStorage.getStore runs; reported, no target' },
  );
  await h.compare(
    'disabled record vs empty call, another context traced',
    { baseline: callEmpty, subject: disabledRecord },
    { note: 'AsyncLocalStorage.getStore runs; reported, no target' },
  );
  release();
  await open;

  // 3. Enabled: build-time-named step (ABI) and stack-parsed step vs record.
  await inTrace(async (wrap) => {
    await h.compare(
      'enabled ABI step (build-time name) vs enabled record',
      {
        baseline: wrap(() => stepmark.record('OrderService.validate', 'ok')),
        subject: wrap(() => v1.step('OrderService.validate', 'ok')),
      },
      { target: '<= 1.15', note: "Go Stepmark's Step costs 1.4x its Record", rounds: h.quick ? 5 : 31 },
    );
    await h.compare(
      'enabled stack-parsed step vs enabled ABI step',
      {
        baseline: wrap(() => v1.step('Service.validate', 'ok')),
        subject: wrap(() => svc.validate()),
      },
      { target: '>= 50', note: 'what the build step saves per call', rounds: h.quick ? 5 : 31 },
    );
    await h.compare(
      'enabled record with meta vs enabled record',
      {
        baseline: wrap(() => stepmark.record('s', 'a')),
        subject: wrap(() => stepmark.record('s', 'a', { order_id: 'o1', total: 249.99, items: 3 })),
      },
      { note: 'meta snapshot (3 keys) cost' },
    );
  });

  // 4. A request-sized trace through the OpenTelemetry SDK (in-memory exporter, ALS context
  // manager) vs through stepmark, each side alone in fresh processes, alternating (see
  // runtime-process.mjs request-trace): in one process, each side's garbage was collected partly
  // on the other's time, and the SDK's exports, completed on timers, piled up in a loop that never
  // let the event loop turn, so the SDK looked slower than it is (rows read 10x to 42x).
  const sides = { otel: [], stepmark: [], 'stepmark-recorded': [] };
  const processes = h.quick ? 2 : 5;
  for (let i = 0; i < processes; i++) {
    for (const side of Object.keys(sides)) {
      sides[side].push(child(process.execPath, [join(here, 'runtime-process.mjs'), 'request-trace', side]));
    }
  }
  const med = (side, clock) => median(sides[side].map((r) => r[clock]));
  const ratioNote = (side) =>
    `${med('otel', 'thread').toFixed(1)} vs ${med(side, 'thread').toFixed(2)} µs main-thread CPU per trace; ` +
    `counting every thread (the garbage collector's helpers): ${med('otel', 'process').toFixed(1)} vs ` +
    `${med(side, 'process').toFixed(2)} µs, ${(med('otel', 'process') / med(side, 'process')).toFixed(1)}x; ` +
    `medians of ${processes} fresh processes per side, each the median of 9 rounds of ~200 ms`;
  h.report(
    'OpenTelemetry SDK span vs stepmark span, request-sized traces (20 spans each)',
    med('otel', 'thread') / med('stepmark', 'thread'),
    'x',
    {
      target: '>= 40',
      note: `ratio = OTel / stepmark; ${ratioNote('stepmark')}; BasicTracerProvider + SimpleSpanProcessor + InMemorySpanExporter (5 span events) vs run() with 20 ABI spans and 5 entity steps, nothing reading the trace`,
    },
  );
  h.report(
    'OpenTelemetry SDK span vs stepmark span handed to a flight recorder, request-sized traces',
    med('otel', 'thread') / med('stepmark-recorded', 'thread'),
    'x',
    {
      note: `both sides keep every trace: OTel exports its spans, stepmark records the trace (16 MiB ring); ${ratioNote('stepmark-recorded')}`,
    },
  );
  await inTrace(async (wrap) => {
    // 5. Cost of the s()/r() pair around an await in a traced async function.
    const resetting = wrap(() => {});
    async function plainAsync() {
      await null;
    }
    async function tracedAsync() {
      const __smf = v1.enter('OrderService.place', void 0);
      try {
        __smf.r(await __smf.s(null));
      } finally {
        __smf.exit();
      }
    }
    const threeAwaits = (flags) =>
      async function placeOrder() {
        const __smf = v1.enter('OrderService.place', void 0, flags);
        try {
          __smf.r(await __smf.s(null));
          __smf.r(await __smf.s(null));
          __smf.r(await __smf.s(null));
        } finally {
          __smf.exit();
        }
      };
    const generic = threeAwaits(undefined);
    const flagged = threeAwaits(FRAME_ASYNC);
    await h.compare(
      'enabled async fn, 3 awaits: generic frame vs FRAME_ASYNC frame',
      {
        baseline: () => {
          resetting();
          return flagged();
        },
        subject: () => {
          resetting();
          return generic();
        },
      },
      { note: 'what flagging plain async functions saves (no enterWith per await after the first)' },
    );
    await h.compare(
      'enabled instrumented async fn (1 await) vs plain async fn',
      {
        baseline: () => {
          resetting();
          return plainAsync();
        },
        subject: () => {
          resetting();
          return tracedAsync();
        },
      },
      { note: 'span + s()/r() around one await' },
    );
  });

  // 6. Starting a trace: run() of an empty function vs calling it.
  const noop = () => 0;
  await h.compare(
    'run(fn) vs fn()',
    { baseline: () => noop(), subject: () => stepmark.run(noop) },
    { note: 'trace + cursor + AsyncLocalStorage.run' },
  );

  // 7. What the caps (issue 18) cost an ordinary trace: this runtime vs the one before them, in a
  // fresh process.
  const dir = mkdtempSync(join(tmpdir(), 'stepmark-bench-runtime-'));
  try {
    const before = await buildRuntimeAt(BEFORE_CAPS, dir);
    const caps = child(process.execPath, [join(here, 'runtime-process.mjs'), 'caps', before]);
    h.report('caps: ordinary trace, recorded+collected, vs before the caps', caps.ratio, 'x', {
      target: '<= 1.1',
      note:
        `${caps.spans} spans, ${caps.events} events, ${caps.entities} entities: ${caps.nowUs.toFixed(1)} µs vs ` +
        `${caps.beforeUs.toFixed(1)} µs; median of ${caps.rounds} paired rounds; the runtime at ` +
        `${BEFORE_CAPS.slice(0, 7)} (no maxEntities/maxMetaKeys/maxStringLength), built from git`,
    });
    const copy = join(dir, 'runtime-copy.mjs');
    copyFileSync(before, copy);
    const control = child(process.execPath, [join(here, 'runtime-process.mjs'), 'caps', before, copy]);
    h.report('caps: control, the runtime before the caps vs a copy of itself', control.ratio, 'x', {
      note: "the same measurement with the same runtime on both sides: the method's own noise",
    });
  } catch (e) {
    h.report('caps: ordinary trace, recorded+collected, vs before the caps', 'unavailable', '', {
      note: String(e.message).slice(0, 120),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // 8. Bounded whatever is recorded: 1e6 entities, and 1 MB strings, in fresh processes.
  const ent = child(process.execPath, ['--expose-gc', join(here, 'runtime-process.mjs'), 'entities']);
  h.report('caps: 1e6 track calls in one trace, recorded+collected+serialised', ent.seconds, 's', {
    target: '< 5',
    note: `${ent.entities} entities kept, ${ent.dropped_entities} calls in dropped_entities; before the caps: 16.7 s for 2e6 (issue 18)`,
  });
  h.report('caps: 1e6 track calls in one trace, JSON size', ent.jsonMB, 'MB', {
    target: '<= 16',
  });
  h.report('caps: 1e6 track calls in one trace, heap held by the collected trace', ent.heldMB, 'MB', {
    note: 'after a full GC; before the caps: 53-200 MB (issue 18)',
  });
  h.report('caps: 1e6 track calls in one trace, peak RSS of the process', ent.peakRssMB, 'MB', {
    note: 'whole process, Node itself included',
  });
  const strings = child(process.execPath, [
    '--expose-gc',
    join(root, 'test', 'adversarial', 'fixtures', 'string-memory.mjs'),
  ]);
  h.report('caps: heap held by 200 traces that recorded 1 MB strings everywhere', strings.retainedMB, 'MB', {
    target: '< 24',
    note: `cut strings are copies; the control (V8 slices of 50 originals) holds ${strings.control.toFixed(0)} MB; before the caps: 191 MB (issue 18)`,
  });

  // 9. Heap per disabled call, in fresh processes (young generation sized so no scavenge hides allocations).
  const heap = child(process.execPath, [
    '--expose-gc',
    '--min-semi-space-size=64',
    '--max-semi-space-size=64',
    join(here, 'runtime-process.mjs'),
    'heap',
  ]);
  for (const [label, bytes] of Object.entries(heap)) {
    const control = label.startsWith('control');
    h.report(`heap per call over 1e6 calls: ${label}`, bytes, 'bytes', {
      target: control ? '>= 16' : '== 0',
      note: control ? 'control: proves the method sees allocations' : undefined,
    });
  }

  // 10. The AsyncLocalStorage tax on every await in the process (Node 24 here, and the machine's Node 20).
  for (const node of [process.execPath, '/usr/bin/node']) {
    let r;
    try {
      r = child(node, [join(here, 'runtime-process.mjs'), 'await-tax']);
    } catch (e) {
      h.report(`await tax on ${node}`, 'unavailable', '', { note: String(e.message).slice(0, 80) });
      continue;
    }
    h.report(`${r.node}: unrelated await, before any trace`, r.before, 'ns');
    h.report(`${r.node}: unrelated await while a trace runs elsewhere (x before)`, r.during / r.before, 'x', {
      note: r.hooked
        ? 'async_hooks-based AsyncLocalStorage: promise hooks on'
        : 'AsyncContextFrame: no hooks',
    });
    h.report(
      `${r.node}: unrelated await right after the last trace ended (x before)`,
      r.justAfter / r.before,
      'x',
      {
        note: r.hooked
          ? 'the store is disabled 200 ms after the last trace ends: until then, promise hooks stay on'
          : 'nothing to disable',
      },
    );
    h.report(
      `${r.node}: unrelated await 400 ms after the last trace ended (x before)`,
      r.after / r.before,
      'x',
      {
        target: r.hooked ? '<= 1.3' : undefined,
        note: r.hooked ? 'store disabled when idle' : 'nothing to disable',
      },
    );
    if (r.kept !== undefined) {
      h.report(`${r.node}: unrelated await if the store stayed enabled (x before)`, r.kept / r.before, 'x', {
        note: 'what a never-disabled AsyncLocalStorage costs every await, for ever',
      });
    }
  }

  // 9. Recursion depth: the parser of depth-parser.js built with and without the esbuild plugin,
  // each measured in fresh processes (the stack limit is the same; only the frames differ).
  const tmp = join(here, 'tmp', 'depth');
  mkdirSync(tmp, { recursive: true });
  const built = {};
  for (const [name, plugins] of [
    ['plain', []],
    ['instrumented', [stepmarkEsbuild()]],
  ]) {
    built[name] = join(tmp, `${name}.mjs`);
    await esbuild.build({
      entryPoints: [join(here, 'depth-parser.js')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      external: ['stepmark', 'stepmark/*'],
      outfile: built[name],
      logLevel: 'silent',
      plugins,
    });
  }
  // median of several processes: when the optimiser compiles (concurrently) shifts the warm figure
  const runs = h.quick ? 1 : 5;
  const middle = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const depth = (name, mode) => {
    const all = Array.from({ length: runs }, () =>
      child(process.execPath, [join(here, 'depth-process.mjs'), built[name], mode]),
    );
    return { first: middle(all.map((r) => r.first)), warm: middle(all.map((r) => r.warm)) };
  };
  const plain = depth('plain', 'off');
  for (const mode of ['off', 'on']) {
    const inst = depth('instrumented', mode);
    const tracing = mode === 'off' ? 'tracing off' : 'tracing on';
    h.report(
      `recursion depth, first call (not yet optimised): instrumented / plain, ${tracing}`,
      inst.first / plain.first,
      'x',
      {
        target: mode === 'off' ? '>= 0.80' : undefined,
        note: `${inst.first} vs ${plain.first} levels of a recursive-descent parser (esbuild plugin output); the frame's try/catch/finally registers set it`,
      },
    );
    h.report(`recursion depth, optimised: instrumented / plain, ${tracing}`, inst.warm / plain.warm, 'x', {
      target: mode === 'off' ? '>= 0.80' : undefined,
      note: `${inst.warm} vs ${plain.warm} levels, deepest input that parses after warm-up (the optimiser inlines the parser's own recursion, and with tracing on the recording path)`,
    });
  }
}
