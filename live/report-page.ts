// The diff and coverage pages: offline documents of the viewer's family (same shell, same
// look, same Content-Security-Policy), written by `stepmark diff --html` and
// `stepmark coverage --html`.
import type { CoverageReport } from '../testing/coverage.js';
import type { TraceDiff } from '../testing/diff.js';
import { diffLines, diffSummary } from '../testing/diff-format.js';
import { reportMain } from './report-client.js';
import { htmlDocument } from './viewer.js';

const CSS = `
#report{flex:1;overflow:auto;padding:0 16px 24px}
header h1{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;min-width:0;flex:0 1 auto}
.drow.section h3 .ids{text-transform:none;letter-spacing:0;font-family:ui-monospace,monospace;color:var(--fg)}
.cell .arrow{color:var(--mut);margin:0 6px}.cell .action{font-weight:600}.cell .entity-id{font-weight:600}
#report h3{margin:18px 0 6px}
header button{padding:3px 10px;border:1px solid var(--line);border-radius:4px;background:var(--chip);color:var(--fg);cursor:pointer}
.diff{display:grid;grid-template-columns:1fr 1fr;font-family:ui-monospace,monospace;font-size:12px}
.drow{display:contents}
.drow.heads .cell{position:sticky;top:0;background:var(--bg);border-bottom:2px solid var(--line);padding:8px;font-family:system-ui,sans-serif;z-index:1}
.drow.heads .label{font-weight:600;font-size:13px}.drow.heads .sub{color:var(--mut)}
.drow.section{display:block;grid-column:1 / -1}
.cell{padding:2px 8px;min-height:20px;border-bottom:1px solid var(--line);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cell+.cell{border-left:1px solid var(--line)}
.cell.none{background:repeating-linear-gradient(135deg,transparent,transparent 5px,var(--chip) 5px,var(--chip) 10px)}
.drow.removed .cell:first-child,.drow.changed .cell:first-child{background:var(--del)}
.drow.added .cell:last-child,.drow.changed .cell:last-child{background:var(--add)}
.drow.current .cell{outline:2px solid var(--bar);outline-offset:-2px}
.hl{background:var(--hit);border-radius:2px;font-weight:600}
.cell .badge{margin-left:6px}.cell .meta{margin-left:10px}.kv+.kv{margin-left:8px}
.cell .err{color:var(--err);margin-left:8px}.cell .dur{margin-left:8px}
.only .drow.same:not(.entity-row):not(.ctx){display:none}
.cov-head{display:flex;gap:12px;align-items:center;text-transform:none;letter-spacing:0;color:var(--fg)}
.cov-head .file{font-family:ui-monospace,monospace;font-weight:600}.cov-head .pct{color:var(--mut);font-weight:400}
.meter{display:inline-block;width:120px;height:8px;border-radius:4px;background:var(--chip);overflow:hidden}
.meter .fill{display:block;height:100%;background:#1e8e3e}.meter.low .fill{background:var(--err)}
.site{display:grid;grid-template-columns:18px minmax(200px,30%) 140px 1fr;gap:8px;align-items:baseline;padding:2px 4px;border-bottom:1px solid var(--line)}
.site .mark{font-weight:700}.site.reached .mark{color:#1e8e3e}.site.unreached .mark,.site .never{color:var(--err)}
.site-name{font-family:ui-monospace,monospace;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.site .at{color:var(--mut);font-size:12px}
.chip{display:inline-block;margin:0 6px 2px 0;padding:0 6px;border-radius:3px;font-family:ui-monospace,monospace;font-size:12px}
.chip.seen{background:var(--add)}.chip.unseen{background:var(--del);color:var(--err)}
.only .site:not(.incomplete),.only .cov-file.complete{display:none}
:root{--add:#e6f4ea;--del:#fdecea}
@media (prefers-color-scheme:dark){:root{--add:#1d3324;--del:#3a1d1b}}
`;

function reportBody(controls: string): (title: string) => string {
  return (title) => `<header>
<h1>${title}</h1>
<span id="summary" class="status"></span>
${controls}
<span id="count"></span>
</header>
<p id="detail-line" class="activity" hidden></p>
<main><div id="report"></div></main>`;
}

export interface DiffPageOptions {
  /** Names of the two traces (default `a` and `b`). */
  labels?: readonly [string, string];
  /** Default "stepmark diff". */
  title?: string;
  /** Nonce of the inline script and style (default: a fresh random one). */
  nonce?: string;
}

/** The two journeys side by side, aligned, as one offline HTML document. */
export function diffPage(diff: TraceDiff, options: DiffPageOptions = {}): string {
  return htmlDocument({
    title: options.title ?? 'stepmark diff',
    nonce: options.nonce,
    css: CSS,
    main: reportMain,
    config: {
      kind: 'diff',
      labels: options.labels ?? ['a', 'b'],
      summary: diffSummary(diff),
      equal: diff.equal,
      a: diff.a,
      b: diff.b,
      rows: diffLines(diff),
    },
    body: reportBody(
      '<label><input id="only" type="checkbox"> changes only</label>\n<button id="next" type="button" title="next change (n; p: previous)">next change</button>',
    ),
  });
}

export interface CoveragePageOptions {
  /** Default "stepmark coverage". */
  title?: string;
  /** A minimum decision coverage in percent: files below it are marked. */
  min?: number;
  nonce?: string;
}

/** Decision coverage per file and site, as one offline HTML document. */
export function coveragePage(report: CoverageReport, options: CoveragePageOptions = {}): string {
  return htmlDocument({
    title: options.title ?? 'stepmark coverage',
    nonce: options.nonce,
    css: CSS,
    main: reportMain,
    config: { kind: 'coverage', report, min: options.min ?? null },
    body: reportBody('<label><input id="only" type="checkbox"> incomplete only</label>'),
  });
}
