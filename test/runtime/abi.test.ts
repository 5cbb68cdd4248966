// Every ABI v2 function (docs/ABI.md), called the way the plugins rewrite explicit calls, and
// the ABI 1 object that code built by older plugins imports.
import { captureSync, run, scope } from 'stepmark';
import {
  v2 as __stepmark,
  abi,
  FRAME_ASYNC,
  runtimeVersion,
  StepmarkAbiError,
  supportedAbis,
  v1,
} from 'stepmark/runtime';
import { describe, expect, it } from 'vitest';

const orders = scope('order');

describe('ABI v2', () => {
  it('exports the documented names, frozen', () => {
    expect(Object.keys(__stepmark).sort()).toEqual(
      [
        'version',
        'enter',
        'enterEntity',
        'on',
        'step',
        'stepEntity',
        'enterUser',
        'enterEntityUser',
        'scopeStep',
        'scopeEnter',
      ].sort(),
    );
    expect(__stepmark.version).toBe(2);
    expect(Object.isFrozen(__stepmark)).toBe(true);
    expect(supportedAbis).toEqual([1, 2]);
    expect(runtimeVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(FRAME_ASYNC).toBe(1);
    expect(new StepmarkAbiError(3)).toBeInstanceOf(Error);
    // ABI 1 stays, with the same calls, for code instrumented by older plugins
    expect(Object.keys(v1).sort()).toEqual(Object.keys(__stepmark).sort());
    expect(v1.version).toBe(1);
    expect(abi(1)).toBe(v1);
    expect(abi(2)).toBe(__stepmark);
    expect(() => abi(3)).toThrow(StepmarkAbiError);
  });

  it('frames close their span at returns: x(v) returns v, t(e) fails the span and returns e', () => {
    const boom = new Error('boom');
    const { result, trace } = captureSync(() => {
      const ok = __stepmark.enter('ok', undefined);
      const value = ok.x(42);
      const failed = __stepmark.enter('failed', undefined);
      const thrown = failed.t(boom);
      failed.exit(); // idempotent after t()
      ok.exit(); // idempotent after x()
      return [value, thrown];
    });
    expect(result).toEqual([42, boom]);
    expect(trace.spans.map((s) => [s.name, s.status, s.error])).toEqual([
      ['ok', 'ok', undefined],
      ['failed', 'error', 'boom'],
    ]);
    // the no-op frame (nothing traced) returns the argument
    const noop = __stepmark.enter('untraced', undefined);
    expect(noop.x('v')).toBe('v');
    expect(noop.t(boom)).toBe(boom);
  });

  it('on() says whether any trace runs in the process', () => {
    expect(__stepmark.on()).toBe(false);
    run(() => expect(__stepmark.on()).toBe(true));
    expect(__stepmark.on()).toBe(false);
  });

  it('rewritten explicit calls: step, stepEntity, enterUser, enterEntityUser, scopeStep, scopeEnter', () => {
    const { trace } = captureSync(() => {
      __stepmark.step('Checkout.pay', 'authorized', { amount: 5 });
      __stepmark.stepEntity('Checkout.pay', 'o1', 'charged');
      const u = __stepmark.enterUser('Checkout.pay', { attempt: 1 });
      __stepmark.scopeStep(orders, 'Checkout.pay', 'o2', 'queued', { n: 1 });
      const e = __stepmark.enterEntityUser('Checkout.pay', 'o1', { phase: 'x' });
      e.fail(new Error('declined'));
      e();
      const s = __stepmark.scopeEnter(orders, 'Checkout.pay', 'o2');
      s[Symbol.dispose]();
      u();
    });
    expect(trace.events.map((e) => `${e.stage}:${e.action}@${e.span_id ?? '-'}`)).toEqual([
      'Checkout.pay:authorized@-',
      'Checkout.pay:entered@1',
      'Checkout.pay:exited@1',
    ]);
    expect(trace.events[0]!.meta).toEqual({ amount: 5 });
    expect(trace.events[1]!.meta).toEqual({ attempt: 1 });
    expect(trace.entities.o1!.events.map((e) => `${e.action}@${e.span_id ?? '-'}`)).toEqual([
      'charged@-',
      'entered@2',
      'exited@2',
    ]);
    expect(trace.entities.o2).toMatchObject({ kind: 'order' });
    expect(trace.entities.o2!.events.map((e) => `${e.action}@${e.span_id}`)).toEqual([
      'queued@1',
      'entered@3',
      'exited@3',
    ]);
    expect(
      trace.spans.map((s) => `${s.parent_id ?? '-'}>${s.span_id}:${s.name}:${s.status}:${s.entity_id ?? ''}`),
    ).toEqual(['->1:Checkout.pay:ok:', '1>2:Checkout.pay:error:o1', '1>3:Checkout.pay:ok:o2']);
  });

  it('scope calls on something that is not a stepmark scope keep the program behaviour', () => {
    const calls: unknown[][] = [];
    const mine = {
      step: (...args: unknown[]) => calls.push(['step', ...args]),
      enter: (...args: unknown[]) => {
        calls.push(['enter', ...args]);
        return 'own handle';
      },
    };
    const h = __stepmark.scopeEnter(mine as any, 'N', 'id1', { m: 1 });
    __stepmark.scopeStep(mine as any, 'N', 'id2', 'act', { m: 2 });
    expect(h).toBe('own handle');
    expect(calls).toEqual([
      ['enter', 'id1', { m: 1 }],
      ['step', 'id2', 'act', { m: 2 }],
    ]);
  });

  it('disabled: every call returns at once, handles and frames are shared no-ops', () => {
    const f1 = __stepmark.enter('a', 'x:1:1');
    const f2 = __stepmark.enterEntity('b', void 0, 'order', __stepmark.on() && ({} as any)?.id);
    expect(f1).toBe(f2);
    expect(f1.s(42)).toBe(42);
    expect(f1.r('v')).toBe('v');
    expect(__stepmark.enterUser('a')).toBe(__stepmark.scopeEnter(orders, 'a', 'x'));
    expect(__stepmark.enterEntityUser('a', 'x')).toBe(__stepmark.enterUser('b'));
  });
});
