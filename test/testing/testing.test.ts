// stepmark/testing: normaliser, compact renderings and matchers, used the way a user's test would.
import { capture, captureSync, formatTrace, record, recordEntity, scope, track } from 'stepmark';
import { v1 as __stepmark } from 'stepmark/runtime';
import {
  entityJourney,
  normalizeTrace,
  renderJourneys,
  renderSpanTree,
  stepmarkMatchers,
} from 'stepmark/testing';
import { describe, expect, it } from 'vitest';

expect.extend(stepmarkMatchers);
declare module 'vitest' {
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> {
    toHaveSpanPath(path: string[]): R;
    toHaveEntityJourney(entityId: string, steps: string[]): R;
    toHaveSpan(name: string, fields?: Record<string, unknown>): R;
  }
}

const orders = scope('order');

class FraudService {
  async score(order: { id: string; total: number }) {
    const __smf = __stepmark.enterEntity(
      'FraudService.score',
      'src/fraud.ts:4:3',
      'order',
      __stepmark.on() && order?.id,
    );
    try {
      __smf.r(await __smf.s(new Promise((r) => setTimeout(r, 2))));
      const score = order.total > 200 ? 0.78 : 0.1;
      __stepmark.scopeStep(orders, 'FraudService.score', order.id, score > 0.5 ? 'flagged' : 'clear', {
        score,
      });
      return score;
    } catch (__sme) {
      __smf.fail(__sme);
      throw __sme;
    } finally {
      __smf.exit();
    }
  }
}

class OrderService {
  fraud = new FraudService();
  validate(order: { id: string; total: number }) {
    const __smf = __stepmark.enter('OrderService.validate', 'src/order.ts:10:3');
    try {
      recordEntity(order.id, 'validate', order.total > 0 ? 'ok' : 'rejected');
      if (order.total <= 0) throw new Error('empty order');
    } catch (__sme) {
      __smf.fail(__sme);
      throw __sme;
    } finally {
      __smf.exit();
    }
  }
  async place(order: { id: string; total: number }) {
    const __smf = __stepmark.enter('OrderService.place', 'src/order.ts:20:3');
    try {
      track(order.id, { total: order.total }, { kind: 'order' });
      this.validate(order);
      const score = __smf.r(await __smf.s(this.fraud.score(order)));
      recordEntity(order.id, 'fraud_check', score > 0.5 ? 'flagged' : 'passed', { score });
      return score > 0.5 ? 'review' : 'accepted';
    } catch (__sme) {
      __smf.fail(__sme);
      throw __sme;
    } finally {
      __smf.exit();
    }
  }
}

describe('stepmark/testing', () => {
  it('normalizeTrace: deterministic ids, times and durations; structure kept', async () => {
    const run = () =>
      capture(() => new OrderService().place({ id: 'order_42', total: 249.99 }), {
        meta: { request_id: 'r1' },
      });
    const [a, b] = [await run(), await run()];
    expect(normalizeTrace(a.trace)).toEqual(normalizeTrace(b.trace));
    const n = normalizeTrace(a);
    expect(n.spans).toEqual([
      {
        span_id: '1',
        name: 'OrderService.place',
        start: '<time>',
        end: '<time>',
        duration_ms: 0,
        status: 'ok',
        location: 'src/order.ts:20:3',
      },
      {
        span_id: '2',
        parent_id: '1',
        name: 'OrderService.validate',
        start: '<time>',
        end: '<time>',
        duration_ms: 0,
        status: 'ok',
        location: 'src/order.ts:10:3',
      },
      {
        span_id: '3',
        parent_id: '1',
        name: 'FraudService.score',
        entity_id: 'order_42',
        start: '<time>',
        end: '<time>',
        duration_ms: 0,
        status: 'ok',
        location: 'src/fraud.ts:4:3',
      },
    ]);
    expect(n.entities.order_42!.events.find((e) => e.action === 'exited')!.meta).toEqual({ duration_ms: 0 });
    expect(n.events.every((e) => e.timestamp === '<time>')).toBe(true);
    // the input is not modified
    expect(a.trace.spans[0]!.start).not.toBe('<time>');
    // options: drop locations and span events, custom time
    const lean = normalizeTrace(a.trace, { locations: false, spanEvents: false, time: 'T' });
    expect(lean.spans.some((s) => 'location' in s)).toBe(false);
    expect(lean.events).toEqual([]);
    expect(lean.entities.order_42!.events.map((e) => e.action)).toEqual(['ok', 'flagged', 'flagged']);
    expect(lean.spans[0]!.start).toBe('T');
  });

  it('normalizeTrace renumbers ids in order of appearance', () => {
    const trace = {
      meta: {},
      entities: {},
      events: [{ stage: 's', action: 'a', timestamp: 'x', span_id: '17' }],
      spans: [
        { span_id: '9', name: 'a', start: 'x', end: 'y', duration_ms: 3, status: 'ok' as const },
        { span_id: '17', parent_id: '9', name: 'b', start: 'x', status: 'unfinished' as const },
      ],
      dropped: 0,
    };
    const n = normalizeTrace(trace);
    expect(n.spans.map((s) => [s.span_id, s.parent_id])).toEqual([
      ['1', undefined],
      ['2', '1'],
    ]);
    expect(n.events[0]!.span_id).toBe('2');
    expect(n.spans[1]!.end).toBeUndefined();
  });

  it('renderSpanTree and renderJourneys for inline snapshots', async () => {
    const { trace } = await capture(() => new OrderService().place({ id: 'order_42', total: 249.99 }));
    expect(renderSpanTree(trace)).toMatchInlineSnapshot(`
      "OrderService.place
        OrderService.validate
        FraudService.score [order_42]"
    `);
    expect(renderJourneys(trace)).toMatchInlineSnapshot(
      `"order_42 (order): validate:ok → FraudService.score:flagged → fraud_check:flagged"`,
    );
    expect(entityJourney(trace, 'order_42', { spanEvents: true })).toEqual([
      'validate:ok',
      'FraudService.score:entered',
      'FraudService.score:flagged',
      'FraudService.score:exited',
      'fraud_check:flagged',
    ]);
    expect(renderSpanTree(trace, { locations: true }).split('\n')[0]).toBe(
      'OrderService.place @src/order.ts:20:3',
    );
  });

  it('renderSpanTree shows errors and unfinished spans', async () => {
    const err = await capture(() => new OrderService().place({ id: 'o0', total: 0 })).catch((e) => e);
    expect(renderSpanTree(err.stepmarkTrace)).toMatchInlineSnapshot(`
      "OrderService.place !error: empty order
        OrderService.validate !error: empty order"
    `);
    const { trace } = captureSync(() => {
      __stepmark.enter('never.exits', void 0);
      record('loose', 'event');
    });
    expect(renderSpanTree(trace)).toBe('never.exits (unfinished)');
    expect(renderJourneys(trace)).toBe('(events): loose:event');
  });

  it('renders traces 20 000 spans deep (no recursion) and malformed parent cycles without losing spans', () => {
    const deep = {
      meta: {},
      entities: {},
      events: [],
      dropped: 0,
      spans: Array.from({ length: 20_000 }, (_, i) => ({
        span_id: String(i + 1),
        ...(i > 0 ? { parent_id: String(i) } : {}),
        name: `f${i}`,
        start: 'x',
        end: 'y',
        duration_ms: 0.5,
        status: 'ok' as const,
      })),
    };
    const tree = renderSpanTree(deep).split('\n');
    expect(tree).toHaveLength(20_000);
    expect(tree[64]).toBe(`${'  '.repeat(64)}f64`);
    expect(tree[19_999]).toBe(`${'  '.repeat(64)}[+19935] f19999`);
    const text = formatTrace(deep, { durations: false }).split('\n');
    expect(text).toHaveLength(20_002);
    expect(text.slice(2, 5)).toEqual(['  f0', '  └─ f1', '     └─ f2']);
    expect(text[20_001]).toBe(`  ${'   '.repeat(63)}└─ [+19935] f19999`);
    const cyclic = {
      ...deep,
      spans: [
        { span_id: '1', parent_id: '2', name: 'a', start: 'x', status: 'unfinished' as const },
        { span_id: '2', parent_id: '1', name: 'b', start: 'x', status: 'unfinished' as const },
        { span_id: '3', parent_id: '3', name: 'self', start: 'x', status: 'unfinished' as const },
      ],
    };
    expect(renderSpanTree(cyclic)).toBe('self (unfinished)\na (unfinished)\n  b (unfinished)');
  });

  it('matchers: span paths, entity journeys, span fields, with readable failures', async () => {
    const { trace } = await capture(() => new OrderService().place({ id: 'order_42', total: 249.99 }));
    expect(trace).toHaveSpanPath(['OrderService.place', 'FraudService.score']);
    expect(trace).toHaveSpanPath(['FraudService.score']);
    expect(trace).not.toHaveSpanPath(['FraudService.score', 'OrderService.place']);
    expect(trace).not.toHaveSpanPath(['OrderService.validate', 'FraudService.score']);
    expect({ trace }).toHaveEntityJourney('order_42', [
      'validate:ok',
      'FraudService.score:flagged',
      'fraud_check:flagged',
    ]);
    expect(trace).toHaveEntityJourney('order_42', ['validate', 'FraudService.score', 'fraud_check']);
    expect(trace).not.toHaveEntityJourney('order_42', ['validate:ok', 'fraud_check:flagged']);
    expect(trace).toHaveSpan('FraudService.score', { entity_id: 'order_42', status: 'ok' });
    expect(trace).not.toHaveSpan('FraudService.score', { status: 'error' });

    expect(() => expect(trace).toHaveSpanPath(['OrderService.place', 'Missing'])).toThrow(
      /expected trace to have span path OrderService.place > Missing[\s\S]*span tree:\nOrderService.place\n {2}OrderService.validate/,
    );
    expect(() => expect(trace).toHaveEntityJourney('order_42', ['validate:rejected'])).toThrow(
      /to have journey\n {2}validate:rejected\nreceived\n {2}validate:ok → FraudService.score:flagged → fraud_check:flagged/,
    );
    expect(() => expect(trace).toHaveEntityJourney('nobody', [])).toThrow(
      /to have entity nobody; entities: order_42/,
    );
    expect(() => expect('not a trace').toHaveSpanPath(['x'])).toThrow(/expected a stepmark trace/);
  });

  it('matchers called with arguments of the wrong type fail with a TypeError that names the argument', async () => {
    const { trace } = await capture(() => new OrderService().place({ id: 'order_42', total: 250 }));
    const call = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    // @ts-expect-error the path is a list of names
    expect(call(() => expect(trace).toHaveSpanPath('OrderService.place'))).toBe(
      'TypeError: stepmark: toHaveSpanPath: `path` must be an array of span names, received string',
    );
    // @ts-expect-error the id comes first
    expect(call(() => expect(trace).not.toHaveEntityJourney(['validate'], 'order_42'))).toBe(
      'TypeError: stepmark: toHaveEntityJourney: `entityId` must be a string, received an array',
    );
    expect(call(() => expect(trace).toHaveEntityJourney('order_42', [1 as unknown as string]))).toMatch(
      /`steps` must be an array of "stage" or "stage:action" strings, received an array$/,
    );
    // @ts-expect-error fields is an object
    expect(call(() => expect(trace).toHaveSpan('FraudService.score', null))).toMatch(
      /toHaveSpan: `fields` must be an object, received null$/,
    );
  });

  it('formatTrace (human rendering): tree with durations, errors, journeys; optional colours', async () => {
    const err = await capture(() => new OrderService().place({ id: 'o0', total: 0 })).catch((e) => e);
    const { trace } = await capture(() => new OrderService().place({ id: 'order_42', total: 249.99 }), {
      meta: { request_id: 'r1' },
    });
    const text = formatTrace(trace);
    expect(text.split('\n')[0]).toBe('trace request_id=r1 (3 spans, 9 events)');
    expect(text).toMatch(/spans\n {2}OrderService\.place \d/);
    expect(text).toMatch(
      /\n {2}├─ OrderService\.validate \d[^\n]*\n {2}└─ FraudService\.score \[order_42\] \d/,
    );
    expect(text).toContain(
      'entities\n  order_42 (order) total=249.99\n    validate → ok\n    FraudService.score → flagged score=0.78',
    );
    expect(formatTrace(err.stepmarkTrace, { durations: false })).toContain(
      'OrderService.place ✗ empty order\n  └─ OrderService.validate ✗ empty order',
    );
    expect(formatTrace(trace, { color: true })).toContain('\u001b[');
    expect(formatTrace(trace)).not.toContain('\u001b[');
    expect(formatTrace(trace, { sections: ['spans'], durations: false })).toBe(
      'spans\n  OrderService.place\n  ├─ OrderService.validate\n  └─ FraudService.score [order_42]',
    );
  });
});
