// `stepmark coverage --catalog catalog.json traces…`: decision coverage over many traces (a test
// run's, a day of recorded ones). Trace files are read as streams, one trace at a time, so a
// flight recorder dump of any size works. Exit 0, 1 when under --min, 2 on an error.
import { readFileSync, writeFileSync } from 'node:fs';
import { coveragePage } from '../live/report-page.js';
import {
  type Catalog,
  mergeCatalogs,
  newTally,
  parseCatalog,
  StepmarkCatalogError,
  tallyTrace,
} from '../runtime/catalog.js';
import { escapeForTerminal } from '../runtime/render.js';
import { coverageReport, formatDecisionCoverage, meetsMinimum } from '../testing/coverage.js';
import { wantColor } from './color.js';
import { InputError } from './input.js';
import { readTraces } from './trace-stream.js';

export const COVERAGE_USAGE = `Usage: stepmark coverage --catalog <catalog.json> <file|-> [more files] [options]

Decision coverage over many traces: for every site of the stage catalog (stage,
file:line) whether the traces reached it and how often, and for each literal action of a
step whether it was recorded and how often; per file and in total, the percentage of
decisions (literal actions) and of sites reached. A file holds one trace, an array of
traces, or one trace per line (NDJSON: a flight recorder dump, an ndjsonSink file); files
are read as streams. "-" reads standard input.

Options:
  --catalog <file>   the stage catalog a build wrote (its "catalog" option); repeat it
                     for several builds' catalogs
  --json             print the report as JSON, unreached actions listed by name
  --html <out.html>  write the report to an offline page
  --missing          list only the sites with something never reached
  --min <percent>    fail (exit 1) when decision coverage is below it
  --color, --no-color
                     force colours on or off (default: on for a terminal; NO_COLOR
                     and FORCE_COLOR are respected)
  -h, --help         this text

Exit status: 0, 1 when coverage is below --min, 2 on an error.
`;

class UsageError extends Error {}

interface CoverageArgs {
  catalogs: string[];
  files: string[];
  json: boolean;
  html?: string;
  missing: boolean;
  min?: number;
  color?: boolean;
}

function parseCoverageArgs(argv: string[]): CoverageArgs | 'help' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  const args: CoverageArgs = { catalogs: [], files: [], json: false, missing: false };
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
    if (name === '--catalog') args.catalogs.push(value());
    else if (name === '--html') args.html = value();
    else if (name === '--min') {
      const v = value();
      const n = Number(v.replace(/%$/, ''));
      if (!Number.isFinite(n) || n < 0 || n > 100)
        throw new UsageError(`--min needs a percentage from 0 to 100, not "${escapeForTerminal(v)}"`);
      args.min = n;
    } else if (a === '--json') args.json = true;
    else if (a === '--missing') args.missing = true;
    else if (a === '--color') args.color = true;
    else if (a === '--no-color') args.color = false;
    else if (a === '-' || !a.startsWith('-')) args.files.push(a);
    else throw new UsageError(`unknown option ${escapeForTerminal(a)}`);
  }
  if (args.catalogs.length === 0) throw new UsageError('missing --catalog <catalog.json>');
  if (args.files.length === 0) throw new UsageError('missing trace file (use "-" for standard input)');
  if (args.files.filter((f) => f === '-').length > 1) throw new UsageError('standard input can be read once');
  if (args.json && args.html !== undefined) throw new UsageError('--json and --html exclude each other');
  return args;
}

function fail(file: string, message: string): number {
  process.stderr.write(`stepmark coverage: ${escapeForTerminal(file)}: ${escapeForTerminal(message)}\n`);
  return 2;
}

export async function coverageMain(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseCoverageArgs>;
  try {
    args = parseCoverageArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`stepmark coverage: ${error.message}\n\n${COVERAGE_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(COVERAGE_USAGE);
    return 0;
  }
  const catalogs: Catalog[] = [];
  for (const file of args.catalogs) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const why =
        e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.code ?? e.message);
      return fail(file, `cannot read it (${why})`);
    }
    try {
      catalogs.push(parseCatalog(text));
    } catch (error) {
      if (!(error instanceof StepmarkCatalogError)) throw error;
      return fail(file, error.message.replace(/^stepmark: /, ''));
    }
  }
  const catalog = mergeCatalogs(catalogs);
  const tally = newTally();
  let traces = 0;
  for (const file of args.files) {
    try {
      await readTraces(file, (trace) => {
        tallyTrace(tally, trace);
        traces++;
      });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return fail(file === '-' ? '<stdin>' : file, error.message);
    }
  }
  const report = coverageReport(catalog, tally, traces);
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (args.html !== undefined) {
    try {
      writeFileSync(args.html, coveragePage(report, { min: args.min }));
    } catch (error) {
      return fail(args.html, `cannot write it (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
    process.stderr.write(`stepmark coverage: wrote ${escapeForTerminal(args.html)}\n`);
  } else {
    const color = wantColor(args.color, process.env, process.stdout.isTTY === true);
    process.stdout.write(
      `${formatDecisionCoverage(report, { color, show: args.missing ? 'missing' : 'all', min: args.min })}\n`,
    );
  }
  return args.min === undefined || meetsMinimum(report, args.min) ? 0 : 1;
}
