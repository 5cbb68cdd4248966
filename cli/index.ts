#!/usr/bin/env node
// The `stepmark` command. `stepmark view <file|->…` prints traces (span tree, entity
// journeys) with the runtime's own renderer; `--html out.html` writes the viewer page with
// the traces embedded. Exit codes: 0 ok, 1 bad input, 2 bad usage. `stepmark diff` (./diff.ts)
// compares two traces; `stepmark coverage` (./coverage.ts) reports decision coverage;
// `stepmark find` (./find.ts) searches trace files for an entity or a request id, like grep.
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { viewerPage } from '../live/viewer.js';
import { errorForTerminal, escapeForTerminal, formatTrace } from '../runtime/render.js';
import { VERSION } from '../runtime/state.js';
import type { Trace } from '../runtime/types.js';
import { wantColor } from './color.js';
import { coverageMain } from './coverage.js';
import { diffMain } from './diff.js';
import { findMain } from './find.js';
import { fdSource, filterTraces, InputError, oneLine, openTraces, type TraceInput } from './input.js';
import { eachArgument, parseCommand, UsageError } from './usage.js';

export { wantColor } from './color.js';

const USAGE = `Usage: stepmark view <file|-> [more files] [options]
       stepmark diff <a.json> <b.json> [options]          (stepmark diff -h)
       stepmark coverage --catalog <catalog.json> <file|-> [more files] [options]
                                                          (stepmark coverage -h)
       stepmark find <entity-or-request-id> <file|-> [more files] [options]
                                                          (stepmark find -h)

Prints stepmark traces: the span tree with durations and errors, then each entity's
journey (stage → action). A file holds one trace (JSON), an array of traces, or one
trace per line (NDJSON); "-" reads standard input.

Options:
  --html <out.html>  write the viewer page with the traces embedded (opens offline)
  --color, --no-color
                     force colours on or off (default: on for a terminal; NO_COLOR
                     and FORCE_COLOR are respected)
  --filter <text>    only traces with an entity whose id or kind contains <text>, and
                     only those entities (id:<text> for ids, kind:<kind> for one kind)
  --span-events      include the entered/exited events of spans in journeys
  --no-meta          leave event meta out
  -h, --help         this text
  -v, --version      the version
`;

interface Args {
  files: string[];
  html?: string;
  color?: boolean;
  spanEvents: boolean;
  meta: boolean;
  filter?: string;
}

function parseArgs(argv: string[]): Args | 'help' | 'version' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  if (argv.includes('-v') || argv.includes('--version')) return 'version';
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('missing command');
  if (command !== 'view')
    throw new UsageError(
      `unknown command "${escapeForTerminal(command, true)}" (the commands are "view", "diff", "coverage" and "find")`,
    );
  const args: Args = { files: [], spanEvents: false, meta: true };
  eachArgument(rest, (a) => {
    if (a.operand) args.files.push(a.arg);
    else if (a.name === '--html') args.html = a.value('an output file name');
    else if (a.arg === '--color') args.color = true;
    else if (a.arg === '--no-color') args.color = false;
    else if (a.name === '--filter') {
      const text = a.value('a text');
      if (text.trim() === '') throw new UsageError('--filter needs a text');
      args.filter = text;
    } else if (a.arg === '--span-events') args.spanEvents = true;
    else if (a.arg === '--no-meta') args.meta = false;
    else throw a.unknown();
  });
  if (args.files.length === 0) throw new UsageError('missing file (use "-" for standard input)');
  return args;
}

/**
 * Opens an input: a small one is parsed at once; a larger one is read line by line while its
 * traces are used, and closed when they have been.
 */
function openInput(file: string): TraceInput {
  const stdin = file === '-';
  let fd: number;
  try {
    fd = stdin ? 0 : openSync(file, 'r');
  } catch (error) {
    throw new InputError(`cannot read it (${readProblem(error)})`);
  }
  const close = () => {
    if (!stdin) closeSync(fd);
  };
  let input: TraceInput;
  try {
    input = openTraces(fdSource(fd));
  } catch (error) {
    close();
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read it (${readProblem(error)})`);
  }
  if (input.kind === 'whole') {
    close();
    return input;
  }
  const lines = input.traces;
  return {
    kind: 'lines',
    traces: (function* () {
      try {
        yield* lines;
      } catch (error) {
        if (error instanceof InputError) throw error;
        throw new InputError(`cannot read it (${readProblem(error)})`);
      } finally {
        close();
      }
    })(),
  };
}

function readProblem(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code === 'ENOENT'
    ? 'no such file'
    : e.code === 'EISDIR'
      ? 'is a directory'
      : (e.code ?? e.message);
}

interface Entry {
  file: string;
  trace: Trace;
}

function main(argv: string[]): number {
  const args = parseCommand('stepmark', USAGE, argv, parseArgs);
  if (typeof args === 'number') return args;
  if (args === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const filter = args.filter;
  const select = (entries: Entry[]): Entry[] =>
    filter === undefined ? entries : filterTraces(entries, filter);
  const color = wantColor(args.color, process.env, process.stdout.isTTY === true);
  const printer = new Printer(color, args);

  // Inputs are read in order. While every one so far fits in memory as a whole, their traces are
  // kept, and printed at the end numbered "i/N"; from the first input read line by line on, each
  // trace is printed as soon as it is read (numbered "i"), so the size of an input is not limited.
  const kept: Entry[] = [];
  let streaming = false;
  let selected = 0;
  for (const file of args.files) {
    const name = file === '-' ? '<stdin>' : file;
    try {
      const input = openInput(file);
      if (input.kind === 'whole' && !streaming) {
        kept.push(...select(input.traces.map((trace) => ({ file: name, trace }))));
        continue;
      }
      if (!streaming && args.html === undefined) {
        streaming = true;
        for (const entry of kept) printer.print(entry, undefined);
        selected += kept.length;
        kept.length = 0;
      }
      for (const trace of input.traces) {
        for (const entry of select([{ file: name, trace }])) {
          if (args.html !== undefined) kept.push(entry);
          else {
            selected++;
            printer.print(entry, undefined);
          }
        }
      }
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // the message may quote the input (an entity id, a JSON parser's excerpt)
      process.stderr.write(`stepmark: ${escapeForTerminal(name)}: ${escapeForTerminal(error.message)}\n`);
      return 1;
    }
  }
  selected += kept.length;
  if (selected === 0) {
    process.stderr.write(
      `stepmark: no trace has an entity matching "${escapeForTerminal(filter ?? '', true)}"\n`,
    );
    return 1;
  }
  if (args.html !== undefined) return writeHtml(args.html, args.files, kept);
  kept.forEach((entry, i) => {
    printer.print(entry, kept.length > 1 ? `${i + 1}/${kept.length}` : '');
  });
  return printer.finish();
}

/** Prints traces one at a time; the first that cannot be rendered is reported at the end. */
class Printer {
  #count = 0;
  #failed: string | undefined;
  readonly #color: boolean;
  readonly #args: Args;

  constructor(color: boolean, args: Args) {
    this.#color = color;
    this.#args = args;
  }

  /** `number`: the heading's "i/N", '' for none, undefined for a running number. */
  print({ file, trace }: Entry, number: string | undefined): void {
    const i = ++this.#count;
    let text = i > 1 ? '\n' : '';
    const label = number ?? String(i);
    if (label !== '') {
      const head = `── ${label} · ${escapeForTerminal(file)} `;
      text += this.#color
        ? `\u001b[2m${head}${'─'.repeat(Math.max(0, 60 - head.length))}\u001b[0m\n`
        : `${head}\n`;
    }
    try {
      text += `${formatTrace(trace, { color: this.#color, spanEvents: this.#args.spanEvents, meta: this.#args.meta })}\n`;
    } catch (error) {
      // The renderer failing on one trace (e.g. a span chain deeper than the stack) is reported
      // like bad input: one line, the file, which trace, why.
      this.#failed ??= `stepmark: ${escapeForTerminal(file)}: trace ${i} cannot be printed (${escapeForTerminal(oneLine(error instanceof Error ? `${error.name}: ${error.message}` : String(error)))})\n`;
    }
    process.stdout.write(text);
  }

  finish(): number {
    if (this.#failed === undefined) return 0;
    process.stderr.write(this.#failed);
    return 1;
  }
}

function writeHtml(out: string, files: string[], entries: Entry[]): number {
  const name = escapeForTerminal(out);
  const title = `stepmark · ${files.map((f) => (f === '-' ? 'stdin' : basename(f))).join(', ')}`;
  let page: string;
  try {
    page = viewerPage({ traces: entries.map((t) => t.trace), title });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    process.stderr.write(
      `stepmark: ${name}: ${entries.length} traces are too many for one page; select fewer with --filter\n`,
    );
    return 1;
  }
  try {
    writeFileSync(out, page);
  } catch (error) {
    process.stderr.write(
      `stepmark: ${name}: cannot write it (${escapeForTerminal(String((error as NodeJS.ErrnoException).code ?? error))})\n`,
    );
    return 1;
  }
  process.stderr.write(
    `stepmark: wrote ${name} (${entries.length} trace${entries.length === 1 ? '' : 's'})\n`,
  );
  return 0;
}

// `stepmark view big.ndjson | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const argv = process.argv.slice(2);
const commands = new Map([
  ['diff', diffMain],
  ['coverage', coverageMain],
  ['find', findMain],
]);
const command = commands.get(argv[0] ?? '');
if (command !== undefined) {
  command(argv.slice(1)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`stepmark ${escapeForTerminal(argv[0]!)}: ${errorForTerminal(error)}\n`);
      process.exitCode = 2;
    },
  );
} else process.exitCode = main(argv);
