/**
 * The stage catalog end to end: a real esbuild build with `stepmark/esbuild-plugin` writes it
 * (`catalog` option), the built app runs in a trace, and the runtime compares the trace with the
 * catalog (stages never reached, actions never taken).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import * as stepmark from 'stepmark';
import { stepmark as stepmarkPlugin } from 'stepmark/esbuild-plugin';
import { clearCatalog, unreachedStages, unseenActions } from 'stepmark/testing';
import { stepmark as stepmarkVite } from 'stepmark/vite';
import { build as viteBuild } from 'vite';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = scratchDir('catalog');
const CATALOG = join(OUT, 'stepmark-catalog.json');
const FILE = 'test/catalog/app/orders.ts';

let app: { handle(orders: { id: string; total: number; score: number }[]): unknown[] };

beforeAll(async () => {
  await build({
    entryPoints: [join(ROOT, 'test/catalog/app/main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: join(OUT, 'app.mjs'),
    external: ['stepmark', 'stepmark/*'],
    absWorkingDir: ROOT,
    logLevel: 'silent',
    plugins: [stepmarkPlugin({ catalog: relative(ROOT, CATALOG) })],
  });
  app = await import(pathToFileURL(join(OUT, 'app.mjs')).href);
});

afterEach(() => clearCatalog());

// One retry: dist/ is shared and may be rebuilt by someone else while it is imported.
describe('stage catalog', { retry: 1 }, () => {
  it('lists every instrumented function and explicit call site, with kinds, positions and literal actions', () => {
    const catalog = JSON.parse(readFileSync(CATALOG, 'utf8'));
    expect(catalog).toEqual({
      stepmark_catalog: 1,
      sites: [
        { name: 'FraudService.check', kind: 'method', file: FILE, line: 11, column: 3 },
        {
          name: 'FraudService.check',
          kind: 'step',
          file: FILE,
          line: 13,
          column: 5,
          call: 'stepEntity',
          actions: ['cleared', 'flagged'],
          dynamic: false,
        },
        { name: 'Inventory.reserve', kind: 'method', file: FILE, line: 19, column: 3 },
        {
          name: 'Inventory.reserve',
          kind: 'step',
          file: FILE,
          line: 20,
          column: 5,
          call: 'stepEntity',
          actions: ['reserved'],
          dynamic: false,
        },
        { name: 'pricing.quote', kind: 'method', file: FILE, line: 25, column: 3 },
        { name: 'charge', kind: 'function', file: FILE, line: 30, column: 8 },
        {
          name: 'charge',
          kind: 'step',
          file: FILE,
          line: 31,
          column: 3,
          call: 'stepEntity',
          actions: ['charged'],
          dynamic: false,
        },
        {
          name: 'charge',
          kind: 'step',
          file: FILE,
          line: 32,
          column: 3,
          call: 'step',
          actions: [],
          dynamic: true,
        },
        { name: 'placeOrder', kind: 'function', file: FILE, line: 36, column: 8 },
        {
          name: 'fulfilment',
          kind: 'record',
          file: FILE,
          line: 39,
          column: 5,
          call: 'recordEntity',
          actions: ['blocked', 'held'],
          dynamic: false,
        },
        {
          name: 'fulfilment',
          kind: 'record',
          file: FILE,
          line: 42,
          column: 3,
          call: 'record',
          actions: ['started'],
          dynamic: false,
        },
        {
          name: 'handle',
          kind: 'enter',
          file: 'test/catalog/app/main.ts',
          line: 5,
          column: 16,
          call: 'enter',
        },
      ].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line)),
    });
  });

  it('is written the same by a Vite build', async () => {
    const path = join(OUT, 'vite-catalog.json');
    await viteBuild({
      root: ROOT,
      configFile: false,
      logLevel: 'silent',
      plugins: [stepmarkVite({ catalog: relative(ROOT, path) })],
      build: {
        write: false,
        lib: { entry: join(ROOT, 'test/catalog/app/main.ts'), formats: ['es'] },
        rollupOptions: { external: [/^stepmark/] },
      },
    });
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(CATALOG, 'utf8'));
  });

  it('is written at process exit by hosts that compile file by file (Babel)', () => {
    const path = join(OUT, 'babel-catalog.json');
    const script = `
      const babel = require('@babel/core');
      const fs = require('node:fs');
      const file = ${JSON.stringify(join(ROOT, FILE))};
      babel.transformSync(fs.readFileSync(file, 'utf8'), {
        filename: file, babelrc: false, configFile: false,
        presets: ['@babel/preset-typescript'],
        plugins: [[require('stepmark/babel-plugin').default, { root: ${JSON.stringify(ROOT)}, catalog: ${JSON.stringify(path)} }]],
      });
    `;
    execFileSync(process.execPath, ['-e', script], { cwd: ROOT });
    const written = JSON.parse(readFileSync(path, 'utf8'));
    const esbuildSites = JSON.parse(readFileSync(CATALOG, 'utf8')).sites.filter(
      (s: { file: string }) => s.file === FILE,
    );
    expect(written).toEqual({ stepmark_catalog: 1, sites: esbuildSites });
  });

  it('shows the stages an order rejected at the fraud check never reached', async () => {
    stepmark.loadCatalog(readFileSync(CATALOG, 'utf8'));
    const { result, trace } = await stepmark.capture(() =>
      app.handle([{ id: 'order_42', total: 10, score: 0.9 }]),
    );
    expect(result).toEqual(['rejected']);
    expect(unreachedStages(trace)).toEqual(['Inventory.reserve', 'charge', 'pricing.quote']);
    expect(unreachedStages(trace, { entity: 'order_42' })).toEqual([
      'Inventory.reserve',
      'charge',
      'handle',
      'pricing.quote',
    ]);
    expect(unseenActions(trace)).toEqual({
      'FraudService.check': ['cleared'],
      'Inventory.reserve': ['reserved'],
      charge: ['charged'],
      fulfilment: ['blocked', 'started'],
    });
    expect(stepmark.formatCoverage(trace, { entity: 'order_42', sites: (s) => s.file === FILE })).toBe(
      [
        'stages reached: 3 of 6 (order_42)',
        `  ✓ FraudService.check  ${FILE}:11:3  ✗ cleared  ✓ flagged`,
        `  ✓ placeOrder          ${FILE}:36:8`,
        `  ✓ fulfilment          ${FILE}:39:5  ✗ blocked  ✓ held  ✗ started`,
        `  ✗ Inventory.reserve   ${FILE}:19:3  never reached`,
        `  ✗ pricing.quote       ${FILE}:25:3  never reached`,
        `  ✗ charge              ${FILE}:30:8  never reached`,
      ].join('\n'),
    );
  });

  it('counts a stage reached once any of its sites is, and a dynamic step by any action', async () => {
    const catalog = stepmark.loadCatalog(readFileSync(CATALOG, 'utf8'));
    const { trace } = await stepmark.capture(() =>
      app.handle([
        { id: 'o1', total: 10, score: 0.1 },
        { id: 'o2', total: 10, score: 0.9 },
      ]),
    );
    const cov = stepmark.stageCoverage(trace, { catalog });
    expect(cov.unreached).toEqual([]);
    expect(cov.sites.find((s) => s.site.call === 'step')).toMatchObject({ reached: true, actions: [] });
    expect(unseenActions(trace)).toEqual({ fulfilment: ['blocked'] });
  });

  it('loads catalogs of several builds into one, rejects other versions and malformed input by name', () => {
    const one = {
      stepmark_catalog: 1,
      sites: [{ name: 'a', kind: 'function', file: 'x.ts', line: 1, column: 1 }],
    } as const;
    const two = {
      stepmark_catalog: 1,
      sites: [{ name: 'b', kind: 'function', file: 'y.ts', line: 1, column: 1 }],
    } as const;
    stepmark.loadCatalog(one);
    expect(stepmark.loadCatalog(JSON.stringify(two)).sites.map((s) => s.name)).toEqual(['a', 'b']);
    expect(stepmark.loadCatalog(one).sites).toHaveLength(2);
    expect(() => stepmark.loadCatalog({ stepmark_catalog: 2, sites: [] } as never)).toThrow(
      /stage catalog version 2 is not supported by this runtime \(supports 1\)/,
    );
    expect(() => stepmark.loadCatalog('{')).toThrow(/not valid JSON/);
    expect(() => stepmark.loadCatalog({ stepmark_catalog: 1, sites: [{ name: 'a' }] } as never)).toThrow(
      /catalog site 0 is malformed/,
    );
    clearCatalog();
    expect(() =>
      stepmark.stageCoverage({ meta: {}, entities: {}, events: [], spans: [], dropped: 0 }),
    ).toThrow(/no stage catalog loaded/);
  });
});
