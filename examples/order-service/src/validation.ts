// @stepmark
import { scope } from 'stepmark';
import type { Order } from './types.js';

const orders = scope('order');

/** Checks the order's shape; returns why it is invalid, or undefined. */
export function validateOrder(order: Order): string | undefined {
  if (order.items.length === 0) return reject(order, 'no items');
  const bad = order.items.find((item) => item.quantity <= 0 || !Number.isInteger(item.quantity));
  if (bad) return reject(order, `bad quantity for ${bad.sku}`);
  orders.step(order.id, 'valid', { items: order.items.length });
  return undefined;
}

function reject(order: Order, reason: string): string {
  orders.step(order.id, 'invalid', { reason });
  return reason;
}
