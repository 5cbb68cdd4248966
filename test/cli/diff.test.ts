// `stepmark diff`: the real binary on real trace files — exit codes (0 equal, 1 different,
// 2 error naming the file), picking traces out of an NDJSON dump, standard input, colours, --html.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as stepmark from 'stepmark';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, stepmark as run, stepmarkAsync } from './run.js';

const dir = join(root, 'test-output', 'cli-diff');
const ESC = '\u001b[';

/** An order's request: validated, scored, charged or rejected. */
function order(
  id: string,
  options: { flagged?: boolean; retry?: boolean; slow?: boolean } = {},
): stepmark.Trace {
  let now = 1_000;
  function charge(): void {
    const span = stepmark.enter();
    now += options.slow ? 50 : 5;
    stepmark.recordEntity(id, 'payment', 'charged', { amount: 42 });
    span();
  }
  function reserve(): void {
    const span = stepmark.enter();
    now += 1;
    span();
  }
  function placeOrder(): void {
    stepmark.record('http', 'received', { path: '/orders' });
    const span = stepmark.enterEntity(id);
    stepmark.track(id, { total: 42 }, { kind: 'order' });
    stepmark.recordEntity(id, 'validate', 'passed', { items: 3 });
    reserve();
    if (options.retry) reserve();
    stepmark.recordEntity(id, 'fraud_check', options.flagged ? 'flagged' : 'cleared', { order: id });
    if (options.flagged) stepmark.recordEntity(id, 'order', 'rejected');
    else charge();
    span();
  }
  return stepmark.captureSync(placeOrder, { clock: () => now, meta: { request_id: `req-${id}` } }).trace;
}

const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};

let ok1: string;
let ok2: string;
let rejected: string;
let dump: string;

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  ok1 = file('ok1.json', order('order_1'));
  ok2 = file('ok2.json', order('order_1', { retry: true }));
  rejected = file('rejected.json', order('order_2', { flagged: true }));
  // A flight recorder dump: one trace per line, several orders.
  dump = file(
    'dump.ndjson',
    `${[order('order_1'), order('order_2', { flagged: true }), order('order_3')].map((t) => JSON.stringify(t)).join('\n')}\n`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stepmark diff', () => {
  it('exits 0 for two equal traces, 1 for different ones, and prints where they part', () => {
    const same = run(['diff', ok1, file('ok1-again.json', order('order_1', { slow: true }))]);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    expect(same.stdout.trimEnd().split('\n').at(-1)).toBe('no differences');

    const retried = run(['diff', ok1, ok2]);
    expect(retried.code).toBe(1);
    expect(retried.stdout).not.toContain(ESC); // a pipe: no colours
    expect(retried.stdout).toBe(
      [
        `--- ${ok1}  request_id=req-order_1  (3 spans, 10 events)`,
        `+++ ${ok2}  request_id=req-order_1  (4 spans, 12 events)`,
        '@@ spans @@',
        '  placeOrder [order_1]',
        '    reserve',
        '+   reserve',
        '    charge',
        '@@ entity order_1 (order) @@',
        '  ⋮ 3 unchanged',
        '@@ events without an entity @@',
        '  http → received path=/orders',
        '1 difference: 1 span added',
        '',
      ].join('\n'),
    );
  });

  it('--entity pairs two orders, and picks their traces out of an NDJSON dump', () => {
    const r = run(['diff', ok1, rejected, '--entity', 'order_1:order_2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        '@@ entity order_1 ⇄ order_2 (order) @@',
        '  validate → passed items=3',
        '- fraud_check → cleared order=order_1',
        '+ fraud_check → flagged order=order_2',
        '- payment → charged amount=42',
        '+ order → rejected',
      ].join('\n'),
    );
    // The same from the dump, given twice: each side takes the one trace holding its entity.
    const fromDump = run(['diff', dump, dump, '--entity=order_1:order_2', '--no-color']);
    expect(fromDump.code).toBe(1);
    expect(fromDump.stdout.split('\n').slice(2)).toEqual(r.stdout.split('\n').slice(2));
    // Standard input as one side.
    const stdin = run(['diff', '-', rejected, '--entity', 'order_3:order_2'], {
      input: readFileSync(dump, 'utf8'),
    });
    expect(stdin.code).toBe(1);
    expect(stdin.stdout.split('\n')[0]).toBe('--- <stdin>  request_id=req-order_3  (3 spans, 10 events)');
    // One id: the same entity on both sides.
    expect(run(['diff', dump, ok1, '--entity', 'order_1']).code).toBe(0);
  });

  it('--ignore and --slower-by change what counts', () => {
    const slow = file('slow.json', order('order_1', { slow: true }));
    expect(run(['diff', ok1, slow]).code).toBe(0);
    const r = run(['diff', ok1, slow, '--slower-by', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('-   charge 5.00ms\n+   charge 50.0ms');
    const amount = file(
      'amount.json',
      JSON.parse(readFileSync(ok1, 'utf8').replace('"amount": 42', '"amount": 43')),
    );
    expect(run(['diff', ok1, amount]).code).toBe(1);
    expect(run(['diff', ok1, amount, '--ignore', 'items,amount']).code).toBe(0);
  });

  it('colours for FORCE_COLOR and --color, none for --no-color', () => {
    const forced = run(['diff', ok1, ok2], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(`${ESC}32m+ `);
    expect(run(['diff', ok1, ok2, '--color']).stdout).toContain(`${ESC}36m@@ spans @@`);
    expect(run(['diff', ok1, ok2, '--no-color'], { env: { FORCE_COLOR: '1' } }).stdout).not.toContain(ESC);
  });

  it('exits 2 on an error, naming the file', async () => {
    const cases: [string[], RegExp][] = [
      [
        [ok1, join(dir, 'missing.json')],
        /^stepmark diff: .*missing\.json: cannot read it \(no such file\)\n$/,
      ],
      [
        [file('bad-line.ndjson', `${JSON.stringify(order('order_1'))}\n{"spans": 3}\n`), ok1],
        /^stepmark diff: .*bad-line\.ndjson: line 2: "spans" is not an array\n$/,
      ],
      [
        [dump, ok1],
        /^stepmark diff: .*dump\.ndjson: holds 3 traces: pass --entity to pick the one to compare\n$/,
      ],
      [
        [dump, ok1, '--entity', 'order_9:order_1'],
        /^stepmark diff: .*dump\.ndjson: no trace holds entity "order_9"\n$/,
      ],
      [
        [ok1, dump, '--entity', 'order_1:order_9'],
        /^stepmark diff: .*dump\.ndjson: no trace holds entity "order_9"\n$/,
      ],
      [
        [
          file('twice.ndjson', `${JSON.stringify(order('order_1'))}\n${JSON.stringify(order('order_1'))}\n`),
          ok1,
          '--entity',
          'order_1',
        ],
        /^stepmark diff: .*twice\.ndjson: 2 traces hold entity "order_1" \(request req-order_1, req-order_1\): keep the one to compare/,
      ],
    ];
    // Usage errors too: the usage follows the message.
    const usage = /^stepmark diff: .+\n\nUsage: stepmark diff/;
    cases.push(
      [[ok1], usage],
      [['-', '-'], usage],
      [[ok1, ok2, '--bogus'], usage],
      [[ok1, ok2, '--slower-by', 'x'], usage],
    );
    const results = await Promise.all(cases.map(([args]) => stepmarkAsync(['diff', ...args])));
    results.forEach((r, i) => {
      expect(r.stderr, cases[i]![0].join(' ')).toMatch(cases[i]![1]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
    });
    // A file name is printed escaped like any other text.
    const odd = run(['diff', ok1, join(dir, 'a\u001b[31mb\nc.json')]);
    expect(odd.stderr).toContain('a\\x1b[31mb\\nc.json: cannot read it');
    expect(odd.code).toBe(2);
  });

  it('--html writes the side-by-side page and still exits 1 when they differ', () => {
    const out = join(dir, 'diff.html');
    const r = run(['diff', ok1, rejected, '--entity', 'order_1:order_2', '--html', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^stepmark diff: wrote .*diff\.html \(\d+ differences: .*span removed.*\)\n$/);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none';.*connect-src 'none'/,
    );
    expect(html).toContain('<title>stepmark diff · ok1.json ⇄ rejected.json</title>');
    expect(run(['diff', '-h']).stdout).toMatch(/^Usage: stepmark diff/);
  });
});
