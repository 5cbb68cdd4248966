// @stepmark
import { step, stepEntity, track } from 'stepmark';

export interface Order {
  id: string;
  total: number;
  score: number;
}

export class FraudService {
  check(order: Order): boolean {
    const flagged = order.score > 0.7;
    stepEntity(order.id, flagged ? 'flagged' : 'cleared', { score: order.score });
    return !flagged;
  }
}

export class Inventory {
  reserve(order: Order): void {
    stepEntity(order.id, 'reserved');
  }
}

export const pricing = {
  quote(order: Order): number {
    return order.total * 1.2;
  },
};

export function charge(order: Order, method: string): void {
  stepEntity(order.id, `charged`);
  step(method);
}

/** @stepmark entity=order.id kind=order */
export function placeOrder(order: Order): string | number {
  track(order.id, { total: order.total }, { kind: 'order' });
  if (!new FraudService().check(order)) return 'rejected';
  new Inventory().reserve(order);
  charge(order, 'card');
  return pricing.quote(order);
}
