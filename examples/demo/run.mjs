// The stepmark demo (`npm start`): build the example order service with the esbuild plugin, run a
// few orders through it — tracing on for some — and print what stepmark recorded. Then a stream of
// orders with the flight recorder on, and a question asked afterwards: why was this order rejected?
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { capture, formatTrace, run } from 'stepmark';
import stepmark from 'stepmark/esbuild-plugin';
import { flightRecorder } from 'stepmark/recorder';

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

// 4. The flight recorder: every order of a busy hour recorded, nothing printed, nobody asked
//    beforehand. A customer then asks why their order was rejected.
console.log();
console.log(bold('── A stream of orders with the flight recorder on'));
const recorder = flightRecorder({ maxBytes: 4 * 2 ** 20, keep: { errors: true } });
const busyShop = createShop({ keyboard: 150, mouse: 300, monitor: 40, laptop: 60 });
let seed = 42; // a fixed pseudo-random stream, so every run tells the same story
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = (list) => list[Math.floor(random() * list.length)];
const countries = ['FR', 'FR', 'DE', 'IT', 'XX'];
const skus = ['keyboard', 'mouse', 'mouse', 'monitor', 'laptop'];
const outcomes = [];
const stream = Array.from({ length: 300 }, (_, i) => ({
  id: `order_${1000 + i}`,
  customer: {
    id: `c${Math.floor(random() * 60)}`,
    country: pick(countries),
    ordersPlaced: Math.floor(random() * 3),
  },
  items: Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({
    sku: pick(skus),
    quantity: random() < 0.03 ? 0 : 1 + Math.floor(random() * 2),
  })),
}));
// 20 orders in flight at a time, like a server's concurrent requests; each its own trace.
for (let i = 0; i < stream.length; i += 20) {
  await Promise.all(
    stream.slice(i, i + 20).map(async (order, j) => {
      const result = await run(() => busyShop.place(order), {
        meta: { request_id: `req-${i + j}` },
        onEnd: recorder.add,
      });
      outcomes.push(result);
    }),
  );
}
const stats = recorder.stats();
const rejected = outcomes.filter((o) => o.status === 'rejected');
console.log(
  `${stream.length} orders placed (${rejected.length} rejected), none traced on request; the recorder holds ` +
    `${stats.traces} traces in ${(stats.bytes / 1024).toFixed(0)} KiB of its ${stats.maxBytes / 2 ** 20} MiB.`,
);

// The question comes later, about one order: the recorder answers from its entity index.
const asked = rejected.filter((o) => o.reason === 'flagged by fraud check')[10] ?? rejected[0];
console.log();
console.log(bold(`── Why was ${asked.orderId} rejected?`));
const [found] = recorder.find({ entity: asked.orderId });
const journey = found.entities[asked.orderId];
const why = journey.events.find((e) => e.action === 'rejected');
console.log(`${asked.orderId} was rejected: ${why.meta.reason}.`);
console.log(
  formatTrace(
    { ...found, entities: { [asked.orderId]: journey } },
    { color, sections: ['header', 'spans', 'entities'] },
  ),
);

// The same ring as a file, for `stepmark find` (or `stepmark view`) elsewhere.
const dump = join(out, 'recorder.ndjson');
await recorder.writeNdjson(dump);
console.log();
console.log(`Wrote the recorder's ${stats.traces} traces → ${relative(process.cwd(), dump)}`);
console.log(
  `Ask it again from the shell: npx stepmark find ${asked.orderId} ${relative(process.cwd(), dump)}`,
);
