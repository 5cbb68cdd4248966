import { enter } from 'stepmark';
import { placeOrder } from './orders.js';

export function handle(orders: Parameters<typeof placeOrder>[0][]) {
  const done = enter();
  try {
    return orders.map((o) => placeOrder(o));
  } finally {
    done();
  }
}
