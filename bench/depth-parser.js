// @stepmark
// A small recursive-descent parser of nested lists of numbers (`[1,[2,3]]`), the kind of code that
// recurses once per nesting level: bench/runtime.bench.mjs builds it with and without the
// esbuild plugin and compares how deep each gets (bench/depth-process.mjs).

export function parse(src, pos) {
  const value = parseValue(src, pos);
  if (pos.i !== src.length) throw new SyntaxError(`unexpected ${src[pos.i]} at ${pos.i}`);
  return value;
}

function parseValue(src, pos) {
  if (src.charCodeAt(pos.i) === 91) return parseList(src, pos);
  let n = 0;
  let digits = 0;
  for (let c = src.charCodeAt(pos.i); c >= 48 && c <= 57; c = src.charCodeAt(++pos.i)) {
    n = n * 10 + (c - 48);
    digits++;
  }
  if (digits === 0) throw new SyntaxError(`expected a value at ${pos.i}`);
  return n;
}

function parseList(src, pos) {
  pos.i++;
  const items = [];
  while (src.charCodeAt(pos.i) !== 93) {
    items.push(parseValue(src, pos));
    if (src.charCodeAt(pos.i) === 44) pos.i++;
  }
  pos.i++;
  return items;
}
