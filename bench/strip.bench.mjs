// Strip mode (issue 9): a stripped build runs as fast as the uninstrumented one; the instrumented
// build with tracing off is shown for comparison. Ratios side by side in one run.
// Run: `node bench/run.mjs strip`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import stepmark from 'stepmark/esbuild-plugin';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'bench/tmp/strip');

const SOURCE = `// @stepmark
import { step } from 'stepmark';
export function price(order) {
  const base = order.total * 1.2;
  step(base > 100 ? 'expensive' : 'cheap', { base });
  return discount(base);
}
function discount(x) {
  return x > 100 ? x * 0.9 : x;
}
`;

/** The same code written without stepmark at all. */
const BARE = SOURCE.replace("import { step } from 'stepmark';\n", '').replace(/ {2}step\(.*\n/, '');

/** Builds `contents` from a real file (plugins' onLoad hooks only see files, not stdin). */
async function build(name, plugins, contents = SOURCE) {
  const out = join(dir, `${name}.mjs`);
  const input = join(dir, `${name}-src.js`);
  writeFileSync(input, contents);
  await esbuild.build({
    entryPoints: [input],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: out,
    external: ['stepmark', 'stepmark/*'],
    logLevel: 'silent',
    plugins,
  });
  return (await import(pathToFileURL(out).href)).price;
}

export default async function (h) {
  mkdirSync(dir, { recursive: true });
  const plain = await build('bare', [], BARE);
  if (/\bstep\(|from 'stepmark'/.test(BARE)) throw new Error('bench: BARE still mentions step');
  const instrumented = await build('instrumented', [stepmark({ root })]);
  const stripped = await build('stripped', [stepmark({ root, strip: true })]);
  if (readFileSync(join(dir, 'stripped.mjs'), 'utf8').includes('stepmark'))
    throw new Error('bench: the stripped build still mentions stepmark');
  const order = { total: 100 };
  await h.compare(
    'strip: stripped build vs the same code written without stepmark (2 functions, 1 step)',
    { baseline: () => plain(order), subject: () => stripped(order) },
    {
      target: '<= 1.10',
      note: 'the stripped code is the plain code plus the kept action expression (`void (base > 100 ? …)`)',
    },
  );
  await h.compare(
    'strip: instrumented build, tracing off, vs the same code written without stepmark',
    { baseline: () => plain(order), subject: () => instrumented(order) },
    { note: 'what strip mode removes: two frames and one step on the disabled path' },
  );
  rmSync(dir, { recursive: true, force: true });
}
