// @stepmark
import { stepEntity } from 'stepmark';
import type { Order } from './types.js';

const COUPONS: Record<string, number> = { WELCOME10: 0.1 };
const TAX_RATE = 0.2;

/** Subtotal from the catalog, coupon discount, tax; returns the total in cents-rounded units. */
export function priceOrder(order: Order, catalog: Record<string, number>): number {
  const subtotal = round(
    order.items.reduce((sum, item) => sum + (catalog[item.sku] ?? 0) * item.quantity, 0),
  );
  const discount = round(applyCoupon(order, subtotal));
  const total = round((subtotal - discount) * (1 + TAX_RATE));
  stepEntity(order.id, 'priced', { subtotal, discount, total });
  return total;
}

const applyCoupon = (order: Order, subtotal: number): number => {
  const rate = order.coupon ? (COUPONS[order.coupon] ?? 0) : 0;
  if (rate > 0) stepEntity(order.id, 'coupon_applied', { coupon: order.coupon, rate });
  return subtotal * rate;
};

// Too small to be worth a span:
// @stepmark-ignore
const round = (n: number): number => Math.round(n * 100) / 100;
