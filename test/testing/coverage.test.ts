// Decision coverage over many traces: a real esbuild build with the catalog option, the built
// code run in several traces, the report computed and printed.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { captureSync, type Trace } from 'stepmark';
import { stepmark as stepmarkPlugin } from 'stepmark/esbuild-plugin';
import { decisionCoverage, formatDecisionCoverage, meetsMinimum, stageCoverage } from 'stepmark/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const DIR = join(REPO_ROOT, 'test-output', 'decision-coverage');

const A = `// @stepmark
import { record, step } from 'stepmark';
export function handle(kind: string) {
  step(kind === 'x' ? 'accepted' : 'refused');
  step(kind);
  record('audit', 'logged');
}
`;
const B = `// @stepmark
import { step } from 'stepmark';
export function handle(n: number) {
  if (n > 0) step('positive');
  return n;
}
export function unused() {
  step('never');
}
`;
const MAIN = `export { handle as handleA } from './a';
export { handle as handleB } from './b';
`;

let catalog: string;
let traces: Trace[];

beforeAll(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, 'src'), { recursive: true });
  writeFileSync(join(DIR, 'src/a.ts'), A);
  writeFileSync(join(DIR, 'src/b.ts'), B);
  writeFileSync(join(DIR, 'src/main.ts'), MAIN);
  await build({
    entryPoints: [join(DIR, 'src/main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: join(DIR, 'main.mjs'),
    external: ['stepmark', 'stepmark/*'],
    absWorkingDir: DIR,
    logLevel: 'silent',
    plugins: [stepmarkPlugin({ root: DIR, catalog: 'catalog.json' })],
  });
  catalog = readFileSync(join(DIR, 'catalog.json'), 'utf8');
  const app = await import(pathToFileURL(join(DIR, 'main.mjs')).href);
  traces = [
    captureSync(() => app.handleA('x')).trace,
    captureSync(() => app.handleA('x')).trace,
    captureSync(() => app.handleB(0)).trace,
  ];
});

afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe('decision coverage over many traces', () => {
  it('counts each site and each literal action, per file and in total', () => {
    const report = decisionCoverage(catalog, traces);
    expect(report.traces).toBe(3);
    expect(report.summary).toEqual({
      sites: { reached: 5, total: 8, percent: 62.5 },
      decisions: { reached: 3, total: 6, percent: 50 },
    });
    const [a, b] = report.files;
    expect(a!.file).toBe('src/a.ts');
    expect(a!.sites).toEqual([
      { name: 'handle', kind: 'function', file: 'src/a.ts', line: 3, column: 8, reached: true, count: 2 },
      {
        name: 'handle',
        kind: 'step',
        file: 'src/a.ts',
        line: 4,
        column: 3,
        reached: true,
        count: 2,
        actions: [
          { action: 'accepted', count: 2 },
          { action: 'refused', count: 0 },
        ],
        unreached_actions: ['refused'],
      },
      // step(kind): the action is computed; what was recorded there counts for it.
      {
        name: 'handle',
        kind: 'step',
        file: 'src/a.ts',
        line: 5,
        column: 3,
        reached: true,
        count: 2,
        actions: [],
        unreached_actions: [],
        dynamic: true,
      },
      {
        name: 'audit',
        kind: 'record',
        file: 'src/a.ts',
        line: 6,
        column: 3,
        reached: true,
        count: 2,
        actions: [{ action: 'logged', count: 2 }],
        unreached_actions: [],
      },
    ]);
    // b's handle ran once: its spans are told from a's by their location, not mixed by name.
    expect(b!.sites.map((s) => [s.name, s.kind, s.line, s.reached, s.count, s.unreached_actions])).toEqual([
      ['handle', 'function', 3, true, 1, undefined],
      ['handle', 'step', 4, false, 0, ['positive']],
      ['unused', 'function', 7, false, 0, undefined],
      ['unused', 'step', 8, false, 0, ['never']],
    ]);
    expect(b!.summary.decisions).toEqual({ reached: 0, total: 2, percent: 0 });
    // One trace's stageCoverage reads the same way.
    const one = stageCoverage(traces[2]!, { catalog: JSON.parse(catalog) });
    expect(one.sites.filter((s) => s.reached).map((s) => `${s.site.file}:${s.site.line}`)).toEqual([
      'src/b.ts:3',
    ]);
  });

  it('options it cannot use are a TypeError naming the option', () => {
    const report = decisionCoverage(catalog, traces);
    const [INVALID, UNKNOWN] = ['ERR_STEPMARK_INVALID_OPTION', 'ERR_STEPMARK_UNKNOWN_OPTION'];
    for (const [call, code, option] of [
      [() => formatDecisionCoverage(report, { show: 'some' as never }), INVALID, 'show'],
      [() => formatDecisionCoverage(report, { min: 120 }), INVALID, 'min'],
      [() => formatDecisionCoverage(report, { colour: true } as never), UNKNOWN, 'colour'],
      [() => decisionCoverage(catalog, traces, { site: () => true } as never), UNKNOWN, 'site'],
      [() => decisionCoverage(catalog, traces, { sites: 'src/' as never }), INVALID, 'sites'],
    ] as const)
      expect(call).toThrow(expect.objectContaining({ code, option }));
  });

  it('prints the report, only what is missing when asked, and says when it is under a minimum', () => {
    const report = decisionCoverage(catalog, traces);
    expect(formatDecisionCoverage(report)).toBe(
      [
        'decision coverage · 3 traces · decisions 3/6 50.0% · sites 5/8 62.5%',
        'src/a.ts · decisions 3/4 75.0% · sites 4/4 100.0%',
        '  ✓ handle  3:8  ×2',
        '  ✓ handle  4:3  ✓ accepted ×2  ✗ refused',
        '  ✓ handle  5:3  ×2',
        '  ✓ audit   6:3  ✓ logged ×2',
        'src/b.ts · decisions 0/2 0.0% · sites 1/4 25.0%',
        '  ✓ handle  3:8   ×1',
        '  ✗ handle  4:14  never reached',
        '  ✗ unused  7:8   never reached',
        '  ✗ unused  8:3   never reached',
      ].join('\n'),
    );
    expect(formatDecisionCoverage(report, { show: 'missing', min: 60 }).split('\n')).toEqual([
      'decision coverage · 3 traces · decisions 3/6 50.0% · sites 5/8 62.5%',
      'src/a.ts · decisions 3/4 75.0% · sites 4/4 100.0%',
      '  ✓ handle  4:3  ✓ accepted ×2  ✗ refused',
      'src/b.ts · decisions 0/2 0.0% · sites 1/4 25.0%',
      '  ✗ handle  4:14  never reached',
      '  ✗ unused  7:8   never reached',
      '  ✗ unused  8:3   never reached',
      'decision coverage 50.0% is below the minimum of 60%',
    ]);
    expect(meetsMinimum(report, 50)).toBe(true);
    expect(meetsMinimum(report, 50.1)).toBe(false);
    // A catalog without step sites: the minimum is about sites.
    const functionsOnly = {
      stepmark_catalog: 1 as const,
      sites: JSON.parse(catalog).sites.filter((s: { kind: string }) => s.kind === 'function'),
    };
    const sitesOnly = decisionCoverage(functionsOnly, traces);
    expect(sitesOnly.summary.decisions.percent).toBeNull();
    expect(formatDecisionCoverage(sitesOnly, { min: 90 }).split('\n').at(-1)).toBe(
      'site coverage (the catalog has no step sites) 66.7% is below the minimum of 90%',
    );
  });
});
