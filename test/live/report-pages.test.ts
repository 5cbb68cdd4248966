// The diff and coverage pages in a real browser (Debian's chromium through playwright-core),
// written by the real `stepmark diff --html` and `stepmark coverage --html`, opened from disk
// with the network off: the two journeys side by side and aligned, changes marked, trace
// content shown as text, no request, no script error, the page's CSP respected.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import * as stepmark from 'stepmark';
import { v1 as __stepmark } from 'stepmark/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('stepmark/package.json'));
const out = join(root, 'test-output', 'live');
const HOSTILE = '<img src=x onerror=alert(1)>';

function call(name: string, body: () => void = () => {}, entity?: string): void {
  const f =
    entity === undefined
      ? __stepmark.enter(name, 'src/a.ts:1:1')
      : __stepmark.enterEntity(name, 'src/a.ts:1:1', 'order', entity);
  try {
    body();
  } finally {
    f.exit();
  }
}

function order(id: string, flagged: boolean): stepmark.Trace {
  return stepmark.captureSync(
    () =>
      call(
        'OrderService.place',
        () => {
          stepmark.track(id, { total: flagged ? 5000 : 20 }, { kind: 'order' });
          call('validate', () => stepmark.recordEntity(id, 'validate', 'ok'));
          for (let i = 0; i < 12; i++) call('Inventory.reserve');
          call('FraudService.score', () =>
            stepmark.recordEntity(id, 'FraudService.score', flagged ? 'flagged' : 'passed', {
              score: flagged ? 0.9 : 0.1,
            }),
          );
          if (flagged)
            call('OrderService.reject', () =>
              stepmark.recordEntity(id, HOSTILE, 'rejected', { why: 'a\nb' }),
            );
          else call('Payment.charge', () => stepmark.recordEntity(id, 'payment', 'charged'));
        },
        id,
      ),
    { meta: { request_id: `req-${id}` } },
  ).trace;
}

function cli(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/index.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

let browser: Browser;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Opens a file offline; collects script errors, dialogs and requests. */
async function open(
  file: string,
): Promise<{ page: Page; problems: string[]; requests: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url() !== pathToFileURL(file).href && !r.url().startsWith('data:')) requests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href);
  return { page, problems, requests, close: () => context.close() };
}

/** Per row of the grid: its classes and the text of its two cells (`null` for an empty side). */
const rows = (page: Page) =>
  page.locator('.diff .drow:not(.heads):not(.section)').evaluateAll((els) =>
    els.map((r) => {
      const [a, b] = Array.from(r.children) as HTMLElement[];
      const text = (c: HTMLElement) => (c.classList.contains('none') ? null : c.textContent);
      return { op: r.classList[1], a: text(a!), b: text(b!) };
    }),
  );

describe('report pages in chromium', () => {
  it('are the same self-contained documents from the CommonJS entry as from the ESM one', () => {
    // In a plain Node process (under Vitest the ESM entry would itself be transformed). The Jest
    // reporter writes its page from the CommonJS build.
    const script = `
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('stepmark/live');
      const esm = await import('stepmark/live');
      const { diffTraces } = await import('stepmark/testing');
      const t = { meta: {}, entities: {}, events: [], spans: [{ span_id: '1', name: 'a', start: '', status: 'ok' }], dropped: 0 };
      const diff = diffTraces(t, { ...t, spans: [] });
      const report = { stepmark_coverage: 1, traces: 0, summary: {}, files: [] };
      process.stdout.write(JSON.stringify([
        [esm.diffPage(diff, { nonce: 'n' }), cjs.diffPage(diff, { nonce: 'n' })],
        [esm.coveragePage(report, { nonce: 'n' }), cjs.coveragePage(report, { nonce: 'n' })],
      ]));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    for (const [fromEsm, fromCjs] of JSON.parse(child.stdout) as [string, string][]) {
      expect(fromCjs).toBe(fromEsm);
      const page = fromCjs.slice(fromCjs.indexOf('(function reportMain'));
      expect(page.length).toBeGreaterThan(5000);
      expect(page).not.toMatch(/__name|__toESM|_nullishCoalesce|_optionalChain|require\(|import_/);
    }
  });

  it('the diff page shows the two journeys side by side, aligned, changes marked', async () => {
    const a = join(out, 'accepted.json');
    const b = join(out, 'rejected.json');
    writeFileSync(a, JSON.stringify(order('order_1', false)));
    writeFileSync(b, JSON.stringify(order('order_2', true)));
    const html = join(out, 'diff.html');
    const r = cli(['diff', a, b, '--entity', 'order_1:order_2', '--html', html]);
    expect(r.stderr).toMatch(/^stepmark diff: wrote .*diff\.html \(/);
    expect(r.code).toBe(1);

    const { page, problems, requests, close } = await open(html);
    expect(await page.title()).toBe('stepmark diff · accepted.json ⇄ rejected.json');
    expect(await page.locator('#summary').textContent()).toBe('6 differences');
    expect(await page.locator('.drow.heads .label').allTextContents()).toEqual(['− ' + a, '+ ' + b]);
    const all = await rows(page);
    expect(all.filter((x) => x.op !== 'same')).toEqual([
      { op: 'removed', a: 'Payment.charge', b: null },
      { op: 'added', a: null, b: 'OrderService.reject' },
      { op: 'changed', a: 'order_1ordertotal=20', b: 'order_2ordertotal=5000' },
      { op: 'changed', a: 'FraudService.score→passedscore=0.1', b: 'FraudService.score→flaggedscore=0.9' },
      { op: 'removed', a: 'payment→charged', b: null },
      // Trace content is text: markup stays markup-free, a newline is written out.
      { op: 'added', a: null, b: `${HOSTILE}→rejectedwhy=a\\nb` },
    ]);
    expect(all[0]).toEqual({ op: 'same', a: 'OrderService.placeorder_1', b: 'OrderService.placeorder_2' });
    expect(await page.locator('#report img').count()).toBe(0);
    // Aligned: both cells of every row on one line, of one height.
    const misaligned = await page.locator('.diff .drow:not(.section)').evaluateAll(
      (els) =>
        els.filter((r) => {
          const [x, y] = Array.from(r.children).map((c) => c.getBoundingClientRect());
          return x!.top !== y!.top || x!.height !== y!.height;
        }).length,
    );
    expect(misaligned).toBe(0);
    // What changed in a changed pair is highlighted on both sides.
    expect(await page.locator('.drow.changed .hl').allTextContents()).toEqual([
      'total=20',
      'total=5000',
      'passed',
      'score=0.1',
      'flagged',
      'score=0.9',
    ]);
    await page.screenshot({ path: join(out, 'diff.png') });

    // "changes only" hides the unchanged rows; "next change" walks through the changes.
    const visibleRows = () =>
      page
        .locator('.diff .drow.same:not(.heads) .cell')
        .evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).length);
    expect(await visibleRows()).toBeGreaterThan(20);
    await page.check('#only');
    // Only the span the changed ones are nested in is left of the unchanged rows.
    expect(await visibleRows()).toBe(2);
    expect(await page.locator('.drow.same.ctx').allTextContents()).toEqual([
      'OrderService.placeorder_1OrderService.placeorder_2',
    ]);
    await page.click('#next');
    expect(await page.locator('.drow.current').count()).toBe(1);
    expect(await page.locator('#count').textContent()).toBe('change 1 of 6');
    await page.keyboard.press('n');
    expect(await page.locator('#count').textContent()).toBe('change 2 of 6');
    await page.screenshot({ path: join(out, 'diff-changes-only.png') });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await close();
  }, 60_000);

  it('the diff page says which trace an entity is only in', async () => {
    const a = join(out, 'only-a.json');
    const b = join(out, 'only-b.json');
    writeFileSync(a, JSON.stringify(order('order_1', false)));
    writeFileSync(b, JSON.stringify(order('order_2', false)));
    const html = join(out, 'diff-entities.html');
    expect(cli(['diff', a, b, '--html', html]).code).toBe(1);
    const { page, problems, close } = await open(html);
    expect(await page.locator('.drow.section h3').allTextContents()).toEqual([
      'Spans',
      `Entity order_1 — only in ${a}`,
      `Entity order_2 — only in ${b}`,
    ]);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);

  it('the coverage page shows each file and site, with the actions reached and not', async () => {
    const traces = join(out, 'coverage.ndjson');
    writeFileSync(
      traces,
      `${[order('order_1', false), order('order_2', true)].map((t) => JSON.stringify(t)).join('\n')}\n`,
    );
    const catalog = join(out, 'coverage-catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({
        stepmark_catalog: 1,
        sites: [
          { name: 'OrderService.place', kind: 'method', file: 'src/a.ts', line: 1, column: 1 },
          {
            name: 'FraudService.score',
            kind: 'step',
            file: 'src/a.ts',
            line: 9,
            column: 5,
            call: 'stepEntity',
            actions: ['flagged', 'passed', 'review'],
            dynamic: false,
          },
          { name: 'Refunds.issue', kind: 'method', file: 'src/refunds.ts', line: 3, column: 3 },
          {
            name: 'payment',
            kind: 'record',
            file: 'src/z.ts',
            line: 2,
            column: 3,
            call: 'recordEntity',
            actions: ['charged'],
            dynamic: false,
          },
        ],
      }),
    );
    const html = join(out, 'coverage.html');
    const r = cli(['coverage', '--catalog', catalog, traces, '--html', html, '--min', '80']);
    expect(r.code).toBe(1);
    const { page, problems, requests, close } = await open(html);
    expect(await page.locator('#summary').textContent()).toBe(
      '2 traces · decisions 3 of 4 (75.0%) · sites 3 of 4 (75.0%)',
    );
    expect(await page.locator('.cov-file .file').allTextContents()).toEqual([
      'src/a.ts',
      'src/refunds.ts',
      'src/z.ts',
    ]);
    expect(await page.locator('.cov-file[data-file="src/a.ts"] .chip').allTextContents()).toEqual([
      '✓ flagged ×1',
      '✓ passed ×1',
      '✗ review',
    ]);
    expect(await page.locator('.site.unreached .site-name').allTextContents()).toEqual(['Refunds.issue']);
    expect(await page.locator('.meter.low').count()).toBe(1); // src/a.ts: 2 of 3 decisions, under 80
    await page.check('#only');
    const shown = await page
      .locator('.site')
      .evaluateAll((els) =>
        els
          .filter((e) => (e as HTMLElement).offsetParent !== null)
          .map((e) => e.querySelector('.site-name')!.textContent),
      );
    expect(shown).toEqual(['FraudService.score', 'Refunds.issue']);
    await page.screenshot({ path: join(out, 'coverage.png') });
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await close();
  }, 60_000);
});
