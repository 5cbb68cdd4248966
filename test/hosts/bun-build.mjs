// Bun.build with stepmark's esbuild plugin (Bun's plugin API takes it as it is): builds
// examples/order-service into the folder given as argument, then runs test/hosts/orders.mjs's
// orders through the build and prints their line. Run with `bun bun-build.mjs <outdir>`.
import { fileURLToPath } from 'node:url';
import stepmark from 'stepmark/esbuild-plugin';
import { traceOrders } from './orders.mjs';

const outdir = process.argv[2];
const built = await Bun.build({
  entrypoints: [fileURLToPath(new URL('../../examples/order-service/src/index.ts', import.meta.url))],
  outdir,
  target: 'node',
  format: 'esm',
  sourcemap: 'inline',
  external: ['stepmark', 'stepmark/*'],
  plugins: [stepmark()],
  throw: false,
});
if (!built.success) {
  console.error(built.logs.map(String).join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(await traceOrders(await import(built.outputs[0].path))));
