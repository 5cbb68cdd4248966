import * as stepmark from 'stepmark';
import { createBus, type LiveEvent, publishRuntimeEvents } from 'stepmark/live';
import { describe, expect, it } from 'vitest';

describe('live span/step events from the runtime', () => {
  it('publishes trace, span and step events while the trace runs, then stops when asked', async () => {
    const bus = createBus<unknown>({ liveEvents: true });
    const sub = bus.subscribe({ kinds: ['event'] });
    const stop = publishRuntimeEvents(bus);
    const seenDuringRun: number[] = [];
    function chargeCard(orderId: string): void {
      const span = stepmark.enterEntity(orderId);
      stepmark.stepEntity(orderId, 'charged', { amount: 12 });
      seenDuringRun.push(bus.head); // events are on the bus before the trace has finished
      span.fail(new Error('card declined'));
      span();
    }
    await stepmark.capture(
      async () => {
        stepmark.track('order_1', {}, { kind: 'order' });
        chargeCard('order_1');
      },
      { meta: { request_id: 'r-live' } },
    );
    stop();
    await stepmark.capture(() => stepmark.record('after', 'stop'));

    const events: LiveEvent[] = [];
    for (let d = sub.poll(); d; d = sub.poll()) events.push(d.item.data as LiveEvent);
    expect(seenDuringRun[0]).toBeGreaterThan(0);
    expect(events.map((e) => e.type)).toEqual([
      'trace-start',
      'span-start',
      'event',
      'span-end',
      'trace-end',
    ]);
    expect(new Set(events.map((e) => e.trace)).size).toBe(1);
    expect(events.every((e) => e.request_id === 'r-live')).toBe(true);
    expect(events[1]).toMatchObject({ name: 'chargeCard', entity_id: 'order_1', status: 'open' });
    expect(events[2]).toMatchObject({
      stage: 'chargeCard',
      action: 'charged',
      entity_id: 'order_1',
      meta: { amount: 12 },
      span_id: events[1]!.span_id,
    });
    expect(events[3]).toMatchObject({ span_id: events[1]!.span_id, status: 'error', error: 'card declined' });
    expect(events.some((e) => e.stage === 'after')).toBe(false);
    expect(events.every((e) => e.t === undefined)).toBe(true); // no clock read unless asked
    const timed = bus.subscribe();
    const stopTimed = publishRuntimeEvents(bus, { time: true });
    const before = Date.now();
    await stepmark.capture(() => stepmark.record('timed', 'yes'));
    stopTimed();
    const stamped = timed.poll()!.item.data as LiveEvent;
    expect(stamped.t).toBeGreaterThanOrEqual(before);
    expect(stamped.t).toBeLessThanOrEqual(Date.now());
    timed.cancel();
    sub.cancel();
  });

  it('refuses a bus that was not created for live events', () => {
    expect(() => publishRuntimeEvents(createBus())).toThrow(/liveEvents: true/);
  });
});
