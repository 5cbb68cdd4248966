// @stepmark
import { main } from './orders.js';
import { Pricing } from './pricing.js';

export async function start(): Promise<unknown[]> {
  const results = await main();
  const pricing = new Pricing(0.2);
  results.push(pricing.total([10, 20]));
  return results;
}

export async function explode(reason: string): Promise<never> {
  await Promise.resolve();
  const detail = { reason };
  throw new Error(`boom: ${detail.reason}`);
}
