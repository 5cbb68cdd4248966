// The request-sized unit of work several benches trace: 20 spans made through the ABI (as the
// build plugins emit them, names and locations written in), 5 entity events, one entity per
// request. `request(id)` returns the function to run inside a trace.
import { v1 as sm } from 'stepmark/runtime';

const NAMES = [
  'OrderService.validate',
  'PricingService.price',
  'PricingService.applyCoupon',
  'FraudCheck.assess',
  'FraudCheck.score',
  'Inventory.reserve',
  'PaymentGateway.charge',
];
const LOCATIONS = NAMES.map((_, i) => `src/order-service.ts:${10 + 7 * i}:3`);

export function request(id = 'order_1') {
  return function handle() {
    const root = sm.enterEntity('OrderService.place', 'src/order-service.ts:3:3', 'order', id);
    for (let i = 0; i < 19; i++) {
      const f = sm.enter(NAMES[i % NAMES.length], LOCATIONS[i % NAMES.length]);
      if (i % 4 === 0) sm.stepEntity(NAMES[i % NAMES.length], id, 'checked', { step: i });
      f.exit();
    }
    root.exit();
  };
}
