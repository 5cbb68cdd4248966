// The viewer in a real browser (Debian's chromium through playwright-core). The app runs in a
// plain Node child process (test/live/fixtures/server.mjs: Express traced by stepmark/http,
// whose finished traces feed the live endpoint), so the browser gets exactly the page the
// built package serves; the offline page is written by the real `stepmark view --html`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRATCH_ROOT } from '../support/scratch.js';

const SECRET = 'browser-test-secret-0123456789';
const require = createRequire(import.meta.url);
const root = dirname(require.resolve('stepmark/package.json'));
const out = join(SCRATCH_ROOT, 'live');
/** Screenshots of the viewer, kept after the run for a human to look at (a report, like CI's logs). */
const screenshots = join(root, 'test-output', 'screenshots');

let browser: Browser;
let app: ChildProcess;
let base: string;

/** Asks the app's test controls to do something (publish, drop streams…). */
async function control(path: string): Promise<{ head?: number }> {
  const res = await fetch(base + path, { method: 'POST' });
  expect(res.status).toBe(200);
  return (await res.json()) as { head?: number };
}

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  mkdirSync(screenshots, { recursive: true });
  app = spawn(process.execPath, [join(root, 'test/live/fixtures/server.mjs')], {
    cwd: root,
    env: { ...process.env, STEPMARK_LIVE_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The first line says where it listens; a crash before that fails at once, not at a timeout.
  const line = await Promise.race([
    once(createInterface({ input: app.stdout! }), 'line').then(([l]) => l as string),
    once(app, 'exit').then(([code]) => {
      throw new Error(`test/live/fixtures/server.mjs exited with ${code} before listening`);
    }),
  ]);
  base = `http://127.0.0.1:${JSON.parse(line).port}`;
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
  if (app && app.exitCode === null) {
    const exited = once(app, 'exit');
    app.kill('SIGTERM');
    await exited;
  }
});

/** Opens a page that fails the test on any script error or CSP violation. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

const rowTitles = (page: Page) => page.locator('.trace-row .trace-title').allTextContents();

describe('live viewer in chromium', () => {
  it('shows traced requests as they happen, with the span timeline and the entity journey', async () => {
    // Without credentials: no page.
    const stranger = await browser.newPage();
    expect((await stranger.goto(`${base}/__stepmark`))?.status()).toBe(401);
    expect(await stranger.content()).not.toContain('viewerMain');
    await stranger.close();
    const { page, problems } = await openPage();
    // The token is traded for a cookie and dropped from the address bar.
    await page.goto(`${base}/__stepmark?token=${SECRET}`);
    expect(new URL(page.url()).search).toBe('');
    await expect.poll(() => page.locator('#status').textContent()).toBe('● live');
    await expect.poll(() => page.locator('#detail').textContent()).toContain('Waiting for traces');

    // Untriggered requests are not traced; triggered ones appear live.
    expect((await fetch(`${base}/orders/1`)).status).toBe(200);
    expect((await fetch(`${base}/orders/42?total=250`, { headers: { 'x-stepmark': '1' } })).status).toBe(200);
    await expect.poll(() => rowTitles(page)).toEqual(['GET /orders/:id']);
    expect((await fetch(`${base}/orders/43?total=5000`, { headers: { 'x-stepmark': '1' } })).status).toBe(
      500,
    );
    await expect.poll(() => page.locator('.trace-row').count()).toBe(2);
    expect(await page.locator('.trace-row').first().getAttribute('class')).toContain('error');
    await expect.poll(() => page.locator('#count').textContent()).toBe('2 traces');

    // The first trace was selected when it arrived: its timeline, nested, with durations.
    const names = await page.locator('.timeline .span-row:not(.axis-row) .span-name').allTextContents();
    expect(names).toEqual(['placeOrder', 'checkInventory', 'scoreFraud']);
    const pads = await page
      .locator('.timeline .span-row:not(.axis-row) .span-label')
      .evaluateAll((els) => els.map((e) => Number.parseFloat((e as HTMLElement).style.paddingLeft)));
    expect(pads[1]).toBeGreaterThan(pads[0]!);
    expect(pads[2]).toBe(pads[1]);
    for (const d of await page.locator('.timeline .span-row:not(.axis-row) .span-dur').allTextContents()) {
      expect(d).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    }
    // Bars are laid out on the time axis: children start after their parent and fit inside it.
    const bars = await page.locator('.timeline .bar').evaluateAll((els) =>
      els.map((e) => ({
        left: Number.parseFloat((e as HTMLElement).style.left),
        width: Number.parseFloat((e as HTMLElement).style.width),
      })),
    );
    expect(bars[0]!.width).toBeGreaterThan(bars[1]!.width);
    expect(bars[2]!.left).toBeGreaterThanOrEqual(bars[1]!.left);

    // The entity journey of order_42, with meta.
    const card = page.locator('.entity[data-entity-id="order_42"]');
    await expect
      .poll(() => card.locator('.entity-head').textContent())
      .toMatch(/order_42\s*order\s*total=250/);
    const steps = await card
      .locator('.step')
      .evaluateAll((els) =>
        els.map((e) => [e.querySelector('.stage')?.textContent, e.querySelector('.action')?.textContent]),
      );
    expect(steps).toEqual([
      ['validation', 'passed'],
      ['checkInventory', 'reserved'],
      ['scoreFraud', 'passed'],
      ['payment', 'captured'],
    ]);
    expect(await card.locator('.step').nth(1).textContent()).toMatch(/items=3.*in checkInventory/);

    // The failed request: the error is highlighted on the span that failed and on its parent.
    await page.locator('.trace-row').first().click();
    const failed = page.locator('.timeline .span-row.error .span-name');
    await expect.poll(() => failed.allTextContents()).toEqual(['placeOrder', 'scoreFraud']);
    expect(await page.locator('.span-error').first().textContent()).toContain(
      'fraud score too high for order_43',
    );
    expect(
      await page.locator('.entity[data-entity-id="order_43"] .step .action').allTextContents(),
    ).toContain('rejected');
    await page.screenshot({ path: join(screenshots, 'viewer-live.png') });
    // The selected trace downloads as a JSON file that is the trace itself.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.detail-head .save')]);
    expect(download.suggestedFilename()).toMatch(/^trace-[\w.-]+\.json$/);
    const saved = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(saved.meta.path).toBe('/orders/43');
    expect(saved.spans.map((s: { name: string }) => s.name)).toEqual([
      'placeOrder',
      'checkInventory',
      'scoreFraud',
    ]);

    // Filter by entity id, then by kind.
    await page.fill('#filter', 'order_42');
    await expect.poll(() => page.locator('#count').textContent()).toBe('1 of 2 traces');
    expect(await page.locator('.trace-row').count()).toBe(1);
    await page.fill('#filter', 'kind:order');
    await expect.poll(() => page.locator('#count').textContent()).toBe('2 of 2 traces');
    await page.fill('#filter', 'kind:user');
    await expect.poll(() => page.locator('#count').textContent()).toBe('0 of 2 traces');
    await page.fill('#filter', '');
    await expect.poll(() => page.locator('#count').textContent()).toBe('2 traces');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('stays responsive with thousands of traces: a windowed list, filtering and scrolling', async () => {
    const { page, problems } = await openPage();
    await page.goto(`${base}/__stepmark?token=${SECRET}`);
    await expect.poll(() => page.locator('#status').textContent()).toBe('● live');
    // The page starts with what the server holds (the two traces of the previous test).
    expect((await control('/_test/bulk?n=0')).head).toBe(2);
    await expect.poll(() => page.locator('#count').textContent()).toBe('2 traces');
    const n = 5000;
    expect((await control(`/_test/bulk?n=${n}`)).head).toBe(n + 2);
    await expect
      .poll(() => page.locator('#count').textContent(), { timeout: 20_000 })
      .toBe(`${n + 2} traces`);
    // Only the rows in view (plus a small margin) are in the DOM.
    expect(await page.locator('.trace-row').count()).toBeLessThan(60);
    expect(await page.locator('#spacer').evaluate((e) => e.getBoundingClientRect().height)).toBe(
      (n + 2) * 48,
    );
    // Scroll to the end: the oldest trace is rendered there.
    await page.locator('#list').evaluate((e) => {
      e.scrollTop = e.scrollHeight;
    });
    await expect.poll(() => rowTitles(page).then((t) => t.length)).toBeGreaterThan(0);
    // The oldest row: the first request of the previous test.
    await expect
      .poll(() => page.locator('.trace-row').last().locator('.trace-sub').textContent())
      .toMatch(/^#1 · 200 ·/);
    expect(await page.locator('.trace-row').last().locator('.trace-title').textContent()).toBe(
      'GET /orders/:id',
    );
    // Filtering thousands by kind updates the list.
    await page.fill('#filter', 'kind:odd');
    await expect.poll(() => page.locator('#count').textContent()).toBe(`${n / 2} of ${n + 2} traces`);
    // The page still answers: a round trip through its event loop.
    await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => resolve())));
    await page.screenshot({ path: join(screenshots, 'viewer-thousands.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens the offline page (what stepmark view --html writes) with no network at all', async () => {
    // Two real traces from the app (one failed), taken from the endpoint's JSON route.
    for (const [id, total] of [
      ['7', 20],
      ['8', 4000],
    ]) {
      await fetch(`${base}/orders/${id}?total=${total}`, {
        headers: { 'x-stepmark': '1', 'x-request-id': `offline-order_${id}` },
      });
    }
    const held = (await (
      await fetch(`${base}/__stepmark/traces`, { headers: { authorization: `Bearer ${SECRET}` } })
    ).json()) as { meta: { request_id: string } }[];
    const traces: unknown[] = held.filter((t) => t.meta.request_id.startsWith('offline-'));
    expect(traces).toHaveLength(2);
    // A trace whose content tries to inject markup is shown as text.
    traces.push({
      meta: { request_id: '<img src=x onerror=alert(1)></script><b>x</b>' },
      entities: {},
      events: [{ stage: '<script>alert(1)</script>', action: 'x', timestamp: new Date().toISOString() }],
      spans: [],
      dropped: 0,
    });
    // A recursion 5000 spans deep: drawn without a stack overflow, the first 1500 rows of it.
    const deep = Array.from({ length: 5000 }, (_, i) => ({
      span_id: String(i + 1),
      ...(i ? { parent_id: String(i) } : {}),
      name: `walk`,
      start: new Date(0).toISOString(),
      end: new Date(5000 - i).toISOString(),
      duration_ms: 5000 - i,
      status: 'ok',
    }));
    traces.push({
      meta: { request_id: 'deep' },
      entities: {},
      events: [],
      spans: deep,
      dropped: 3,
      dropped_spans: 7,
      dropped_entities: 11,
    });
    // Written by the real command, opened from disk with the network off.
    const ndjson = join(out, 'offline.ndjson');
    writeFileSync(ndjson, traces.map((t) => JSON.stringify(t)).join('\n'));
    const html = join(out, 'offline.html');
    const cli = spawnSync(
      process.execPath,
      [join(root, 'dist/cli/index.js'), 'view', ndjson, '--html', html],
      {
        encoding: 'utf8',
      },
    );
    expect(cli.stderr).toBe('stepmark: wrote ' + html + ' (4 traces)\n');
    const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(html).href);
    expect(await page.title()).toBe('stepmark · offline.ndjson');
    await expect.poll(() => page.locator('.trace-row').count()).toBe(4);
    await page.locator('.trace-row', { hasText: 'id deep' }).click();
    await expect.poll(() => page.locator('.timeline .span-row:not(.axis-row)').count()).toBe(1500);
    expect(await page.locator('.timeline').textContent()).toContain('3500 more spans not shown');
    expect(await page.locator('#detail .warn').allTextContents()).toEqual([
      '3 events were dropped by the recorder (maxEvents).',
      '7 spans were not recorded (maxSpans).',
      '11 calls for entities beyond maxEntities were not recorded.',
    ]);
    expect(await page.locator('.timeline .span-row:not(.axis-row)').nth(1499).textContent()).toMatch(
      /^↳1499 walk/,
    );
    expect(await page.locator('#status').textContent()).toBe('offline copy');
    await page.locator('.trace-row', { hasText: 'offline-order_8' }).click();
    await expect
      .poll(() => page.locator('.timeline .span-row.error .span-name').allTextContents())
      .toEqual(['placeOrder', 'scoreFraud']);
    await page.locator('.trace-row', { hasText: 'onerror' }).click();
    expect(await page.locator('.detail-title').textContent()).toBe(
      'request <img src=x onerror=alert(1)></script><b>x</b>',
    );
    expect(await page.locator('#detail img, #detail b').count()).toBe(0);
    await page.locator('.trace-row', { hasText: 'offline-order_8' }).click();
    await page.screenshot({ path: join(screenshots, 'viewer-offline.png') });
    expect(requests.filter((u) => u !== pathToFileURL(html).href && !u.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('asks the flight recorder for an entity the page never saw live, and shows its journey', async () => {
    // Untriggered requests, recorded by the server before the page was opened.
    expect(
      (await fetch(`${base}/rec/orders/77?total=5000`, { headers: { 'x-request-id': 'rec-77' } })).status,
    ).toBe(500);
    expect((await fetch(`${base}/rec/orders/78`, { headers: { 'x-request-id': 'rec-78' } })).status).toBe(
      200,
    );
    const { page, problems } = await openPage();
    await page.goto(`${base}/__recorded?token=${SECRET}`);
    await expect.poll(() => page.locator('#status').textContent()).toBe('● live');
    await expect.poll(() => page.locator('#detail').textContent()).toContain('Waiting for traces');
    expect(await page.locator('.trace-row').count()).toBe(0);
    await page.fill('#filter', 'order_77');
    await expect.poll(() => page.locator('#found').textContent()).toBe('recorder: 1 trace of order_77');
    await expect.poll(() => page.locator('#count').textContent()).toBe('1 of 1 trace');
    await page.locator('.trace-row').first().click();
    expect(await page.locator('.trace-row .trace-sub').first().textContent()).toMatch(
      /^recorder · 500 · .* · id rec-77$/,
    );
    const card = page.locator('.entity[data-entity-id="order_77"]');
    expect(await card.locator('.step .action').allTextContents()).toEqual(['passed', 'reserved', 'rejected']);
    await expect
      .poll(() => page.locator('.timeline .span-row.error .span-name').allTextContents())
      .toEqual(['placeOrder', 'scoreFraud']);
    // Asking again does not add it twice; another id adds its own; kind: filters do not ask.
    await page.fill('#filter', 'id:order_77');
    await expect
      .poll(() => page.locator('#found').textContent())
      .toBe('recorder: 1 trace of order_77 (1 already shown)');
    await page.fill('#filter', 'order_78');
    await expect.poll(() => page.locator('#count').textContent()).toBe('1 of 2 traces');
    await page.fill('#filter', 'kind:order');
    await expect.poll(() => page.locator('#found').isHidden()).toBe(true);
    await expect.poll(() => page.locator('#count').textContent()).toBe('2 of 2 traces');
    await page.screenshot({ path: join(out, 'viewer-recorder.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('resumes after a dropped connection with Last-Event-ID: no duplicate, and says how many were lost', async () => {
    const { page, problems } = await openPage();
    await page.goto(`${base}/__small?token=${SECRET}`);
    await expect.poll(() => page.locator('#status').textContent()).toBe('● live');
    await control('/_test/small?ids=before-1,before-2');
    await expect.poll(() => page.locator('.trace-row').count()).toBe(2);
    // Cut the stream: the page's EventSource reconnects (after 2 s) with Last-Event-ID.
    expect(await control('/_test/drop-streams')).toEqual({ dropped: 1 });
    await expect.poll(() => page.locator('#status').textContent()).not.toBe('● live');
    const during = Array.from({ length: 8 }, (_, i) => `during-${i + 1}`);
    await control(`/_test/small?ids=${during.join(',')}`); // 3 of these fall out of the 5-slot buffer
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 15_000 }).toBe('● live');
    await expect.poll(() => page.locator('#count').textContent()).toBe('7 traces');
    expect(await page.locator('#lost').textContent()).toBe(
      "3 items were lost: this page fell behind the server's buffer.",
    );
    const subs = await page.locator('.trace-row .trace-sub').allTextContents();
    expect(subs.map((t) => /id (\S+)/.exec(t)?.[1])).toEqual([
      'during-8',
      'during-7',
      'during-6',
      'during-5',
      'during-4',
      'before-2',
      'before-1',
    ]);
    // Live span/step events: a request still in the middle of its work shows as running, at
    // the step it has reached; it leaves the list when it ends.
    await control('/_test/live-start');
    await expect
      .poll(() => page.locator('#activity').textContent())
      .toMatch(/^\d+ live events · running: live-99 \(waitForApproval → requested\)$/);
    await control('/_test/live-release');
    await expect
      .poll(() => page.locator('#activity').textContent())
      .toMatch(/^\d+ live events · running: none$/);
    // Whatever is published (here fields of the wrong types) never breaks the page.
    await control('/_test/small-malformed');
    await expect.poll(() => page.locator('#count').textContent()).toBe('8 traces');
    await page.locator('.trace-row').first().click();
    expect(await page.locator('.detail-title').textContent()).toBe('request malformed');
    await page.locator('.trace-row', { hasText: 'during-8' }).click();
    await page.screenshot({ path: join(screenshots, 'viewer-resumed.png') });
    // The one expected complaint: the stream we cut.
    expect(problems.filter((p) => !p.includes('net::ERR_INCOMPLETE_CHUNKED_ENCODING'))).toEqual([]);
    await page.close();
  });
});
