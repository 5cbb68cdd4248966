// @stepmark
import { stepEntity } from 'stepmark';
import type { Order } from './types.js';

// @stepmark-ignore
export class OutOfStockError extends Error {
  constructor(readonly sku: string) {
    super(`out of stock: ${sku}`);
  }
}

export class Inventory {
  private readonly stock: Map<string, number>;

  constructor(stock: Record<string, number>) {
    this.stock = new Map(Object.entries(stock));
  }

  /** Reserves every item of the order, or throws OutOfStockError and reserves nothing. */
  reserve(order: Order): void {
    for (const item of order.items) {
      if ((this.stock.get(item.sku) ?? 0) < item.quantity) {
        stepEntity(order.id, 'out_of_stock', { sku: item.sku });
        throw new OutOfStockError(item.sku);
      }
    }
    for (const item of order.items) this.stock.set(item.sku, this.stock.get(item.sku)! - item.quantity);
    stepEntity(order.id, 'reserved', { skus: order.items.map((i) => i.sku) });
  }
}
