import { FraudCheck } from './fraud.js';
import { Inventory } from './inventory.js';
import { OrderService } from './order-service.js';
import { PaymentGateway } from './payment.js';

export type { Order, Outcome } from './types.js';
export { OrderService };

/** A shop with a small catalog and stock (units per sku, by default a few), wired together. */
export function createShop(
  stock: Record<string, number> = { keyboard: 10, mouse: 25, monitor: 0, laptop: 3 },
): OrderService {
  const catalog = { keyboard: 49.9, mouse: 19.9, monitor: 229, laptop: 1299 };
  const inventory = new Inventory(stock);
  return new OrderService(catalog, inventory, new FraudCheck(), new PaymentGateway());
}
