/**
 * The diagnostics_channel bridge, seen by real `node:diagnostics_channel` subscribers. The traced
 * code below is written in exactly the shape the build plugins emit (docs/ABI.md), against the
 * built `stepmark/runtime`, so the span events are those an instrumented program produces.
 */
import { execFileSync } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import * as stepmark from 'stepmark';
import { v1 as __stepmark } from 'stepmark/runtime';
import { afterEach, describe, expect, it } from 'vitest';

const OBS = (globalThis as any)[Symbol.for('stepmark.observers.v2')].get() as { list: unknown[] | undefined };

type Ctx = stepmark.DiagnosticsSpanMessage;

/** Subscribes to every span event and every step event, logging them in order. */
function listen() {
  const log: string[] = [];
  const contexts = new Map<string, Ctx>();
  const seen = (kind: string) => (msg: unknown) => {
    const ctx = msg as Ctx;
    const prev = contexts.get(ctx.spanId);
    if (prev !== undefined && prev !== ctx) log.push(`DIFFERENT CONTEXT OBJECT for ${ctx.spanId}`);
    contexts.set(ctx.spanId, ctx);
    log.push(`${kind} ${ctx.name}`);
  };
  const handlers = {
    start: seen('start'),
    end: seen('end'),
    asyncStart: seen('asyncStart'),
    asyncEnd: seen('asyncEnd'),
    error: seen('error'),
  };
  const tc = dc.tracingChannel('stepmark:span');
  tc.subscribe(handlers);
  const onEvent = (msg: unknown) => {
    const m = msg as stepmark.DiagnosticsEventMessage;
    log.push(`event ${m.stage}:${m.action} span=${m.span?.name ?? '-'} entity=${m.entityId ?? '-'}`);
  };
  dc.subscribe('stepmark:event', onEvent);
  return {
    log,
    contexts,
    stop() {
      tc.unsubscribe(handlers);
      dc.unsubscribe('stepmark:event', onEvent);
    },
  };
}

// --- code in the shape the plugins emit ---

function validate(order: { id: string; total: number }) {
  const __smf = __stepmark.enterEntity(
    'OrderService.validate',
    'src/order.ts:3:3',
    'order',
    __stepmark.on() && order?.id,
  );
  try {
    __stepmark.step('OrderService.validate', order.total > 0 ? 'accepted' : 'rejected', {
      total: order.total,
    });
    if (order.total > 1000) throw new Error('limit exceeded');
    return order.total > 0;
  } catch (__sme) {
    __smf.fail(__sme);
    throw __sme;
  } finally {
    __smf.exit();
  }
}

async function charge(order: { id: string; total: number }) {
  const __smf = __stepmark.enter('PaymentService.charge', 'src/payment.ts:8:3');
  try {
    __smf.r(await __smf.s(new Promise((r) => setTimeout(r, 5))));
    validate(order);
    __smf.r(await __smf.s(Promise.resolve()));
    return 'charged';
  } catch (__sme) {
    __smf.fail(__sme);
    throw __sme;
  } finally {
    __smf.exit();
  }
}

function placeOrder(order: { id: string; total: number }) {
  const __smf = __stepmark.enter('placeOrder', 'src/app.ts:1:1');
  try {
    return validate(order);
  } catch (__sme) {
    __smf.fail(__sme);
    throw __sme;
  } finally {
    __smf.exit();
  }
}

let disable: (() => void) | undefined;
afterEach(() => {
  disable?.();
  disable = undefined;
});

describe('diagnostics_channel bridge', () => {
  it('registers nothing until enabled, so the recorder pays nothing', async () => {
    expect(stepmark.diagnosticsChannelEnabled()).toBe(false);
    const sub = listen();
    try {
      await stepmark.capture(() => placeOrder({ id: 'o1', total: 5 }));
    } finally {
      sub.stop();
    }
    expect(sub.log).toEqual([]);
    expect(OBS.list).toBeUndefined();
  });

  it('publishes start/end of synchronous spans in call order, one context object per span, linked to its parent', async () => {
    disable = stepmark.enableDiagnosticsChannel();
    const sub = listen();
    try {
      await stepmark.capture(() => placeOrder({ id: 'o1', total: 5 }), { meta: { request_id: 'r1' } });
    } finally {
      sub.stop();
    }
    expect(sub.log).toEqual([
      'start placeOrder',
      'start OrderService.validate',
      'event OrderService.validate:accepted span=OrderService.validate entity=-',
      'end OrderService.validate',
      'end placeOrder',
    ]);
    const outer = sub.contexts.get('1')!;
    const inner = sub.contexts.get('2')!;
    expect(outer).toMatchObject({
      name: 'placeOrder',
      spanId: '1',
      parent: undefined,
      location: 'src/app.ts:1:1',
      async: false,
      traceMeta: { request_id: 'r1' },
    });
    expect(inner).toMatchObject({
      name: 'OrderService.validate',
      location: 'src/order.ts:3:3',
      entityId: 'o1',
      entityKind: 'order',
    });
    expect(inner.parent).toBe(outer);
  });

  it('publishes asyncStart/asyncEnd after end for a span that suspended at await, when its promise settles', async () => {
    disable = stepmark.enableDiagnosticsChannel();
    const sub = listen();
    let settledAt = -1;
    try {
      await stepmark.capture(async () => {
        const p = charge({ id: 'o2', total: 7 });
        sub.log.push('caller got promise');
        await p;
        settledAt = sub.log.length;
      });
    } finally {
      sub.stop();
    }
    expect(sub.log).toEqual([
      'start PaymentService.charge',
      'caller got promise',
      'start OrderService.validate',
      'event OrderService.validate:accepted span=OrderService.validate entity=-',
      'end OrderService.validate',
      'end PaymentService.charge',
      'asyncStart PaymentService.charge',
      'asyncEnd PaymentService.charge',
    ]);
    expect(settledAt).toBe(sub.log.length);
    expect(sub.contexts.get('1')!.async).toBe(true);
    expect(sub.contexts.get('2')!.async).toBe(false);
    // the synchronous span opened in the async function's continuation still has it as parent
    expect(sub.contexts.get('2')!.parent).toBe(sub.contexts.get('1'));
  });

  it('publishes error (with the message as an Error) before end, for thrown and rejected spans', async () => {
    disable = stepmark.enableDiagnosticsChannel();
    const sub = listen();
    try {
      await expect(stepmark.capture(() => charge({ id: 'o3', total: 5000 }))).rejects.toThrow(
        'limit exceeded',
      );
    } finally {
      sub.stop();
    }
    expect(sub.log.filter((l) => !l.startsWith('event'))).toEqual([
      'start PaymentService.charge',
      'start OrderService.validate',
      'error OrderService.validate',
      'end OrderService.validate',
      'error PaymentService.charge',
      'end PaymentService.charge',
      'asyncStart PaymentService.charge',
      'asyncEnd PaymentService.charge',
    ]);
    const err = sub.contexts.get('1')!.error;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toBe('limit exceeded');
  });

  it('publishes explicit steps and records (not the spans own entered/exited events) on stepmark:event', async () => {
    disable = stepmark.enableDiagnosticsChannel();
    const sub = listen();
    try {
      await stepmark.capture(() => {
        stepmark.record('boot', 'entered');
        const h = stepmark.enter();
        stepmark.recordEntity('u1', 'login', 'exited');
        h();
      });
    } finally {
      sub.stop();
    }
    const events = sub.log.filter((l) => l.startsWith('event'));
    expect(events).toEqual([
      'event boot:entered span=- entity=-',
      expect.stringMatching(/^event login:exited span=\S+ entity=u1$/),
    ]);
  });

  // A subscriber that runs traced code (its own file marked, a logger that is): that work is
  // recorded but not published, or each start would publish another start without end (a stack
  // overflow on Bun, thousands of spans on Node).
  it('does not publish what a subscriber itself records, so a subscriber never recurses', async () => {
    disable = stepmark.enableDiagnosticsChannel();
    const log: string[] = [];
    const subscriber = {
      start(ctx: any) {
        log.push(`start ${ctx.name}`);
        const __smf = __stepmark.enter('subscriber.start', void 0);
        try {
          __stepmark.step('subscriber.start', 'seen');
        } finally {
          __smf.exit();
        }
      },
      end(ctx: any) {
        log.push(`end ${ctx.name}`);
      },
      asyncStart() {},
      asyncEnd() {},
      error() {},
    };
    const onEvent = (m: any) => log.push(`event ${m.stage}:${m.action}`);
    const tc = dc.tracingChannel('stepmark:span');
    tc.subscribe(subscriber);
    dc.subscribe('stepmark:event', onEvent);
    let trace: stepmark.Trace;
    try {
      ({ trace } = await stepmark.capture(() => placeOrder({ id: 'o1', total: 5 })));
    } finally {
      tc.unsubscribe(subscriber);
      dc.unsubscribe('stepmark:event', onEvent);
    }
    expect(log).toEqual([
      'start placeOrder',
      'start OrderService.validate',
      'event OrderService.validate:accepted',
      'end OrderService.validate',
      'end placeOrder',
    ]);
    // still in the trace: nothing the program does goes unrecorded
    expect(trace.spans.map((x) => x.name)).toEqual([
      'placeOrder',
      'subscriber.start',
      'OrderService.validate',
      'subscriber.start',
    ]);
  });

  it('stops publishing when disabled, and is one bridge for every runtime copy in the process', async () => {
    const require = createRequire(import.meta.url);
    const cjs = require('stepmark') as typeof stepmark;
    disable = stepmark.enableDiagnosticsChannel();
    expect(cjs.diagnosticsChannelEnabled()).toBe(true);
    // enabling through the CommonJS copy gives the same bridge: spans are not published twice
    expect(cjs.enableDiagnosticsChannel()).toBe(disable);
    const sub = listen();
    try {
      await stepmark.capture(() => placeOrder({ id: 'o1', total: 5 }));
      expect(sub.log.filter((l) => l === 'start placeOrder')).toHaveLength(1);
      disable();
      disable = undefined;
      expect(OBS.list).toBeUndefined();
      sub.log.length = 0;
      await stepmark.capture(() => placeOrder({ id: 'o1', total: 5 }));
    } finally {
      sub.stop();
    }
    expect(sub.log).toEqual([]);
    expect(stepmark.diagnosticsChannelEnabled()).toBe(false);
  });

  it('works on Node 20 with the CommonJS build', () => {
    const script = `
      const dc = require('node:diagnostics_channel');
      const sm = require('stepmark');
      const abi = require('stepmark/runtime').abi(1);
      sm.enableDiagnosticsChannel();
      const out = [];
      dc.tracingChannel('stepmark:span').subscribe({
        start: (c) => out.push('start ' + c.name), end: (c) => out.push('end ' + c.name),
        asyncStart: (c) => out.push('asyncStart ' + c.name), asyncEnd: (c) => out.push('asyncEnd ' + c.name),
        error: (c) => out.push('error ' + c.error.message),
      });
      async function f() {
        const __smf = abi.enter('f', void 0);
        try { __smf.r(await __smf.s(null)); throw new Error('boom'); }
        catch (__sme) { __smf.fail(__sme); throw __sme; } finally { __smf.exit(); }
      }
      sm.run(() => f()).catch(() => console.log(process.version.split('.')[0] + ' ' + out.join(',')));
    `;
    const out = execFileSync('/usr/bin/node', ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(out.trim()).toBe('v20 start f,error boom,end f,asyncStart f,asyncEnd f');
  });
});

describe('diagnostics_channel bridge on a real build', () => {
  it('publishes the build-time names and locations of an esbuild-instrumented app, async spans included', async () => {
    const { project, bundle, load } = await import('../esbuild/helpers.js');
    const dir = project({
      'orders.ts': [
        '// @stepmark',
        "import { step } from 'stepmark';",
        'export class OrderService {',
        '  async place(total: number) {',
        '    await new Promise((r) => setTimeout(r, 1));',
        "    step(total > 0 ? 'accepted' : 'rejected');",
        '    return this.price(total);',
        '  }',
        '  price(total: number) {',
        '    return total * 2;',
        '  }',
        '}',
      ].join('\n'),
    });
    const built = await bundle(dir, 'orders.ts');
    const { OrderService } = await load<{ OrderService: new () => { place(n: number): Promise<number> } }>(
      built.outfile,
    );
    disable = stepmark.enableDiagnosticsChannel();
    const sub = listen();
    try {
      await stepmark.capture(() => new OrderService().place(3));
    } finally {
      sub.stop();
    }
    expect(sub.log).toEqual([
      'start OrderService.place',
      'event OrderService.place:accepted span=OrderService.place entity=-',
      'start OrderService.price',
      'end OrderService.price',
      'end OrderService.place',
      'asyncStart OrderService.place',
      'asyncEnd OrderService.place',
    ]);
    expect(sub.contexts.get('1')).toMatchObject({ location: 'orders.ts:4:9', async: true });
    expect(sub.contexts.get('2')).toMatchObject({ location: 'orders.ts:9:3', async: false });
  });
});

describe('diagnostics_channel bridge in a browser bundle', () => {
  it('bundles for the browser without node: imports, and warns once where diagnostics_channel is missing', async () => {
    const { build } = await import('esbuild');
    const { runInNewContext } = await import('node:vm');
    const { createRequire } = await import('node:module');
    const entry = createRequire(import.meta.url)
      .resolve('stepmark')
      .replace(/\.cjs$/, '.js');
    const out = await build({
      stdin: {
        contents: `import { enableDiagnosticsChannel, diagnosticsChannelEnabled } from ${JSON.stringify(entry)};
          const off = enableDiagnosticsChannel();
          off();
          globalThis.result = { enabled: diagnosticsChannelEnabled(), again: typeof enableDiagnosticsChannel() };`,
        resolveDir: process.cwd(),
      },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    // only looked up at run time through process.getBuiltinModule, never imported or required
    expect(code).not.toMatch(/\brequire\(|\bimport\(|from ['"]node:/);
    expect(code).toContain('getBuiltinModule?.("node:diagnostics_channel")');
    const warnings: string[] = [];
    const sandbox: Record<string, unknown> = { console: { warn: (m: string) => warnings.push(m) } };
    runInNewContext(code, sandbox);
    expect(sandbox.result).toEqual({ enabled: false, again: 'function' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/node:diagnostics_channel is not available here/);
  });
});
