#!/usr/bin/env node
// The `stepmark` command. `stepmark view <file|->…` prints traces (span tree, entity
// journeys) with the runtime's own renderer; `--html out.html` writes the viewer page with
// the traces embedded. Exit codes: 0 ok, 1 bad input, 2 bad usage. `stepmark find` (./find.ts)
// searches trace files for an entity or a request id, like grep.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { viewerPage } from '../live/viewer.js';
import { formatTrace } from '../runtime/render.js';
import { VERSION } from '../runtime/state.js';
import type { Trace } from '../runtime/types.js';
import { wantColor } from './color.js';
import { findMain } from './find.js';
import { filterTraces, InputError, oneLine, parseTraces } from './input.js';

export { wantColor } from './color.js';

const USAGE = `Usage: stepmark view <file|-> [more files] [options]
       stepmark find <entity-or-request-id> <file|-> [more files] [options]  (stepmark find -h)

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

class UsageError extends Error {}

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
    throw new UsageError(`unknown command "${command}" (the commands are "view" and "find")`);
  const args: Args = { files: [], spanEvents: false, meta: true };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--html') {
      const out = rest[++i];
      if (!out || (out.startsWith('-') && out !== '-'))
        throw new UsageError('--html needs an output file name');
      args.html = out;
    } else if (a.startsWith('--html=')) args.html = a.slice('--html='.length);
    else if (a === '--color') args.color = true;
    else if (a === '--no-color') args.color = false;
    else if (a === '--filter') {
      const text = rest[++i];
      if (text === undefined || text.trim() === '') throw new UsageError('--filter needs a text');
      args.filter = text;
    } else if (a.startsWith('--filter=')) args.filter = a.slice('--filter='.length);
    else if (a === '--span-events') args.spanEvents = true;
    else if (a === '--no-meta') args.meta = false;
    else if (a === '-' || !a.startsWith('-')) args.files.push(a);
    else throw new UsageError(`unknown option ${a}`);
  }
  if (args.files.length === 0) throw new UsageError('missing file (use "-" for standard input)');
  if (args.html === '') throw new UsageError('--html needs an output file name');
  return args;
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.code ?? e.message);
    throw new InputError(`cannot read it (${why})`);
  }
}

function main(argv: string[]): number {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`stepmark: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const all: { file: string; trace: Trace }[] = [];
  for (const file of args.files) {
    const name = file === '-' ? '<stdin>' : file;
    try {
      for (const trace of parseTraces(readInput(file))) all.push({ file: name, trace });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      process.stderr.write(`stepmark: ${name}: ${error.message}\n`);
      return 1;
    }
  }
  const selected = args.filter === undefined ? all : filterTraces(all, args.filter);
  if (selected.length === 0) {
    process.stderr.write(`stepmark: no trace has an entity matching ${JSON.stringify(args.filter)}\n`);
    return 1;
  }
  all.splice(0, all.length, ...selected);
  if (args.html !== undefined) {
    const title = `stepmark · ${args.files.map((f) => (f === '-' ? 'stdin' : basename(f))).join(', ')}`;
    try {
      writeFileSync(args.html, viewerPage({ traces: all.map((t) => t.trace), title }));
    } catch (error) {
      process.stderr.write(
        `stepmark: ${args.html}: cannot write it (${(error as NodeJS.ErrnoException).code ?? error})\n`,
      );
      return 1;
    }
    process.stderr.write(
      `stepmark: wrote ${args.html} (${all.length} trace${all.length === 1 ? '' : 's'})\n`,
    );
    return 0;
  }
  const color = wantColor(args.color, process.env, process.stdout.isTTY === true);
  const out: string[] = [];
  let failed: string | undefined;
  all.forEach(({ file, trace }, i) => {
    if (all.length > 1) {
      const head = `── ${i + 1}/${all.length} · ${file} `;
      out.push(color ? `\u001b[2m${head}${'─'.repeat(Math.max(0, 60 - head.length))}\u001b[0m` : head);
    }
    try {
      out.push(formatTrace(trace, { color, spanEvents: args.spanEvents, meta: args.meta }), '');
    } catch (error) {
      // The renderer failing on one trace (e.g. a span chain deeper than the stack) is reported
      // like bad input: one line, the file, which trace, why.
      failed ??= `stepmark: ${file}: trace ${i + 1} cannot be printed (${oneLine(error instanceof Error ? `${error.name}: ${error.message}` : String(error))})\n`;
    }
  });
  process.stdout.write(out.join('\n'));
  if (failed) {
    process.stderr.write(failed);
    return 1;
  }
  return 0;
}

// `stepmark view big.ndjson | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const argv = process.argv.slice(2);
if (argv[0] === 'find') {
  findMain(argv.slice(1)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`stepmark find: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 2;
    },
  );
} else process.exitCode = main(argv);
