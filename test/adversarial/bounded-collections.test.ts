// Every collection a program can grow inside one trace has a cap and a count of what it dropped:
// entities (`maxEntities` → `dropped_entities`), the meta keys of one entity or one event
// (`maxMetaKeys` → `dropped_meta_keys`), spans (`maxSpans` → `dropped_spans`), and the
// redaction verdict cache (entries and key length). Figures for time and memory are in the bench
// (bench/runtime.bench.mjs); here only counts and sizes.
import {
  captureSync,
  enterEntity,
  record,
  recordEntity,
  run,
  scope,
  stepEntity,
  type TraceOptions,
  track,
} from 'stepmark';
import { v1 } from 'stepmark/runtime';
import { describe, expect, it } from 'vitest';

const state = (globalThis as any)[Symbol.for('stepmark.runtime.v2')].get();
/** The recorder object of the trace running here (internal; only to look at the redaction cache). */
const recorderHere = () => (state.als ? state.als.getStore() : state.cursor).trace;

describe('entities per trace', () => {
  it('1,000,000 track calls keep 10,000 entities, count the rest, and serialise to at most 16 MB', () => {
    const { trace } = captureSync(() => {
      for (let i = 0; i < 1_000_000; i++) track(`order_${i}`, { i, total: i * 1.5 }, { kind: 'order' });
    });
    const ids = Object.keys(trace.entities);
    expect(ids).toHaveLength(10_000);
    // the first ones are kept: a journey that started stays whole
    expect(ids[0]).toBe('order_0');
    expect(ids[9_999]).toBe('order_9999');
    expect(trace.dropped_entities).toBe(990_000);
    expect(JSON.stringify(trace).length).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('maxEntities is an option; every entity call beyond it counts once, kept entities still record', () => {
    const orders = scope('order');
    const { trace } = captureSync(
      () => {
        track('a', { n: 1 });
        recordEntity('b', 'validate', 'ok');
        track('c', { n: 3 }); // over the cap
        recordEntity('d', 'validate', 'ok'); // over
        stepEntity('e', 'ok'); // over
        orders.track('f'); // over
        const span = enterEntity('g'); // over: the span is kept, without its entity
        span();
        recordEntity('a', 'validate', 'ok'); // kept entity: recorded
        track('b', { later: true }); // kept entity: merged
      },
      { maxEntities: 2 },
    );
    expect(Object.keys(trace.entities)).toEqual(['a', 'b']);
    expect(trace.entities.a!.events.map((e) => e.action)).toEqual(['ok']);
    expect(trace.entities.b!.meta).toEqual({ later: true });
    expect(trace.dropped_entities).toBe(5);
    expect(trace.spans).toHaveLength(1);
    expect(trace.spans[0]!.entity_id).toBeUndefined();
    // its entered/exited events are unscoped, not lost
    expect(trace.events.map((e) => e.action)).toEqual(['entered', 'exited']);
  });

  it('entity spans opened by instrumented code beyond the cap keep the span tree whole', () => {
    const { trace } = captureSync(
      () => {
        for (let i = 0; i < 5; i++) {
          const f = v1.enterEntity('Order.place', undefined, 'order', `o${i}`);
          const inner = v1.enter('Order.price', undefined);
          inner.exit();
          f.exit();
        }
      },
      { maxEntities: 3 },
    );
    expect(Object.keys(trace.entities)).toEqual(['o0', 'o1', 'o2']);
    expect(trace.dropped_entities).toBe(2);
    expect(trace.spans).toHaveLength(10);
    const byId = new Map(trace.spans.map((s) => [s.span_id, s]));
    for (const s of trace.spans.filter((x) => x.name === 'Order.price'))
      expect(byId.get(s.parent_id!)!.name).toBe('Order.place');
  });

  it('no dropped_entities field while nothing was dropped (the Go Stepmark shape is unchanged)', () => {
    const { trace } = captureSync(() => track('a'));
    expect('dropped_entities' in trace).toBe(false);
    expect(Object.keys(trace)).toEqual(['meta', 'entities', 'events', 'spans', 'dropped']);
  });

  it.each([-1, 1.5, Number.NaN, '10'])(
    'maxEntities: %s is refused with a TypeError naming the option',
    (bad) => {
      expect(() => run(() => {}, { maxEntities: bad } as unknown as TraceOptions)).toThrow(
        /option `maxEntities` must be/,
      );
    },
  );
});

describe('meta keys merged into one entity or one event', () => {
  it('2,000 track calls of 50 new keys each keep 256 keys on the entity and count the rest', () => {
    const { trace } = captureSync(() => {
      for (let t = 0; t < 2_000; t++) {
        const meta: Record<string, number> = {};
        for (let k = 0; k < 50; k++) meta[`k${t}_${k}`] = k;
        track('order_1', meta);
      }
      // keys already kept are still updated once the entity is full
      track('order_1', { k0_0: 'updated' });
    });
    const e = trace.entities.order_1!;
    expect(Object.keys(e.meta)).toHaveLength(256);
    expect(e.meta.k0_0).toBe('updated');
    expect(e.dropped_meta_keys).toBe(2_000 * 50 - 256);
  });

  it('tracking the same keys again and again is not counted as dropping any', () => {
    const { trace } = captureSync(() => {
      for (let i = 0; i < 1_000; i++) track('order_1', { status: `s${i}`, total: i, items: 2 });
      track('order_1', { late: true });
    });
    const e = trace.entities.order_1!;
    expect(e.meta).toEqual({ status: 's999', total: 999, items: 2, late: true });
    expect('dropped_meta_keys' in e).toBe(false);
  });

  it('an event whose meta has 100,000 keys (metaLimits raised) keeps 256 and counts the rest', () => {
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const { trace } = captureSync(() => record('import', 'row', wide), {
      metaLimits: { keys: 1_000_000, total: 1_000_000 },
    });
    const ev = trace.events[0]!;
    expect(Object.keys(ev.meta!)).toHaveLength(256);
    expect(ev.dropped_meta_keys).toBe(100_000 - 256);
  });

  it('maxMetaKeys is an option; a kept entity that got all its keys has no dropped_meta_keys', () => {
    const { trace } = captureSync(
      () => {
        track('a', { x: 1, y: 2 });
        track('a', { z: 3, w: 4 });
        track('b', { x: 1 });
        record('s', 'a', { p: 1, q: 2, r: 3 });
      },
      { maxMetaKeys: 3 },
    );
    expect(trace.entities.a!.meta).toEqual({ x: 1, y: 2, z: 3 });
    expect(trace.entities.a!.dropped_meta_keys).toBe(1);
    expect('dropped_meta_keys' in trace.entities.b!).toBe(false);
    expect(trace.events[0]!.meta).toEqual({ p: 1, q: 2, r: 3 });
    expect('dropped_meta_keys' in trace.events[0]!).toBe(false);
  });

  it('a `__proto__` key merged into an entity is an own key, never the prototype', () => {
    const { trace } = captureSync(() => {
      track('a', JSON.parse('{"__proto__": {"polluted": true}}'));
      track('a', { ok: 1 });
    });
    const meta = trace.entities.a!.meta;
    expect(Object.keys(meta)).toEqual(['__proto__', 'ok']);
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect((meta as any).polluted).toBeUndefined();
  });
});

describe('spans per trace', () => {
  it('100,000 enter calls keep maxSpans (10,000) and count the rest in dropped_spans', () => {
    const { trace } = captureSync(() => {
      for (let i = 0; i < 100_000; i++) v1.enter('Loop.body', undefined).exit();
    });
    expect(trace.spans).toHaveLength(10_000);
    expect(trace.dropped_spans).toBe(90_000);
  });
});

describe('the redaction verdict cache', () => {
  it('stays bounded in entries and in key length, whatever keys a program records', () => {
    for (const options of [undefined, { redact: [/secret/i] }] as (TraceOptions | undefined)[]) {
      captureSync(() => {
        const cache: Map<string, boolean> = recorderHere().snap.verdicts;
        for (let i = 0; i < 2_500; i++) {
          const long = `${i}_${'k'.repeat(5_000)}`;
          record('s', 'a', { [long]: 1, [`short_${i}`]: 2 });
          record('s', 'a', new Map([[long, 1]]));
        }
        expect(cache.size).toBeGreaterThan(0);
        expect(cache.size).toBeLessThanOrEqual(2_000);
        for (const key of cache.keys()) expect(key.length).toBeLessThanOrEqual(64);
      }, options);
    }
  });
});
