import * as stepmark from 'stepmark';
import { describe, expect, it } from 'vitest';
// The registry is process-wide (globalThis), so the source copy seen here and the built `stepmark` share it.
import { addObserver, OBS } from '../../runtime/observers.js';

describe('runtime span-lifecycle observers', () => {
  it('see trace start/end, span open/close with parents and status, and kept events with their entity', async () => {
    const log: string[] = [];
    const remove = addObserver({
      traceStart: (t) => {
        log.push(`trace start ${JSON.stringify(t.meta)}`);
        t.meta.added = 'by observer';
      },
      traceEnd: (t) => log.push(`trace end ended=${t.ended}`),
      spanStart: (s) =>
        log.push(`open ${s.name}#${s.id} parent=${s.parent?.id ?? '-'} entity=${s.entity?.id ?? '-'}`),
      spanEnd: (s) => log.push(`close ${s.name} status=${s.status} error=${s.error ?? '-'}`),
      event: (e, entity) =>
        log.push(`event ${e.stage}:${e.action} span=${e.span?.id ?? '-'} entity=${entity?.id ?? '-'}`),
    });
    try {
      const { trace } = await stepmark.capture(
        async () => {
          const outer = stepmark.enter();
          stepmark.stepEntity('order_1', 'checked', { ok: true });
          const inner = stepmark.enterEntity('order_1');
          inner.fail(new Error('nope'));
          inner();
          outer();
        },
        { meta: { request_id: 'r1' } },
      );
      expect(trace.meta).toEqual({ request_id: 'r1', added: 'by observer' });
    } finally {
      remove();
    }
    expect(OBS.list).toBeUndefined();
    expect(log[0]).toBe('trace start {"request_id":"r1"}');
    expect(log.at(-1)).toBe('trace end ended=true');
    const spans = log.filter((l) => l.startsWith('open') || l.startsWith('close'));
    expect(spans).toHaveLength(4);
    expect(spans[0]).toMatch(/^open .+#1 parent=- entity=-$/);
    expect(spans[1]).toMatch(/^open .+#2 parent=1 entity=order_1$/);
    expect(spans[2]).toMatch(/^close .+ status=2 error=nope$/);
    expect(spans[3]).toMatch(/^close .+ status=1 error=-$/);
    expect(log).toContainEqual(expect.stringMatching(/^event .+:checked span=1 entity=order_1$/));
    expect(log).toContainEqual(expect.stringMatching(/^event .+:entered span=2 entity=order_1$/));
  });

  it('a throwing observer never reaches user code, and traces are unchanged', async () => {
    const boom = () => {
      throw new Error('observer bug');
    };
    const remove = addObserver({
      traceStart: boom,
      traceEnd: boom,
      spanStart: boom,
      spanEnd: boom,
      event: boom,
    });
    try {
      const { result, trace } = await stepmark.capture(() => {
        const done = stepmark.enter();
        stepmark.step('x');
        done();
        return 42;
      });
      expect(result).toBe(42);
      expect(trace.spans).toHaveLength(1);
      expect(trace.spans[0]!.status).toBe('ok');
    } finally {
      remove();
    }
  });
});
