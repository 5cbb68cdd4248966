/**
 * `stepmark/testing/reporter`: decision coverage of a test run, printed when it ends — one
 * reporter for Vitest (3 or later) and Jest. Each test worker loads `stepmark/testing/collect`,
 * which counts the spans and events of the traces the tests produce into a file per worker in a
 * temporary directory; this reporter creates the directory, names it to the workers in
 * `STEPMARK_COVERAGE_DIR`, and at the end of the run adds the counts up against the stage catalog
 * (docs/CATALOG.md). With `min`, a run under that decision coverage fails.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * test: {
 *   setupFiles: ['stepmark/testing/collect'],
 *   reporters: ['default', ['stepmark/testing/reporter', { catalog: 'dist/stepmark-catalog.json', min: 80 }]],
 * }
 * // jest.config.js
 * setupFilesAfterEnv: ['stepmark/testing/collect'],
 * reporters: ['default', ['stepmark/testing/reporter', { catalog: 'dist/stepmark-catalog.json', min: 80 }]],
 * ```
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { wantColor } from '../cli/color.js';
import { coveragePage } from '../live/report-page.js';
import { bump, type Catalog, mergeCatalogs, newTally, StepmarkCatalogError } from '../runtime/catalog.js';
import { COVERAGE_DIR_ENV, type TallyLine } from './collect.js';
import { type CoverageReport, coverageReport, formatDecisionCoverage, meetsMinimum } from './coverage.js';
import { optionError, unknownOptionError } from './option-error.js';

export interface CoverageReporterOptions {
  /** The stage catalog a build wrote (several: merged), relative to the project root. Required. */
  catalog: string | readonly string[];
  /** Fail the run when decision coverage (percent) is below this. */
  min?: number;
  /** List `all` sites, or only those with something `missing` (default). */
  show?: 'all' | 'missing';
  /** Also write the report as JSON to this file (relative to the project root). */
  json?: string;
  /** Also write the report as an offline HTML page to this file. */
  html?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const REPORTER_OPTIONS = ['catalog', 'min', 'show', 'json', 'html'];

function checkOptions(value: unknown): CoverageReporterOptions {
  const o = (value ?? {}) as Record<string, unknown>;
  const fail = (option: string, what: string): never =>
    optionError('stepmark/testing/reporter', option, what);
  if (!isObject(o)) fail('options', 'its options must be an object');
  const catalog = o.catalog;
  const paths = typeof catalog === 'string' ? [catalog] : catalog;
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== ''))
    fail(
      'catalog',
      '`catalog` (the stage catalog file a build wrote, docs/CATALOG.md) is required: a path or an array of paths',
    );
  if (o.min !== undefined && (typeof o.min !== 'number' || !(o.min >= 0 && o.min <= 100)))
    fail('min', '`min` must be a percentage from 0 to 100');
  if (o.show !== undefined && o.show !== 'all' && o.show !== 'missing')
    fail('show', '`show` must be "all" or "missing"');
  for (const k of ['json', 'html'] as const)
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === ''))
      fail(k, `\`${k}\` must be a file path`);
  for (const k of Object.keys(o))
    if (!REPORTER_OPTIONS.includes(k))
      unknownOptionError(
        'stepmark/testing/reporter',
        k,
        `unknown option "${k}" (the options are ${REPORTER_OPTIONS.join(', ')})`,
      );
  return o as unknown as CoverageReporterOptions;
}

/**
 * The reporter. Vitest constructs it with its options; Jest with `(globalConfig, options)`.
 * Vitest calls `onInit`/`onTestRunStart`/`onTestRunEnd`, Jest `onRunStart`/`onRunComplete`/`getLastError`.
 */
export class StepmarkCoverageReporter {
  private readonly options: CoverageReporterOptions;
  private root: string;
  private readonly dir: string;
  private error: Error | undefined;
  /** The last report (for tests and for reporters that wrap this one). */
  report: CoverageReport | undefined;

  constructor(...args: unknown[]) {
    const jest = args.length >= 2 && isObject(args[0]) && typeof args[0].rootDir === 'string';
    this.options = checkOptions(jest ? args[1] : args[0]);
    this.root = jest ? ((args[0] as { rootDir: string }).rootDir as string) : process.cwd();
    // Workers are started after the reporters, with the environment of this process.
    this.dir = mkdtempSync(join(tmpdir(), 'stepmark-coverage-'));
    process.env[COVERAGE_DIR_ENV] = this.dir;
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  // ---- Vitest ----------------------------------------------------------------------------

  onInit(vitest: { config?: { root?: string } }): void {
    if (typeof vitest?.config?.root === 'string') this.root = vitest.config.root;
  }

  onTestRunStart(): void {
    this.reset();
  }

  onTestRunEnd(): void {
    if (!this.finish()) process.exitCode = 1;
  }

  // ---- Jest ------------------------------------------------------------------------------

  onRunStart(): void {
    this.reset();
  }

  onRunComplete(): void {
    this.finish();
  }

  getLastError(): Error | undefined {
    return this.error;
  }

  // ----------------------------------------------------------------------------------------

  /** A new run (watch mode): the previous run's counts go. */
  private reset(): void {
    this.error = undefined;
    for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { force: true });
  }

  /** Prints the report; false when the run must fail (below `min`, or no report). */
  private finish(): boolean {
    const out = process.stdout;
    const color = wantColor(undefined, process.env, out.isTTY === true);
    let catalog: Catalog;
    try {
      const paths = typeof this.options.catalog === 'string' ? [this.options.catalog] : this.options.catalog;
      catalog = mergeCatalogs(paths.map((p) => readFileSync(resolve(this.root, p), 'utf8')));
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const why =
        error instanceof StepmarkCatalogError
          ? error.message.replace(/^stepmark: /, '')
          : e.code === 'ENOENT'
            ? `${e.path ?? 'the catalog'}: no such file (a build with the "catalog" option writes it, docs/CATALOG.md)`
            : String(e.message ?? e);
      return this.fail(`stepmark decision coverage: cannot read the catalog: ${why}`);
    }
    const tally = newTally();
    let traces = 0;
    let bad = 0;
    for (const f of readdirSync(this.dir)) {
      for (const text of readFileSync(join(this.dir, f), 'utf8').split('\n')) {
        if (text === '') continue;
        try {
          const line = JSON.parse(text) as TallyLine;
          traces += line.traces;
          for (const [name, loc, n] of line.spans) bump(tally.spans, name, loc, n);
          for (const [stage, action, n] of line.events) bump(tally.events, stage, action, n);
        } catch {
          bad++; // a worker killed mid-write
        }
      }
    }
    const report = coverageReport(catalog, tally, traces);
    this.report = report;
    const { min, show = 'missing' } = this.options;
    let text = formatDecisionCoverage(report, { color, show, min });
    if (traces === 0)
      text += `\n${color ? '\u001b[33m' : ''}no traces were collected: is stepmark/testing/collect in the setup files (Vitest setupFiles, Jest setupFilesAfterEnv)?${color ? '\u001b[0m' : ''}`;
    if (bad > 0) text += `\n(${bad} unreadable line${bad === 1 ? '' : 's'} of worker counts skipped)`;
    out.write(`\n${text}\n`);
    try {
      for (const [file, content] of [
        [this.options.json, () => `${JSON.stringify(report, null, 2)}\n`],
        [this.options.html, () => coveragePage(report, min === undefined ? {} : { min })],
      ] as const) {
        if (file === undefined) continue;
        const path = resolve(this.root, file);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, content());
      }
    } catch (error) {
      return this.fail(`stepmark decision coverage: cannot write the report (${(error as Error).message})`);
    }
    if (min !== undefined && !meetsMinimum(report, min)) {
      this.error = new Error(`stepmark decision coverage is below the minimum of ${min}%`);
      return false;
    }
    return true;
  }

  private fail(message: string): false {
    process.stderr.write(`\n${message}\n`);
    this.error = new Error(message);
    return false;
  }
}

export default StepmarkCoverageReporter;
