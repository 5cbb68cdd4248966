#!/usr/bin/env node
// Smoke test of the BUILT package on the machine's own Node (CI runs it with Node 20): imports
// `stepmark`, `stepmark/runtime` and `stepmark/testing` by name, as ESM and as CommonJS, and
// exercises run/capture/step/enter/async nesting/ABI frames. Plain node, no test framework.
// Exits non-zero with a message on the first failure.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import * as stepmark from 'stepmark';
import { v2 as __stepmark, abi, FRAME_ASYNC } from 'stepmark/runtime';
import { normalizeTrace, renderSpanTree } from 'stepmark/testing';

const require = createRequire(import.meta.url);
const cjs = require('stepmark');
const cjsRuntime = require('stepmark/runtime');
const cjsTesting = require('stepmark/testing');

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(`ok   ${name}`);
  } catch (e) {
    console.error(results.join('\n'));
    console.error(`FAIL ${name}\n${e?.stack ?? e}`);
    process.exit(1);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const state = globalThis[Symbol.for('stepmark.runtime.v2')].get();

// ---- instrumented code, as the plugins emit it ----
class OrderService {
  async place(order) {
    const __smf = __stepmark.enter('OrderService.place', 'src/order.ts:3:3');
    try {
      stepmark.track(order.id, { total: order.total }, { kind: 'order' });
      __stepmark.step('OrderService.place', 'received');
      const [score] = __smf.r(await __smf.s(Promise.all([score_(order), charge(order)])));
      return score > 0.5 ? 'review' : 'accepted';
    } catch (__sme) {
      __smf.fail(__sme);
      throw __sme;
    } finally {
      __smf.exit();
    }
  }
}
async function score_(order) {
  const __smf = __stepmark.enterEntity('score', void 0, 'order', __stepmark.on() && order?.id);
  try {
    __smf.r(await __smf.s(sleep(2)));
    __stepmark.stepEntity('score', order.id, 'scored', { score: 0.78 });
    return 0.78;
  } catch (__sme) {
    __smf.fail(__sme);
    throw __sme;
  } finally {
    __smf.exit();
  }
}
async function charge(order) {
  const __smf = __stepmark.enter('charge', void 0);
  try {
    __smf.r(await __smf.s(sleep(1)));
    setTimeout(() => stepmark.record('charge', 'timer'), 0);
    __smf.r(await __smf.s(sleep(3)));
    if (order.total < 0) throw new Error('negative');
    __smf.exit();
  } catch (__sme) {
    // ABI 2's ending for functions (docs/ABI.md "Frames")
    throw __smf.t(__sme);
  }
}
function* gen() {
  const __smf = __stepmark.enter('gen', void 0);
  try {
    __stepmark.step('gen', 'first');
    __smf.r(yield __smf.s(1));
    __stepmark.step('gen', 'second');
    __smf.r(yield __smf.s(2));
  } finally {
    __smf.exit();
  }
}

await check('entry points load as ESM and CommonJS', () => {
  for (const m of [stepmark, cjs]) {
    for (const f of [
      'run',
      'capture',
      'captureSync',
      'collect',
      'enabled',
      'track',
      'record',
      'recordEntity',
      'step',
      'stepEntity',
      'enter',
      'enterEntity',
      'scope',
      'formatTrace',
    ]) {
      assert.equal(typeof m[f], 'function', `stepmark.${f}`);
    }
  }
  assert.equal(cjsRuntime.abi(2), cjsRuntime.v2);
  assert.equal(cjsRuntime.abi(1), cjsRuntime.v1);
  assert.equal(abi(2), __stepmark);
  assert.equal(typeof cjsTesting.normalizeTrace, 'function');
  assert.throws(
    () => cjsRuntime.abi(99),
    (e) => e.code === 'STEPMARK_ABI_MISMATCH' && /ABI 99/.test(e.message),
  );
});

await check('nothing is set up before the first trace; disabled calls are no-ops', () => {
  assert.equal(state.als, undefined);
  assert.equal(state.active, 0);
  assert.equal(__stepmark.enter('a', void 0), __stepmark.enter('b', void 0));
  assert.equal(stepmark.enter(), stepmark.enterEntity('x'));
  assert.equal(cjs.enter(), cjs.enter());
  stepmark.record('x', 'y');
  stepmark.step('x');
  assert.equal(stepmark.enabled(), false);
  assert.equal(stepmark.collect(), undefined);
  assert.equal(state.als, undefined);
});

await check('run/capture: async nesting, Promise.all siblings, timers, entities, errors', async () => {
  const { result, trace } = await stepmark.capture(() => new OrderService().place({ id: 'o1', total: 300 }), {
    meta: { request_id: 'r1' },
  });
  assert.equal(result, 'review');
  assert.equal(
    renderSpanTree(trace),
    ['OrderService.place', '  score [o1]', '  charge'].join('\n'),
    renderSpanTree(trace),
  );
  assert.deepEqual(trace.meta, { request_id: 'r1' });
  assert.equal(trace.entities.o1.kind, 'order');
  assert.deepEqual(
    trace.entities.o1.events.map((e) => e.action),
    ['entered', 'scored', 'exited'],
  );
  const charge = trace.spans.find((s) => s.name === 'charge');
  assert.equal(trace.events.find((e) => e.action === 'timer').span_id, charge.span_id);
  assert.ok(trace.spans.every((s) => s.status === 'ok' && s.duration_ms >= 0));
  assert.equal(
    JSON.stringify(normalizeTrace(trace)),
    JSON.stringify(normalizeTrace(JSON.parse(JSON.stringify(trace)))),
  );

  const failed = await stepmark
    .capture(() => new OrderService().place({ id: 'o2', total: -1 }))
    .catch((e) => e);
  assert.equal(failed.message, 'negative');
  assert.deepEqual(
    failed.stepmarkTrace.spans.map((s) => `${s.name}:${s.status}:${s.error ?? ''}`),
    ['OrderService.place:error:negative', 'score:ok:', 'charge:error:negative'],
  );
});

await check('stack-derived names and user spans', () => {
  class Checkout {
    pay() {
      const done = stepmark.enter({ attempt: 1 });
      stepmark.step('paid');
      done();
    }
  }
  const { trace } = stepmark.captureSync(() => new Checkout().pay());
  assert.equal(trace.spans[0].name, 'Checkout.pay');
  assert.deepEqual(
    trace.events.map((e) => `${e.stage}:${e.action}`),
    ['Checkout.pay:entered', 'Checkout.pay:paid', 'Checkout.pay:exited'],
  );
});

await check('generators hand the span back to their consumer', () => {
  const { trace } = stepmark.captureSync(() => {
    const it = gen();
    it.next();
    stepmark.record('consumer', 'between');
    it.next();
    it.next();
  });
  const g = trace.spans[0].span_id;
  assert.deepEqual(
    trace.events.map((e) => `${e.stage}:${e.action}@${e.span_id ?? '-'}`),
    [`gen:entered@${g}`, `gen:first@${g}`, 'consumer:between@-', `gen:second@${g}`, `gen:exited@${g}`],
  );
});

await check('200 concurrent traces with timers and emitters never mix', async () => {
  const all = await Promise.all(
    Array.from({ length: 200 }, (_, k) =>
      stepmark.capture(async () => {
        const ee = new EventEmitter();
        ee.on('e', () => stepmark.record('emit', String(k)));
        await sleep(k % 5);
        setTimeout(() => ee.emit('e'), k % 3);
        await sleep(4);
        await new OrderService().place({ id: `o${k}`, total: k });
        stepmark.record('done', String(k));
      }),
    ),
  );
  all.forEach(({ trace }, k) => {
    assert.deepEqual(Object.keys(trace.entities), [`o${k}`]);
    const mine = trace.events.filter((e) => e.stage === 'emit' || e.stage === 'done').map((e) => e.action);
    assert.deepEqual(mine, [String(k), String(k)]);
    assert.equal(trace.spans.length, 3);
  });
});

await check('FRAME_ASYNC frames and async generators keep parents exact', async () => {
  async function flagged(name) {
    const __smf = __stepmark.enter(name, void 0, FRAME_ASYNC);
    try {
      __smf.r(await __smf.s(sleep(1)));
      setTimeout(() => stepmark.record('timer', name), 0);
      __smf.r(await __smf.s(sleep(2)));
    } finally {
      __smf.exit();
    }
  }
  async function* pages() {
    const __smf = __stepmark.enter('pages', void 0);
    try {
      for (let i = 0; i < 2; i++) {
        __smf.r(await __smf.s(sleep(1)));
        __smf.r(yield __smf.s(i));
      }
    } finally {
      __smf.exit();
    }
  }
  const { trace } = await stepmark.capture(async () => {
    await Promise.all([flagged('a'), flagged('b')]);
    for await (const _ of pages()) stepmark.record('consumer', 'page');
  });
  const byName = Object.fromEntries(trace.spans.map((s) => [s.name, s]));
  assert.deepEqual(
    trace.spans.map((s) => `${s.parent_id ?? '-'}>${s.name}:${s.status}`),
    ['->a:ok', '->b:ok', '->pages:ok'],
  );
  for (const n of ['a', 'b'])
    assert.equal(trace.events.find((e) => e.action === n).span_id, byName[n].span_id);
  assert.ok(trace.events.filter((e) => e.stage === 'consumer').every((e) => e.span_id === undefined));
});

await check('near the stack limit the program keeps its RangeError and the trace stays consistent', () => {
  function rec(n) {
    const __smf = __stepmark.enter('rec', void 0);
    try {
      return rec(n + 1) + 1;
    } catch (__sme) {
      __smf.fail(__sme);
      throw __sme;
    } finally {
      __smf.exit();
    }
  }
  const { trace } = stepmark.captureSync(
    () => {
      assert.throws(() => rec(0), RangeError);
      __stepmark.enter('after', void 0).exit();
    },
    { maxSpans: 1e7, maxEvents: 10 },
  );
  const last = trace.spans[trace.spans.length - 1];
  assert.equal(last.name, 'after');
  assert.equal(last.parent_id, undefined);
  JSON.stringify(trace);
});

await check('meta is stored in a safe, JSON-serialisable form', () => {
  const cyclic = { big: 10n, fn() {}, sym: Symbol('s'), password: 'x' };
  cyclic.self = cyclic;
  const { trace } = stepmark.captureSync(() => stepmark.record('s', 'a', cyclic));
  assert.deepEqual(trace.events[0].meta, {
    big: '10n',
    fn: '[Function fn]',
    sym: 'Symbol(s)',
    password: '[Redacted]',
    self: '[Circular]',
  });
});

await check('ESM and CommonJS copies share the active trace', async () => {
  const { trace } = await cjs.capture(async () => {
    await null;
    stepmark.record('esm', 'call');
    const f = __stepmark.enter('esmFrame', void 0);
    cjsRuntime.v1.step('cjsStep', 'inside');
    f.exit();
  });
  assert.deepEqual(
    trace.events.map((e) => `${e.stage}:${e.action}`),
    ['esm:call', 'esmFrame:entered', 'cjsStep:inside', 'esmFrame:exited'],
  );
});

await check(
  'shortly after the last trace ended, the store is idle again (async_hooks AsyncLocalStorage disabled)',
  async () => {
    assert.equal(state.active, 0);
    assert.ok(state.als);
    // back-to-back traces keep the store enabled; it is disabled once nothing traced for a moment
    const { trace: quick } = await stepmark.capture(async () => stepmark.record('back', 'to-back'));
    assert.equal(quick.events.length, 1);
    if (state.alsHooked) assert.equal(state.als.enabled, true, 'disabled between back-to-back traces');
    await sleep(400);
    if (state.alsHooked)
      assert.equal(state.als.enabled, false, 'AsyncLocalStorage still enabled with no active trace');
    const { trace } = await stepmark.capture(async () => {
      await sleep(1);
      stepmark.record('again', 'ok');
    });
    assert.equal(trace.events.length, 1);
  },
);

await check('a flight recorder keeps traces handed over by either copy, and finds them', async () => {
  const { flightRecorder } = await import('stepmark/recorder');
  const recorder = flightRecorder({ keep: { errors: true } });
  await stepmark.run(
    async () => {
      await sleep(1);
      stepmark.recordEntity('order_1', 'fraud', 'rejected');
    },
    { meta: { request_id: 'esm' }, onEnd: recorder.add },
  );
  cjs.run(() => cjs.recordEntity('order_1', 'payment', 'declined'), {
    meta: { request_id: 'cjs' },
    onEnd: recorder.add,
  });
  assert.deepEqual(
    recorder.find({ entity: 'order_1' }).map((t) => t.meta.request_id),
    ['cjs', 'esm'],
  );
  assert.deepEqual(
    recorder.find({ entity: 'order_1', action: 'rejected' }).map((t) => t.meta.request_id),
    ['esm'],
  );
});

console.log(results.join('\n'));
console.log(`node ${process.version}: stepmark smoke test passed (${results.length} checks)`);
