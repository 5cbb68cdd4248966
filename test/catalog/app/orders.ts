// @stepmark
import { record, recordEntity, step, stepEntity, track } from 'stepmark';

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
  if (!new FraudService().check(order)) {
    recordEntity(order.id, 'fulfilment', order.score > 0.95 ? 'blocked' : 'held');
    return 'rejected';
  }
  record('fulfilment', 'started');
  new Inventory().reserve(order);
  charge(order, 'card');
  return pricing.quote(order);
}
