import { createBus, type Delivery, LiveBus, publishRuntimeEvents, StepmarkConfigError } from 'stepmark/live';
import { describe, expect, it } from 'vitest';
import { type ConfigErrorCase, expectConfigErrors } from '../support/config-errors.js';

/** Deterministic PRNG (mulberry32) so a failing interleaving can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Yields to the event loop in one of several ways, so tasks interleave differently. */
function pause(rand: () => number): Promise<void> {
  const r = rand();
  if (r < 0.4) return Promise.resolve();
  if (r < 0.7) return new Promise((resolve) => queueMicrotask(resolve));
  if (r < 0.9) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function take<T>(sub: AsyncIterator<Delivery<T>>, n: number): Promise<Delivery<T>[]> {
  const out: Delivery<T>[] = [];
  while (out.length < n) {
    const r = await sub.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('LiveBus', () => {
  it('delivers the backlog after `since`, then live items, in order', async () => {
    const bus = createBus<string>({ capacity: 10 });
    for (const t of ['a', 'b', 'c', 'd', 'e']) bus.publish(t);
    const sub = bus.subscribe({ since: 2 });
    const backlog = await take(sub, 3);
    expect(backlog.map((d) => d.item.data)).toEqual(['c', 'd', 'e']);
    const later = take(sub, 2);
    bus.publish('f');
    bus.publish('g');
    expect((await later).map((d) => [d.item.seq, d.item.data, d.lost])).toEqual([
      [6, 'f', 0],
      [7, 'g', 0],
    ]);
    sub.cancel();
  });

  it('starts at the head without `since`, and replays everything for an id of another process', async () => {
    const bus = createBus<number>({ capacity: 10 });
    bus.publish(1);
    bus.publish(2);
    const fresh = bus.subscribe();
    expect(fresh.poll()).toBeUndefined();
    bus.publish(3);
    expect(fresh.poll()?.item.data).toBe(3);

    const resumed = bus.subscribe(`${bus.epoch}:2`); // the short form: just `since`
    const short = bus.subscribe(2);
    expect(short.poll()?.item.data).toBe(3);
    expect(resumed.poll()?.item.data).toBe(3);
    const foreign = bus.subscribe({ since: 'otherepoch:2' });
    expect([foreign.poll(), foreign.poll(), foreign.poll()].map((d) => d?.item.data)).toEqual([1, 2, 3]);
    // An id this bus cannot have produced yet (from the future) is not waited for.
    const future = bus.subscribe({ since: `${bus.epoch}:99` });
    expect(future.poll()?.item.data).toBe(1);
    const ahead = bus.subscribe(99); // the same for a plain number
    expect(ahead.poll()?.item.data).toBe(1);
    ahead.cancel();
    const garbage = bus.subscribe({ since: 'not an id' });
    expect(garbage.poll()?.item.data).toBe(1);
    for (const s of [fresh, resumed, short, foreign, future, garbage]) s.cancel();
    expect(bus.subscribers).toBe(0);
  });

  it('never blocks the publisher: a slow subscriber loses the overwritten items and is told how many', async () => {
    const bus = createBus<number>({ capacity: 10 });
    const sub = bus.subscribe({ since: 0 });
    for (let i = 1; i <= 25; i++) bus.publish(i);
    const got = await take(sub, 10);
    expect(got[0]).toMatchObject({ lost: 15, item: { seq: 16, data: 16 } });
    expect(got.slice(1).every((d) => d.lost === 0)).toBe(true);
    expect(got.map((d) => d.item.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(sub.lost).toBe(15);
    // The same happens when the subscriber is overtaken mid-read.
    for (let i = 26; i <= 50; i++) bus.publish(i);
    expect((await sub.next()).value).toMatchObject({ lost: 15, item: { seq: 41 } });
    expect(sub.lost).toBe(30);
    sub.cancel();
  });

  it('filters kinds, and counts as lost only items of the kinds it reads', async () => {
    const bus = createBus<string>({ capacity: 4, liveEvents: true });
    const all = bus.subscribe({ since: 0 });
    const traces = bus.subscribe({ since: 0, kinds: ['trace'] });
    const events = bus.subscribe({ since: 0, kinds: ['event'] });
    bus.publish('t1');
    bus.publishEvent('e1');
    bus.publishEvent('e2');
    bus.publish('t2');
    expect([traces.poll(), traces.poll(), traces.poll()].map((d) => d && [d.item.data, d.lost])).toEqual([
      ['t1', 0],
      ['t2', 0],
      undefined,
    ]);
    // Overrun all three readers: t3 e3 e4 e5 t4 push t1..t2 and e1..e2 (and t3) out.
    bus.publish('t3');
    bus.publishEvent('e3');
    bus.publishEvent('e4');
    bus.publishEvent('e5');
    bus.publish('t4');
    // The unfiltered reader lost 5 items (t1 e1 e2 t2 t3).
    expect([all.poll()].map((d) => d && [d.item.data, d.lost])).toEqual([['e3', 5]]);
    // The trace reader had read up to t2: it lost t3 only, and skips events silently.
    expect([traces.poll(), traces.poll()].map((d) => d && [d.item.data, d.lost])).toEqual([
      ['t4', 1],
      undefined,
    ]);
    // The event reader lost e1 and e2 (not the traces).
    expect([events.poll(), events.poll()].map((d) => d && [d.item.data, d.lost])).toEqual([
      ['e3', 2],
      ['e4', 0],
    ]);
    // Resuming from an id that is already gone: the kinds of the gap are unknown, all count.
    const late = bus.subscribe({ since: 1, kinds: ['trace'] });
    expect(late.poll()).toMatchObject({ item: { data: 't4' }, lost: 4 });
    const off = createBus<string>();
    expect(off.publishEvent('ignored')).toBeUndefined();
    expect(off.head).toBe(0);
    for (const sub of [all, traces, events, late]) sub.cancel();
  });

  it('serves concurrent next() calls in call order, each item once', async () => {
    const bus = createBus<number>();
    const sub = bus.subscribe();
    const pending = [sub.next(), sub.next(), sub.next()];
    bus.publish(1);
    bus.publish(2);
    bus.publish(3);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.value?.item.data)).toEqual([1, 2, 3]);
    sub.cancel();
  });

  it('ends a waiting subscriber on cancel, on abort and on return(); the bus forgets it', async () => {
    const bus = createBus<number>();
    const a = bus.subscribe();
    const aNext = a.next();
    const abort = new AbortController();
    const b = bus.subscribe({ signal: abort.signal });
    const bNext = b.next();
    const c = bus.subscribe();
    expect(bus.subscribers).toBe(3);
    a.cancel();
    a.cancel();
    abort.abort();
    await c.return?.();
    expect(await aNext).toEqual({ done: true, value: undefined });
    expect(await bNext).toEqual({ done: true, value: undefined });
    expect(await c.next()).toEqual({ done: true, value: undefined });
    expect(bus.subscribers).toBe(0);
    bus.publish(1); // no one is woken, nothing throws
    const pre = new AbortController();
    pre.abort();
    expect(bus.subscribe({ signal: pre.signal }).cancelled).toBe(true);
    expect(bus.subscribers).toBe(0);
  });

  it('works with for await, including break', async () => {
    const bus = createBus<number>();
    const seen: number[] = [];
    const reader = (async () => {
      for await (const d of bus.subscribe({ since: 0 })) {
        seen.push(d.item.data);
        if (seen.length === 3) break;
      }
    })();
    for (let i = 1; i <= 5; i++) {
      bus.publish(i);
      await Promise.resolve();
    }
    await reader;
    expect(seen).toEqual([1, 2, 3]);
    expect(bus.subscribers).toBe(0);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new LiveBus({ capacity: 0 })).toThrow(/capacity/);
    expect(() => new LiveBus({ capacity: 1.5 })).toThrow(/capacity/);
  });

  it('refuses unknown options and bad values with a typed error naming the option', () => {
    const cases: ConfigErrorCase[] = [
      [() => createBus({ capacity: 0 }), 'ERR_STEPMARK_INVALID_OPTION', 'capacity'],
      // a typo would otherwise silently give a bus that drops every live event
      [() => createBus({ liveEvent: true } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'liveEvent'],
      [() => createBus({ liveEvents: 'yes' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'liveEvents'],
      [
        () => publishRuntimeEvents(createBus({ liveEvents: true }), { times: true } as never),
        'ERR_STEPMARK_UNKNOWN_OPTION',
        'times',
      ],
    ];
    expectConfigErrors(StepmarkConfigError, cases);
  });

  // The exactly-once promise under concurrency: publishers, subscribers that join at random
  // moments (from a random resume point), readers that are slow, that cancel and resume
  // from their last id (like an EventSource reconnecting), and publishes made from inside
  // a delivery. Every subscriber must see each sequence number after its starting point
  // exactly once, except those it was told it lost, and in order.
  it.each([1, 2, 3, 4, 5])(
    'keeps exactly-once delivery under concurrent publish/subscribe/cancel (seed %i)',
    async (seed) => {
      const rand = prng(seed);
      const capacity = 64;
      const bus = createBus<{ from: string; n: number }>({ capacity, liveEvents: true });
      const kindOf: string[] = []; // by seq, as published
      const publishers = 4;
      const perPublisher = 400;
      let stop = false;

      interface Log {
        start: number; // the seq the subscriber resumed after
        startGone: boolean; // that item had been overwritten when it subscribed
        tracesOnly: boolean;
        seqs: number[];
        lost: number[];
      }
      const logs: Log[] = [];

      const publisher = async (p: number): Promise<void> => {
        for (let n = 0; n < perPublisher; n++) {
          // A third of the items are live events: some readers read traces only.
          const item =
            rand() < 0.33 ? bus.publishEvent({ from: `p${p}`, n })! : bus.publish({ from: `p${p}`, n });
          kindOf[item.seq] = item.kind;
          if (rand() < 0.5) await pause(rand);
        }
      };

      // A reader that reconnects: after a random number of items it cancels (sometimes with
      // a next() still pending) and subscribes again from the last id it saw.
      const reconnecting = async (slow: boolean, tracesOnly: boolean): Promise<void> => {
        await pause(rand);
        let lastId = (rand() < 0.5 ? 0 : bus.head) as string | number;
        while (!stop) {
          const start = typeof lastId === 'number' ? lastId : Number(lastId.split(':')[1]);
          const log: Log = {
            start,
            startGone: start > 0 && start < bus.tail - 1,
            tracesOnly,
            seqs: [],
            lost: [],
          };
          logs.push(log);
          const sub = bus.subscribe({ since: lastId, kinds: tracesOnly ? ['trace'] : undefined });
          const budget = 1 + Math.floor(rand() * 60);
          for (let i = 0; i < budget && !stop; i++) {
            const next = sub.next();
            const record = (d: Delivery<unknown>): void => {
              log.seqs.push(d.item.seq);
              log.lost.push(d.lost);
              lastId = d.item.id;
            };
            // Cancel while a next() is pending (now, or after waiting a while): it ends the
            // subscription, unless an item had already been handed to that next().
            const cancelNow = rand() < 0.05;
            const r = cancelNow
              ? 'cancel'
              : await Promise.race([next, new Promise<'idle'>((res) => setTimeout(res, 20, 'idle'))]);
            if (r === 'cancel' || r === 'idle') {
              sub.cancel();
              const last = await next;
              if (!last.done) record(last.value);
              expect((await sub.next()).done).toBe(true);
              break;
            }
            if (r.done) break;
            record(r.value);
            if (rand() < 0.02) {
              const item = bus.publish({ from: 'reader', n: -1 }); // publish from inside a delivery
              kindOf[item.seq] = item.kind;
            }
            if (slow) for (let k = 0; k < 3; k++) await pause(rand);
            else if (rand() < 0.3) await pause(rand);
          }
          sub.cancel();
          await pause(rand);
        }
      };

      const readers = [
        reconnecting(false, false),
        reconnecting(false, true),
        reconnecting(true, false),
        reconnecting(true, true),
        reconnecting(false, false),
      ];
      await Promise.all(Array.from({ length: publishers }, (_, p) => publisher(p)));
      stop = true;
      await Promise.all(readers);

      expect(bus.head).toBeGreaterThanOrEqual(publishers * perPublisher);
      expect(bus.subscribers).toBe(0);
      let delivered = 0;
      let lostSeen = 0;
      const tracesBetween = (from: number, to: number): number => {
        let n = 0;
        for (let q = from + 1; q < to; q++) if (kindOf[q] === 'trace') n++;
        return n;
      };
      for (const log of logs) {
        let prev = log.start;
        for (let i = 0; i < log.seqs.length; i++) {
          const seq = log.seqs[i]!;
          if (!log.tracesOnly) {
            // No gap that was not reported, no duplicate, no reordering.
            expect(seq).toBe(prev + log.lost[i]! + 1);
          } else {
            // Only traces, in order, once; the reported loss is the traces it did not get
            // (items of any kind for a gap before an id that was already gone).
            expect(kindOf[seq]).toBe('trace');
            expect(seq).toBeGreaterThan(prev);
            const gone = i === 0 && log.startGone;
            const missed = tracesBetween(prev, seq);
            if (gone) expect(log.lost[i]).toBeGreaterThanOrEqual(missed);
            else expect(log.lost[i]).toBe(missed);
          }
          prev = seq;
        }
        delivered += log.seqs.length;
        lostSeen += log.lost.reduce((a, b) => a + b, 0);
      }
      // The run really exercised both paths.
      expect(logs.length).toBeGreaterThan(10);
      expect(delivered).toBeGreaterThan(500);
      expect(lostSeen).toBeGreaterThan(0);
      expect(logs.some((l) => l.tracesOnly && l.lost.some((n) => n > 0))).toBe(true);
    },
  );

  it('never loses items for a reader that keeps up, whatever the interleaving', async () => {
    const rand = prng(42);
    const bus = createBus<number>({ capacity: 8 });
    const total = 3000;
    // Subscribe at a random point while publishing has already begun.
    const seen: number[] = [];
    let subscribedAt = -1;
    const reader = (async () => {
      await pause(rand);
      subscribedAt = bus.head;
      for await (const d of bus.subscribe({ since: subscribedAt })) {
        expect(d.lost).toBe(0);
        seen.push(d.item.data);
        if (d.item.data === total) break;
      }
    })();
    for (let i = 1; i <= total; i++) {
      bus.publish(i);
      // Publish at most capacity items between two chances for the reader to run.
      if (i % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await reader;
    expect(subscribedAt).toBeGreaterThanOrEqual(0);
    expect(seen).toEqual(Array.from({ length: total - subscribedAt }, (_, i) => subscribedAt + i + 1));
  });
});
