// The stepmark demo (`npm start`): build the example order service with the esbuild plugin, run a
// few orders through it — tracing on for some — and print what stepmark recorded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { capture, formatTrace } from 'stepmark';
import stepmark from 'stepmark/esbuild-plugin';

const here = dirname(fileURLToPath(import.meta.url));
const service = join(here, '../order-service');
const out = join(here, 'dist'); // git- and lint-ignored, like every dist folder
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s) => (color ? `\u001b[1m${s}\u001b[0m` : s);

// 1. Build: the plugin writes each function's name and location into the marked files.
const built = join(out, 'order-service.mjs');
await esbuild.build({
  absWorkingDir: service,
  entryPoints: [join(service, 'src/index.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  sourcemap: 'inline',
  external: ['stepmark', 'stepmark/*'],
  outfile: built,
  logLevel: 'warning',
  plugins: [stepmark()],
});
console.log(
  `Built examples/order-service with stepmark/esbuild-plugin → ${relative(process.cwd(), built)}\n`,
);

// 2. Run orders through the shop.
const { createShop } = await import(pathToFileURL(built).href);
const shop = createShop();
const customer = { id: 'c1', country: 'FR', ordersPlaced: 4 };
const orders = [
  {
    title: 'A clean order (traced)',
    traced: true,
    order: {
      id: 'order_1',
      customer,
      items: [
        { sku: 'keyboard', quantity: 1 },
        { sku: 'mouse', quantity: 2 },
      ],
      coupon: 'WELCOME10',
    },
  },
  {
    title: 'A new customer buying two laptops (traced)',
    traced: true,
    order: {
      id: 'order_2',
      customer: { id: 'c2', country: 'XX', ordersPlaced: 0 },
      items: [{ sku: 'laptop', quantity: 2 }],
    },
  },
  {
    title: 'A monitor that is out of stock (traced)',
    traced: true,
    order: { id: 'order_3', customer, items: [{ sku: 'monitor', quantity: 1 }] },
  },
  {
    title: 'An ordinary order with tracing off',
    traced: false,
    order: { id: 'order_4', customer, items: [{ sku: 'mouse', quantity: 1 }] },
  },
];

const traces = {};
for (const { title, traced, order } of orders) {
  console.log(bold(`── ${title}`));
  if (traced) {
    const { result, trace } = await capture(() => shop.place(order), { meta: { order_id: order.id } });
    console.log(`result: ${JSON.stringify(result)}`);
    console.log(formatTrace(trace, { color }));
    traces[order.id] = trace;
  } else {
    const result = await shop.place(order);
    console.log(`result: ${JSON.stringify(result)}`);
    console.log('(no trace: nothing was recorded, and the instrumented code cost next to nothing)');
  }
  console.log();
}

// 3. The same traces as JSON (the format Go Stepmark's consumers read).
mkdirSync(out, { recursive: true });
const file = join(out, 'traces.json');
writeFileSync(file, `${JSON.stringify(traces, null, 2)}\n`);
console.log(`Wrote ${Object.keys(traces).length} traces as JSON → ${relative(process.cwd(), file)}`);
