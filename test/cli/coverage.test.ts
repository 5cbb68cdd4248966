// `stepmark coverage`: the real binary, a catalog from a real esbuild build, traces of the built
// code as a flight-recorder-style NDJSON dump (streamed: a dump larger than the heap it is given
// still works), --json, --min, errors naming their file.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { captureSync } from 'stepmark';
import { stepmark as stepmarkPlugin } from 'stepmark/esbuild-plugin';
import type { CoverageReport } from 'stepmark/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, stepmark as run } from './run.js';

const dir = join(root, 'test-output', 'cli-coverage');

const SOURCE = `// @stepmark
import { stepEntity, track } from 'stepmark';
export class Orders {
  place(id: string, score: number) {
    track(id, { score }, { kind: 'order' });
    if (this.risky(id, score)) return 'rejected';
    this.ship(id);
    return 'placed';
  }
  risky(id: string, score: number) {
    const flagged = score > 0.7;
    stepEntity(id, flagged ? 'flagged' : score > 0.5 ? 'review' : 'cleared', { score });
    return flagged;
  }
  ship(id: string) {
    stepEntity(id, 'shipped');
  }
  refund(id: string) {
    stepEntity(id, 'refunded');
  }
}
`;

let catalog: string;
let dump: string;
let lines: string[];

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src/orders.ts'), SOURCE);
  await build({
    entryPoints: [join(dir, 'src/orders.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: join(dir, 'orders.mjs'),
    external: ['stepmark', 'stepmark/*'],
    absWorkingDir: dir,
    logLevel: 'silent',
    plugins: [stepmarkPlugin({ root: dir, catalog: 'catalog.json' })],
  });
  catalog = join(dir, 'catalog.json');
  const { Orders } = await import(pathToFileURL(join(dir, 'orders.mjs')).href);
  // Cleared, flagged, cleared: "review" and "refunded" never happen.
  lines = [0.1, 0.9, 0.2].map((score, i) =>
    JSON.stringify(captureSync(() => new Orders().place(`order_${i}`, score)).trace),
  );
  dump = join(dir, 'dump.ndjson');
  writeFileSync(dump, `${lines.join('\n')}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stepmark coverage', () => {
  it('reports each site, its actions and the percentages of a dump, and fails under --min', () => {
    const r = run(['coverage', '--catalog', catalog, dump]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'decision coverage · 3 traces · decisions 3/5 60.0% · sites 5/7 71.4%',
        'src/orders.ts · decisions 3/5 60.0% · sites 5/7 71.4%',
        '  ✓ Orders.place   4:3   ×3',
        '  ✓ Orders.risky   10:3  ×3',
        '  ✓ Orders.risky   12:5  ✓ cleared ×2  ✓ flagged ×1  ✗ review',
        '  ✓ Orders.ship    15:3  ×2',
        '  ✓ Orders.ship    16:5  ✓ shipped ×2',
        '  ✗ Orders.refund  18:3  never reached',
        '  ✗ Orders.refund  19:5  never reached',
        '',
      ].join('\n'),
    );
    const low = run(['coverage', '--catalog', catalog, dump, '--min', '80', '--missing']);
    expect(low.code).toBe(1);
    expect(low.stdout.trimEnd().split('\n')).toEqual([
      'decision coverage · 3 traces · decisions 3/5 60.0% · sites 5/7 71.4%',
      'src/orders.ts · decisions 3/5 60.0% · sites 5/7 71.4%',
      '  ✓ Orders.risky   12:5  ✓ cleared ×2  ✓ flagged ×1  ✗ review',
      '  ✗ Orders.refund  18:3  never reached',
      '  ✗ Orders.refund  19:5  never reached',
      'decision coverage 60.0% is below the minimum of 80%',
    ]);
    expect(run(['coverage', '--catalog', catalog, dump, '--min=60%']).code).toBe(0);
  });

  it('--json prints the same, with the unreached actions by name; several inputs and stdin add up', () => {
    const r = run(['coverage', '--catalog', catalog, '--json', dump, '-'], { input: lines[0] });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as CoverageReport;
    expect(report.traces).toBe(4);
    expect(report.summary).toEqual({
      sites: { reached: 5, total: 7, percent: 71.4 },
      decisions: { reached: 3, total: 5, percent: 60 },
    });
    const risky = report.files[0]!.sites.find((s) => s.kind === 'step' && s.name === 'Orders.risky')!;
    expect(risky).toEqual({
      name: 'Orders.risky',
      kind: 'step',
      file: 'src/orders.ts',
      line: 12,
      column: 5,
      reached: true,
      count: 4,
      actions: [
        { action: 'cleared', count: 3 },
        { action: 'flagged', count: 1 },
        { action: 'review', count: 0 },
      ],
      unreached_actions: ['review'],
    });
  });

  it('streams its inputs: a dump far larger than the heap it is given', () => {
    // ~12,000 traces, ~30 MB: read whole, the text alone would not fit in a 24 MB heap.
    const big = join(dir, 'big.ndjson');
    const chunk = `${lines.join('\n')}\n`;
    const padded = chunk.replace(/"meta":\{\}/g, `"meta":{"pad":"${'x'.repeat(1500)}"}`);
    writeFileSync(big, padded.repeat(4000));
    expect(statSync(big).size).toBeGreaterThan(28_000_000);
    const r = run(['coverage', '--catalog', catalog, big, '--json'], { node: ['--max-old-space-size=24'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as CoverageReport).traces).toBe(12_000);
  }, 60_000);

  it('--html writes the report page', () => {
    const out = join(dir, 'coverage.html');
    const r = run(['coverage', '--catalog', catalog, dump, '--html', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`stepmark coverage: wrote ${out}\n`);
    expect(readFileSync(out, 'utf8')).toContain('<title>stepmark coverage</title>');
  });

  it('exits 2 on an error, naming the file', () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${lines[0]}\n{"entities": []}\n`);
    const wrong = join(dir, 'wrong-catalog.json');
    writeFileSync(wrong, '{"stepmark_catalog": 9, "sites": []}');
    const cases: [string[], RegExp][] = [
      [
        ['--catalog', catalog, bad],
        /^stepmark coverage: .*bad\.ndjson: line 2: "entities" is not an object\n$/,
      ],
      [
        ['--catalog', join(dir, 'nope.json'), dump],
        /^stepmark coverage: .*nope\.json: cannot read it \(no such file\)\n$/,
      ],
      [
        ['--catalog', wrong, dump],
        /^stepmark coverage: .*wrong-catalog\.json: stage catalog version 9 is not supported/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = run(['coverage', ...args]);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.code).toBe(2);
    }
    const usage = run(['coverage', dump]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(
      /^stepmark coverage: missing --catalog <catalog\.json>\n\nUsage: stepmark coverage/,
    );
  });
});
