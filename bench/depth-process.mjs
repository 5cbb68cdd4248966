// Child process of the recursion-depth rows of bench/runtime.bench.mjs: how deep a recursive-descent
// parser (a build of bench/depth-parser.js, instrumented or not) gets before the stack runs out.
// `node depth-process.mjs <built module> <off|on>` prints { first, warm }:
// - first: the nesting depth where the first call of the process overflows (the parser's code is
//   not optimised yet: interpreter frames, the tightest case);
// - warm: the deepest input that still parses once the code has been optimised (binary search).
import { pathToFileURL } from 'node:url';
import * as stepmark from 'stepmark';

const [file, mode] = process.argv.slice(2);
const { parse } = await import(pathToFileURL(file).href);

const nested = (d) => `${'['.repeat(d)}1${']'.repeat(d)}`;
// tracing on: each parse is one traced unit of work, with the default caps (10,000 spans)
const call = mode === 'on' ? (src, pos) => stepmark.run(() => parse(src, pos)) : parse;

function firstOverflow() {
  const pos = { i: 0 };
  try {
    call(nested(1_000_000), pos);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  return pos.i;
}

function parses(d) {
  try {
    call(nested(d), { i: 0 });
    return true;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return false;
  }
}

function deepestWarm(first) {
  for (let k = 0; k < 200; k++) parses(first >> 1);
  let lo = 1;
  let hi = first * 4;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (parses(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const first = firstOverflow();
console.log(JSON.stringify({ first, warm: deepestWarm(first) }));
