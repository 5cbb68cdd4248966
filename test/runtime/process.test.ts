// Process-wide behaviour: several copies of the runtime share traces; nothing is set up before the
// first trace; the synchronous fallback where AsyncLocalStorage is missing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import * as esm from 'stepmark';
import { v1 as esmAbi } from 'stepmark/runtime';
import { afterAll, describe, expect, it, vi } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = join(here, 'fixtures');
const root = join(here, '../..');
const require = createRequire(import.meta.url);
const cjs = require('./fixtures/copies.cjs') as {
  stepmark: typeof esm;
  runtime: { v1: typeof esmAbi; abi(n: number): typeof esmAbi };
};

function runFixture(file: string, node = process.execPath): any {
  const out = execFileSync(node, [join(fixtures, file)], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const tmp = mkdtempSync(join(tmpdir(), 'stepmark-copies-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('copies of the runtime share one state', () => {
  it('the ESM and CommonJS builds are different module instances', () => {
    expect(cjs.stepmark.run).not.toBe(esm.run);
    expect(cjs.runtime.v1).not.toBe(esmAbi);
  });

  it('a trace started through ESM records calls made through CommonJS, and the other way round', async () => {
    const a = await esm.capture(async () => {
      const f = cjs.runtime.v1.enter('cjsFrame', void 0);
      cjs.stepmark.record('from', 'cjs');
      await null;
      esmAbi.step('esmStep', 'after-await');
      f.exit();
      expect(cjs.stepmark.enabled()).toBe(true);
    });
    expect(a.trace.spans.map((s) => s.name)).toEqual(['cjsFrame']);
    expect(a.trace.events.map((e) => `${e.stage}:${e.action}@${e.span_id}`)).toEqual([
      'cjsFrame:entered@1',
      'from:cjs@1',
      'esmStep:after-await@1',
      'cjsFrame:exited@1',
    ]);
    const b = await cjs.stepmark.capture(async () => {
      esm.record('from', 'esm');
      expect(esm.collect()!.events).toHaveLength(1);
    });
    expect(b.trace.events.map((e) => e.action)).toEqual(['esm']);
  });

  it('a bundled copy (esbuild, its own code) shares traces with the installed one', async () => {
    const outfile = join(tmp, 'bundled.mjs');
    await build({
      stdin: {
        contents: "export * from 'stepmark'; export { v1 } from 'stepmark/runtime';",
        resolveDir: root,
      },
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      outfile,
      logLevel: 'silent',
    });
    const bundled = await import(pathToFileURL(outfile).href);
    expect(bundled.run).not.toBe(esm.run);
    const { trace } = await bundled.capture(async () => {
      await null;
      esm.record('installed', 'call');
      bundled.record('bundled', 'call');
      const f = esmAbi.enter('installedFrame', void 0);
      bundled.v1.step('bundledStep', 'inside');
      f.exit();
    });
    expect(trace.events.map((e: any) => `${e.stage}:${e.action}`)).toEqual([
      'installed:call',
      'bundled:call',
      'installedFrame:entered',
      'bundledStep:inside',
      'installedFrame:exited',
    ]);
  });

  it('abi(n) checks the version: CommonJS output gets ABI 1 or a StepmarkAbiError naming both versions', () => {
    expect(cjs.runtime.abi(1)).toBe(cjs.runtime.v1);
    expect(cjs.runtime.v1.version).toBe(1);
    let err: any;
    try {
      cjs.runtime.abi(7);
    } catch (e) {
      err = e;
    }
    expect(err.name).toBe('StepmarkAbiError');
    expect(err.code).toBe('STEPMARK_ABI_MISMATCH');
    expect(err.message).toMatch(/ABI 7/);
    expect(err.message).toMatch(/version \d+\.\d+\.\d+/);
    expect(err.message).toMatch(/supports ABI 1/);
    expect(() => cjs.runtime.abi('1' as any)).toThrow(/ABI 1,? but|instrumented for runtime ABI 1/);
    expect(Object.isFrozen(esmAbi)).toBe(true);
  });
});

describe('the shared state is out of reach of whatever tears globals down', () => {
  for (const [label, node, idle] of [
    ['Node 24', join(root, 'node_modules/.bin/node'), 'not hooked'],
    ['Node 20', '/usr/bin/node', true],
  ] as const) {
    it(`survives its global holder being frozen, deleted or replaced; a copy loaded later starts cleanly (${label})`, async () => {
      const outfile = join(tmp, 'copy.mjs');
      await build({
        stdin: {
          contents: "export * from 'stepmark'; export { v1 } from 'stepmark/runtime';",
          resolveDir: root,
        },
        bundle: true,
        format: 'esm',
        platform: 'node',
        outfile,
        logLevel: 'silent',
      });
      const out = execFileSync(node, [join(fixtures, 'global-state.mjs'), outfile], {
        cwd: root,
        encoding: 'utf8',
      });
      const result = JSON.parse(out.trim().split('\n').pop()!);
      const journey = (name: string) => `${name}:entered ${name}:done ${name}:exited`;
      expect(result.shared).toBe(1);
      expect(result.frozen).toBe(journey('afterFreeze'));
      expect(result.idleDisabled).toBe(idle);
      expect(result.deleted).toBe(journey('afterDelete'));
      expect(result.newAfterDelete).toBe(journey('fresh'));
      for (const name of ['number', 'object', 'throwingGetter', 'nullState', 'wrongShape', 'proxy']) {
        expect(result.replaced[name], name).toBe(`${journey('fresh')} | ${journey('old')}`);
      }
    });
  }
});

describe('the idle timer (Node 20/22: disables the hooked AsyncLocalStorage once no trace runs)', () => {
  it('fake timers installed after the runtime loaded neither count it nor hold it back', async () => {
    const state = (globalThis as any)[Symbol.for('stepmark.runtime.v2')].get();
    const realSetTimeout = setTimeout;
    vi.useFakeTimers();
    try {
      await esm.run(async () => {
        await null;
      });
      expect(vi.getTimerCount()).toBe(0);
      await new Promise((r) => realSetTimeout(r, 300));
      // on Node 24 the store has no hooks and no timer is set
      if (state.alsHooked) expect(state.als.enabled).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('browser bundles', () => {
  it('bundle for the browser without shims and run on the synchronous fallback (no process, no AsyncLocalStorage)', async () => {
    const result = await build({
      stdin: {
        contents: "export * from 'stepmark'; export { v1 } from 'stepmark/runtime';",
        resolveDir: root,
      },
      bundle: true,
      format: 'iife',
      globalName: 'stepmarkBundle',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    // no module loading at all: AsyncLocalStorage is looked up at run time through process.getBuiltinModule
    expect(code).not.toMatch(/\brequire\(|\bimport\(|\bfrom ['"]/);
    const warnings: unknown[] = [];
    const sandbox: Record<string, unknown> = {
      console: { warn: (m: unknown) => warnings.push(m), log() {} },
    };
    runInNewContext(
      `${code}
      const sm = stepmarkBundle;
      function checkout() {
        const __smf = sm.v1.enter('checkout', void 0);
        try { sm.record('cart', 'checked_out'); sm.step('paid'); } finally { __smf.exit(); }
      }
      globalThis.out = sm.captureSync(checkout).trace;
      globalThis.noProcess = typeof process === 'undefined';`,
      sandbox,
    );
    const trace = sandbox.out as esm.Trace;
    expect(sandbox.noProcess).toBe(true);
    expect(warnings).toEqual([]);
    expect(trace.spans.map((s) => s.name)).toEqual(['checkout']);
    expect(trace.events.map((e) => `${e.stage}:${e.action}@${e.span_id}`)).toEqual([
      'checkout:entered@1',
      'cart:checked_out@1',
      'checkout:paid@1',
      'checkout:exited@1',
    ]);
  });
});

describe('fresh processes', () => {
  it('no AsyncLocalStorage exists until the first trace starts; disabled calls return the shared no-op frame', () => {
    const out = runFixture('off-path.mjs');
    expect(out).toEqual({
      before: { als: false, active: 0, noopFrame: true },
      after: { als: true, active: 0, enabledOutside: false },
    });
  });

  it('the exit handle works with `using`: the span ends with its block', () => {
    // `using` is syntax of Node >= 24: run it on the pinned Node 24 even when the suite runs on Node 20
    expect(runFixture('using.mjs', join(root, 'node_modules/.bin/node'))).toEqual({
      events: ['work:entered@1', 'work:inside@1', 'work:exited@1', 'work:after@-'],
      spans: ['work:ok', 'work:ok'],
      entity: ['entered', 'exited'],
    });
  });

  it('useAsyncLocalStorage supplies the store where it cannot be found, before the first trace only', () => {
    expect(runFixture('use-als.mjs')).toEqual({
      warnings: [],
      accepted: true,
      late: false,
      events: ['before', 'after'],
    });
  });

  it('without AsyncLocalStorage: sync extent of run, and instrumented async functions, still trace; a warning says so', () => {
    const out = runFixture('fallback.mjs');
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/AsyncLocalStorage not found/);
    expect(out.sync).toEqual({
      enabled: true,
      events: ['s:a', '<anonymous>:entered', '<anonymous>:inside', '<anonymous>:exited'],
    });
    expect(out.asyncPlain).toEqual(['before:await']);
    expect(out.instrumented.spans).toEqual(['->1:parent:ok', '1>2:child:ok', '1>3:child:ok']);
    expect(out.instrumented.events).toEqual([
      'parent:sync@1',
      'child:after-await@2',
      'child:after-await@3',
      'parent:after-await@1',
    ]);
    expect(out.leftover).toBe(false);
  });
});
