// `stepmark diff a.json b.json`: where two journeys part. Like diff(1): exit 0 when the traces
// are equal, 1 when they differ, 2 on an error (each naming its file).
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { diffPage } from '../live/report-page.js';
import { escapeForTerminal } from '../runtime/render.js';
import type { Trace } from '../runtime/types.js';
import { type DiffOptions, diffTraces } from '../testing/diff.js';
import { diffSummary, formatTraceDiff } from '../testing/diff-format.js';
import { wantColor } from './color.js';
import { InputError, oneLine } from './input.js';
import { readTraces } from './trace-stream.js';

export const DIFF_USAGE = `Usage: stepmark diff <a.json> <b.json> [options]

Compares two traces: their span trees aligned by name path (a span inserted or missing on
one side is one difference, never a cascade) and each entity's journey event by event
(stage, action, meta). Ids, timestamps, durations and locations are not compared. A file
holds one trace; in a file with several (an array, NDJSON, a flight recorder dump)
--entity picks the trace that holds the entity. "-" reads standard input.

Options:
  --entity <idA:idB>  compare entity idA of a with entity idB of b, and only them (one id:
                      the same entity in both)
  --ignore <key>      a meta key that does not count (repeatable, or comma-separated)
  --slower-by <ratio> a span that took more than <ratio> times as long in b counts as
                      changed (durations are otherwise ignored)
  --context <n>       unchanged rows shown around each change (default 3)
  --html <out.html>   write the two journeys side by side, aligned, to an offline page
  --color, --no-color
                      force colours on or off (default: on for a terminal; NO_COLOR
                      and FORCE_COLOR are respected)
  -h, --help          this text

Exit status: 0 when the traces are equal, 1 when they differ, 2 on an error.
`;

class UsageError extends Error {}

interface DiffArgs {
  files: [string, string];
  entity?: string;
  ignore: string[];
  slowerBy?: number;
  context?: number;
  html?: string;
  color?: boolean;
}

function parseDiffArgs(argv: string[]): DiffArgs | 'help' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  const files: string[] = [];
  const args: Omit<DiffArgs, 'files'> = { ignore: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '' || (eq < 0 && v.startsWith('-') && v !== '-'))
        throw new UsageError(`${name} needs a value`);
      return v;
    };
    const number = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isFinite(n) || n < min)
        throw new UsageError(`${name} needs a number ≥ ${min}, not "${escapeForTerminal(v)}"`);
      return n;
    };
    if (name === '--entity') args.entity = value();
    else if (name === '--ignore')
      args.ignore.push(
        ...value()
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      );
    else if (name === '--slower-by') args.slowerBy = number(1);
    else if (name === '--context') args.context = Math.floor(number(0));
    else if (name === '--html') args.html = value();
    else if (a === '--color') args.color = true;
    else if (a === '--no-color') args.color = false;
    else if (a === '-' || !a.startsWith('-')) files.push(a);
    else throw new UsageError(`unknown option ${escapeForTerminal(a)}`);
  }
  if (files.length !== 2) throw new UsageError(`needs two trace files, got ${files.length}`);
  if (files[0] === '-' && files[1] === '-')
    throw new UsageError('only one of the two files can be standard input');
  return { files: files as [string, string], ...args };
}

/** The splits of `--entity` text: "a:b" → [a, b]; ids may hold colons, so "x:y:z" has two. One id: itself twice. */
function entityPairs(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
    if (i > 0 && i < text.length - 1) out.push([text.slice(0, i), text.slice(i + 1)]);
  }
  return out.length > 0 ? out : [[text, text]];
}

const has = (t: Trace, id: string) => Object.hasOwn(t.entities, id);

class FileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

interface Side {
  file: string;
  /** Traces read. */
  count: number;
  /** The first trace, and per candidate id the traces holding it (two at most: one is wanted). */
  first?: Trace;
  holding: Map<string, { traces: Trace[]; count: number }>;
}

async function readSide(file: string, ids: readonly string[]): Promise<Side> {
  const side: Side = { file, count: 0, holding: new Map(ids.map((id) => [id, { traces: [], count: 0 }])) };
  try {
    await readTraces(file, (trace) => {
      side.count++;
      side.first ??= trace;
      for (const [id, h] of side.holding) {
        if (!has(trace, id)) continue;
        h.count++;
        if (h.traces.length < 2) h.traces.push(trace);
      }
    });
  } catch (error) {
    if (error instanceof InputError) throw new FileError(file, error.message);
    throw error;
  }
  return side;
}

/** The trace of `side` to compare: the only one, or the only one holding `id`. */
function pick(side: Side, id: string | undefined): Trace {
  if (id === undefined) {
    if (side.count > 1)
      throw new FileError(side.file, `holds ${side.count} traces: pass --entity to pick the one to compare`);
    return side.first!;
  }
  const h = side.holding.get(id)!;
  if (h.count > 1) {
    const ids = h.traces.map((t) => t.meta?.request_id).filter((r) => r !== undefined);
    throw new FileError(
      side.file,
      `${h.count} traces hold entity "${escapeForTerminal(id, true)}"${ids.length ? ` (request ${ids.map((r) => escapeForTerminal(String(r))).join(', ')}${h.count > 2 ? ', …' : ''})` : ''}: keep the one to compare in a file of its own (stepmark find ${escapeForTerminal(id)} --json)`,
    );
  }
  return h.traces[0]!;
}

export async function diffMain(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseDiffArgs>;
  try {
    args = parseDiffArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`stepmark diff: ${error.message}\n\n${DIFF_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(DIFF_USAGE);
    return 0;
  }
  const [fileA, fileB] = args.files;
  const nameOf = (f: string) => (f === '-' ? '<stdin>' : f);
  const pairs = args.entity === undefined ? [] : entityPairs(args.entity);
  let diff: ReturnType<typeof diffTraces>;
  try {
    const [sa, sb] = await Promise.all([
      readSide(fileA, [...new Set(pairs.map((p) => p[0]))]),
      readSide(fileB, [...new Set(pairs.map((p) => p[1]))]),
    ]);
    let pair: [string, string] | undefined;
    if (args.entity !== undefined) {
      const found = pairs.filter(([a, b]) => sa.holding.get(a)!.count > 0 && sb.holding.get(b)!.count > 0);
      if (found.length > 1)
        throw new FileError(
          fileA,
          `--entity "${escapeForTerminal(args.entity, true)}" splits into ids more than one way here`,
        );
      if (found.length === 0) {
        const [a, b] = pairs.find(([x]) => sa.holding.get(x)!.count > 0) ?? pairs[0]!;
        const missingA = sa.holding.get(a)!.count === 0;
        throw new FileError(
          missingA ? fileA : fileB,
          `no trace holds entity "${escapeForTerminal(missingA ? a : b, true)}"`,
        );
      }
      pair = found[0];
    }
    const ta = pick(sa, pair?.[0]);
    const tb = pick(sb, pair?.[1]);
    const options: DiffOptions = {};
    if (pair) options.entities = pair;
    if (args.ignore.length) options.ignore = args.ignore;
    if (args.slowerBy !== undefined) options.durations = { slowerBy: args.slowerBy };
    diff = diffTraces(ta, tb, options);
  } catch (error) {
    if (!(error instanceof FileError)) throw error;
    process.stderr.write(
      `stepmark diff: ${escapeForTerminal(nameOf(error.file))}: ${escapeForTerminal(oneLine(error.message, 400))}\n`,
    );
    return 2;
  }
  const labels: [string, string] = [nameOf(fileA), nameOf(fileB)];
  if (args.html !== undefined) {
    const short = labels.map((l) => basename(l)) as [string, string];
    try {
      writeFileSync(
        args.html,
        diffPage(diff, { labels, title: `stepmark diff · ${short[0]} ⇄ ${short[1]}` }),
      );
    } catch (error) {
      process.stderr.write(
        `stepmark diff: ${escapeForTerminal(args.html)}: cannot write it (${(error as NodeJS.ErrnoException).code ?? error})\n`,
      );
      return 2;
    }
    process.stderr.write(`stepmark diff: wrote ${escapeForTerminal(args.html)} (${diffSummary(diff)})\n`);
  } else {
    const color = wantColor(args.color, process.env, process.stdout.isTTY === true);
    process.stdout.write(`${formatTraceDiff(diff, { color, context: args.context, labels })}\n`);
  }
  return diff.equal ? 0 : 1;
}
