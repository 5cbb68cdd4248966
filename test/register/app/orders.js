// @stepmark
import { step } from 'stepmark';

export class OrderService {
  validate(order) {
    step(order.total > 0 ? 'accepted' : 'rejected', { total: order.total });
    return order.total > 0;
  }

  async place(order) {
    await new Promise((r) => setTimeout(r, 1));
    return this.validate(order) ? 'placed' : 'refused';
  }
}

export const price = (order) => order.total * 2;
