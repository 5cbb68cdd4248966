// diffTraces / formatTraceDiff / toMatchTrace on traces the runtime really recorded: spans opened
// through the ABI the build plugins emit (names and locations as a plugin writes them), events
// through the public API, and two real esbuild builds of one source for the "two builds" case.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { captureSync, record, recordEntity, type Trace, track } from 'stepmark';
import { stepmark as stepmarkPlugin } from 'stepmark/esbuild-plugin';
import { v1 as __stepmark } from 'stepmark/runtime';
import { diffLines, diffTraces, formatTraceDiff, stepmarkMatchers, type TraceDiff } from 'stepmark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

expect.extend(stepmarkMatchers);
declare module 'vitest' {
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> {
    toMatchTrace(expected: unknown, options?: Parameters<typeof diffTraces>[2]): R;
  }
}

/** A span as an instrumented function opens it; `ms` of the fake clock pass inside. */
function call(
  name: string,
  body: () => void = () => {},
  opts: { entity?: string; ms?: number; line?: number } = {},
) {
  const location = `src/orders.ts:${opts.line ?? 1}:1`;
  const f =
    opts.entity === undefined
      ? __stepmark.enter(name, location)
      : __stepmark.enterEntity(name, location, 'order', opts.entity);
  try {
    body();
    now += opts.ms ?? 1;
  } catch (e) {
    f.fail(e);
    throw e;
  } finally {
    f.exit();
  }
}

let now = 0;
function trace(fn: () => void): Trace {
  return captureSync(fn, { clock: () => now, meta: { request_id: `req-${++now}` } }).trace;
}

interface Knobs {
  id?: string;
  /** Reservation attempts (a retry loop). */
  attempts?: number;
  audit?: boolean;
  fraud?: 'passed' | 'flagged';
  score?: number;
  extraMeta?: boolean;
  failPayment?: boolean;
  payMs?: number;
}

/** An order's journey through a small service. */
function order(k: Knobs = {}): Trace {
  const id = k.id ?? 'order_1';
  return trace(() => {
    record('http', 'received', { path: '/orders' });
    call(
      'OrderService.place',
      () => {
        track(id, { total: 250 }, { kind: 'order' });
        call('validate', () => recordEntity(id, 'validate', 'ok', { items: 2, order: id }));
        if (k.audit) call('audit');
        for (let i = 0; i < (k.attempts ?? 1); i++) call('Inventory.reserve', () => call('lock'));
        call('FraudService.score', () =>
          recordEntity(id, 'FraudService.score', k.fraud ?? 'passed', {
            score: k.score ?? 0.1,
            ...(k.extraMeta ? { model: 'v2' } : {}),
          }),
        );
        if ((k.fraud ?? 'passed') === 'passed') {
          try {
            call(
              'Payment.charge',
              () => {
                if (k.failPayment) throw new Error('card declined');
                recordEntity(id, 'payment', 'charged');
              },
              { ms: k.payMs },
            );
          } catch {}
        } else call('OrderService.reject', () => recordEntity(id, 'order', 'rejected'));
      },
      { entity: id },
    );
  });
}

const ESC = '\u001b';
/** Control characters but the newline, DEL, C1 controls, a bidi override. */
const CONTROL = '[\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u202e]';
const types = (d: TraceDiff) => d.changes.map((c) => c.type);
const paths = (d: TraceDiff) => d.changes.map((c) => ('path' in c ? c.path.join(' > ') : ''));

describe('diffTraces: alignment', () => {
  it('two runs of the same journey are equal: ids, timestamps and durations do not count', () => {
    const a = order();
    const b = order({ payMs: 40 });
    expect(a.spans[0]!.start).not.toBe(b.spans[0]!.start);
    expect(a.meta.request_id).not.toBe(b.meta.request_id);
    const d = diffTraces(a, b);
    expect(d.changes).toEqual([]);
    expect(d.equal).toBe(true);
  });

  it('an inserted span is one addition, and everything after it still pairs', () => {
    const d = diffTraces(order(), order({ audit: true }));
    expect(types(d)).toEqual(['span-added']);
    expect(paths(d)).toEqual(['OrderService.place > audit']);
    const [headA, headB, ...rest] = formatTraceDiff(d, { context: 1 }).split('\n');
    expect(headA).toMatch(/^--- a {2}request_id=req-\d+ {2}\(6 spans, 16 events\)$/);
    expect(headB).toMatch(/^\+\+\+ b {2}request_id=req-\d+ {2}\(7 spans, 18 events\)$/);
    expect(rest.join('\n')).toBe(
      [
        '@@ spans @@',
        '  OrderService.place [order_1]',
        '    validate',
        '+   audit',
        '    Inventory.reserve',
        '  ⋮ 3 unchanged',
        '@@ entity order_1 (order) @@',
        '  ⋮ 3 unchanged',
        '@@ events without an entity @@',
        '  http → received path=/orders',
        '1 difference: 1 span added',
      ].join('\n'),
    );
  });

  it('a removed span is one removal, with everything under it', () => {
    const d = diffTraces(order({ attempts: 1 }), order({ attempts: 0 }));
    expect(types(d)).toEqual(['span-removed']);
    expect(paths(d)).toEqual(['OrderService.place > Inventory.reserve']);
    // Its child is shown removed too, but is not a second difference.
    expect(d.spans[0]!.children[1]).toMatchObject({ op: 'removed', children: [{ op: 'removed' }] });
  });

  it('a loop that ran 3 times, then 4: the fourth run is the one added', () => {
    const d = diffTraces(order({ attempts: 3 }), order({ attempts: 4 }));
    expect(types(d)).toEqual(['span-added']);
    const place = d.spans[0]!;
    expect(place.children.map((c) => `${c.op} ${(c.a ?? c.b)!.name}`)).toEqual([
      'same validate',
      'same Inventory.reserve',
      'same Inventory.reserve',
      'same Inventory.reserve',
      'added Inventory.reserve',
      'same FraudService.score',
      'same Payment.charge',
    ]);
    // And the other way round: the last one is the removed one.
    const back = diffTraces(order({ attempts: 4 }), order({ attempts: 3 }));
    expect(back.spans[0]!.children[4]!.op).toBe('removed');
    expect(types(back)).toEqual(['span-removed']);
  });

  it('a changed action is one changed event, printed as its pair; the journeys part there', () => {
    const d = diffTraces(order(), order({ fraud: 'flagged', score: 0.9 }));
    expect(d.changes.filter((c) => c.type.startsWith('event'))).toEqual([
      {
        type: 'event-changed',
        entity: ['order_1', 'order_1'],
        a: expect.objectContaining({ stage: 'FraudService.score', action: 'passed' }),
        b: expect.objectContaining({ stage: 'FraudService.score', action: 'flagged' }),
        changes: [
          { field: 'action', a: 'passed', b: 'flagged' },
          { field: 'meta', key: 'score', a: 0.1, b: 0.9 },
        ],
      },
      {
        type: 'event-removed',
        entity: ['order_1', 'order_1'],
        event: expect.objectContaining({ action: 'charged' }),
      },
      {
        type: 'event-added',
        entity: ['order_1', 'order_1'],
        event: expect.objectContaining({ action: 'rejected' }),
      },
    ]);
    expect(paths(d).filter(Boolean)).toEqual([
      'OrderService.place > Payment.charge',
      'OrderService.place > OrderService.reject',
    ]);
    const text = formatTraceDiff(d);
    expect(text).toContain(
      [
        '@@ entity order_1 (order) @@',
        '  validate → ok items=2 order=order_1',
        '- FraudService.score → passed score=0.1',
        '+ FraudService.score → flagged score=0.9',
        '- payment → charged',
        '+ order → rejected',
      ].join('\n'),
    );
    expect(text.split('\n').at(-1)).toBe(
      '5 differences: 1 span removed, 1 span added, 1 event changed, 1 event removed, 1 event added',
    );
  });

  it('changed meta: the keys that differ, and `ignore` takes them out (keys or a predicate)', () => {
    const a = order();
    const b = order({ score: 0.3, extraMeta: true });
    const d = diffTraces(a, b);
    expect(d.changes).toEqual([
      expect.objectContaining({
        type: 'event-changed',
        changes: [
          { field: 'meta', key: 'score', a: 0.1, b: 0.3 },
          { field: 'meta', key: 'model', a: undefined, b: 'v2' },
        ],
      }),
    ]);
    expect(formatTraceDiff(d)).toContain(
      '- FraudService.score → passed score=0.1 model=∅\n+ FraudService.score → passed score=0.3 model=v2',
    );
    expect(diffTraces(a, b, { ignore: ['SCORE', /^mod/] }).equal).toBe(true);
    const seen: string[] = [];
    const byPredicate = diffTraces(a, b, {
      ignore: (item) => {
        if (item.kind === 'meta') seen.push(`${item.side}:${item.key}`);
        return item.kind === 'meta' && item.event?.stage === 'FraudService.score';
      },
    });
    expect(byPredicate.equal).toBe(true);
    expect(seen).toContain('b:model');
    // A predicate can leave out whole events and spans too.
    const noFraud = diffTraces(order(), order({ fraud: 'flagged' }), {
      ignore: (item) =>
        (item.kind === 'event' && item.event.stage !== 'validate') ||
        (item.kind === 'span' && item.span.name !== 'OrderService.place' && item.span.name !== 'validate'),
    });
    expect(noFraud.changes).toEqual([]);
  });

  it('paired entities with different ids: order_1 against order_2', () => {
    const a = order({ id: 'order_1' });
    const b = order({ id: 'order_2' });
    // By id they are two different entities.
    expect(types(diffTraces(a, b))).toEqual(['span-changed', 'entity-removed', 'entity-added']);
    // Paired, their journeys are the same (a meta value that is the entity's own id included).
    const d = diffTraces(a, b, { entities: ['order_1', 'order_2'] });
    expect(d.changes).toEqual([]);
    expect(formatTraceDiff(d)).toContain('@@ entity order_1 ⇄ order_2 (order) @@');
    // And where they part.
    const c = order({ id: 'order_2', fraud: 'flagged' });
    const parted = diffTraces(a, c, { entities: ['order_1', 'order_2'] });
    expect(parted.changes[0]).toMatchObject({
      type: 'span-removed',
      path: ['OrderService.place', 'Payment.charge'],
    });
    expect(parted.changes.find((x) => x.type === 'event-changed')).toMatchObject({
      entity: ['order_1', 'order_2'],
      changes: [{ field: 'action', a: 'passed', b: 'flagged' }],
    });
  });

  it('one trace holding both entities: the spans compared are each entity’s own', () => {
    const both = trace(() => {
      for (const [id, total] of [
        ['order_1', 20],
        ['order_2', 5000],
      ] as const) {
        call(
          'processOrder',
          () => {
            track(id, { total }, { kind: 'order' });
            call('FraudService.score', () => recordEntity(id, 'fraud', total > 1000 ? 'flagged' : 'passed'));
            if (total <= 1000) call('Payment.charge');
          },
          { entity: id },
        );
      }
    });
    const d = diffTraces(both, both, { entities: ['order_1', 'order_2'] });
    expect(d.changes.map((c) => [c.type, 'path' in c ? c.path.join(' > ') : ''])).toEqual([
      ['span-removed', 'processOrder > Payment.charge'],
      ['entity-changed', ''],
      ['event-changed', ''],
    ]);
    expect(d.changes[1]).toMatchObject({ changes: [{ field: 'meta', key: 'total', a: 20, b: 5000 }] });
  });

  it('traces from two builds: names stable, locations different — equal', async () => {
    const dir = join(REPO_ROOT, 'test-output', 'diff-builds');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const source = `// @stepmark
import { step, track } from 'stepmark';
export class Checkout {
  run(id: string) { track(id, {}, { kind: 'order' }); this.price(id); return this.pay(id); }
  price(id: string) { step('priced', { total: 12 }); }
  pay(id: string) { step('paid'); return id; }
}
`;
    const traces: Trace[] = [];
    for (const [n, text] of [
      source,
      source.replace('export class', '// a new comment\n\n\nexport class'),
    ].entries()) {
      writeFileSync(join(dir, `checkout${n}.ts`), text);
      await build({
        entryPoints: [join(dir, `checkout${n}.ts`)],
        bundle: true,
        format: 'esm',
        platform: 'node',
        outfile: join(dir, `checkout${n}.mjs`),
        external: ['stepmark', 'stepmark/*'],
        absWorkingDir: REPO_ROOT,
        logLevel: 'silent',
        plugins: [stepmarkPlugin()],
      });
      const { Checkout } = await import(pathToFileURL(join(dir, `checkout${n}.mjs`)).href);
      traces.push(captureSync(() => new Checkout().run('order_7')).trace);
    }
    const [a, b] = traces as [Trace, Trace];
    expect(a.spans.map((s) => s.location)).not.toEqual(b.spans.map((s) => s.location));
    expect(a.spans.map((s) => s.name)).toEqual(['Checkout.run', 'Checkout.price', 'Checkout.pay']);
    expect(diffTraces(a, b).changes).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a missing span early in a long list of siblings is one removal, never a cascade', () => {
    const many = (skip: number[]) =>
      trace(() =>
        call('batch', () => {
          for (let i = 0; i < 300; i++) if (!skip.includes(i)) call(i % 3 === 0 ? 'check' : `step${i % 7}`);
        }),
      );
    const d = diffTraces(many([]), many([1, 150, 299]));
    expect(types(d)).toEqual(['span-removed', 'span-removed', 'span-removed']);
  });

  it('thousands of siblings with scattered edits (past the table size): still minimal', () => {
    const spans = (names: string[]) => ({
      meta: {},
      entities: {},
      events: [],
      dropped: 0,
      spans: [
        { span_id: 'root', name: 'root', start: '', status: 'ok' as const },
        ...names.map((name, i) => ({
          span_id: `s${i}`,
          parent_id: 'root',
          name,
          start: '',
          status: 'ok' as const,
        })),
      ],
    });
    const base = Array.from({ length: 3000 }, (_, i) => `f${i % 50}`);
    const edited = base.slice();
    edited.splice(2500, 1);
    edited.splice(1500, 0, 'inserted');
    edited.splice(100, 1);
    edited.splice(10, 0, 'x', 'y');
    const d = diffTraces(spans(base), spans(edited));
    expect(d.changes.filter((c) => c.type === 'span-added')).toHaveLength(3);
    expect(d.changes.filter((c) => c.type === 'span-removed')).toHaveLength(2);
  });

  it('a span that failed in one trace only, and durations when asked', () => {
    const d = diffTraces(order(), order({ failPayment: true }));
    expect(d.changes).toEqual([
      expect.objectContaining({
        type: 'span-changed',
        path: ['OrderService.place', 'Payment.charge'],
        changes: [{ field: 'status', a: 'ok', b: 'error' }],
      }),
      expect.objectContaining({ type: 'event-removed' }),
    ]);
    expect(formatTraceDiff(d)).toContain('-   Payment.charge (ok)\n+   Payment.charge ✗ card declined');
    const slow = diffTraces(order({ payMs: 10 }), order({ payMs: 35 }), { durations: { slowerBy: 3 } });
    expect(slow.changes).toEqual([
      expect.objectContaining({ type: 'span-changed', changes: [{ field: 'duration', a: 10, b: 35 }] }),
    ]);
    expect(diffTraces(order({ payMs: 10 }), order({ payMs: 25 }), { durations: { slowerBy: 3 } }).equal).toBe(
      true,
    );
  });

  it('options it cannot use are a TypeError that says which', () => {
    const a = order();
    expect(() => diffTraces(a, a, { entities: ['order_1', 'nope'] })).toThrow(TypeError);
    expect(() => diffTraces(a, a, { entities: ['order_1', 'nope'] })).toThrow(
      'stepmark: diffTraces: trace b has no entity "nope"',
    );
    expect(() => diffTraces(a, a, { durations: { slowerBy: 0.5 } })).toThrow(/slowerBy/);
    expect(() => diffTraces(a, a, { ignore: 'score' as never })).toThrow(/`ignore` must be/);
  });

  it('names the option or argument at fault, with a code; a misspelt option is not ignored', () => {
    const a = order();
    const fault = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        const { code, option } = error as { code?: string; option?: string };
        return [code, option];
      }
      throw new Error('no error');
    };
    const INVALID = 'ERR_STEPMARK_INVALID_OPTION';
    const UNKNOWN = 'ERR_STEPMARK_UNKNOWN_OPTION';
    expect(fault(() => diffTraces(a, a, { entitys: ['order_1', 'order_1'] } as never))).toEqual([
      UNKNOWN,
      'entitys',
    ]);
    expect(fault(() => diffTraces(a, a, { durations: { slowrBy: 2 } } as never))).toEqual([
      UNKNOWN,
      'durations.slowrBy',
    ]);
    expect(fault(() => diffTraces(a, a, { spanEvents: 'yes' } as never))).toEqual([INVALID, 'spanEvents']);
    expect(fault(() => diffTraces(a, a, { ignore: 3 } as never))).toEqual([INVALID, 'ignore']);
    expect(fault(() => diffTraces(a, a, { durations: { slowerBy: 0 } }))).toEqual([
      INVALID,
      'durations.slowerBy',
    ]);
    expect(fault(() => diffTraces(a, a, { entities: ['nope', 'order_1'] }))).toEqual([INVALID, 'entities']);
    expect(fault(() => diffTraces(a, a, 5 as never))).toEqual([INVALID, 'options']);
    expect(() => diffTraces(a, a, { entitys: [] } as never)).toThrow('unknown option `entitys`');
    // what is not a trace (an array of traces, an object of something else) is not compared as an empty one
    expect(fault(() => diffTraces([a, a] as never, a))).toEqual(['ERR_STEPMARK_INVALID_ARGUMENT', undefined]);
    expect(() => diffTraces(a, { name: 'x' } as never)).toThrow(/trace b is not a trace/);
    expect(diffTraces({ entities: {}, events: [] } as never, { spans: [] } as never).equal).toBe(true);
  });
});

describe('formatTraceDiff', () => {
  it('escapes every recorded string: one string never becomes two lines, no escape sequence gets through', () => {
    const evil = '\u001b[2J\u001b]0;owned\u0007line\nbreak\u009b31m\u202e';
    const a = trace(() => call(evil, () => record(evil, evil, { [evil]: evil })));
    const b = trace(() => call(evil, () => record(evil, `${evil}!`, { [evil]: `${evil}!` })));
    for (const color of [false, true]) {
      const text = formatTraceDiff(diffTraces(a, b), { color, labels: [evil, 'b'] });
      // With colour, only our own SGR sequences.
      const stripped = text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');
      expect(stripped).not.toMatch(new RegExp(CONTROL));
      expect(text.split('\n')).toHaveLength(8);
    }
    expect(formatTraceDiff(diffTraces(a, b))).toContain(
      '\\x1b[2J\\x1b]0;owned\\x07line\\nbreak\\u009b31m\\u202e',
    );
  });

  it('shows what changed in an entity itself, and an entity found on one side only', () => {
    const entity = (id: string, total: number) =>
      trace(() => call('place', () => track(id, { total }, { kind: 'order' }), { entity: id }));
    const changed = formatTraceDiff(
      diffTraces(entity('order_1', 20), entity('order_2', 5000), { entities: ['order_1', 'order_2'] }),
    );
    expect(changed).toContain(
      '@@ entity order_1 ⇄ order_2 (order) @@\n- order_1 (order) total=20\n+ order_2 (order) total=5000\n',
    );
    const oneSided = formatTraceDiff(diffTraces(entity('order_1', 20), entity('order_2', 20)));
    expect(oneSided).toContain('@@ entity order_1 (order), only in a @@');
    expect(oneSided).toContain('@@ entity order_2 (order), only in b @@');
    const rows = diffLines(diffTraces(entity('order_1', 20), entity('order_2', 20)));
    expect(rows.filter((r) => r.section === 'entity').map((r) => r.journey)).toEqual(['removed', 'added']);
  });

  it('colours removed lines red, added ones green, and what changed in bold', () => {
    const text = formatTraceDiff(diffTraces(order(), order({ fraud: 'flagged' })), { color: true });
    expect(text).toContain(
      '\u001b[31m- \u001b[0m\u001b[31mFraudService.score\u001b[0m\u001b[31;2m → \u001b[0m\u001b[31;1mpassed\u001b[0m',
    );
    expect(text).toContain('\u001b[32;1mflagged\u001b[0m');
  });
});

describe('toMatchTrace', () => {
  it('passes for the same journey, and fails with the formatted diff', () => {
    const expected = order();
    expect(order({ payMs: 9 })).toMatchTrace(expected);
    expect({ trace: order() }).toMatchTrace(expected);
    let message = '';
    try {
      expect(order({ fraud: 'flagged' })).toMatchTrace(expected);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('expected the trace to match');
    expect(message).toContain('--- expected');
    expect(message).toContain('+++ received');
    expect(message).toContain(
      '- FraudService.score → passed score=0.1\n+ FraudService.score → flagged score=0.1',
    );
    expect(order({ fraud: 'flagged' })).not.toMatchTrace(expected);
    expect(() => expect(order()).not.toMatchTrace(expected)).toThrow(/expected the traces to differ/);
    expect(order({ id: 'order_9' })).toMatchTrace(expected, { entities: ['order_1', 'order_9'] });
    expect(() => expect('nope').toMatchTrace(expected)).toThrow(/expected a stepmark trace/);
  });
});

afterAll(() => rmSync(join(REPO_ROOT, 'test-output', 'diff-builds'), { recursive: true, force: true }));
