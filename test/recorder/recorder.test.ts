// The flight recorder on real traces from the runtime: bounds, keep rules, the index behind
// find, NDJSON out, dumps on a signal and on a crash (in child processes), and the heap it
// really holds against what it says it holds.
import { spawnSync } from 'node:child_process';
import { chmodSync, createReadStream, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runInNewContext } from 'node:vm';
import * as stepmark from 'stepmark';
import { StepmarkConfigError as HttpConfigError } from 'stepmark/http';
import { flightRecorder, StepmarkConfigError } from 'stepmark/recorder';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDir } from '../support/scratch.js';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('stepmark/package.json'));
const dir = scratchDir('recorder');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

type Recorder = ReturnType<typeof flightRecorder>;

/** One order through a small instrumented-looking flow, recorded into `recorder` as its run ends. */
function placeOrder(recorder: Recorder, id: string, opts: { fail?: boolean; pad?: number } = {}): void {
  const order = `order_${id}`;
  try {
    stepmark.run(
      () => {
        const span = stepmark.enterEntity(order);
        stepmark.track(order, { total: 10 }, { kind: 'order' });
        stepmark.recordEntity(order, 'validate', 'passed', { pad: 'x'.repeat(opts.pad ?? 0) });
        stepmark.recordEntity(`customer_${id.slice(0, 1)}`, 'history', 'looked-up');
        if (opts.fail) {
          stepmark.recordEntity(order, 'fraud', 'rejected', { score: 0.9 });
          span.fail(new Error('fraud'));
        } else stepmark.recordEntity(order, 'payment', 'captured');
        span();
      },
      { meta: { request_id: `req-${id}` }, onEnd: recorder.add },
    );
  } catch {}
}

const ids = (traces: stepmark.Trace[]) => traces.map((t) => String(t.meta.request_id));

describe('flightRecorder', () => {
  it('answers find by entity and by request id from what run handed to add, newest first', () => {
    const recorder = flightRecorder();
    for (const id of ['1a', '2a', '1b']) placeOrder(recorder, id);
    expect(ids(recorder.find({ entity: 'customer_1' }))).toEqual(['req-1b', 'req-1a']);
    expect(ids(recorder.find({ entity: 'order_2a' }))).toEqual(['req-2a']);
    expect(ids(recorder.find({ requestId: 'req-1a' }))).toEqual(['req-1a']);
    expect(ids(recorder.find({ entity: 'customer_1', requestId: 'req-1a' }))).toEqual(['req-1a']);
    expect(recorder.find({ entity: 'order_9' })).toEqual([]);
    expect(ids(recorder.find())).toEqual(['req-1b', 'req-2a', 'req-1a']);
    const [found] = recorder.find({ entity: 'order_1a' });
    expect(found!.entities.order_1a!.events.map((e) => e.action)).toEqual([
      'entered',
      'passed',
      'captured',
      'exited',
    ]);
    // Each find hands out an independent copy.
    found!.entities.order_1a!.events.length = 0;
    found!.meta.request_id = 'changed';
    expect(recorder.find({ entity: 'order_1a' })[0]!.entities.order_1a!.events).toHaveLength(4);
    expect(recorder.stats()).toMatchObject({ traces: 3, added: 3, evicted: 0, kept: 0 });
  });

  it('filters by stage and action (of the entity when one is given), error, time and limit', () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-01T10:00:00Z'), toFake: ['Date'] });
    const recorder = flightRecorder();
    placeOrder(recorder, '1');
    vi.setSystemTime(Date.parse('2026-03-01T11:00:00Z'));
    placeOrder(recorder, '2', { fail: true });
    placeOrder(recorder, '3');
    expect(ids(recorder.find({ action: 'rejected' }))).toEqual(['req-2']);
    expect(ids(recorder.find({ entity: 'order_2', stage: 'fraud', action: 'rejected' }))).toEqual(['req-2']);
    // The customer's own events hold no rejection.
    expect(recorder.find({ entity: 'customer_2', action: 'rejected' })).toEqual([]);
    expect(ids(recorder.find({ error: true }))).toEqual(['req-2']);
    expect(ids(recorder.find({ error: false }))).toEqual(['req-3', 'req-1']);
    expect(ids(recorder.find({ since: '2026-03-01T10:30:00Z' }))).toEqual(['req-3', 'req-2']);
    expect(ids(recorder.find({ until: new Date('2026-03-01T10:30:00Z') }))).toEqual(['req-1']);
    expect(ids(recorder.find({ limit: 1 }))).toEqual(['req-3']);
    expect(() => recorder.find({ entity: 42 as never })).toThrow(/entity.*must be a string/);
    expect(() => recorder.find({ since: 'yesterday' })).toThrow(/since/);
    // Misuse is a typed error whatever the value: not a TypeError from printing it, nor a megabyte message.
    const invalid = expect.objectContaining({ code: 'ERR_STEPMARK_INVALID_ARGUMENT' });
    expect(() => recorder.find({ since: 1n as never })).toThrow(invalid);
    expect(() => recorder.find([] as never)).toThrow(invalid);
    let long = '';
    try {
      recorder.find({ until: `x${'\n'.repeat(10)}${'y'.repeat(1_000_000)}` });
    } catch (e) {
      long = (e as Error).message;
    }
    expect(long.length).toBeGreaterThan(0);
    expect(long.length).toBeLessThan(300);
    expect(() => recorder.find({ entityId: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_UNKNOWN_OPTION' }),
    );
  });

  it('stays within maxBytes, evicting the oldest first and forgetting them in the index', () => {
    const recorder = flightRecorder({ maxBytes: 64 * 1024 });
    for (let i = 0; i < 400; i++) placeOrder(recorder, `${i}`, { pad: 100 });
    const s = recorder.stats();
    expect(s.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(s.bytes).toBeGreaterThan(32 * 1024);
    expect(s.added).toBe(400);
    expect(s.evicted).toBe(400 - s.traces);
    expect(s.traces).toBeGreaterThan(10);
    expect(recorder.find({ entity: 'order_0' })).toEqual([]);
    expect(recorder.find({ requestId: 'req-0' })).toEqual([]);
    expect(ids(recorder.find({ entity: 'order_399' }))).toEqual(['req-399']);
    // What is held is exactly the newest `traces` ones.
    const held = ids(recorder.find({ limit: Number.POSITIVE_INFINITY }));
    expect(held).toEqual(Array.from({ length: s.traces }, (_, i) => `req-${399 - i}`));
    // A customer seen in hundreds of traces keeps only the live ones in its index entry.
    expect(ids(recorder.find({ entity: 'customer_2', limit: Number.POSITIVE_INFINITY }))).toEqual(
      held.filter((id) => id.startsWith('req-2')),
    );
    // A trace larger than the whole budget is not stored, and says so.
    recorder.add({ meta: { blob: 'x'.repeat(100_000) }, entities: {}, events: [], spans: [], dropped: 0 });
    expect(recorder.stats()).toMatchObject({ oversize: 1, traces: s.traces });
    recorder.clear();
    expect(recorder.stats()).toMatchObject({ traces: 0, bytes: 0, added: 401 });
    expect(recorder.find()).toEqual([]);
  });

  it('keeps failed, slow and chosen traces in a budget of their own that traffic cannot evict', () => {
    const recorder = flightRecorder({
      maxBytes: 64 * 1024,
      keep: { errors: true, where: (t) => t.meta.request_id === 'req-vip', maxBytes: 16 * 1024 },
    });
    placeOrder(recorder, 'bad', { fail: true });
    placeOrder(recorder, 'vip');
    for (let i = 0; i < 500; i++) placeOrder(recorder, `${i}`, { pad: 100 });
    expect(ids(recorder.find({ entity: 'order_bad' }))).toEqual(['req-bad']);
    expect(ids(recorder.find({ requestId: 'req-vip' }))).toEqual(['req-vip']);
    expect(recorder.find({ entity: 'order_0' })).toEqual([]);
    expect(recorder.stats()).toMatchObject({ kept: 2 });
    // Newest first across both budgets.
    expect(ids(recorder.find({ limit: 2 }))).toEqual(['req-499', 'req-498']);
    // The keep budget evicts its own oldest when it is full.
    for (let i = 0; i < 100; i++) placeOrder(recorder, `f${i}`, { fail: true, pad: 100 });
    const s = recorder.stats();
    expect(s.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(recorder.find({ entity: 'order_bad' })).toEqual([]);
    expect(ids(recorder.find({ error: true, limit: 1 }))).toEqual(['req-f99']);
    expect(s.kept).toBeLessThan(100);
  });

  it('holds what run hands over in its compact form, and gives back exactly the trace format', () => {
    const recorder = flightRecorder();
    let now = Date.parse('2026-03-01T10:00:00Z');
    const clock = () => (now += 1.5);
    const body = () => {
      stepmark.track('order_c', { total: 12 }, { kind: 'order' });
      const span = stepmark.enterEntity('order_c', { via: 'api' });
      stepmark.recordEntity('order_c', 'fraud', 'rejected', { score: 0.9, why: ['velocity'] });
      stepmark.record('audit', 'logged');
      span.fail(new Error('rejected'));
      span();
      stepmark.enter()(); // a second, unscoped span
    };
    stepmark.run(body, { meta: { request_id: 'req-c' }, clock, onEnd: recorder.add });
    now = Date.parse('2026-03-01T10:00:00Z');
    const { trace } = stepmark.captureSync(body, { meta: { request_id: 'req-c' }, clock });
    expect(recorder.find({ entity: 'order_c' })).toEqual([trace]);
    expect(JSON.stringify(recorder.find({ requestId: 'req-c' })[0])).toBe(JSON.stringify(trace));
    expect(recorder.find({ entity: 'order_c', stage: 'fraud', action: 'rejected' })).toHaveLength(1);
    expect(recorder.find({ stage: 'audit' })).toHaveLength(1);
    expect(recorder.find({ entity: 'order_c', stage: 'audit' })).toEqual([]);
  });

  it('gives back the trace format exactly for every kind of record it holds', () => {
    // nested, failed, unfinished and late spans, entity and unscoped events, every dropped
    // count, a clock that breaks (NaN, Infinity), "__proto__" as an entity and a meta key,
    // strings JSON escapes (quotes, control characters, a lone surrogate)
    const odd = 'a"b\\c\n\u0001\ud800z';
    let late: (() => void) | undefined;
    const body = () => {
      const outer = stepmark.enterEntity('order_x', { via: odd });
      stepmark.track('__proto__', JSON.parse('{"__proto__": 1, "ok": [1, null, true, {"n": -2.5}]}'));
      stepmark.recordEntity('order_x', odd, 'checked', { odd });
      const inner = stepmark.enter();
      stepmark.record('audit', 'logged', { at: 1 });
      inner.fail(new Error(odd));
      inner();
      late = stepmark.enter(); // exits after the trace ended
      stepmark.enter(); // never exits
      stepmark.enter(); // beyond maxSpans
      stepmark.recordEntity('order_y', 'ignored', 'beyond maxEntities');
      for (let i = 0; i < 5; i++) stepmark.record('loop', `n${i}`);
      outer();
    };
    // the 4th clock reading (an event's time) is NaN, the 5th (the inner span's end) Infinity
    const t0 = 1_700_000_000_000;
    const times = [t0, t0 + 1, t0 + 2.25, Number.NaN, Number.POSITIVE_INFINITY, t0 + 3];
    const options = () => {
      let i = 0;
      return {
        meta: { request_id: 'req-x', note: odd },
        clock: () => times[i++ % times.length]!,
        maxEvents: 9,
        maxSpans: 4,
        maxEntities: 2,
      };
    };
    const recorder = flightRecorder();
    stepmark.run(body, { ...options(), onEnd: recorder.add });
    late?.();
    const { trace } = stepmark.captureSync(body, options());
    late?.();
    expect(trace.dropped).toBeGreaterThan(0);
    expect(trace.dropped_spans).toBeGreaterThan(0);
    expect(trace.dropped_entities).toBeGreaterThan(0);
    expect(trace.spans[1]).toMatchObject({ end: '1970-01-01T00:00:00.000Z', duration_ms: 0 });
    const [found] = recorder.find({ requestId: 'req-x' });
    expect(found).toEqual(trace);
    expect(JSON.stringify(found)).toBe(JSON.stringify(trace));
    expect(Object.keys(found!.entities)).toEqual(Object.keys(trace.entities));
    expect(recorder.find({ stage: odd })).toHaveLength(1);
    expect(recorder.find({ entity: 'order_x', stage: odd, action: 'checked' })).toHaveLength(1);
    expect(recorder.find({ entity: 'order_x', action: 'logged' })).toEqual([]);
  });

  it('reads traces made by the other build of the runtime (an ESM trace in the CommonJS recorder)', () => {
    const { flightRecorder: cjsRecorder } =
      require('stepmark/recorder') as typeof import('stepmark/recorder');
    const recorder = cjsRecorder();
    let now = Date.parse('2026-03-01T10:00:00Z');
    const clock = () => (now += 2);
    const body = () => {
      const span = stepmark.enterEntity('order_d', { via: 'api' });
      stepmark.recordEntity('order_d', 'fraud', 'checked');
      stepmark.enter()();
      span();
    };
    stepmark.run(body, { meta: { request_id: 'req-d' }, clock, onEnd: recorder.add });
    now = Date.parse('2026-03-01T10:00:00Z');
    const { trace } = stepmark.captureSync(body, { meta: { request_id: 'req-d' }, clock });
    expect(recorder.find({ requestId: 'req-d' })).toEqual([trace]);
    expect(recorder.find({ entity: 'order_d', action: 'entered' })).toHaveLength(1);
    expect(recorder.find({ entity: 'order_d', action: 'exited' })).toHaveLength(1);
    expect(recorder.find({ stage: 'fraud', action: 'checked' })).toHaveLength(1);
    expect(recorder.find({ entity: 'order_d', stage: 'fraud', action: 'exited' })).toEqual([]);
  });

  it("keeps traces in compact form within the runtime's caps (entities, meta keys, string length)", () => {
    const recorder = flightRecorder();
    const huge = 'y'.repeat(1_000_000);
    stepmark.run(
      () => {
        for (let i = 0; i < 10_050; i++) stepmark.track(`e_${i}`);
        for (let j = 0; j < 6; j++)
          stepmark.track('e_0', Object.fromEntries(Array.from({ length: 50 }, (_, k) => [`k${j}_${k}`, k])));
      },
      { meta: { request_id: 'req-caps' }, onEnd: recorder.add },
    );
    const before = recorder.stats().bytes;
    stepmark.run(() => stepmark.recordEntity('e_1', 'note', huge, { [huge]: huge }), {
      meta: { request_id: 'req-long' },
      onEnd: recorder.add,
    });
    const [trace] = recorder.find({ requestId: 'req-caps' });
    expect(Object.keys(trace!.entities)).toHaveLength(10_000);
    expect(trace!.dropped_entities).toBe(50);
    expect(recorder.find({ entity: 'e_10049' })).toEqual([]);
    expect(Object.keys(trace!.entities.e_0!.meta)).toHaveLength(256);
    expect(trace!.entities.e_0!.dropped_meta_keys).toBe(44);
    const [note] = recorder.find({ requestId: 'req-long' })[0]!.entities.e_1!.events;
    expect(note!.action.length).toBeLessThanOrEqual(1024);
    expect(note!.action).toMatch(/…\[\d+ more\]$/);
    // what the recorder accounts for is the capped trace, not the 1 MB strings it was handed
    expect(recorder.stats().bytes - before).toBeLessThan(16 * 1024);
  });

  it('counts a run that threw as an error, for the keep rule and for find', () => {
    const recorder = flightRecorder({ keep: { errors: true } });
    expect(() =>
      stepmark.run(
        () => {
          stepmark.recordEntity('order_t', 'payment', 'declined');
          throw new Error('card declined');
        },
        { meta: { request_id: 'req-threw' }, onEnd: recorder.add },
      ),
    ).toThrow('card declined');
    placeOrder(recorder, 'fine');
    expect(ids(recorder.find({ error: true }))).toEqual(['req-threw']);
    expect(recorder.stats()).toMatchObject({ kept: 1, traces: 2 });
  });

  it('keeps slow traces by their duration', () => {
    const recorder = flightRecorder({ keep: { slowerThan: 50 } });
    recorder.add({
      meta: { request_id: 'fast', duration_ms: 3 },
      entities: {},
      events: [],
      spans: [],
      dropped: 0,
    });
    recorder.add({
      meta: { request_id: 'slow', duration_ms: 80 },
      entities: {},
      events: [],
      spans: [],
      dropped: 0,
    });
    recorder.add({
      meta: { request_id: 'slow-spans' },
      entities: {},
      events: [],
      spans: [{ span_id: '1', name: 'a', start: '2026-01-01T00:00:00.000Z', duration_ms: 120, status: 'ok' }],
      dropped: 0,
    });
    expect(recorder.stats().kept).toBe(2);
  });

  it('drops traces older than maxAge', () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const recorder = flightRecorder({ maxAge: 60_000 });
    placeOrder(recorder, 'old');
    vi.setSystemTime(1_000_000 + 30_000);
    placeOrder(recorder, 'new');
    vi.setSystemTime(1_000_000 + 61_000);
    expect(ids(recorder.find())).toEqual(['req-new']);
    expect(recorder.stats()).toMatchObject({ traces: 1, expired: 1 });
  });

  it('lets go of traces older than maxAge when nothing else happens, then leaves no timer', () => {
    // A retention policy holds while the process is idle too: no add, find or stats comes to expire them.
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const recorder = flightRecorder({ maxAge: 10_000 });
    const held = () =>
      (recorder as unknown as Record<symbol, () => number>)[Symbol.for('stepmark.recorder.held')]!();
    placeOrder(recorder, 'old');
    vi.advanceTimersByTime(5_000);
    placeOrder(recorder, 'new');
    vi.advanceTimersByTime(4_000);
    expect(held()).toBe(2);
    vi.advanceTimersByTime(2_500); // 'old' is past maxAge (plus the timer's slack of maxAge / 8)
    expect(held()).toBe(1);
    vi.advanceTimersByTime(5_000);
    expect(held()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(recorder.stats()).toMatchObject({ traces: 0, expired: 2 });
  });

  it('leaves no byte of an expired, evicted or cleared trace in the memory it keeps', () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const marker = 'card-4111-1111';
    const kept = (r: Recorder) =>
      (r as unknown as Record<symbol, () => Uint8Array[]>)[Symbol.for('stepmark.recorder.buffers')]!();
    const holds = (r: Recorder) => {
      const bytes = Buffer.from(marker, 'latin1');
      return kept(r).some((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(bytes));
    };
    const secretOrder = (r: Recorder, id: string, pad: number) =>
      stepmark.run(
        () =>
          stepmark.recordEntity(`order_${id}`, 'payment', 'declined', { card: marker, pad: 'x'.repeat(pad) }),
        {
          onEnd: r.add,
        },
      );
    /** A trace of 40 events carrying the card, each with 1,000 characters of padding (~40 KB). */
    const bigOrder = (r: Recorder, entity: string) =>
      stepmark.run(
        () => {
          for (let e = 0; e < 40; e++)
            stepmark.recordEntity(entity, 'payment', 'declined', { card: marker, pad: 'x'.repeat(1000) });
        },
        { onEnd: r.add },
      );
    // Expired while idle: small traces in one chunk, and one larger than a chunk (one of its own).
    const idle = flightRecorder({ maxBytes: 64 * 1024, maxAge: 1000 });
    for (let i = 0; i < 20; i++) secretOrder(idle, `${i}`, 10);
    bigOrder(idle, 'order_big');
    expect(holds(idle)).toBe(true);
    vi.advanceTimersByTime(5_000);
    expect(idle.stats().traces).toBe(0);
    expect(holds(idle)).toBe(false);
    // Evicted by traffic that does not carry it, and refused as larger than the whole budget.
    const busy = flightRecorder({ maxBytes: 16 * 1024 });
    for (let i = 0; i < 30; i++) secretOrder(busy, `${i}`, 200);
    // strings are capped at 1,024 characters: many events make a trace larger than the budget
    bigOrder(busy, 'order_huge');
    expect(busy.stats().oversize).toBe(1);
    for (let i = 0; i < 400; i++) placeOrder(busy, `${i}`, { pad: 200 });
    expect(holds(busy)).toBe(false);
    // Cleared.
    const cleared = flightRecorder({ maxBytes: 64 * 1024 });
    for (let i = 0; i < 20; i++) secretOrder(cleared, `${i}`, 10);
    cleared.clear();
    expect(holds(cleared)).toBe(false);
  });

  it('writes NDJSON, oldest first, to a file (mode 0600) and to a stream', async () => {
    const recorder = flightRecorder();
    for (const id of ['1', '2', '3']) placeOrder(recorder, id);
    const file = join(dir, 'out.ndjson');
    expect(await recorder.writeNdjson(file)).toBe(3);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).meta.request_id)).toEqual(['req-1', 'req-2', 'req-3']);
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c) => (text += c));
    expect(await recorder.writeNdjson(stream)).toBe(3);
    expect(text).toBe(`${lines.join('\n')}\n`);
    expect(stream.writableEnded).toBe(false);
    await expect(recorder.writeNdjson(join(dir, 'missing', 'x.ndjson'))).rejects.toThrow(/ENOENT/);
  });

  it('leaves a file it replaces at mode 0600, whatever mode it had', async () => {
    const recorder = flightRecorder();
    placeOrder(recorder, '1');
    const file = join(dir, 'replaced.ndjson');
    writeFileSync(file, 'an older dump\n', { mode: 0o644 });
    chmodSync(file, 0o644); // whatever the umask
    expect(await recorder.writeNdjson(file)).toBe(1);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).meta.request_id).toBe('req-1');
  });

  it.skipIf(process.platform === 'win32')(
    'leaves the mode of what is not a regular file alone (a FIFO, /dev/null)',
    async () => {
      const recorder = flightRecorder();
      placeOrder(recorder, '1');
      const fifo = join(dir, 'dump.fifo');
      expect(spawnSync('mkfifo', ['-m', '644', fifo]).status).toBe(0);
      let text = '';
      const reader = createReadStream(fifo, 'utf8').on('data', (c) => (text += c));
      const closed = new Promise((resolve) => reader.on('close', resolve));
      expect(await recorder.writeNdjson(fifo)).toBe(1);
      await closed;
      expect(JSON.parse(text).meta.request_id).toBe('req-1');
      expect(statSync(fifo).mode & 0o777).toBe(0o644);
    },
  );

  it("throws a StepmarkConfigError that stepmark/recorder exports, the adapters' own class", () => {
    const thrown = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e;
      }
      throw new Error('did not throw');
    };
    expect(StepmarkConfigError).toBe(HttpConfigError);
    expect(thrown(() => flightRecorder({ maxBytes: 10 }))).toBeInstanceOf(StepmarkConfigError);
    const recorder = flightRecorder();
    const notAnObject = thrown(() => recorder.find(null as never));
    expect(notAnObject).toBeInstanceOf(StepmarkConfigError);
    expect(notAnObject).toMatchObject({
      code: 'ERR_STEPMARK_INVALID_ARGUMENT',
      message: 'stepmark/recorder: find(query) needs an object, got null.',
    });
    expect((thrown(() => recorder.find([] as never)) as Error).message).toMatch(
      /find\(query\) needs an object, got an array/,
    );
  });

  it('refuses bad options by name, at creation', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return [(e as { code?: string }).code, (e as { option?: string }).option];
      }
      return undefined;
    };
    expect(code(() => flightRecorder({ maxBytes: 10 }))).toEqual(['ERR_STEPMARK_INVALID_OPTION', 'maxBytes']);
    expect(code(() => flightRecorder({ maxbytes: 1 } as never))).toEqual([
      'ERR_STEPMARK_UNKNOWN_OPTION',
      'maxbytes',
    ]);
    expect(code(() => flightRecorder({ keep: { error: true } as never }))).toEqual([
      'ERR_STEPMARK_UNKNOWN_OPTION',
      'keep.error',
    ]);
    expect(code(() => flightRecorder({ maxBytes: 8192, keep: { errors: true, maxBytes: 8192 } }))).toEqual([
      'ERR_STEPMARK_INVALID_OPTION',
      'keep.maxBytes',
    ]);
    expect(code(() => flightRecorder({ dumpOn: { path: 'x', signal: 'SIGUSR1' } }))).toEqual([
      'ERR_STEPMARK_INVALID_OPTION',
      'dumpOn.signal',
    ]);
    expect(code(() => flightRecorder({ dumpOn: { signal: 'SIGUSR2' } as never }))).toEqual([
      'ERR_STEPMARK_INVALID_OPTION',
      'dumpOn.path',
    ]);
    expect(() => flightRecorder().add(null as never)).toThrow(/needs a trace object/);
    // Arrays are not option objects, and no value makes the error itself fail or balloon.
    expect(code(() => flightRecorder([] as never))).toEqual(['ERR_STEPMARK_INVALID_OPTION', 'options']);
    expect(code(() => flightRecorder({ keep: [] as never }))).toEqual([
      'ERR_STEPMARK_INVALID_OPTION',
      'keep',
    ]);
    expect(code(() => flightRecorder({ dumpOn: [] as never }))).toEqual([
      'ERR_STEPMARK_INVALID_OPTION',
      'dumpOn',
    ]);
    expect(code(() => flightRecorder({ dumpOn: { path: 'x', signal: 1n as never } }))).toEqual([
      'ERR_STEPMARK_INVALID_OPTION',
      'dumpOn.signal',
    ]);
    expect(() => flightRecorder({ dumpOn: { path: 'x', signal: 'S'.repeat(1_000_000) } })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/^.{1,200}$/) }),
    );
  });

  it('sets nothing aside for keep rules that are all off, and refuses a keep budget no rule uses', () => {
    // keep: { errors: false } (say, from a configuration flag) keeps nothing: all of maxBytes is traffic's.
    const recorder = flightRecorder({ maxBytes: 64 * 1024, keep: { errors: false } });
    for (let i = 0; i < 2000; i++) placeOrder(recorder, `${i}`, { pad: 100 });
    expect(recorder.stats().bytes).toBeGreaterThan(0.85 * 64 * 1024);
    expect(() => flightRecorder({ keep: { maxBytes: 8192 } })).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_INVALID_OPTION', option: 'keep.maxBytes' }),
    );
  });

  it('refuses a writeNdjson target that is neither a path nor a stream with a typed error', async () => {
    const recorder = flightRecorder();
    for (const target of [42, null, {}, { write: 'x' }])
      await expect(recorder.writeNdjson(target as never)).rejects.toMatchObject({
        name: 'StepmarkConfigError',
        code: 'ERR_STEPMARK_INVALID_ARGUMENT',
      });
  });

  it('refuses what is not a trace with a typed error, and holds what it takes in the full trace shape', () => {
    const recorder = flightRecorder();
    const cyclic: Record<string, unknown> = { meta: {}, entities: {}, events: [], spans: [] };
    (cyclic.meta as Record<string, unknown>).self = cyclic;
    const throwing = {
      events: [],
      get meta() {
        throw new Error('getter boom');
      },
    };
    const refused: [unknown, RegExp][] = [
      [[1, 2], /an array/],
      [{}, /not a stepmark trace/],
      [{ entities: { a: { events: 'x' } } }, /events" is not an array/],
      [{ spans: 'nope' }, /"spans" is not an array/],
      [{ events: [{ stage: 1 }] }, /"stage"\/"action"/],
      [cyclic, /circular/i],
      [{ events: [], meta: { n: 1n } }, /BigInt/],
      [throwing, /getter boom/],
    ];
    for (const [value, why] of refused) {
      let error: unknown;
      try {
        recorder.add(value as never);
      } catch (e) {
        error = e;
      }
      expect(error, String(why)).toMatchObject({
        name: 'StepmarkConfigError',
        code: 'ERR_STEPMARK_INVALID_ARGUMENT',
      });
      expect((error as Error).message).toMatch(/^stepmark\/recorder: add\(trace\)/);
      expect((error as Error).message).toMatch(why);
    }
    expect(recorder.stats()).toMatchObject({ traces: 0, added: 0 });
    // A trace trimmed by hand (Go Stepmark's shape) comes back whole, like `stepmark view` reads it.
    recorder.add({ entities: { order_1: { events: [{ stage: 'fraud', action: 'passed' }] } } } as never);
    expect(recorder.find({ entity: 'order_1' })).toEqual([
      {
        meta: {},
        entities: {
          order_1: { entity_id: 'order_1', meta: {}, events: [{ stage: 'fraud', action: 'passed' }] },
        },
        events: [],
        spans: [],
        dropped: 0,
      },
    ]);
  });
});

/** Runs a small script in a child Node with the package available; returns its exit and output. */
function child(script: string, args: string[] = []) {
  const file = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [...args, file], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const childHeader = `
import { PassThrough } from 'node:stream';
import { runInNewContext } from 'node:vm';
import * as stepmark from 'stepmark';
import { flightRecorder } from 'stepmark/recorder';
function order(recorder, id) {
  stepmark.run(() => stepmark.recordEntity('order_' + id, 'fraud', 'rejected'), { meta: { request_id: 'req-' + id }, onEnd: recorder.add });
}
`;

describe('dumps', () => {
  it('writes the ring on a signal and again when the process dies of an uncaught exception', () => {
    const onSignal = join(dir, 'signal-{pid}.ndjson');
    const onCrash = join(dir, 'crash.ndjson');
    const r = child(
      `${childHeader}
const onDump = (d) => {
  console.log(JSON.stringify({ ...d, error: d.error?.message }));
  if (d.reason === 'signal') { recorder.close(); crashing(); }
};
const recorder = flightRecorder({ dumpOn: { path: process.argv[2], signal: 'SIGUSR2', onDump } });
const crashRecorder = flightRecorder({ dumpOn: { path: process.argv[3], onDump } });
for (const id of [1, 2]) { order(recorder, id); order(crashRecorder, id); }
function crashing() {
  order(crashRecorder, 3);
  // a dump stalled on a stream nobody reads does not hold back the one on the way out
  crashRecorder.writeNdjson(new PassThrough({ highWaterMark: 1 })).catch(() => {});
  setTimeout(() => { throw new Error('the process dies'); }, 1);
}
process.kill(process.pid, 'SIGUSR2');
setTimeout(() => {}, 5000);
`
        .replace('process.argv[2]', JSON.stringify(onSignal))
        .replace('process.argv[3]', JSON.stringify(onCrash)),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error: the process dies');
    const told = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(told).toHaveLength(2);
    expect(told[0]).toMatchObject({ reason: 'signal', traces: 2 });
    expect(told[0].path).toMatch(/signal-\d+\.ndjson$/);
    expect(told[1]).toMatchObject({ reason: 'uncaughtException', traces: 3, path: onCrash });
    const read = (p: string) =>
      readFileSync(p, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).meta.request_id);
    expect(read(told[0].path)).toEqual(['req-1', 'req-2']);
    expect(read(onCrash)).toEqual(['req-1', 'req-2', 'req-3']);
  });

  it("dumps when an application's uncaughtException listener ends the process, not when it carries on", () => {
    const survived = join(dir, 'survived.ndjson');
    const carriesOn = child(`${childHeader}
const recorder = flightRecorder({ dumpOn: { path: ${JSON.stringify(survived)} } });
order(recorder, 1);
process.on('uncaughtException', (e) => console.log('handled: ' + e.message));
setTimeout(() => { throw new Error('one'); }, 1);
setTimeout(() => { Promise.reject(new Error('two')); }, 2);
setTimeout(() => { order(recorder, 2); console.log('still serving'); }, 20);
`);
    expect(carriesOn.stdout).toBe('handled: one\nhandled: two\nstill serving\n');
    expect(carriesOn.stderr).toBe('');
    expect(carriesOn.code).toBe(0);
    expect(() => statSync(survived)).toThrow(/ENOENT/);

    const exited = join(dir, 'exited.ndjson');
    const logsThenExits = child(`${childHeader}
const recorder = flightRecorder({ dumpOn: { path: ${JSON.stringify(exited)} } });
order(recorder, 1);
process.on('uncaughtException', (e) => {
  console.log('fatal: ' + e.message);
  setTimeout(() => { order(recorder, 2); process.exit(3); }, 5);
});
setTimeout(() => { throw new Error('the end'); }, 1);
`);
    expect(logsThenExits.code).toBe(3);
    expect(logsThenExits.stdout).toBe('fatal: the end\n');
    expect(logsThenExits.stderr).toBe(
      `[stepmark] flight recorder: wrote 2 traces on an uncaught exception to ${exited}\n`,
    );
    const ids = readFileSync(exited, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).meta.request_id);
    expect(ids).toEqual(['req-1', 'req-2']);
  });

  it('says on stderr where a dump went, by default', () => {
    const path = join(dir, 'default.ndjson');
    // an older dump of broader mode is replaced by one only the service's user can read
    writeFileSync(path, 'an older dump\n');
    chmodSync(path, 0o644);
    const r = child(`${childHeader}
const recorder = flightRecorder({ dumpOn: { path: ${JSON.stringify(path)} } });
order(recorder, 1);
throw new Error('boom');
`);
    expect(r.stderr).toContain(
      `[stepmark] flight recorder: wrote 1 traces on an uncaught exception to ${path}`,
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('prints the dump path and the failure escaped, on one line', () => {
    // A path that cannot be created (its directory does not exist), with a terminal escape and a line break in it.
    const path = join(dir, 'no-such-dir', 'x\u001b[31mred\nforged.ndjson');
    const r = child(`${childHeader}
const recorder = flightRecorder({ dumpOn: { path: ${JSON.stringify(path)} } });
order(recorder, 1);
throw new Error('boom');
`);
    const line = r.stderr.split('\n').find((l) => l.includes('[stepmark] flight recorder'));
    expect(line).toContain('failed');
    expect(line).toContain('x\\x1b[31mred\\nforged.ndjson');
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).not.toMatch(/^forged/m);
  });
});

describe('memory', () => {
  it('holds no more heap than twice maxBytes (plus a small constant), whatever the traffic', () => {
    const r = child(
      `${childHeader}
const maxBytes = 256 * 1024;
const recorder = flightRecorder({ maxBytes, keep: { errors: true } });
const heap = () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
function traffic(n, from) {
  for (let i = from; i < from + n; i++) {
    stepmark.run(() => {
      for (let s = 0; s < 10; s++) {
        const span = stepmark.enterEntity('order_' + i, { s });
        stepmark.recordEntity('order_' + i, 'stage' + s, 'done', { i, note: 'ünïcödé ' + i });
        if (i % 50 === 0 && s === 9) span.fail(new Error('failed ' + i));
        span();
      }
      stepmark.recordEntity('customer_' + (i % 100), 'history', 'read');
    }, { meta: { request_id: 'req-' + i }, onEnd: recorder.add });
  }
}
traffic(200, 0);
const base = heap();
traffic(700, 200);
const full = heap();
traffic(700, 900);
const after = heap();
const s = recorder.stats();
console.log(JSON.stringify({ grown: Math.max(full, after) - base, stats: s }));
`,
      ['--expose-gc'],
    );
    expect(r.stderr).toBe('');
    const { grown, stats } = JSON.parse(r.stdout);
    expect(stats.bytes).toBeLessThanOrEqual(stats.maxBytes);
    expect(stats.evicted).toBeGreaterThan(1000);
    expect(stats.kept).toBeGreaterThan(0);
    expect(grown).toBeLessThanOrEqual(2 * stats.maxBytes + 256 * 1024);
  });
});

describe('where there is no file system', () => {
  // A worker or a browser build: node:fs must not be a module the bundler has to resolve.
  it('bundles for the browser and holds and finds traces there', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      stdin: {
        contents:
          "export { run, track, step } from 'stepmark'; export { flightRecorder } from 'stepmark/recorder';",
        resolveDir: root,
      },
      bundle: true,
      format: 'iife',
      globalName: 'bundle',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    // what a browser has and a bare V8 context lacks
    const sandbox: Record<string, unknown> = { console: { warn() {}, log() {} }, TextEncoder, TextDecoder };
    runInNewContext(
      `${result.outputFiles[0]!.text}
      const recorder = bundle.flightRecorder();
      bundle.run(() => { bundle.track('order_1'); bundle.step('placed'); }, { onEnd: recorder.add });
      globalThis.out = recorder.find({ entity: 'order_1' }).map((t) => t.entities.order_1.entity_id);
      globalThis.noProcess = typeof process === 'undefined';`,
      sandbox,
    );
    expect(sandbox.noProcess).toBe(true);
    expect(sandbox.out).toEqual(['order_1']);
  });
});
