// Jest's `expect` imported from @jest/globals: the stepmark matchers are typed through the
// `expect` package's Matchers (stepmark/testing/jest augments it).
import { describe, expect, test } from '@jest/globals';
import { capture } from 'stepmark';
import { renderJourneys, renderSpanTree } from 'stepmark/testing';
import { createShop, type Order } from '../../order-service/src/index.js';

const order = (id: string, patch: Partial<Order> = {}): Order => ({
  id,
  customer: { id: 'c1', country: 'FR', ordersPlaced: 3 },
  items: [{ sku: 'keyboard', quantity: 1 }],
  ...patch,
});

describe('order service traces', () => {
  test('a clean order goes through every stage', async () => {
    const shop = createShop();
    const { result, trace } = await capture(() =>
      shop.place(order('o1', { coupon: 'WELCOME10', items: [{ sku: 'mouse', quantity: 2 }] })),
    );
    expect(result).toMatchObject({ status: 'confirmed', total: 42.98 });
    expect(renderSpanTree(trace)).toBe(
      [
        'OrderService.place',
        '  validateOrder',
        '  priceOrder',
        '    applyCoupon',
        '  FraudCheck.assess [o1]',
        '    FraudCheck.score',
        '  Inventory.reserve',
        '  PaymentGateway.charge',
      ].join('\n'),
    );
    expect(renderJourneys(trace)).toBe(
      'o1 (order): validateOrder:valid → applyCoupon:coupon_applied → priceOrder:priced → FraudCheck.assess:passed → Inventory.reserve:reserved → PaymentGateway.charge:charged → OrderService.place:confirmed',
    );
    expect(trace).toHaveSpanPath(['OrderService.place', 'priceOrder', 'applyCoupon']);
    expect(trace).not.toHaveSpanPath(['OrderService.place', 'OrderService.rejected']);
  });

  test('a risky order is flagged by the fraud check and never reaches payment', async () => {
    const risky = order('o2', { customer: { id: 'c9', country: 'XX', ordersPlaced: 0 } });
    const shop = createShop();
    const { result, trace } = await capture(() => shop.place(risky));
    expect(result).toMatchObject({ status: 'rejected', reason: 'flagged by fraud check' });
    expect(trace).toHaveEntityJourney('o2', [
      'validateOrder',
      'priceOrder:priced',
      'FraudCheck.assess:flagged',
      'OrderService.rejected',
    ]);
    expect(trace).not.toHaveSpan('PaymentGateway.charge');
  });

  test('an out-of-stock order fails in inventory; the error is on the span', async () => {
    const shop = createShop();
    const captured = await capture(() =>
      shop.place(order('o3', { items: [{ sku: 'monitor', quantity: 1 }] })),
    );
    expect(captured).toHaveSpan('Inventory.reserve', { status: 'error', error: 'out of stock: monitor' });
    // typed, not `any`: the type checker rejects a path that is not a list of names, as the matcher does
    expect(() =>
      // @ts-expect-error
      expect(captured).toHaveSpanPath('OrderService.place'),
    ).toThrow('`path` must be an array of span names');
  });
});
