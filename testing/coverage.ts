/**
 * Decision coverage over many traces: every catalogued site (docs/CATALOG.md) with how often it
 * was reached, every literal action of each `step`/`record` site with how often it was recorded,
 * and percentages per file and in total. What `stepmark coverage` and the test reporters print.
 *
 * @example
 * import { decisionCoverage, formatDecisionCoverage } from 'stepmark/testing';
 * const report = decisionCoverage(readFileSync('dist/stepmark-catalog.json', 'utf8'), traces);
 * console.log(formatDecisionCoverage(report));
 */
import {
  type Catalog,
  type CatalogSite,
  mergeCatalogs,
  newTally,
  type SiteCoverage,
  siteCoverage,
  type Tally,
  tallyTrace,
} from '../runtime/catalog.js';
import { escapeForTerminal } from '../runtime/render.js';
import { optionError, rejectUnknown } from './option-error.js';
import { asTrace, type TraceLike } from './trace-like.js';

/** `reached` of `total`, and the percentage (one decimal; null when there is nothing to reach). */
export interface CoverageCounts {
  readonly reached: number;
  readonly total: number;
  readonly percent: number | null;
}

export interface CoverageSummary {
  /** Every site: reached or not. */
  readonly sites: CoverageCounts;
  /**
   * Decisions: each literal action of a `step`/`record` site (and a site whose action is only
   * computed at run time, as one): recorded or not.
   */
  readonly decisions: CoverageCounts;
}

/** One catalogued site (stage, file:line) and what the traces did there. */
export interface SiteReport {
  readonly name: string;
  readonly kind: CatalogSite['kind'];
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reached: boolean;
  /** Spans of a function or `enter` site; events of a step or record site. */
  readonly count: number;
  /** Step and record sites: each literal action and how often it was recorded. */
  readonly actions?: readonly { readonly action: string; readonly count: number }[];
  /** Step and record sites: the literal actions never recorded. */
  readonly unreached_actions?: readonly string[];
  /** The action is (also) computed at run time: events with other actions count for the site. */
  readonly dynamic?: boolean;
}

export interface FileCoverage {
  readonly file: string;
  readonly summary: CoverageSummary;
  /** In line order. */
  readonly sites: readonly SiteReport[];
}

/** The report, as `stepmark coverage --json` prints it. */
export interface CoverageReport {
  readonly stepmark_coverage: 1;
  /** Traces read. */
  readonly traces: number;
  readonly summary: CoverageSummary;
  /** By file path. */
  readonly files: readonly FileCoverage[];
}

export interface DecisionCoverageOptions {
  /** Keeps only some sites (e.g. `(s) => s.file.startsWith('src/orders/')`). */
  sites?: (site: CatalogSite) => boolean;
}

/**
 * Decision coverage of `traces` against `catalog` (one catalog, its JSON text, or several builds'
 * catalogs to merge).
 */
export function decisionCoverage(
  catalog: Catalog | string | readonly (Catalog | string)[],
  traces: Iterable<TraceLike>,
  options: DecisionCoverageOptions = {},
): CoverageReport {
  if (options === null || typeof options !== 'object')
    optionError('stepmark: decisionCoverage', 'options', 'options must be an object');
  rejectUnknown('stepmark: decisionCoverage', options, ['sites']);
  if (options.sites !== undefined && typeof options.sites !== 'function')
    optionError('stepmark: decisionCoverage', 'sites', '`sites` must be a function of a catalog site');
  const tally = newTally();
  let n = 0;
  for (const t of traces) {
    tallyTrace(tally, asTrace(t));
    n++;
  }
  const merged = mergeCatalogs(Array.isArray(catalog) ? catalog : [catalog as Catalog | string]);
  return coverageReport(merged, tally, n, options);
}

function counts(reached: number, total: number): CoverageCounts {
  return { reached, total, percent: total === 0 ? null : Math.round((reached / total) * 1000) / 10 };
}

function summarise(sites: readonly SiteCoverage[]): CoverageSummary {
  let decisions = 0;
  let decided = 0;
  for (const s of sites) {
    if (s.actions === undefined) continue;
    if (s.actions.length === 0) {
      // A step whose action is only computed: one decision, taken when anything was recorded there.
      decisions++;
      if (s.reached) decided++;
    } else {
      decisions += s.actions.length;
      decided += s.actions.filter((a) => a.seen).length;
    }
  }
  return {
    sites: counts(sites.filter((s) => s.reached).length, sites.length),
    decisions: counts(decided, decisions),
  };
}

/** The report for a tally of `traces` traces (the CLI and the reporters tally as they read). */
export function coverageReport(
  catalog: Catalog,
  tally: Tally,
  traces: number,
  options: DecisionCoverageOptions = {},
): CoverageReport {
  const selected = options.sites ? catalog.sites.filter(options.sites) : catalog.sites;
  const all = siteCoverage(selected, tally);
  const byFile = new Map<string, SiteCoverage[]>();
  for (const s of all) {
    let list = byFile.get(s.site.file);
    if (list === undefined) byFile.set(s.site.file, (list = []));
    list.push(s);
  }
  const files = [...byFile.keys()].sort().map((file): FileCoverage => {
    const list = byFile
      .get(file)!
      .slice()
      .sort((x, y) => x.site.line - y.site.line || x.site.column - y.site.column);
    return { file, summary: summarise(list), sites: list.map(siteReport) };
  });
  return { stepmark_coverage: 1, traces, summary: summarise(all), files };
}

function siteReport({ site, reached, count, actions }: SiteCoverage): SiteReport {
  const out: {
    -readonly [K in keyof SiteReport]: SiteReport[K];
  } = {
    name: site.name,
    kind: site.kind,
    file: site.file,
    line: site.line,
    column: site.column,
    reached,
    count,
  };
  if (actions !== undefined) {
    out.actions = actions.map((a) => ({ action: a.action, count: a.count }));
    out.unreached_actions = actions.filter((a) => !a.seen).map((a) => a.action);
    if (site.dynamic === true) out.dynamic = true;
  }
  return out;
}

/** Sites with something never reached: the site itself or one of its actions. */
const incomplete = (s: SiteReport) => !s.reached || (s.unreached_actions?.length ?? 0) > 0;

export interface FormatCoverageReportOptions {
  /** ANSI colours (default false). */
  color?: boolean;
  /** `all` sites (default), or only those with something `missing` (files fully covered print as one line). */
  show?: 'all' | 'missing';
  /** A minimum decision coverage in percent: below it, the last line says so. */
  min?: number;
}

function checkFormatOptions(o: FormatCoverageReportOptions): void {
  const where = 'stepmark: formatDecisionCoverage';
  if (o === null || typeof o !== 'object') optionError(where, 'options', 'options must be an object');
  rejectUnknown(where, o, ['color', 'show', 'min']);
  if (o.show !== undefined && o.show !== 'all' && o.show !== 'missing')
    optionError(where, 'show', '`show` must be "all" or "missing"');
  if (o.min !== undefined && (typeof o.min !== 'number' || !(o.min >= 0 && o.min <= 100)))
    optionError(where, 'min', '`min` must be a percentage from 0 to 100');
}

/**
 * The report as text: the totals, then per file its percentages and its sites — `✓` reached with
 * how often, `✗` never reached — with each literal action of a step (`✓ flagged ×3  ✗ cleared`).
 */
export function formatDecisionCoverage(
  report: CoverageReport,
  options: FormatCoverageReportOptions = {},
): string {
  checkFormatOptions(options);
  const paint = (code: string, s: string) => (options.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const ok = (s: string) => paint('32', s);
  const bad = (s: string) => paint('31', s);
  const dim = (s: string) => paint('2', s);
  const pct = (c: CoverageCounts) =>
    `${c.reached}/${c.total} ${c.percent === null ? '—' : `${c.percent.toFixed(1)}%`}`;
  const line = (s: CoverageSummary) => `decisions ${pct(s.decisions)} · sites ${pct(s.sites)}`;
  const out = [
    paint(
      '1',
      `decision coverage · ${report.traces} trace${report.traces === 1 ? '' : 's'} · ${line(report.summary)}`,
    ),
  ];
  for (const f of report.files) {
    const shown = options.show === 'missing' ? f.sites.filter(incomplete) : f.sites;
    const head = `${escapeForTerminal(f.file)} · ${line(f.summary)}`;
    if (shown.length === 0) {
      out.push(dim(options.show === 'missing' ? `${head} · complete` : head));
      continue;
    }
    out.push(paint('1', head));
    const nameWidth = Math.min(48, Math.max(...shown.map((s) => escapeForTerminal(s.name).length)));
    const whereWidth = Math.max(...shown.map((s) => `${s.line}:${s.column}`.length));
    for (const s of shown) {
      const name = escapeForTerminal(s.name).padEnd(nameWidth);
      const where = dim(`${s.line}:${s.column}`.padEnd(whereWidth));
      let tail: string;
      if (!s.reached) tail = bad('never reached');
      else if (s.actions === undefined || (s.actions.length === 0 && s.dynamic)) tail = dim(`×${s.count}`);
      else {
        const parts = s.actions.map((a) =>
          a.count > 0
            ? `${ok('✓')} ${escapeForTerminal(a.action)} ${dim(`×${a.count}`)}`
            : bad(`✗ ${escapeForTerminal(a.action)}`),
        );
        const literal = s.actions.reduce((n, a) => n + a.count, 0);
        if (s.dynamic && s.count > literal) parts.push(dim(`(computed) ×${s.count - literal}`));
        tail = parts.join('  ');
      }
      out.push(`  ${s.reached ? ok('✓') : bad('✗')} ${name}  ${where}  ${tail}`);
    }
  }
  if (options.min !== undefined && !meetsMinimum(report, options.min)) {
    const { what, counts } = minimumBasis(report);
    out.push(
      bad(
        `${what} ${counts.percent === null ? '—' : `${counts.percent.toFixed(1)}%`} is below the minimum of ${options.min}%`,
      ),
    );
  }
  return out.join('\n');
}

/** What a minimum applies to: decisions, or sites when the catalog has no step or record site. */
function minimumBasis(report: CoverageReport): { what: string; counts: CoverageCounts } {
  const { decisions, sites } = report.summary;
  return decisions.total > 0
    ? { what: 'decision coverage', counts: decisions }
    : { what: 'site coverage (the catalog has no step sites)', counts: sites };
}

/** Whether `report` meets a minimum percentage: of decisions, or of sites when the catalog has no step or record site. */
export function meetsMinimum(report: CoverageReport, min: number): boolean {
  return (minimumBasis(report).counts.percent ?? 0) >= min;
}
