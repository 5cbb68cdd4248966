// Runs orders through an instrumented build of examples/order-service and prints one JSON line:
// each order's result and normalised trace. `node|bun|deno orders.mjs <bundle>` runs a bundle;
// test/hosts/bun-build.mjs builds one with Bun.build first. test/hosts/hosts.test.ts compares
// the lines of every runtime and bundler.
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { capture } from 'stepmark';
import { normalizeTrace } from 'stepmark/testing';

const customer = { id: 'c1', country: 'FR', ordersPlaced: 4 };
const ORDERS = [
  {
    id: 'order_1',
    customer,
    items: [
      { sku: 'keyboard', quantity: 1 },
      { sku: 'mouse', quantity: 2 },
    ],
    coupon: 'WELCOME10',
  },
  {
    id: 'order_2',
    customer: { id: 'c2', country: 'XX', ordersPlaced: 0 },
    items: [{ sku: 'laptop', quantity: 2 }],
  },
  { id: 'order_3', customer, items: [{ sku: 'monitor', quantity: 1 }] },
];

/** Each order placed inside a trace, one after the other (the shop's stock is shared), then one untraced. */
export async function traceOrders({ createShop }) {
  const shop = createShop();
  const traced = [];
  for (const order of ORDERS)
    traced.push(await capture(() => shop.place(order), { meta: { order_id: order.id } }));
  const untraced = await shop.place({ id: 'order_4', customer, items: [{ sku: 'mouse', quantity: 1 }] });
  return {
    traced: traced.map(({ result, trace }) => ({ result, trace: normalizeTrace(trace) })),
    untraced,
  };
}

const bundle = process.argv[2];
if (bundle && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await traceOrders(await import(pathToFileURL(bundle).href))));
}
