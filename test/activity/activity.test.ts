import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import * as stepmark from 'stepmark';
import { describe, expect, it } from 'vitest';
// No package entry for it yet (see the report): imported from source; it shares the runtime's
// process-wide state with the built `stepmark` used for capture().
import {
  type ActivityLogRecord,
  type ActivityTracker,
  activity,
  chainTrackers,
  logTracker,
  noopTracker,
  stepmarkTracker,
} from '../../activity/index.js';

const events = (t: stepmark.Trace, entity: string) => t.entities[entity]!.events.map((e) => e.action);

describe('activity() with the stepmark tracker', () => {
  it('records a span named after the operation, on the subject entity, with kv, changes, and one end', async () => {
    const { trace } = await stepmark.capture(() => {
      const act = activity('order.update', 'order_1', { by: 'u1', password: 'hunter2' });
      act.reportChange({ status: { from: 'new', to: 'paid' }, card_number: '4111111111111111' });
      act.end();
      act.end(); // idempotent
      act.reportChange({ late: true }); // ignored after end
    });
    expect(trace.spans).toHaveLength(1);
    expect(trace.spans[0]).toMatchObject({ name: 'order.update', entity_id: 'order_1', status: 'ok' });
    expect(events(trace, 'order_1')).toEqual(['entered', 'changed', 'exited']);
    const [entered, changed] = trace.entities.order_1!.events;
    expect(entered!.meta).toEqual({ by: 'u1', password: '[Redacted]' });
    expect(changed!.meta).toEqual({ status: { from: 'new', to: 'paid' }, card_number: '[Redacted]' });
    expect(changed!.span_id).toBe(trace.spans[0]!.span_id);
  });

  it('reportErr marks the span failed and records an error event; `using` ends it', async () => {
    const { trace } = await stepmark.capture(() => {
      using act = activity('payment.capture', 'pay_9', { amount: 10 });
      act.reportErr(new Error('card declined'), { code: 'E42' });
    });
    expect(trace.spans[0]).toMatchObject({
      name: 'payment.capture',
      status: 'error',
      error: 'card declined',
    });
    const err = trace.entities.pay_9!.events.find((e) => e.action === 'error');
    expect(err?.meta).toEqual({ error: 'card declined', code: 'E42' });
  });

  it('gives the subject an entity kind, and works without a subject', async () => {
    const tracker = stepmarkTracker({ kind: 'order' });
    const { trace } = await stepmark.capture(() => {
      activity('order.ship', 'order_2', undefined, { tracker }).end();
      activity('cache.refresh').end();
    });
    expect(trace.entities.order_2?.kind).toBe('order');
    expect(trace.spans.map((s) => s.name)).toEqual(['order.ship', 'cache.refresh']);
    expect(trace.spans[1]!.entity_id).toBeUndefined();
  });

  it('outside a trace it neither reads nor copies kv, and allocates no handle; a log tracker still reads it', () => {
    let reads = 0;
    const kv = {
      get heavy() {
        reads++;
        return 'x';
      },
    };
    const a = activity('order.update', 'order_1', kv);
    const b = activity('order.update', 'order_2', kv, {
      tracker: chainTrackers([stepmarkTracker(), noopTracker]),
    });
    expect(a).toBe(b);
    expect(reads).toBe(0);
    const lines: ActivityLogRecord[] = [];
    activity('order.update', 'order_1', kv, { tracker: logTracker((r) => lines.push(r)) }).end();
    expect(reads).toBe(1);
    expect(lines[0]!.kv).toEqual({ heavy: 'x' });
  });

  it('is a silent no-op outside a trace', () => {
    const act = activity('order.update', 'order_1', { a: 1 });
    expect(() => {
      act.reportChange({ b: 2 });
      act.reportErr(new Error('x'));
      act.end();
    }).not.toThrow();
    expect(stepmark.collect()).toBeUndefined();
  });
});

describe('sanitising kv and change data', () => {
  const recording = () => {
    const seen: { kv?: unknown; changes: unknown[] } = { changes: [] };
    const tracker: ActivityTracker = {
      start: (_op, _subject, kv) => {
        seen.kv = kv;
        return { reportErr() {}, reportChange: (c) => seen.changes.push(c), end() {} };
      },
    };
    return { seen, tracker };
  };

  it('redacts sensitive names at any depth, and extra names or patterns on request', () => {
    const { seen, tracker } = recording();
    activity(
      'login',
      'u1',
      { user: { name: 'ann', Authorization: 'Bearer x', tokens: [{ refresh_token: 'r' }] } },
      { tracker },
    );
    expect(seen.kv).toEqual({
      user: { name: 'ann', Authorization: '[Redacted]', tokens: [{ refresh_token: '[Redacted]' }] },
    });
    const custom = recording();
    activity(
      'x',
      undefined,
      { iban: 'DE00', name: 'n', password: 'p' },
      { tracker: custom.tracker, redact: ['iban', /^pass/] },
    );
    expect(custom.seen.kv).toEqual({ iban: '[Redacted]', name: 'n', password: '[Redacted]' });
  });

  it('replaces an oversized value by its size, a SHA-256 of its JSON and a preview', () => {
    const { seen, tracker } = recording();
    const big = { rows: Array.from({ length: 500 }, (_, i) => ({ id: i, label: `row ${i}` })) };
    const act = activity(
      'import',
      'batch_1',
      { small: 'ok' },
      { tracker, maxValueSize: 1000, previewSize: 40 },
    );
    act.reportChange({ before: big, after: 'x' });
    const json = JSON.stringify(big);
    expect(seen.changes[0]).toEqual({
      before: {
        '[truncated]': true,
        size: json.length,
        sha256: createHash('sha256').update(json).digest('hex'),
        preview: json.slice(0, 40),
      },
      after: 'x',
    });
    expect(seen.kv).toEqual({ small: 'ok' });
  });

  it('turns values JSON cannot hold into safe ones (cycles, BigInt, throwing getters)', () => {
    const { seen, tracker } = recording();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    activity('weird', undefined, { cyclic, n: 10n, getter, when: new Date(0) }, { tracker });
    expect(seen.kv).toEqual({
      cyclic: { a: 1, self: '[Circular]' },
      n: '10n',
      getter: { boom: '[Getter threw]' },
      when: '1970-01-01T00:00:00.000Z',
    });
  });

  it('keeps a "__proto__" key as data and reads a throwing getter at the top level too', () => {
    const { seen, tracker } = recording();
    const kv = JSON.parse('{"__proto__": {"polluted": true}, "inner": {"__proto__": {"x": 1}}}');
    Object.defineProperty(kv, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    activity('proto', undefined, kv, { tracker });
    const got = seen.kv as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.hasOwn(got, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(got))).toEqual(
      JSON.parse(
        '{"__proto__": {"polluted": true}, "inner": {"__proto__": {"x": 1}}, "boom": "[Getter threw]"}',
      ),
    );
    expect(Object.hasOwn(got.inner as object, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('trackers', () => {
  it('a chain reaches every tracker even when one throws, and reports the failure', async () => {
    const log: ActivityLogRecord[] = [];
    const failures: unknown[] = [];
    const broken: ActivityTracker = {
      start() {
        throw new Error('tracker down');
      },
    };
    const throwingReporter: ActivityTracker = {
      start: () => ({
        reportErr() {
          throw new Error('reporter down');
        },
        reportChange() {
          throw new Error('reporter down');
        },
        end() {
          throw new Error('reporter down');
        },
      }),
    };
    const tracker = chainTrackers(
      [broken, throwingReporter, stepmarkTracker(), logTracker((r) => log.push(r)), noopTracker],
      (e) => failures.push(e),
    );
    const { trace } = await stepmark.capture(() => {
      const act = activity('order.cancel', 'order_3', { reason: 'asked' }, { tracker });
      act.reportChange({ status: 'cancelled' });
      act.reportErr('refund failed');
      act.end();
    });
    expect(trace.spans[0]).toMatchObject({ name: 'order.cancel', status: 'error', error: 'refund failed' });
    expect(log.map((r) => r.event)).toEqual(['start', 'change', 'error', 'end']);
    expect(log[3]).toMatchObject({ activity: 'order.cancel', subject: 'order_3', outcome: 'error' });
    expect(failures.map((e) => (e as Error).message)).toEqual([
      'tracker down',
      'reporter down',
      'reporter down',
      'reporter down',
    ]);
  });

  it('the log tracker writes pino lines: start/change at info, errors at error, end with duration and outcome', () => {
    const lines: any[] = [];
    const dest = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const logger = pino({ base: undefined }, dest);
    const act = activity(
      'user.update',
      'u7',
      { field: 'email', token: 't' },
      { tracker: logTracker(logger) },
    );
    act.reportChange({ email: { from: 'a@x', to: 'b@x' } });
    act.end();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, 'user.update start'],
      [30, 'user.update change'],
      [30, 'user.update end'],
    ]);
    expect(lines[0]).toMatchObject({
      activity: 'user.update',
      subject: 'u7',
      kv: { field: 'email', token: '[Redacted]' },
    });
    expect(lines[2]).toMatchObject({ event: 'end', outcome: 'ok' });
    expect(typeof lines[2].duration_ms).toBe('number');
    const failing = activity('user.delete', 'u8', undefined, { tracker: logTracker(logger) });
    failing.reportErr(new Error('forbidden'));
    expect(lines.at(-1)).toMatchObject({ level: 50, msg: 'user.delete failed', error: 'forbidden' });
  });
});
