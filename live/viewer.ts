// The viewer page: one self-contained HTML document (inline CSS and script, no network
// access besides its own event stream), used both by the live endpoint and by
// `stepmark view --html`.
import { viewerMain } from './viewer-client.js';

export interface ViewerPageOptions {
  /** Traces embedded in the page (shown at once, e.g. `stepmark view --html`). */
  traces?: readonly unknown[];
  /** Connect to `<page path>/events` (Server-Sent Events) for new traces. */
  live?: boolean;
  /** The entity filter also asks `<page path>/find` (a flight recorder) for traces the page never saw. */
  find?: boolean;
  /** Page title. Default "stepmark". */
  title?: string;
  /**
   * Nonce of the inline script and style. The page always carries a Content-Security-Policy
   * (a meta tag) that allows only these and no network access besides its own origin; the
   * endpoint passes the nonce of its CSP header. Default: a fresh random one.
   */
  nonce?: string;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d232b;--mut:#6a7380;--line:#e3e6ea;--sel:#e8f0fe;--bar:#4c8df6;--err:#d93025;--errbg:#fdecea;--chip:#f1f3f5;--hit:#ffe08a}
@media (prefers-color-scheme:dark){:root{--bg:#15181d;--fg:#e4e7eb;--mut:#8b949e;--line:#2c323a;--sel:#1f3350;--bar:#5b9bff;--err:#ff6b5e;--errbg:#3a1d1b;--chip:#222830;--hit:#6b5500}}
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:var(--bg);color:var(--fg);font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}
body{display:flex;flex-direction:column}
header{flex:none;display:flex;gap:12px;align-items:center;padding:8px 12px;border-bottom:1px solid var(--line);height:44px}
header h1{font-size:15px;margin:0;font-weight:600}
header input[type=search]{flex:0 1 320px;padding:4px 8px;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
header label{color:var(--mut);white-space:nowrap}
.status{color:var(--mut)}.status.live{color:#1e8e3e}.status.down{color:var(--err)}
#count{color:var(--mut);margin-left:auto;white-space:nowrap}
.banner{margin:0;padding:4px 12px;background:var(--errbg);color:var(--err);border-bottom:1px solid var(--line)}
.activity{margin:0;padding:4px 12px;color:var(--mut);border-bottom:1px solid var(--line);font-family:ui-monospace,monospace;font-size:12px}
main{display:flex;flex:1;min-height:0}
#list{width:340px;flex:none;overflow:auto;border-right:1px solid var(--line);outline:none}
#spacer{position:relative}
.trace-row{position:absolute;left:0;right:0;height:48px;padding:6px 10px;border-bottom:1px solid var(--line);cursor:pointer;overflow:hidden}
.trace-row:hover{background:var(--chip)}.trace-row.selected{background:var(--sel)}
.trace-row.error .trace-title::before{content:"● ";color:var(--err)}
.trace-title{font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.trace-sub{color:var(--mut);font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#detail{flex:1;overflow:auto;padding:12px 16px}
h2{font-size:16px;margin:0 0 8px}
.detail-head{display:flex;align-items:baseline;gap:12px}.detail-head h2{flex:1}
.save{color:var(--bar);cursor:pointer;font-size:12px;white-space:nowrap;text-decoration:underline}h3{font-size:13px;margin:16px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--mut)}
dl.trace-meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dl.trace-meta dt{color:var(--mut)}dl.trace-meta dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.warn{color:var(--err)}.empty{color:var(--mut)}
.span-row{display:grid;grid-template-columns:minmax(180px,34%) 1fr 84px;align-items:center;min-height:22px;border-bottom:1px solid var(--line)}
.span-label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-family:ui-monospace,monospace;font-size:12px}
.span-track{position:relative;height:14px;margin:0 8px}
.bar{position:absolute;top:0;bottom:0;background:var(--bar);border-radius:2px;min-width:2px}
.span-row.error .bar{background:var(--err)}.span-row.error .span-name{color:var(--err);font-weight:600}
.span-row.unfinished .bar{background:repeating-linear-gradient(45deg,var(--bar),var(--bar) 4px,transparent 4px,transparent 8px)}
.span-dur{text-align:right;font-variant-numeric:tabular-nums;color:var(--mut);font-size:12px}
.span-row.error .span-dur{color:var(--err)}
.span-error{padding:2px 8px 4px 24px;color:var(--err);background:var(--errbg);font-family:ui-monospace,monospace;font-size:12px}
.axis-row{border-bottom:1px solid var(--line);min-height:18px}
.axis{position:relative;height:16px;margin:0 8px}
.tick{position:absolute;transform:translateX(-50%);font-size:11px;color:var(--mut);white-space:nowrap}
.tick:first-child{transform:none}.tick:last-child{transform:translateX(-100%)}
.badge,.kind{display:inline-block;margin-left:6px;padding:0 5px;border-radius:3px;background:var(--chip);color:var(--mut);font-size:11px}
.badge.hit{background:var(--hit);color:var(--fg)}
.entity{border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:0 0 10px}
.entity-head{margin-bottom:4px}.entity-id{font-weight:600;font-family:ui-monospace,monospace}
.entity-head .meta{margin-left:10px}
ol.journey{margin:0;padding:0 0 0 18px}
.step{padding:1px 0}.step .stage{font-family:ui-monospace,monospace}
.step .arrow{color:var(--mut);margin:0 6px}.step .action{font-weight:600}
.meta{color:var(--mut);font-family:ui-monospace,monospace;font-size:12px;margin-left:10px;word-break:break-all}
.at{color:var(--mut);font-size:11px;margin-left:10px}
.span-event{opacity:.6}
.depth{color:var(--mut);font-size:11px}
`;

/** Serialises data for a `<script type="application/json">` block (no `</script>` break-out). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** 128 random bits, hex. */
export function randomNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What a page of the viewer's family is made of; {@link htmlDocument} assembles it. */
export interface PageParts {
  title: string;
  /** Nonce of the inline script and style (default: a fresh random one). */
  nonce?: string | undefined;
  /** CSS added after the viewer's own. */
  css?: string;
  /** The markup of `<body>` before the scripts, given the title (HTML-escaped). */
  body: (title: string) => string;
  /** Data for the page script, embedded as JSON (`#stepmark-config`). */
  config: unknown;
  /** The page script: embedded with Function#toString, so it must be self-contained. */
  main: () => void;
  /** The page may fetch from its own origin (the live page's event stream); default none. */
  connect?: boolean;
}

/**
 * One self-contained HTML document: inline style and script, a Content-Security-Policy (a meta
 * tag) that allows only these, no network access unless `connect`. The viewer, the diff and the
 * coverage pages are all built here.
 */
export function htmlDocument(parts: PageParts): string {
  const nonceValue = escapeHtml(parts.nonce ?? randomNonce());
  const nonce = ` nonce="${nonceValue}"`;
  // Defence in depth for a page that may be saved and mailed around: even if trace content
  // ever reached the DOM as markup, it could not run or load anything.
  const csp =
    `default-src 'none'; script-src 'nonce-${nonceValue}'; style-src 'nonce-${nonceValue}'; ` +
    `img-src data:; connect-src ${parts.connect ? "'self'" : "'none'"}; base-uri 'none'; form-action 'none'`;
  const title = escapeHtml(parts.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title}</title>
<style${nonce}>${CSS}${parts.css ?? ''}</style>
</head>
<body>
${parts.body(title)}
<script type="application/json" id="stepmark-config">${jsonForScript(parts.config)}</script>
<script${nonce}>(${parts.main.toString()})();</script>
</body>
</html>
`;
}

/** The viewer as one HTML document. */
export function viewerPage(options: ViewerPageOptions = {}): string {
  return htmlDocument({
    title: options.title ?? 'stepmark',
    nonce: options.nonce,
    connect: true,
    config: { live: options.live === true, find: options.find === true, traces: options.traces ?? [] },
    main: viewerMain,
    body: (title) => `<header>
<h1>${title}</h1>
<input id="filter" type="search" placeholder="Filter by entity id or kind (id:… kind:…)" autocomplete="off" spellcheck="false">
<label><input id="span-events" type="checkbox"> span enter/exit</label>
<span id="status" class="status"></span>
<span id="count"></span>
</header>
<p id="lost" class="banner" hidden></p>
<p id="activity" class="activity" hidden></p>
<p id="found" class="activity" hidden></p>
<main>
<div id="list" tabindex="0" aria-label="Traces"><div id="spacer"></div></div>
<div id="detail"></div>
</main>`,
  });
}
