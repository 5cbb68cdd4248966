import { capture, collect } from 'stepmark';
import {
  entityJourney,
  renderJourneys,
  renderSpanTree,
  type StepmarkMatchers,
  stepmarkMatchers,
} from 'stepmark/testing';
import { describe, expect, it } from 'vitest';
import { createShop, type Order } from '../src/index.js';

// stepmark's matchers (toHaveSpanPath, toHaveEntityJourney, toHaveSpan), at run time and for the type checker.
expect.extend(stepmarkMatchers);
declare module 'vitest' {
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown>
    extends StepmarkMatchers<R> {}
}

const order = (id: string, patch: Partial<Order> = {}): Order => ({
  id,
  customer: { id: 'c1', country: 'FR', ordersPlaced: 3 },
  items: [{ sku: 'keyboard', quantity: 1 }],
  ...patch,
});

describe('order service traces', () => {
  it('a clean order goes through every stage', async () => {
    const shop = createShop();
    const { result, trace } = await capture(() =>
      shop.place(order('o1', { coupon: 'WELCOME10', items: [{ sku: 'mouse', quantity: 2 }] })),
    );
    expect(result).toMatchObject({ status: 'confirmed', total: 42.98 });
    expect(renderSpanTree(trace)).toMatchInlineSnapshot(`
      "OrderService.place
        validateOrder
        priceOrder
          applyCoupon
        FraudCheck.assess [o1]
          FraudCheck.score
        Inventory.reserve
        PaymentGateway.charge"
    `);
    expect(renderJourneys(trace)).toMatchInlineSnapshot(
      `"o1 (order): validateOrder:valid → applyCoupon:coupon_applied → priceOrder:priced → FraudCheck.assess:passed → Inventory.reserve:reserved → PaymentGateway.charge:charged → OrderService.place:confirmed"`,
    );
  });

  it('a risky order is flagged by the fraud check and never reaches inventory or payment', async () => {
    const risky = order('o2', { customer: { id: 'c9', country: 'XX', ordersPlaced: 0 } });
    const shop = createShop();
    const { result, trace } = await capture(() => shop.place(risky));
    expect(result).toMatchObject({ status: 'rejected', reason: 'flagged by fraud check' });
    expect(trace).toHaveSpanPath(['OrderService.place', 'FraudCheck.assess', 'FraudCheck.score']);
    expect(entityJourney(trace, 'o2')).toEqual([
      'validateOrder:valid',
      'priceOrder:priced',
      'FraudCheck.assess:flagged',
      'OrderService.rejected:rejected',
    ]);
    expect(trace.entities.o2!.events.find((e) => e.action === 'flagged')?.meta).toEqual({ score: 0.8 });
  });

  it('an out-of-stock order fails in inventory; the error is on the span', async () => {
    const shop = createShop();
    const { result, trace } = await capture(() =>
      shop.place(order('o3', { items: [{ sku: 'monitor', quantity: 1 }] })),
    );
    expect(result).toMatchObject({ status: 'rejected', reason: 'out of stock: monitor' });
    expect(renderSpanTree(trace)).toMatchInlineSnapshot(`
      "OrderService.place
        validateOrder
        priceOrder
          applyCoupon
        FraudCheck.assess [o3]
          FraudCheck.score
        Inventory.reserve !error: out of stock: monitor
        OrderService.rejected"
    `);
  });

  it('spans carry the location of the function in the source', async () => {
    const shop = createShop();
    const { trace } = await capture(() => shop.place(order('o4')));
    expect(trace.spans.find((s) => s.name === 'priceOrder')?.location).toBe('src/pricing.ts:9:8');
  });

  it('records nothing when no trace is active', async () => {
    const result = await createShop().place(order('o5'));
    expect(result.status).toBe('confirmed');
    expect(collect()).toBeUndefined();
  });
});
