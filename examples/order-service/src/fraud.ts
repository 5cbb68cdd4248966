// @stepmark
import { stepEntity } from 'stepmark';
import type { Order } from './types.js';

const RISKY_COUNTRIES = new Set(['XX']);

export class FraudCheck {
  constructor(private readonly threshold = 0.7) {}

  /** Scores an order from 0 (fine) to 1 (surely fraud); flags it above the threshold. */
  /** @stepmark entity=order.id kind=order */
  assess(order: Order, total: number): boolean {
    const score = this.score(order, total);
    const flagged = score >= this.threshold;
    stepEntity(order.id, flagged ? 'flagged' : 'passed', { score });
    return flagged;
  }

  score(order: Order, total: number): number {
    let score = 0.1;
    if (order.customer.ordersPlaced === 0) score += 0.3;
    if (total > 1000) score += 0.3;
    if (RISKY_COUNTRIES.has(order.customer.country)) score += 0.4;
    return Math.min(1, Math.round(score * 100) / 100);
  }
}
