// The flight recorder (issue 19): what handing a finished trace over costs on the request path,
// what the recorder costs per trace, how fast find answers over a full ring, and whether its heap
// stays flat over a long run (in a child process, with forced GC). Ratios on main-thread CPU time.
//   STEPMARK_BENCH_RECORDER_REQUESTS=200000 node bench/run.mjs recorder   (default 1,000,000, as issue 19 asks)
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
import { cpuCompare, cpuPerBatch, median, minTiming } from './cpu.mjs';
import { request } from './request.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export default async function (h) {
  const handle = request('order_1');
  const recorder = flightRecorder({ maxBytes: 16 * 2 ** 20 });
  const { trace } = stepmark.captureSync(handle);
  const events = Object.values(trace.entities).reduce((n, e) => n + e.events.length, trace.events.length);
  const shape = `${trace.spans.length} spans, ${events} events`;

  await cpuCompare(
    h,
    `captureSync(fn) vs run(fn), a request-sized trace (${shape})`,
    { baseline: () => stepmark.run(handle), subject: () => stepmark.captureSync(handle) },
    { target: '<= 3', note: 'the trace handed over as an object, as onEnd and onFinish receive it' },
  );
  // With every trace kept, a part of the cost is the garbage collector's, paid later and on its
  // own threads: interleaved in one process it would land on whichever side runs then. So each
  // variant runs in fresh processes, alternately, and the process's whole CPU time is counted.
  const cost = (variant) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [join(here, 'recorder-process.mjs'), 'cost', variant, String(h.quick ? 20_000 : 60_000)],
        {
          cwd: join(here, '..'),
          encoding: 'utf8',
        },
      )
        .trim()
        .split('\n')
        .pop(),
    ).ns;
  const costs = { run: [], record: [] };
  for (let r = 0; r < (h.quick ? 3 : 7); r++) {
    for (const v of r % 2 ? ['record', 'run'] : ['run', 'record']) costs[v].push(cost(v));
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const recorded = { baseline_ns: med(costs.run), subject_ns: med(costs.record) };
  h.report(
    'run(fn, { onEnd: recorder.add }) vs run(fn), the same trace',
    recorded.subject_ns / recorded.baseline_ns,
    'x',
    {
      target: '<= 3',
      note: `${recorded.subject_ns.toFixed(0)} vs ${recorded.baseline_ns.toFixed(0)} ns CPU per trace (every thread, GC included), medians of ${costs.run.length} fresh processes each; every request recorded into a full 16 MiB ring`,
    },
  );
  const noop = () => {};
  await cpuCompare(
    h,
    'run(fn, { onEnd: () => {} }) vs run(fn)',
    { baseline: () => stepmark.run(handle), subject: () => stepmark.run(handle, { onEnd: noop }) },
    { note: 'a plain onEnd: the trace collected into the trace format' },
  );
  // The add alone: traces ended beforehand (held in their compact form), added into a full ring.
  const COMPACT = Symbol.for('stepmark.runtime.v2.onEndCompact');
  const ended = [];
  const keep = Object.assign(() => {}, { [COMPACT]: (t) => ended.push(t) });
  for (let i = 0; i < 4096; i++)
    stepmark.run(request(`order_${i}`), { meta: { request_id: `req-${i}` }, onEnd: keep });
  const addCompact = recorder.add[COMPACT];
  for (const t of ended) addCompact(t);
  const rounds = h.quick ? 5 : 15;
  const perAdd = [];
  for (let r = 0; r < rounds; r++) {
    perAdd.push(
      (cpuPerBatch(() => {
        for (const t of ended) addCompact(t);
      }) *
        1e3) /
        ended.length,
    );
  }
  h.report(
    'recorder.add per trace handed over by run (compact form), into a full ring',
    median(perAdd),
    'ns',
    {
      note: `${shape}; main-thread CPU, median of ${rounds} timings of at least ${(minTiming / 1000).toFixed(0)} ms, ${ended.length} traces a pass; run(fn) itself ${recorded.baseline_ns.toFixed(0)} ns; the garbage collector's later share is in the ratio above`,
    },
  );
  const plain = JSON.parse(JSON.stringify(trace));
  const fromJson = flightRecorder({ maxBytes: 16 * 2 ** 20 });
  const addPlain = () => {
    for (let i = 0; i < 100; i++) fromJson.add(plain);
  };
  cpuPerBatch(addPlain); // warm-up: optimised, and the ring full
  const perPlain = [];
  for (let r = 0; r < rounds; r++) perPlain.push((cpuPerBatch(addPlain) * 1e3) / 100);
  h.report('recorder.add of a plain trace object (from a file, another process)', median(perPlain), 'ns', {
    note: `main-thread CPU, median of ${rounds} timings after a warm-up that fills the ring; the trace is serialised into the ring`,
  });

  // find over a full ring: 16 MiB of request-sized traces, each its own order, plus 100
  // customers that each appear in a hundredth of them.
  const full = flightRecorder({ maxBytes: 16 * 2 ** 20 });
  let i = 0;
  while (full.stats().evicted === 0 || i % 1000 !== 0) {
    const customer = `customer_${i % 100}`;
    const order = request(`order_${i}`);
    stepmark.run(
      () => {
        order();
        stepmark.recordEntity(customer, 'history', 'read');
      },
      { meta: { request_id: `req-${i}` }, onEnd: full.add },
    );
    i++;
  }
  const held = full.stats().traces;
  const finds = 1000;
  let hits = 0;
  const byEntity =
    cpuPerBatch(() => {
      hits = 0;
      for (let k = 0; k < finds; k++)
        hits += full.find({ entity: `order_${i - 1 - ((k * 7919) % held)}` }).length;
    }) / 1000;
  if (hits !== finds) throw new Error(`find missed: ${hits} of ${finds}`);
  h.report(`1,000 finds by entity over a full 16 MiB ring (${held} traces)`, byEntity, 'ms', {
    target: '< 200',
    note: 'main-thread CPU; each find answers one trace from the entity index and materialises it',
  });
  const busy =
    cpuPerBatch(() => {
      for (let k = 0; k < 100; k++) full.find({ entity: `customer_${k}`, limit: 10 });
    }) / 100;
  h.report('find of a busy entity (its 10 newest, ~1% of the ring)', busy, 'µs', {
    note: 'main-thread CPU',
  });
  h.report(
    'find by action alone (not indexed: every trace read)',
    cpuPerBatch(() => full.find({ action: 'missing', limit: 1 })) / 1000,
    'ms',
    {
      note: 'main-thread CPU; the packed traces are read in place, none turned into the trace format',
    },
  );

  // Heap over a long run, in a child process.
  const requests = Number(process.env.STEPMARK_BENCH_RECORDER_REQUESTS ?? (h.quick ? 50_000 : 1_000_000));
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', join(here, 'recorder-process.mjs'), 'heap', String(requests)],
    {
      cwd: join(here, '..'),
      encoding: 'utf8',
    },
  );
  const r = JSON.parse(out.trim().split('\n').pop());
  const mb = (b) => b / 2 ** 20;
  h.report(
    `heap growth from 10% to 100% of ${requests.toLocaleString('en')} recorded requests, maxBytes 16 MiB`,
    mb(r.end - r.tenth),
    'MB',
    {
      target: '<= 4',
      note: `heap after GC: ${mb(r.base).toFixed(1)} MB before, ${mb(r.tenth).toFixed(1)} at 10%, ${mb(r.half).toFixed(1)} at 50%, ${mb(r.end).toFixed(1)} at 100%; ${r.stats.traces} traces held, ${r.stats.evicted} evicted; ${((r.ms / requests) * 1000).toFixed(1)} µs per request (wall)`,
    },
  );
  h.report('heap held by a full 16 MiB recorder / maxBytes', (r.end - r.base) / r.stats.maxBytes, 'x', {
    target: '<= 2',
    note: `the recorder's own accounting says ${mb(r.stats.bytes).toFixed(1)} MB`,
  });
}
