import { step } from 'stepmark';

interface Order {
  id: string;
  total: number;
}

/** @stepmark entity=order.id kind=order */
export function discount(order: Order): number {
  const rate: number = order.total > 100 ? 0.1 : 0;
  step(rate > 0 ? 'discounted' : 'full-price');
  return order.total * (1 - rate);
}

export function untouched(order: Order): number {
  return order.total;
}
