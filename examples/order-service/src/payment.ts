// @stepmark
import { stepEntity } from 'stepmark';
import type { Order } from './types.js';

/** A stand-in for a payment provider: answers after a short network delay. */
export class PaymentGateway {
  private next = 1;

  async charge(order: Order, amount: number): Promise<string> {
    await networkDelay();
    const paymentId = `pay_${this.next++}`;
    stepEntity(order.id, 'charged', { amount, paymentId });
    return paymentId;
  }
}

// @stepmark-ignore
function networkDelay(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}
