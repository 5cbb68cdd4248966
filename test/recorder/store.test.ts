// The flight recorder's packed store under churn: index keys whose hashes collide, eviction,
// chunks taken back and filled again, traces larger than a chunk or than the budget, clear(), all
// checked against a plain model of what must be held; and a dump that keeps reading what it
// started with while traffic reuses the memory under it.
import { PassThrough } from 'node:stream';
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
import { v1 } from 'stepmark/runtime';
import { describe, expect, it } from 'vitest';
import { flightRecorder as sourceRecorder } from '../../recorder/index.js';
import { heldNames } from '../../recorder/packed.js';
import { keyHash } from '../../recorder/store.js';

type Recorder = ReturnType<typeof flightRecorder>;

const ids = (traces: stepmark.Trace[]) => traces.map((t) => String(t.meta.request_id));

/** Two different strings `prefix…` whose index hashes are equal. */
function collision(prefix: string): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const s = `${prefix}${i}`;
    const h = keyHash(s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
}

/** A trace touching `entities`, with request id `id` and `pad` characters of meta. */
function add(recorder: Recorder, id: string, entities: readonly string[], pad = 0): void {
  stepmark.run(
    () => {
      for (const e of entities) stepmark.recordEntity(e, 'step', 'done', { pad: 'x'.repeat(pad) });
    },
    { meta: { request_id: id }, onEnd: recorder.add },
  );
}

type Stored = { id: string; entities: string[] };

/**
 * `find` by each of `entities` and by request id `probe` answer what the model says: `live` are
 * the traces held, newest first.
 */
function expectFinds(recorder: Recorder, live: Stored[], entities: string[], probe: string): void {
  const all = { limit: Number.POSITIVE_INFINITY };
  for (const e of entities) {
    expect(ids(recorder.find({ entity: e, ...all }))).toEqual(
      live.filter((t) => t.entities.includes(e)).map((t) => t.id),
    );
  }
  expect(ids(recorder.find({ requestId: probe }))).toEqual(live.some((t) => t.id === probe) ? [probe] : []);
}

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('packed store', () => {
  it('finds exactly the right traces when keys collide in the index', () => {
    const [a, b] = collision('order_');
    expect(keyHash(a)).toBe(keyHash(b));
    const recorder = flightRecorder({ maxBytes: 64 * 1024 });
    add(recorder, 'req-a1', [a]);
    add(recorder, 'req-b1', [b]);
    add(recorder, 'req-ab', [a, b]); // one trace, two keys on one chain
    add(recorder, a, ['order_other']); // a request id equal to an entity id: separate indexes
    add(recorder, b, [b]);
    const all = { limit: Number.POSITIVE_INFINITY };
    expect(ids(recorder.find({ entity: a, ...all }))).toEqual(['req-ab', 'req-a1']);
    expect(ids(recorder.find({ entity: b, ...all }))).toEqual([b, 'req-ab', 'req-b1']);
    expect(ids(recorder.find({ requestId: a }))).toEqual([a]);
    expect(ids(recorder.find({ requestId: b, entity: b }))).toEqual([b]);
    expect(recorder.find({ requestId: a, entity: a })).toEqual([]);
  });

  it('keeps every trace findable when its tables grow while the oldest are being evicted', () => {
    // Large traces first, then ever smaller ones: the oldest leave while the number held keeps
    // growing, so the tables grow with their live range wrapped around their ends.
    const recorder = flightRecorder({ maxBytes: 256 * 1024 });
    const stored: Stored[] = [];
    let grewAfterEviction = false;
    let held = 0;
    for (let op = 0; op < 2500; op++) {
      const id = `req-${op}`;
      const entities = [`order_${op % 97}`, `customer_${op % 13}`];
      add(recorder, id, entities, op < 200 ? 2000 : op < 800 ? 300 : 0);
      stored.push({ id, entities });
      const s = recorder.stats();
      if (s.evicted > 0 && s.traces > held && s.traces > 64 && (s.traces & (s.traces - 1)) === 0)
        grewAfterEviction = true;
      held = s.traces;
      if (op % 41 !== 0 && op !== 2499) continue;
      const live = stored.slice(stored.length - s.traces).reverse();
      expect(ids(recorder.find({ limit: Number.POSITIVE_INFINITY }))).toEqual(live.map((t) => t.id));
      expectFinds(recorder, live, [`order_${op % 97}`, `customer_${op % 13}`], live[live.length >> 1]!.id);
    }
    expect(grewAfterEviction).toBe(true);
  });

  it('holds exactly what a plain model says through churn, eviction, large traces and clear()', () => {
    const next = random(42);
    const [c1, c2] = collision('customer_');
    const pool = [...Array.from({ length: 40 }, (_, i) => `order_${i}`), c1, c2];
    const recorder = flightRecorder({ maxBytes: 24 * 1024 });
    /** Request ids and entities of the traces stored since the last clear, oldest first. */
    let stored: Stored[] = [];
    for (let op = 0; op < 3000; op++) {
      const roll = next();
      if (roll < 0.002) {
        recorder.clear();
        stored = [];
        continue;
      }
      const entities = [
        ...new Set(
          Array.from({ length: Math.floor(next() * 4) }, () => pool[Math.floor(next() * pool.length)]!),
        ),
      ];
      // mostly small; some larger than a chunk (4 KiB here), a few larger than the budget
      const pad =
        roll < 0.01 ? 30_000 : roll < 0.08 ? 3000 + Math.floor(next() * 3000) : Math.floor(next() * 300);
      const before = recorder.stats().oversize;
      const id = `req-${op}`;
      add(recorder, id, entities, pad);
      if (recorder.stats().oversize === before) stored.push({ id, entities });
      if (op % 50 !== 49) continue;
      const s = recorder.stats();
      expect(s.bytes).toBeLessThanOrEqual(24 * 1024);
      const live = stored.slice(stored.length - s.traces).reverse();
      expect(ids(recorder.find({ limit: Number.POSITIVE_INFINITY }))).toEqual(live.map((t) => t.id));
      const asked = [c1, c2, pool[Math.floor(next() * 40)]!];
      expectFinds(recorder, live, asked, `req-${op - Math.floor(next() * 60)}`);
    }
  });

  it('finds the same traces however rarely it is asked: keys enter the index at the next lookup', () => {
    // Lookups come after every add, then after long stretches in which the whole ring turned over
    // without one, then in between: traces evicted before any lookup, traces indexed then evicted,
    // and keys whose hashes collide, all checked against a plain model.
    const next = random(7);
    const [c1, c2] = collision('vip_');
    const pool = [...Array.from({ length: 25 }, (_, i) => `order_${i}`), c1, c2];
    const recorder = flightRecorder({ maxBytes: 16 * 1024 });
    let stored: Stored[] = [];
    let gap = 1;
    let sinceLookup = 0;
    for (let op = 0; op < 4000; op++) {
      if (op % 500 === 0) gap = [1, 400, 37, 3, 150, 1, 900, 11][(op / 500) % 8]!;
      if (next() < 0.001) {
        recorder.clear();
        stored = [];
      }
      const entities = [pool[Math.floor(next() * pool.length)]!, ...(next() < 0.3 ? [c1] : [])];
      const id = `req-${op}`;
      add(recorder, id, [...new Set(entities)], Math.floor(next() * 200));
      stored.push({ id, entities: [...new Set(entities)] });
      if (++sinceLookup < gap) continue;
      sinceLookup = 0;
      const live = stored.slice(stored.length - recorder.stats().traces).reverse();
      const e = [c1, c2, pool[Math.floor(next() * 25)]!][op % 3]!;
      expectFinds(recorder, live, [e], `req-${op - Math.floor(next() * 40)}`);
    }
  });

  it('a dump reads the traces it started with while traffic reuses the memory they were in', async () => {
    const recorder = flightRecorder({ maxBytes: 2 * 1024 * 1024 });
    for (let i = 0; i < 3000; i++) add(recorder, `old-${i}`, [`order_old_${i}`], 600);
    const expected = ids(recorder.find({ limit: Number.POSITIVE_INFINITY })).reverse();
    const stream = new PassThrough({ highWaterMark: 1024 });
    const written = recorder.writeNdjson(stream);
    // the first batch is waiting for the stream to drain: now the ring turns over several times
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 12_000; i++) add(recorder, `new-${i}`, [`order_new_${i}`], 600);
    expect(recorder.find({ entity: 'order_old_2999' })).toEqual([]);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    expect(await written).toBe(expected.length);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    const traces = lines.map((l) => JSON.parse(l) as stepmark.Trace);
    expect(ids(traces)).toEqual(expected);
    for (const t of traces) {
      const n = String(t.meta.request_id).slice('old-'.length);
      expect(Object.keys(t.entities)).toEqual([`order_old_${n}`]);
    }
  });

  it('writes one dump at a time: a stalled one cannot make the recorder hold a second ring', async () => {
    // A dump holds the chunks it reads until it finishes. One whose stream is never read, while
    // traffic turns the ring over, holds a whole ring besides the live one; a second such dump
    // would hold a third, beyond the 2x maxBytes bound. So a second dump is refused until the
    // first settles (its stream drains, errors or closes).
    const dumps: { error?: Error; reason: string }[] = [];
    const recorder = flightRecorder({
      maxBytes: 1024 * 1024,
      dumpOn: {
        signal: 'SIGUSR2',
        path: '/nonexistent/never-written-{pid}.ndjson',
        onDump: (r) => dumps.push(r),
      },
    });
    try {
      for (let i = 0; i < 1500; i++) add(recorder, `old-${i}`, [`order_old_${i}`], 600);
      const stalled = new PassThrough({ highWaterMark: 1024 });
      const first = recorder.writeNdjson(stalled);
      first.catch(() => {});
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 6000; i++) add(recorder, `new-${i}`, [`order_new_${i}`], 600);

      const busy = { name: 'StepmarkConfigError', code: 'ERR_STEPMARK_DUMP_IN_PROGRESS' };
      await expect(recorder.writeNdjson(new PassThrough())).rejects.toMatchObject(busy);
      await expect(recorder.writeNdjson('/nonexistent/x.ndjson')).rejects.toMatchObject(busy);
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(dumps).toHaveLength(1);
      expect(dumps[0]).toMatchObject({ reason: 'signal', error: busy });

      // the stalled stream goes away: its dump fails, and the next one writes what is held now
      stalled.destroy();
      await expect(first).rejects.toThrow(/closed/);
      const next = new PassThrough();
      const chunks: Buffer[] = [];
      next.on('data', (c: Buffer) => chunks.push(c));
      const held = recorder.stats().traces;
      expect(await recorder.writeNdjson(next)).toBe(held);
      const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(held);
      expect(String((JSON.parse(lines.at(-1)!) as stepmark.Trace).meta.request_id)).toBe('new-5999');
      // a refused dump does not hold the slot: after one refusal and one success, one more works
      expect(await recorder.writeNdjson(new PassThrough().resume())).toBe(held);
    } finally {
      recorder.close();
    }
  });

  it('gives back numbers of every kind exactly: small and large integers, negative, -0, fractions', () => {
    const recorder = flightRecorder();
    const numbers = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const more = [-1, -0, -(2 ** 31), 0.5, -2.25, 1e300, 5e-324, Number.MIN_SAFE_INTEGER];
    const body = () => {
      stepmark.track('order_n', { numbers, more });
      for (const n of [...numbers, ...more])
        stepmark.recordEntity('order_n', 'n', String(n), { n, list: [n, [n]] });
    };
    const options = () => {
      let now = Date.parse('2026-03-01T10:00:00Z');
      return { meta: { request_id: 'numbers', status: 200, ms: 12.5, neg: -0 }, clock: () => (now += 1.25) };
    };
    stepmark.run(body, { ...options(), onEnd: recorder.add });
    const { trace } = stepmark.captureSync(body, options());
    const [found] = recorder.find({ requestId: 'numbers' });
    expect(found).toEqual(trace);
    // toEqual treats -0 and 0 alike: check each one
    const events = found!.entities.order_n!.events;
    for (const [k, n] of [...numbers, ...more].entries()) expect(Object.is(events[k]!.meta!.n, n)).toBe(true);
    expect(Object.is(found!.meta.neg, -0)).toBe(true);
  });

  it('gives back strings of every kind exactly: wide, lone surrogates, long', () => {
    const recorder = flightRecorder();
    const strings = [
      'plain',
      'é ü ÿ',
      '注文 🛒',
      '\ud800 lone',
      'x'.repeat(300),
      'y€'.repeat(9000),
      // long text that is ASCII until its last character, and at the lengths around the fast path's
      `${'a'.repeat(100)}é`,
      `${'b'.repeat(70)}\udc00`,
      `${'c'.repeat(5000)}注`,
      'd'.repeat(63),
      'e'.repeat(64),
      `${'f'.repeat(63)}ÿ`,
    ];
    const body = () => {
      for (const s of strings) {
        stepmark.track(s, { s, [s]: [s, 1.5, -0, null, true] });
        stepmark.recordEntity(s, s, s, { s });
      }
      stepmark.enter(strings[2])();
    };
    const options = () => {
      let now = Date.parse('2026-03-01T10:00:00Z');
      return { meta: { request_id: strings[3]! }, clock: () => (now += 1.25), maxStringLength: 100_000 };
    };
    stepmark.run(body, { ...options(), onEnd: recorder.add });
    const { trace } = stepmark.captureSync(body, options());
    const [found] = recorder.find({ requestId: strings[3]! });
    expect(found).toEqual(trace);
    expect(JSON.stringify(found)).toBe(JSON.stringify(trace));
    for (const s of strings) expect(ids(recorder.find({ entity: s, stage: s }))).toEqual([strings[3]]);
    // the same trace added as an object is held as its JSON text: one long string
    const again = flightRecorder();
    again.add(trace);
    expect(JSON.stringify(again.find({ requestId: strings[3]! }))).toBe(JSON.stringify([trace]));
  });

  it('answers find by stage and action exactly as the trace format reads, for every event it has', () => {
    const recorder = flightRecorder();
    const body = () => {
      const outer = stepmark.enterEntity('order_m', 'checkout', { via: 'api' });
      stepmark.recordEntity('order_m', 'fraud', 'checked', { score: 1 });
      const inner = stepmark.enter('pricing');
      stepmark.record('audit', 'logged');
      stepmark.recordEntity('customer_m', 'history', 'looked-up');
      inner();
      stepmark.recordEntity('order_m', 'checkout', 'entered'); // an event named like a span's
      outer();
      stepmark.enter('unfinished');
    };
    stepmark.run(body, { meta: { request_id: 'req-m' }, onEnd: recorder.add });
    const [trace] = recorder.find({ requestId: 'req-m' });
    type Ev = { stage: string; action: string };
    const lists: [string | undefined, Ev[]][] = [
      [undefined, trace!.events as Ev[]],
      ...Object.values(trace!.entities).map((e) => [e.entity_id, e.events as Ev[]] as [string, Ev[]]),
    ];
    const stages = ['checkout', 'fraud', 'pricing', 'audit', 'history', 'unfinished', 'absent', undefined];
    const actions = ['entered', 'exited', 'checked', 'logged', 'looked-up', 'absent', undefined];
    for (const entity of [undefined, 'order_m', 'customer_m', 'order_absent'])
      for (const stage of stages)
        for (const action of actions) {
          if (stage === undefined && action === undefined) continue;
          const has = lists.some(
            ([id, events]) =>
              (entity === undefined || id === entity) &&
              events.some(
                (e) =>
                  (stage === undefined || e.stage === stage) && (action === undefined || e.action === action),
              ),
          );
          const found = recorder.find({ entity, stage, action }).length === 1;
          expect({ entity, stage, action, found }).toEqual({ entity, stage, action, found: has });
        }
  });

  it("keeps only the program's names for the life of the process, never actions or meta keys", () => {
    // the recorder built from source: its names table is the one heldNames() reads
    const recorder = sourceRecorder({ maxAge: 60_000 });
    const email = 'alice@example.com';
    stepmark.run(
      () => {
        const span = v1.enter('checkout.confirm', 'src/checkout.ts:12:3');
        stepmark.recordEntity('order_n', 'checkout', `rejected for ${email}`, { [email]: 'vip' });
        span.exit();
      },
      { meta: { request_id: 'req-n', [`${email}!`]: 1 }, onEnd: recorder.add },
    );
    expect(heldNames()).toContain('checkout.confirm');
    expect(heldNames()).toContain('src/checkout.ts:12:3');
    expect(heldNames()).toContain('checkout');
    expect(heldNames().filter((n) => n.includes(email))).toEqual([]);
    expect(recorder.find({ entity: 'order_n', action: `rejected for ${email}` })).toHaveLength(1);
    expect(recorder.find({ action: `rejected for ${email}!` })).toEqual([]);
    expect(recorder.find({ requestId: 'req-n' })[0]!.entities.order_n!.events[0]!.meta).toEqual({
      [email]: 'vip',
    });
  });
});
