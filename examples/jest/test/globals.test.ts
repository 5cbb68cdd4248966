// Jest's injected globals, typed by @types/jest: the stepmark matchers are typed through
// `jest.Matchers` (stepmark/testing/jest augments it).
import { capture } from 'stepmark';
import { createShop } from '../../order-service/src/index.js';

test('the matchers work on the global expect', async () => {
  const shop = createShop();
  const { trace } = await capture(() =>
    shop.place({
      id: 'o4',
      customer: { id: 'c1', country: 'FR', ordersPlaced: 3 },
      items: [{ sku: 'laptop', quantity: 1 }],
    }),
  );
  expect(trace).toHaveSpanPath(['OrderService.place', 'FraudCheck.assess', 'FraudCheck.score']);
  expect(trace).toHaveEntityJourney('o4', [
    'validateOrder',
    'priceOrder',
    'FraudCheck.assess',
    'Inventory.reserve',
    'PaymentGateway.charge',
    'OrderService.place',
  ]);
  // @ts-expect-error: a journey is a list of steps
  expect(() => expect(trace).toHaveEntityJourney('o4', 'validateOrder')).toThrow('`steps` must be an array');
});
