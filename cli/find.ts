// `stepmark find <entity-or-request-id> <files…>`: the traces that touched an entity (or carry a
// request id), read from JSON and NDJSON files as streams, one value at a time, so a dump of
// gigabytes is searched in constant memory. Like grep: exit 0 when something matched, 1 when
// nothing did, 2 on errors (each naming its file).
import { createReadStream, writeFileSync } from 'node:fs';
import { viewerPage } from '../live/viewer.js';
import { escapeForTerminal, formatTrace } from '../runtime/render.js';
import type { Trace, TraceEntity } from '../runtime/types.js';
import { wantColor } from './color.js';
import { completeTrace, InputError, oneLine, traceProblem, valueProblem } from './input.js';
import { JsonStructureError, jsonValues } from './json-values.js';

export const FIND_USAGE = `Usage: stepmark find <entity-or-request-id> <file|-> [more files] [options]

Prints every trace that touched the entity (its id, exactly) or whose meta.request_id is the
given id: the span tree and that entity's journey (stage → action). Files hold one trace
(JSON), an array of traces, or one trace per line (NDJSON, what a flight recorder dump and
ndjsonSink write); they are read as streams, so their size does not matter. "-" reads
standard input.

Options:
  --json             print each matching trace as one line of JSON (NDJSON) instead
  --html <out.html>  write the viewer page with the matching traces embedded
  --color, --no-color
                     force colours on or off (default: on for a terminal; NO_COLOR
                     and FORCE_COLOR are respected)
  -h, --help         this text

Exit status: 0 when a trace matched, 1 when none did, 2 on an error.
`;

/** The most traces one `--html` page embeds (the page itself keeps no more). */
const MAX_HTML = 20_000;

export class FindUsageError extends Error {}

interface FindArgs {
  id: string;
  files: string[];
  json: boolean;
  html?: string;
  color?: boolean;
}

function parseFindArgs(argv: string[]): FindArgs | 'help' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  const positional: string[] = [];
  const args: Omit<FindArgs, 'id' | 'files'> = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--html') {
      const out = argv[++i];
      if (!out || out.startsWith('-')) throw new FindUsageError('--html needs an output file name');
      args.html = out;
    } else if (a.startsWith('--html=')) args.html = a.slice('--html='.length);
    else if (a === '--color') args.color = true;
    else if (a === '--no-color') args.color = false;
    else if (a === '--') positional.push(...argv.slice(i + 1));
    else if (a === '-' || !a.startsWith('-')) positional.push(a);
    else throw new FindUsageError(`unknown option ${escapeForTerminal(a)}`);
    if (a === '--') break;
  }
  const [id, ...files] = positional;
  if (id === undefined || id === '') throw new FindUsageError('missing the entity or request id to find');
  if (files.length === 0) throw new FindUsageError('missing file (use "-" for standard input)');
  if (args.html === '') throw new FindUsageError('--html needs an output file name');
  if (args.html !== undefined && args.json) throw new FindUsageError('--json and --html exclude each other');
  return { id, files, ...args };
}

interface Match {
  trace: Trace;
  /** The matching entity's key in `trace.entities`, when it matched by entity. */
  entity: string | undefined;
}

/** How `trace` matches `id`: by entity (exact id), by request id, or not at all. */
function match(trace: Trace, id: string): Match | undefined {
  const entities = trace.entities as Record<string, TraceEntity | undefined>;
  for (const key of Object.keys(entities)) {
    if (key === id || entities[key]?.entity_id === id) return { trace, entity: key };
  }
  const rid = trace.meta?.request_id;
  if (rid === id || (typeof rid === 'number' && String(rid) === id)) return { trace, entity: undefined };
  return undefined;
}

/** The trace as `stepmark find` prints it: only the entity it was found by, when it was. */
function journey(m: Match): Trace {
  if (m.entity === undefined) return m.trace;
  return { ...m.trace, entities: { [m.entity]: m.trace.entities[m.entity]! } };
}

/** Writes to stdout, waiting when the pipe is full (a 2 GB search must not queue its output in memory). */
function write(text: string): Promise<void> | undefined {
  if (process.stdout.write(text)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

async function* textOf(file: string): AsyncGenerator<string> {
  if (file === '-') {
    process.stdin.setEncoding('utf8');
    yield* process.stdin as AsyncIterable<string>;
  } else yield* createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>;
}

function readProblem(error: unknown): string {
  if (error instanceof JsonStructureError) return `not valid JSON: ${error.message}`;
  const e = error as NodeJS.ErrnoException;
  const why =
    e?.code === 'ENOENT' ? 'no such file' : e?.code === 'EISDIR' ? 'is a directory' : (e?.code ?? String(e));
  return `cannot read it (${oneLine(why)})`;
}

/** `stepmark find …`; resolves to the exit code. */
export async function findMain(argv: string[]): Promise<number> {
  let args: FindArgs | 'help';
  try {
    args = parseFindArgs(argv);
  } catch (error) {
    if (!(error instanceof FindUsageError)) throw error;
    process.stderr.write(`stepmark find: ${error.message}\n\n${FIND_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(FIND_USAGE);
    return 0;
  }
  const { id } = args;
  const color = wantColor(args.color, process.env, process.stdout.isTTY === true);
  const dim = (s: string) => (color ? `\u001b[2m${s}\u001b[0m` : s);
  const forHtml: Trace[] = [];
  let matched = 0;
  let failed = false;
  for (const file of args.files) {
    const name = file === '-' ? '<stdin>' : file;
    try {
      for await (const { text, line, column } of jsonValues(textOf(file))) {
        // A value that does not contain the id cannot match. Only a text with escapes can spell
        // the id differently (\u…, \/), so only such a text is parsed to be sure.
        if (!text.includes(id) && !text.includes('\\')) continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          throw new InputError(valueProblem(text, error, line, column));
        }
        const problem = traceProblem(value);
        if (problem) throw new InputError(`line ${line}: ${problem}`);
        const m = match(completeTrace(value as Record<string, unknown>), id);
        if (m === undefined) continue;
        matched++;
        if (args.html !== undefined) {
          if (forHtml.length < MAX_HTML) forHtml.push(m.trace);
        } else if (args.json) {
          await write(`${JSON.stringify(value)}\n`);
        } else {
          const head = `── ${escapeForTerminal(name)}:${line} `;
          const body = formatTrace(journey(m), {
            color,
            sections: m.entity === undefined ? undefined : ['header', 'spans', 'entities'],
          });
          await write(`${dim(head + '─'.repeat(Math.max(0, 60 - head.length)))}\n${body}\n\n`);
        }
      }
    } catch (error) {
      const why = error instanceof InputError ? error.message : readProblem(error);
      // the message may quote the input (an entity id, a JSON parser's excerpt)
      process.stderr.write(`stepmark: ${escapeForTerminal(name)}: ${escapeForTerminal(why)}\n`);
      failed = true;
    }
  }
  if (args.html !== undefined && matched > 0) {
    try {
      writeFileSync(args.html, viewerPage({ traces: forHtml, title: `stepmark find ${id}` }));
    } catch (error) {
      process.stderr.write(
        `stepmark: ${escapeForTerminal(args.html)}: cannot write it (${(error as NodeJS.ErrnoException).code ?? error})\n`,
      );
      return 2;
    }
    const cut = matched > forHtml.length ? ` (the first ${forHtml.length} of ${matched})` : '';
    process.stderr.write(
      `stepmark: wrote ${escapeForTerminal(args.html)} with ${forHtml.length} trace${forHtml.length === 1 ? '' : 's'}${cut}\n`,
    );
  }
  if (failed) return 2;
  if (matched === 0) {
    process.stderr.write(`stepmark: no trace of "${escapeForTerminal(id, true)}" (entity or request id)\n`);
    return 1;
  }
  return 0;
}
