// The recorder never throws into user code, keeps the trace consistent near the stack limit,
// and stores any meta value in a safe, JSON-serialisable form.
import { captureSync, collect, record, run, track } from 'stepmark';
import { v1 as __stepmark } from 'stepmark/runtime';
import { describe, expect, it, vi } from 'vitest';

function rec(n: number): number {
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

function plainRec(n: number): number {
  return plainRec(n + 1) + 1;
}

/** Uses `k` extra frames before recursing, so each attempt hits the limit at another point inside enter/exit. */
function offset(k: number, fn: () => void): void {
  if (k > 0) offset(k - 1, fn);
  else fn();
}

function checkConsistent() {
  const t = collect()!;
  expect(() => JSON.stringify(t)).not.toThrow();
  const ids = new Set(t.spans.map((s) => s.span_id));
  const problems: string[] = [];
  for (const s of t.spans) {
    if (!['ok', 'error', 'unfinished'].includes(s.status)) problems.push(`${s.span_id}: status ${s.status}`);
    if (s.parent_id !== undefined && !ids.has(s.parent_id)) problems.push(`${s.span_id}: unknown parent`);
    if (s.status === 'unfinished' ? s.end !== undefined : typeof s.duration_ms !== 'number')
      problems.push(`${s.span_id}: end`);
  }
  expect(problems).toEqual([]);
  return t;
}

describe('stack overflow through instrumented frames', () => {
  it('the program still sees its RangeError, and the trace stays consistent with the cursor at the root', () => {
    let plainError: unknown;
    try {
      plainRec(0);
    } catch (e) {
      plainError = e;
    }
    expect(plainError).toBeInstanceOf(RangeError);
    // each attempt starts the overflow a few frames deeper, so it hits the limit at another
    // point inside enter/fail/exit
    for (let k = 0; k < 24; k += 1) {
      run(
        () => {
          let caught: unknown;
          const outer = __stepmark.enter('attempt', void 0);
          offset(k, () => {
            try {
              rec(0);
            } catch (e) {
              caught = e;
            }
          });
          expect(caught).toBeInstanceOf(RangeError);
          // after the overflow the attempt span is current again: a new span parents to it
          const probe = __stepmark.enter('probe', void 0);
          probe.exit();
          outer.exit();
          const root = __stepmark.enter('root', void 0);
          root.exit();
          const t = checkConsistent();
          const [attempt, probeSpan, rootSpan] = [
            t.spans[0]!,
            t.spans[t.spans.length - 2]!,
            t.spans[t.spans.length - 1]!,
          ];
          expect(attempt).toMatchObject({ name: 'attempt', status: 'ok' });
          expect(probeSpan).toMatchObject({ name: 'probe', parent_id: attempt.span_id });
          expect(rootSpan.name).toBe('root');
          expect(rootSpan.parent_id).toBeUndefined();
        },
        { maxSpans: 10_000_000, maxEvents: 100 },
      );
    }
  });

  it('spans of frames whose exit could not run are reported unfinished or failed, never lost', () => {
    const { trace } = captureSync(
      () => {
        try {
          rec(0);
        } catch {}
      },
      { maxSpans: 10_000_000, maxEvents: 10 },
    );
    expect(trace.spans.length).toBeGreaterThan(100);
    const statuses = new Set(trace.spans.map((s) => s.status));
    expect(statuses.has('error')).toBe(true);
    expect(trace.spans[0]).toMatchObject({ name: 'rec', status: 'error' });
    expect(trace.dropped).toBeGreaterThan(0);
  });
});

describe('safe meta', () => {
  it('cycles, BigInt, functions, symbols, throwing getters, Dates, Errors, Maps, Sets, typed arrays', () => {
    const cyclic: any = { name: 'loop' };
    cyclic.self = cyclic;
    cyclic.list = [cyclic, { back: cyclic }];
    const shared = { x: 1 };
    const meta = {
      cyclic,
      shared1: shared,
      shared2: shared, // not a cycle: appears twice
      big: 123n,
      fn: function namedFn() {},
      arrow: () => 1,
      sym: Symbol('tag'),
      date: new Date(Date.UTC(2026, 0, 2)),
      badDate: new Date(Number.NaN),
      err: new TypeError('bad'),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, 'two'],
      ]),
      set: new Set([1, 'x']),
      bytes: new Uint8Array(16),
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      undef: undefined,
      nul: null,
      re: /x+/g,
      get boom() {
        throw new Error('getter exploded');
      },
      proto: Object.create(null),
      promise: Promise.resolve(1),
    };
    const { trace } = captureSync(() => record('s', 'a', meta as any), { redact: false });
    const m = trace.events[0]!.meta!;
    expect(m).toEqual({
      cyclic: { name: 'loop', self: '[Circular]', list: ['[Circular]', { back: '[Circular]' }] },
      shared1: { x: 1 },
      shared2: { x: 1 },
      big: '123n',
      fn: '[Function namedFn]',
      arrow: '[Function arrow]',
      sym: 'Symbol(tag)',
      date: '2026-01-02T00:00:00.000Z',
      badDate: 'Invalid Date',
      err: { name: 'TypeError', message: 'bad' },
      map: { a: 1, '2': 'two' },
      set: [1, 'x'],
      bytes: '[Uint8Array 16 bytes]',
      nan: 'NaN',
      inf: 'Infinity',
      undef: null,
      nul: null,
      re: '/x+/g',
      boom: '[Thrown: getter exploded]',
      proto: {},
      promise: '[Promise]',
    });
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it('marks a reference back to the meta object itself, at any depth, as circular', () => {
    const meta: Record<string, unknown> = { id: 1, child: { list: [1] } };
    meta.self = meta;
    (meta.child as Record<string, unknown>).up = meta;
    ((meta.child as Record<string, unknown>).list as unknown[]).push(meta, meta.child);
    const { trace } = captureSync(() => record('s', 'a', meta), { redact: false });
    expect(trace.events[0]!.meta).toEqual({
      id: 1,
      child: { list: [1, '[Circular]', '[Circular]'], up: '[Circular]' },
      self: '[Circular]',
    });
  });

  it('caps depth, keys, string length and total size', () => {
    let deep: any = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    const long = 'x'.repeat(5000);
    const bigArray = Array.from({ length: 10_000 }, (_, i) => ({ i }));
    const { trace } = captureSync(() => record('s', 'a', { deep, wide, long, bigArray }), {
      metaLimits: { depth: 4, keys: 10, string: 100, total: 60 },
    });
    const m = trace.events[0]!.meta as any;
    expect(m.deep.d.d.d.d).toBe('[Object]');
    expect(Object.keys(m.wide)).toHaveLength(11);
    expect(m.wide['[more]']).toBe('190 more keys');
    expect(m.long).toHaveLength(100); // the cut mark included
    expect(m.long).toMatch(/^x+…\[\d+ more\]$/);
    expect(m.bigArray.length).toBeLessThanOrEqual(11);
    expect(JSON.stringify(m).length).toBeLessThan(3000);
    // defaults keep a huge value bounded too
    const dflt = captureSync(() => record('s', 'a', { bigArray, long: 'y'.repeat(1e6) })).trace;
    expect(JSON.stringify(dflt).length).toBeLessThan(20_000);
  });

  it('non-object meta, proxies that throw, __proto__ keys', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys for you');
        },
      },
    );
    const withProto = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const { trace } = captureSync(() => {
      record('s', 'string', 'just a string' as any);
      record('s', 'array', [1, 2] as any);
      record('s', 'hostile', hostile as any);
      record('s', 'proto', withProto);
      track('e', hostile as any);
    });
    expect(trace.events.map((e) => e.meta)).toEqual([
      { value: 'just a string' },
      { value: [1, 2] },
      { '[stepmark]': 'meta not recorded: no keys for you' },
      JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'),
    ]);
    expect(({} as any).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(trace.events[3]!.meta)).toBe(Object.prototype);
  });

  it('stages, actions and entity ids that are not strings are stringified safely', () => {
    const evil = {
      toString() {
        throw new Error('nope');
      },
    };
    const { trace } = captureSync(() => {
      record(evil as any, 42 as any);
      record(Symbol('s') as any, null as any);
      track(evil as any, { a: 1 });
    });
    expect(trace.events.map((e) => [e.stage, e.action])).toEqual([
      ['[object Object]', '42'],
      ['Symbol(s)', 'null'],
    ]);
    expect(Object.keys(trace.entities)).toEqual(['[object Object]']);
  });
});

describe('user callbacks that throw never reach the program', () => {
  it('clock, entityFilter and onEnd (whose failure is a process warning)', () => {
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    let n = 0;
    const result = run(
      () => {
        record('s', 'a');
        track('e', {});
        const f = __stepmark.enter('f', void 0);
        f.exit();
        return 'fine';
      },
      {
        clock: () => {
          if (n++ % 2) throw new Error('clock broke');
          return Date.UTC(2026, 0, 1);
        },
        entityFilter: () => {
          throw new Error('filter broke');
        },
        onEnd: () => {
          throw new Error('sink broke');
        },
      },
    );
    expect(result).toBe('fine');
    // each reported once: the clock threw on every other read, the filter on every entity call
    expect(warnings.mock.calls.map((c) => (c[1] as { code: string }).code).sort()).toEqual([
      'STEPMARK_CLOCK_FAILED',
      'STEPMARK_ENTITY_FILTER_FAILED',
      'STEPMARK_ON_END_FAILED',
    ]);
    const said = warnings.mock.calls.map((c) => String(c[0])).join('\n');
    for (const what of ['clock broke', 'filter broke', 'sink broke']) expect(said).toContain(what);
    warnings.mockRestore();
  });

  it('a trace with a broken clock still serialises, and its spans still close once', () => {
    const { trace } = captureSync(
      () => {
        record('s', 'a');
        const f = __stepmark.enter('f', void 0);
        f.exit();
        f.exit();
      },
      { clock: () => Number.NaN },
    );
    expect(trace.events[0]!.timestamp).toBe('1970-01-01T00:00:00.000Z');
    expect(trace.spans[0]).toMatchObject({ status: 'ok', duration_ms: 0 });
    expect(trace.events.filter((e) => e.action === 'exited')).toHaveLength(1);
    expect(() => JSON.stringify(trace)).not.toThrow();
  });
});

describe('redactValues', () => {
  const S = 'sk_live_0123456789';

  it('replaces a value wherever it appears in a recorded string, also inside a longer one', () => {
    const { trace } = captureSync(
      () => {
        track(`user:${S}`, { auth: `Bearer ${S}`, [`k${S}`]: [S, new Map([[S, `${S}${S}`]])] }, { kind: S });
        record(`stage ${S}`, `action ${S}`, { e: new Error(`bad ${S}!`) });
      },
      { meta: { copied: `x=${S};y=1` }, redactValues: [S], redact: false },
    );
    expect(JSON.stringify(trace)).not.toContain(S);
    expect(trace.meta).toEqual({ copied: 'x=[Redacted];y=1' });
    expect(trace.entities['user:[Redacted]']).toMatchObject({
      kind: '[Redacted]',
      meta: {
        auth: 'Bearer [Redacted]',
        'k[Redacted]': ['[Redacted]', { '[Redacted]': '[Redacted][Redacted]' }],
      },
    });
    expect(trace.events[0]).toMatchObject({
      stage: 'stage [Redacted]',
      action: 'action [Redacted]',
      meta: { e: { message: 'bad [Redacted]!' } },
    });
  });

  it('replaces before cutting: a value straddling the cap leaves nothing of itself, and the cost stays bounded', () => {
    const max = 40;
    const actions: string[] = [];
    const { trace } = captureSync(
      () => {
        for (let pad = 0; pad < max + 5; pad++) record('pad', `${'x'.repeat(pad)}${S}tail`);
        // a megabyte of the value, and one that ends in it
        record('huge', S.repeat(60_000));
        record('huge', `${'x'.repeat(1_000_000)}${S}`);
      },
      { redactValues: [S], maxStringLength: max },
    );
    for (const e of trace.events) actions.push(e.action);
    for (const a of actions) {
      expect(a.length).toBeLessThanOrEqual(max);
      expect(a).not.toContain(S.slice(0, 3));
    }
    expect(actions[0]).toBe('[Redacted]tail');
    expect(actions.filter((a) => a.includes('…['))).not.toHaveLength(0);
    // the mark counts what the redacted string had left
    const many = actions.at(-2)!;
    expect(many.startsWith('[Redacted][Redacted]')).toBe(true);
    expect(many).toMatch(/…\[\d+ more\]$/);
    expect(actions.at(-1)).toBe(`${'x'.repeat(25)}…[999993 more]`);
  });

  it('is checked: an array of strings of at least 8 characters', () => {
    expect(() => run(() => 0, { redactValues: ['short'] })).toThrow(
      'option `redactValues` must be an array of strings of at least 8 characters',
    );
    expect(() => run(() => 0, { redactValues: 'sk_live_0123456789' as never })).toThrow(TypeError);
    expect(run(() => 1, { redactValues: [] })).toBe(1);
  });
});
