// The public API (DESIGN §3) against the built package, as users import it.

import type { TraceOptions } from 'stepmark';
import * as stepmark from 'stepmark';
import {
  capture,
  captureSync,
  collect,
  enabled,
  record,
  recordEntity,
  run,
  scope,
  step,
  stepEntity,
  track,
} from 'stepmark';
import { describe, expect, it } from 'vitest';

/** A clock that advances 1 ms per reading, from 2026-01-01. */
function tickClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return () => t++;
}

describe('run / capture / collect', () => {
  it('run returns the function result, sync and async', async () => {
    expect(run(() => 42)).toBe(42);
    await expect(run(async () => 'x')).resolves.toBe('x');
  });

  it('run rethrows what fn throws or rejects with, unchanged', async () => {
    const err = new Error('boom');
    expect(() =>
      run(() => {
        throw err;
      }),
    ).toThrow(err);
    await expect(run(async () => Promise.reject(err))).rejects.toBe(err);
  });

  it('capture resolves to { result, trace } with the trace format of DESIGN §2', async () => {
    const { result, trace } = await capture(
      async () => {
        track('order_42', { total: 249.99 }, { kind: 'order' });
        recordEntity('order_42', 'fraud_check', 'flagged', { score: 0.78 });
        record('cache', 'miss');
        return 'done';
      },
      { meta: { request_id: 'r1' }, clock: tickClock() },
    );
    expect(result).toBe('done');
    expect(trace).toEqual({
      meta: { request_id: 'r1' },
      entities: {
        order_42: {
          entity_id: 'order_42',
          kind: 'order',
          meta: { total: 249.99 },
          events: [
            {
              stage: 'fraud_check',
              action: 'flagged',
              timestamp: '2026-01-01T00:00:00.000Z',
              meta: { score: 0.78 },
            },
          ],
        },
      },
      events: [{ stage: 'cache', action: 'miss', timestamp: '2026-01-01T00:00:00.001Z' }],
      spans: [],
      dropped: 0,
    });
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it('captureSync works for sync functions', () => {
    const { result, trace } = captureSync(() => {
      record('a', 'b');
      return 1;
    });
    expect(result).toBe(1);
    expect(trace.events.map((e) => `${e.stage}:${e.action}`)).toEqual(['a:b']);
  });

  it('capture rejects with the original error and attaches the trace to it', async () => {
    const err = new Error('nope');
    const p = capture(async () => {
      record('before', 'failure');
      throw err;
    });
    await expect(p).rejects.toBe(err);
    const attached = (err as any).stepmarkTrace;
    expect(attached.events[0].stage).toBe('before');
    expect(Object.keys(err)).not.toContain('stepmarkTrace');
  });

  it('enabled() and collect() reflect the current context only', async () => {
    expect(enabled()).toBe(false);
    expect(collect()).toBeUndefined();
    await run(async () => {
      expect(enabled()).toBe(true);
      record('s', 'a');
      await new Promise((r) => setTimeout(r, 1));
      expect(collect()!.events).toHaveLength(1);
    });
    expect(enabled()).toBe(false);
  });

  it('collect twice gives independent snapshots and never resets the trace', () => {
    run(() => {
      record('s', 'one', { list: [1] });
      const a = collect()!;
      a.events[0]!.meta!.list = ['mutated'];
      a.events.push({ stage: 'x', action: 'y', timestamp: '' });
      const b = collect()!;
      expect(b.events).toHaveLength(1);
      expect(b.events[0]!.meta).toEqual({ list: [1] });
      record('s', 'two');
      expect(collect()!.events).toHaveLength(2);
    });
  });

  it('meta is snapshotted: mutating the caller object later does not change the event', () => {
    const { trace } = captureSync(() => {
      const meta = { n: 1, nested: { a: [1, 2] } };
      record('s', 'a', meta);
      meta.n = 2;
      meta.nested.a.push(3);
      const entityMeta = { total: 1 };
      track('e1', entityMeta);
      entityMeta.total = 99;
    });
    expect(trace.events[0]!.meta).toEqual({ n: 1, nested: { a: [1, 2] } });
    expect(trace.entities.e1!.meta).toEqual({ total: 1 });
  });

  it('nested run starts an independent trace', () => {
    const { trace: outer } = captureSync(() => {
      record('outer', 'before');
      const { trace: inner } = captureSync(() => record('inner', 'x'));
      expect(inner.events.map((e) => e.stage)).toEqual(['inner']);
      record('outer', 'after');
    });
    expect(outer.events.map((e) => e.action)).toEqual(['before', 'after']);
  });

  it('calls made after run finished (a timer left behind) are ignored', async () => {
    let late: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      late = resolve;
    });
    let ended: stepmark.Trace | undefined;
    run(
      () => {
        setTimeout(() => {
          record('late', 'x');
          expect(enabled()).toBe(false);
          expect(collect()).toBeUndefined();
          late!();
        }, 5);
      },
      { onEnd: (t) => (ended = t) },
    );
    // keep another trace active meanwhile, so the fast path does not hide the check
    await run(() => done);
    expect(ended!.events).toEqual([]);
  });

  it('onEnd receives the collected trace once, after the function settled', async () => {
    const seen: stepmark.Trace[] = [];
    await run(
      async () => {
        record('a', 'b');
        await null;
        record('c', 'd');
      },
      { onEnd: (t) => seen.push(t) },
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]!.events.map((e) => e.stage)).toEqual(['a', 'c']);
  });

  it('a result whose then getter throws is returned as is, and the trace still ends', () => {
    const odd = {
      // biome-ignore lint/suspicious/noThenProperty: the hostile thenable is the point of the test
      get then() {
        throw new Error('then getter');
      },
    };
    let ended = false;
    expect(run(() => odd, { onEnd: () => (ended = true) })).toBe(odd);
    expect(ended).toBe(true);
  });

  it('rejects invalid options loudly, naming the option', () => {
    expect(() => run(() => 1, { maxEvents: -1 })).toThrow(/maxEvents/);
    expect(() => run(() => 1, { clock: 5 as any })).toThrow(/clock/);
    expect(() => run(() => 1, { redact: 'password' as any })).toThrow(/redact/);
    expect(() => run(1 as any)).toThrow(/needs a function/);
  });

  it('rejects a key it does not know (a misspelt limit would be no limit at all)', () => {
    let ran = false;
    const misspelt = { maxEvent: 1 } as any;
    expect(() => run(() => (ran = true), misspelt)).toThrow(TypeError);
    expect(() => run(() => 1, misspelt)).toThrow(/unknown option `maxEvent` \(known: meta, maxEvents,/);
    expect(() => captureSync(() => 1, { onEnd() {}, maxSpan: 2 } as any)).toThrow(/`maxSpan`/);
    for (const [options, option] of [
      [misspelt, 'maxEvent'],
      [{ metaLimits: { strings: 100 } }, 'metaLimits.strings'],
    ] as const) {
      expect(() => run(() => 1, options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_STEPMARK_UNKNOWN_OPTION', option }),
      );
    }
    expect(ran).toBe(false);
    // inherited keys are not the caller's options; a class instance with its own methods is fine
    const inherited = Object.create({ junk: true, maxEvents: 1 }) as TraceOptions;
    expect(captureSync(() => 'ok', inherited).result).toBe('ok');
    class Limits {
      maxEvents = 1;
      describe() {
        return 'one event';
      }
    }
    const { trace } = captureSync(() => {
      record('a', 'one');
      record('a', 'two');
    }, new Limits());
    expect(trace.events).toHaveLength(1);
    expect(trace.dropped).toBe(1);
  });

  it('checks every part of the options: redact entries, metaLimits, the options object itself', () => {
    const rejected = (options: unknown, option: string) => {
      let error: unknown;
      try {
        run(() => 1, options as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_STEPMARK_INVALID_OPTION', option });
      expect((error as Error).message).toContain(`\`${option}\``);
    };
    rejected({ maxEvents: -1 }, 'maxEvents');
    rejected({ redact: ['ssn', 3] }, 'redact');
    rejected({ redact: [undefined] }, 'redact');
    rejected(Object.freeze({ redact: Object.freeze(['ssn', { key: 'x' }]) }), 'redact');
    rejected({ metaLimits: 5 }, 'metaLimits');
    rejected({ metaLimits: { depth: -1 } }, 'metaLimits.depth');
    rejected({ metaLimits: { string: '100' } }, 'metaLimits.string');
    rejected(5, 'options');
    rejected('maxEvents', 'options');
    expect(run(() => 1, null as never)).toBe(1);
    expect(
      run(() => 1, { redact: Object.freeze(['ssn', /^x_/]), metaLimits: { depth: 2, total: Infinity } }),
    ).toBe(1);
  });
});

describe('entities and events', () => {
  it('track registers kind and merges meta; events create missing entities', () => {
    const { trace } = captureSync(() => {
      track('u1', { name: 'Ann' }, { kind: 'user' });
      track('u1', { plan: 'pro' });
      recordEntity('p9', 'stock', 'reserved');
      track(42, { numeric: true });
    });
    expect(trace.entities.u1).toEqual({
      entity_id: 'u1',
      kind: 'user',
      meta: { name: 'Ann', plan: 'pro' },
      events: [],
    });
    expect(trace.entities.p9).toEqual({
      entity_id: 'p9',
      meta: {},
      events: [{ stage: 'stock', action: 'reserved', timestamp: expect.any(String) }],
    });
    expect(trace.entities['42']!.meta).toEqual({ numeric: true });
  });

  it('maxEvents keeps the first N events and counts the rest in dropped', () => {
    const { trace } = captureSync(
      () => {
        for (let i = 0; i < 10; i++) record('s', `a${i}`);
        for (let i = 0; i < 3; i++) recordEntity('e', 's', `b${i}`);
      },
      { maxEvents: 4 },
    );
    expect(trace.events.map((e) => e.action)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(trace.dropped).toBe(9);
  });

  it('clock drives timestamps and durations', () => {
    const { trace } = captureSync(
      () => {
        const done = stepmark.enter();
        done();
      },
      { clock: tickClock(Date.UTC(2030, 5, 1, 12)) },
    );
    expect(trace.spans[0]).toMatchObject({
      start: '2030-06-01T12:00:00.000Z',
      end: '2030-06-01T12:00:00.001Z',
      duration_ms: 1,
    });
  });

  it('entityFilter applies to entity calls only, before any other work', () => {
    const asked: [string, string | undefined][] = [];
    const { trace } = captureSync(
      () => {
        track('keep', { a: 1 }, { kind: 'order' });
        track('skip', {
          get a() {
            throw new Error('meta must not be read for a filtered entity');
          },
        });
        recordEntity('skip', 's', 'a');
        stepEntity('skip', 'x');
        stepmark.enterEntity('skip')();
        scope('order').step('skip', 'y');
        record('unscoped', 'kept');
        recordEntity('keep', 's', 'a');
      },
      {
        entityFilter: (id, kind) => {
          asked.push([id, kind]);
          return id === 'keep';
        },
      },
    );
    expect(Object.keys(trace.entities)).toEqual(['keep']);
    expect(trace.events.map((e) => e.stage)).toEqual(['unscoped']);
    expect(trace.spans).toEqual([]);
    expect(asked).toContainEqual(['keep', 'order']);
    expect(asked).toContainEqual(['skip', 'order']);
  });

  it('redacts sensitive keys by default, at any depth; custom lists and false', () => {
    const meta = {
      user: 'ann',
      password: 'hunter2',
      nested: { Authorization: 'Bearer x', tokens_used: 3 },
      apiKey: 'k',
    };
    const dflt = captureSync(() => record('s', 'a', meta)).trace.events[0]!.meta;
    expect(dflt).toEqual({
      user: 'ann',
      password: '[Redacted]',
      nested: { Authorization: '[Redacted]', tokens_used: 3 },
      apiKey: '[Redacted]',
    });
    const custom = captureSync(() => record('s', 'a', meta), { redact: ['user', /^tok/] }).trace.events[0]!
      .meta;
    expect(custom).toEqual({
      user: '[Redacted]',
      password: 'hunter2',
      nested: { Authorization: 'Bearer x', tokens_used: '[Redacted]' },
      apiKey: 'k',
    });
    const off = captureSync(() => record('s', 'a', meta), { redact: false }).trace.events[0]!.meta;
    expect(off).toEqual(meta);
    const extended = captureSync(() => record('s', 'a', { ssn: 1, email: 'x' }), {
      redact: [...stepmark.DEFAULT_REDACT, 'email'],
    });
    expect(extended.trace.events[0]!.meta).toEqual({ ssn: '[Redacted]', email: '[Redacted]' });
    expect(captureSync(() => 0, { meta: { token: 't' } }).trace.meta).toEqual({ token: '[Redacted]' });
  });

  it('a frozen redact list, shared by many traces, redacts in each of them whatever other traces used', () => {
    // A frozen list is compiled once and its verdicts are shared (the server adapters pass one per request).
    const frozen = Object.freeze(['user', /^tok/]);
    const first = captureSync(() => record('s', 'a', { user: 'ann', tokens: 1, ok: 1 }), { redact: frozen });
    const other = captureSync(() => record('s', 'a', { user: 'bob', ok: 2 }), { redact: ['ok'] });
    const again = captureSync(() => record('s', 'a', { user: 'cy', tokens: 2, ok: 3 }), { redact: frozen });
    expect(first.trace.events[0]!.meta).toEqual({ user: '[Redacted]', tokens: '[Redacted]', ok: 1 });
    expect(other.trace.events[0]!.meta).toEqual({ user: 'bob', ok: '[Redacted]' });
    expect(again.trace.events[0]!.meta).toEqual({ user: '[Redacted]', tokens: '[Redacted]', ok: 3 });
    // limits of their own still get a configuration of their own
    const cut = captureSync(() => record('s', 'a', { user: 'dee', note: 'x'.repeat(50) }), {
      redact: frozen,
      metaLimits: { string: 10 },
    });
    expect(cut.trace.events[0]!.meta).toEqual({ user: '[Redacted]', note: expect.stringMatching(/^x+…/) });
  });
});

describe('step names from the stack (no build step)', () => {
  class OrderService {
    validate() {
      step('ok', { n: 1 });
    }
    static create() {
      step('created');
    }
    constructor(withStep = false) {
      if (withStep) step('constructed');
    }
  }
  function placeOrder() {
    stepEntity('order_1', 'placed');
  }
  const arrowFn = () => step('arrow');

  it('uses the calling function name (class methods, statics, constructors, functions, arrows)', () => {
    const { trace } = captureSync(() => {
      new OrderService().validate();
      OrderService.create();
      new OrderService(true);
      placeOrder();
      arrowFn();
    });
    expect(trace.events.map((e) => `${e.stage}:${e.action}`)).toEqual([
      'OrderService.validate:ok',
      'OrderService.create:created',
      'OrderService.constructor:constructed',
      'arrowFn:arrow',
    ]);
    expect(trace.entities.order_1!.events[0]!.stage).toBe('placeOrder');
  });

  it('scope(kind) sets the kind and names steps and spans after the caller', () => {
    const orders = scope('order');
    function checkout() {
      orders.track('o1', { total: 3 });
      orders.recordEvent('o1', 'payment', 'authorized');
      orders.step('o1', 'checked_out');
      const done = orders.enter('o1', { attempt: 1 });
      done();
    }
    const { trace } = captureSync(checkout);
    expect(orders.kind).toBe('order');
    const e = trace.entities.o1!;
    expect(e.kind).toBe('order');
    expect(e.meta).toEqual({ total: 3 });
    expect(e.events.map((x) => `${x.stage}:${x.action}`)).toEqual([
      'payment:authorized',
      'checkout:checked_out',
      'checkout:entered',
      'checkout:exited',
    ]);
    expect(e.events[2]!.meta).toEqual({ attempt: 1 });
    expect(trace.spans[0]).toMatchObject({ name: 'checkout', entity_id: 'o1', status: 'ok' });
  });

  it('leaves a user-installed Error.prepareStackTrace and stackTraceLimit in place', () => {
    const mine = (_e: Error, sites: unknown[]) => `mine:${sites.length}`;
    const E = Error as any;
    const prevPrepare = E.prepareStackTrace;
    const prevLimit = E.stackTraceLimit;
    E.prepareStackTrace = mine;
    E.stackTraceLimit = 7;
    try {
      captureSync(function named() {
        step('x');
      });
      expect(E.prepareStackTrace).toBe(mine);
      expect(E.stackTraceLimit).toBe(7);
      expect(String(new Error('e').stack)).toMatch(/^mine:/);
    } finally {
      E.prepareStackTrace = prevPrepare;
      E.stackTraceLimit = prevLimit;
    }
  });
});

describe('user spans: enter()/enterEntity()', () => {
  it('the exit handle is callable, idempotent, has exit/fail and Symbol.dispose', () => {
    const { trace } = captureSync(function work() {
      const a = stepmark.enter({ phase: 1 });
      a();
      a();
      const b = stepmark.enterEntity('o1');
      b.fail(new TypeError('bad input'));
      b.exit();
      const c = stepmark.enter();
      c[Symbol.dispose]();
    });
    expect(trace.spans.map((s) => [s.name, s.status, s.error])).toEqual([
      ['work', 'ok', undefined],
      ['work', 'error', 'bad input'],
      ['work', 'ok', undefined],
    ]);
    expect(trace.events.filter((e) => e.action === 'exited')).toHaveLength(2);
    expect(trace.events[0]!.meta).toEqual({ phase: 1 });
    expect(trace.entities.o1!.events.map((e) => e.action)).toEqual(['entered', 'exited']);
    expect(trace.entities.o1!.events[1]!.meta).toMatchObject({ error: 'bad input' });
  });

  it('outside a trace every call is a no-op returning the shared no-op handle', () => {
    const h1 = stepmark.enter();
    const h2 = stepmark.enterEntity('x');
    expect(h1).toBe(h2);
    expect(() => {
      h1();
      h1.fail(new Error());
      h1[Symbol.dispose]();
      record('a', 'b');
      recordEntity('e', 'a', 'b');
      track('e');
      step('x');
      stepEntity('e', 'x');
      scope('k').step('e', 'x');
    }).not.toThrow();
  });

  it('exports a version and the renderer', () => {
    expect(stepmark.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof stepmark.formatTrace).toBe('function');
    expect(stepmark.render).toBe(stepmark.formatTrace);
  });
});
