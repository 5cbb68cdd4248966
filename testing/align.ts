/**
 * Sequence alignment for trace diffs: which items of two lists (the children of two paired spans,
 * two journeys' events) are "the same one", so that an item inserted or missing on one side is one
 * addition or one removal and everything after it still pairs up — never a cascade.
 *
 * Items pair only when their keys (a span's name, an event's stage) are equal. Among the
 * alignments with the most pairs, the one whose pairs are most alike wins (a retried call pairs
 * with the attempt that ended the same way). The common head and tail are paired first; the rest
 * is a longest-common-subsequence table weighted by likeness when it is small enough, else Myers'
 * O((n+m)·D) difference algorithm on keys alone.
 */

/** One step of an alignment: indices of a pair, or of an item only in `a` (removed) or only in `b` (added). */
export type Aligned = readonly [number, number] | readonly [number, undefined] | readonly [undefined, number];

/** How alike two items with equal keys are: 0 only the key, 1 partly, 2 identical. */
export type Likeness = (i: number, j: number) => 0 | 1 | 2;

/** Cells of the weighted table (Int32, so 4 MB at most); larger middles use Myers on keys. */
const TABLE_CELLS = 1_000_000;
/** Edits Myers' algorithm searches before giving up (its memory grows with their square). */
const MAX_EDITS = 1000;

/**
 * Aligns `a` and `b` (their keys), in order: pairs in increasing order of both indices; between
 * two pairs, the removed items of `a`, then the added items of `b`.
 */
export function align(a: ArrayLike<number>, b: ArrayLike<number>, likeness: Likeness): Aligned[] {
  const n = a.length;
  const m = b.length;
  let head = 0;
  while (head < n && head < m && a[head] === b[head] && likeness(head, head) === 2) head++;
  let tail = 0;
  while (
    tail < n - head &&
    tail < m - head &&
    a[n - 1 - tail] === b[m - 1 - tail] &&
    likeness(n - 1 - tail, m - 1 - tail) === 2
  )
    tail++;
  const pairs: [number, number][] = [];
  for (let i = 0; i < head; i++) pairs.push([i, i]);
  const n2 = n - head - tail;
  const m2 = m - head - tail;
  if (n2 > 0 && m2 > 0) {
    const middle =
      (n2 + 1) * (m2 + 1) <= TABLE_CELLS
        ? weightedPairs(a, b, head, head, n2, m2, likeness)
        : (myersPairs(a, b, head, head, n2, m2) ?? []);
    pairs.push(...middle);
  }
  for (let t = tail; t > 0; t--) pairs.push([n - t, m - t]);
  const out: Aligned[] = [];
  let i = 0;
  let j = 0;
  for (const [pi, pj] of [...pairs, [n, m] as [number, number]]) {
    for (; i < pi; i++) out.push([i, undefined]);
    for (; j < pj; j++) out.push([undefined, j]);
    if (pi < n && pj < m) out.push([pi, pj]);
    i = pi + 1;
    j = pj + 1;
  }
  return out;
}

/**
 * The pairs of a[ao, ao+n) and b[bo, bo+m) that maximise first the number of pairs, then their
 * total likeness. Ties go to the earliest pairs, so of a loop that ran 3 times and 4 times the
 * fourth run is the added one.
 */
function weightedPairs(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  ao: number,
  bo: number,
  n: number,
  m: number,
  likeness: Likeness,
): [number, number][] {
  // One pair outweighs any sum of likeness bonuses (at most 2 per pair).
  const weight = 2 * Math.min(n, m) + 1;
  const w = m + 1;
  // score[i*w + j]: best score of a[i..n) against b[j..m).
  const score = new Int32Array((n + 1) * w);
  const gain = (i: number, j: number) =>
    a[ao + i] === b[bo + j] ? weight + likeness(ao + i, bo + j) : Number.NEGATIVE_INFINITY;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const skip = Math.max(score[(i + 1) * w + j]!, score[i * w + j + 1]!);
      score[i * w + j] = Math.max(skip, score[(i + 1) * w + j + 1]! + gain(i, j));
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const here = score[i * w + j]!;
    if (a[ao + i] === b[bo + j] && here === score[(i + 1) * w + j + 1]! + gain(i, j)) {
      pairs.push([ao + i, bo + j]);
      i++;
      j++;
    } else if (here === score[(i + 1) * w + j]) i++;
    else j++;
  }
  return pairs;
}

/** Myers' greedy shortest edit script on keys; undefined when it needs more than MAX_EDITS edits. */
function myersPairs(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  ao: number,
  bo: number,
  n: number,
  m: number,
): [number, number][] | undefined {
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // history[d]: v[k] for k in [-d-1, d+1] before step d (what backtracking needs).
  const history: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    history.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[ao + x] === b[bo + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return undefined;
  const pairs: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const h = history[d]!;
    const at = (k: number) => h[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    const startX = d === 0 ? 0 : prevK === k + 1 ? prevX : prevX + 1;
    while (x > startX) {
      x--;
      y--;
      pairs.push([ao + x, bo + y]);
    }
    x = prevX;
    y = prevY;
  }
  return pairs.reverse();
}
