#!/usr/bin/env node
// Benchmark runner: `npm run bench` runs every bench/<part>.bench.mjs, `node bench/run.mjs runtime
// babel` runs only those parts. Figures are ratios of two functions measured side by side in
// interleaved rounds of one process (the machines are noisy: absolute times drift, ratios much
// less), plus plain reported figures. Writes bench/results.json and prints a table.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const quick = process.argv.includes('--quick') || process.env.STEPMARK_BENCH_QUICK === '1';

/** Checks "<= 1.15", ">= 50", "< 3", "== 0" against a value. */
export function checkTarget(target, value) {
  if (!target) return undefined;
  const m = /^\s*(<=|>=|<|>|==)\s*([-+0-9.eE]+)\s*$/.exec(target);
  if (!m) throw new Error(`bad target ${JSON.stringify(target)} (want e.g. "<= 1.15")`);
  const t = Number(m[2]);
  switch (m[1]) {
    case '<=':
      return value <= t;
    case '>=':
      return value >= t;
    case '<':
      return value < t;
    case '>':
      return value > t;
    default:
      return value === t;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Process CPU time (user + system, every thread) in milliseconds. */
function cpuNow() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Times `fn` called `n` times; returns ns per call. Awaits only when `fn` returned a promise.
 * `clock`: `performance.now` (wall time, the default) or `cpuNow` (process CPU time: steadier on
 * a machine shared with other work, where wall time also counts waiting for a core).
 */
async function timeIt(fn, n, clock = performance.now.bind(performance)) {
  const first = fn();
  const isAsync = first && typeof first.then === 'function';
  if (isAsync) await first;
  const t0 = clock();
  if (isAsync) {
    for (let i = 0; i < n; i++) await fn();
  } else {
    let sink;
    for (let i = 0; i < n; i++) sink = fn();
    globalThis.__benchSink = sink;
  }
  return ((clock() - t0) * 1e6) / n;
}

/** Picks an iteration count so one timing takes about `ms` milliseconds. */
async function calibrate(fn, ms, clock) {
  let n = 1;
  for (;;) {
    const ns = await timeIt(fn, n, clock);
    if (ns * n >= ms * 1e6 * 0.25 || n >= 1e8) return Math.max(1, Math.round((ms * 1e6) / ns));
    n *= 4;
  }
}

export function makeHarness(part, sink) {
  return {
    quick,
    /** Records rows measured elsewhere (by this harness in a child process), as they are. */
    adopt(rows) {
      for (const row of rows) {
        sink.push(row);
        print(part, row);
      }
    },
    /**
     * Runs baseline and subject alternately (rounds of each, order swapped every round) and
     * records the median ns/op of each and the ratio subject/baseline of the medians.
     * Options: rounds, ms (per timing), iterations (fixed count instead of calibrating), target,
     * note, clock ('cpu': process CPU time instead of wall time).
     */
    async compare(label, { baseline, subject }, opts = {}) {
      const rounds = opts.rounds ?? (quick ? 5 : 15);
      const ms = opts.ms ?? (quick ? 20 : 60);
      const clock = opts.clock === 'cpu' ? cpuNow : undefined;
      const nb = opts.iterations ?? (await calibrate(baseline, ms, clock));
      const ns = opts.iterations ?? (await calibrate(subject, ms, clock));
      const tb = [];
      const tsj = [];
      for (let r = 0; r < rounds; r++) {
        if (r % 2 === 0) {
          tb.push(await timeIt(baseline, nb, clock));
          tsj.push(await timeIt(subject, ns, clock));
        } else {
          tsj.push(await timeIt(subject, ns, clock));
          tb.push(await timeIt(baseline, nb, clock));
        }
      }
      const b = median(tb);
      const s = median(tsj);
      const ratio = s / b;
      const row = {
        kind: 'ratio',
        label,
        ratio: Number(ratio.toFixed(4)),
        baseline_ns: Number(b.toFixed(2)),
        subject_ns: Number(s.toFixed(2)),
        target: opts.target,
        met: checkTarget(opts.target, ratio),
        note: opts.note,
      };
      sink.push(row);
      print(part, row);
      return row;
    },
    /** Records a plain figure (bytes per call, depth, MB/s …). */
    report(label, value, unit, opts = {}) {
      const row = {
        kind: 'figure',
        label,
        value: typeof value === 'number' ? Number(value.toFixed(4)) : value,
        unit,
        target: opts.target,
        met: typeof value === 'number' ? checkTarget(opts.target, value) : undefined,
        note: opts.note,
      };
      sink.push(row);
      print(part, row);
      return row;
    },
  };
}

function print(part, row) {
  const fig =
    row.kind === 'ratio'
      ? `${row.ratio.toFixed(3)}x  (${row.subject_ns.toFixed(1)} ns vs ${row.baseline_ns.toFixed(1)} ns)`
      : `${row.value} ${row.unit ?? ''}`;
  const tgt = row.target ? `  target ${row.target}: ${row.met ? 'met' : 'NOT MET'}` : '';
  console.log(`[${part}] ${row.label.padEnd(64)} ${fig}${tgt}${row.note ? `  — ${row.note}` : ''}`);
}

async function main() {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.mjs'))
    .sort();
  const resultsFile = join(here, 'results.json');
  const previous = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : { parts: {} };
  const out = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    quick,
    parts: only.length ? { ...previous.parts } : {},
  };
  let failures = 0;
  for (const f of files) {
    const part = f.replace(/\.bench\.mjs$/, '');
    if (only.length && !only.includes(part)) continue;
    const rows = [];
    console.log(`\n== ${part} ==`);
    try {
      const mod = await import(pathToFileURL(join(here, f)).href);
      await mod.default(makeHarness(part, rows));
    } catch (err) {
      failures++;
      console.error(`[${part}] failed: ${err?.stack ?? err}`);
      rows.push({ kind: 'error', label: 'bench failed', note: String(err?.message ?? err) });
    }
    out.parts[part] = { measured: new Date().toISOString(), node: process.version, rows };
  }
  writeFileSync(resultsFile, `${JSON.stringify(out, null, 2)}\n`);
  const all = Object.values(out.parts).flatMap((p) => p.rows);
  const missed = all.filter((r) => r.met === false).length;
  console.log(`\nwrote ${resultsFile}: ${all.length} figures, ${missed} targets not met`);
  if (failures) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
