// A tiny "application" written the way the build plugins emit it (docs/ABI.md): every function
// opens a frame with its build-time name and location, steps pass their stage name.
import { v1 as sm } from 'stepmark/runtime';

export interface Order {
  id: string;
  total: number;
}

export function validate(order: Order): void {
  const f = sm.enter('OrderService.validate', 'src/order.ts:20:3');
  try {
    sm.stepEntity('OrderService.validate', order.id, 'validated', { total: order.total, lines: [1, 2] });
  } catch (e) {
    f.fail(e);
    throw e;
  } finally {
    f.exit();
  }
}

export async function score(order: Order): Promise<number> {
  const f = sm.enterEntity('FraudService.score', 'C:/repo/src/fraud.ts:7:10', 'order', order.id);
  try {
    f.r(await f.s(new Promise((r) => setTimeout(r, 3))));
    if (order.total > 1000) throw new Error('score service down');
    sm.stepEntity('FraudService.score', order.id, 'scored', { score: 0.12 });
    return 0.12;
  } catch (e) {
    f.fail(e);
    throw e;
  } finally {
    f.exit();
  }
}

/** OrderService.place → validate, FraudService.score (fails when total > 1000). */
export async function place(order: Order): Promise<string> {
  const f = sm.enterEntity('OrderService.place', 'src/order.ts:12:3', 'order', order.id);
  try {
    validate(order);
    try {
      f.r(await f.s(score(order)));
    } catch {
      sm.stepEntity('OrderService.place', order.id, 'manual_review', { reason: 'fraud check failed' });
    }
    return 'placed';
  } catch (e) {
    f.fail(e);
    throw e;
  } finally {
    f.exit();
  }
}
