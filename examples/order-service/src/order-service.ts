// @stepmark
import { scope } from 'stepmark';
import type { FraudCheck } from './fraud.js';
import { type Inventory, OutOfStockError } from './inventory.js';
import type { PaymentGateway } from './payment.js';
import { priceOrder } from './pricing.js';
import type { Order, Outcome } from './types.js';
import { validateOrder } from './validation.js';

const orders = scope('order');

export class OrderService {
  constructor(
    private readonly catalog: Record<string, number>,
    private readonly inventory: Inventory,
    private readonly fraud: FraudCheck,
    private readonly payments: PaymentGateway,
  ) {}

  /** Validation → pricing → fraud check → inventory → payment. */
  async place(order: Order): Promise<Outcome> {
    orders.track(order.id, { customer: order.customer.id, items: order.items.length });
    const invalid = validateOrder(order);
    if (invalid) return this.rejected(order, invalid);
    const total = priceOrder(order, this.catalog);
    if (this.fraud.assess(order, total)) return this.rejected(order, 'flagged by fraud check');
    try {
      this.inventory.reserve(order);
    } catch (error) {
      if (error instanceof OutOfStockError) return this.rejected(order, error.message);
      throw error;
    }
    const paymentId = await this.payments.charge(order, total);
    orders.step(order.id, 'confirmed', { total });
    return { status: 'confirmed', orderId: order.id, total, paymentId };
  }

  private rejected(order: Order, reason: string): Outcome {
    orders.step(order.id, 'rejected', { reason });
    return { status: 'rejected', orderId: order.id, reason };
  }
}
