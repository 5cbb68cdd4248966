// The browser code of the diff and coverage pages (`stepmark diff --html`, `stepmark coverage
// --html`). Like viewer-client.ts it is embedded with Function#toString: self-contained, no
// imports, nothing a compiler would lower into a helper — no `??` or `?.`, no classes.
// Trace content is untrusted text: it only ever reaches the DOM through textContent.

export function reportMain(): void {
  type Meta = Record<string, unknown>;
  interface Side {
    type: string;
    name?: string;
    entity?: string;
    status?: string;
    error?: string;
    duration?: number;
    stage?: string;
    action?: string;
    meta?: Meta;
    id?: string;
    kind?: string;
  }
  interface Row {
    op: string;
    depth: number;
    a?: Side;
    b?: Side;
    changed: string[];
    section?: string;
    journey?: string;
  }
  interface Summary {
    meta: Meta;
    spans: number;
    events: number;
    dropped: number;
  }
  interface Counts {
    reached: number;
    total: number;
    percent: number | null;
  }
  interface SiteRow {
    name: string;
    kind: string;
    line: number;
    column: number;
    reached: boolean;
    count: number;
    actions?: { action: string; count: number }[];
    dynamic?: boolean;
  }
  interface FileRow {
    file: string;
    summary: { sites: Counts; decisions: Counts };
    sites: SiteRow[];
  }
  interface Config {
    kind: string;
    labels?: string[];
    summary?: string;
    equal?: boolean;
    rows?: Row[];
    a?: Summary;
    b?: Summary;
    report?: { traces: number; summary: { sites: Counts; decisions: Counts }; files: FileRow[] };
    min?: number | null;
  }

  const MAX_ROWS = 20000; // rows drawn; a bigger diff says how many more there are
  const MAX_INDENT = 24;

  const byId = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;
  const el = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    cls?: string,
    text?: string,
  ): HTMLElementTagNameMap[K] => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const or = <A, B>(v: A, fallback: B): NonNullable<A> | B =>
    v === undefined || v === null ? fallback : (v as NonNullable<A>);
  const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  // Control and bidirectional characters written out, as in the terminal: "a\nb" reads as one value.
  const unsafe = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';
  const CONTROL = new RegExp('[' + unsafe + ']', 'g');
  const visible = (s: string): string =>
    s.replace(CONTROL, (c) =>
      c === '\n'
        ? '\\n'
        : c === '\t'
          ? '\\t'
          : c === '\r'
            ? '\\r'
            : '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4),
    );
  const show = (v: unknown): string => {
    if (typeof v === 'string') return visible(v);
    try {
      return visible(or(JSON.stringify(v), String(v)));
    } catch (_error) {
      return visible(String(v));
    }
  };
  const text = (v: unknown): string => visible(String(or(v, '')));
  const ms = (v: number): string =>
    v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v >= 10 ? v.toFixed(1) + ' ms' : v.toFixed(2) + ' ms';
  const pct = (c: Counts): string =>
    c.reached + ' of ' + c.total + (c.percent === null ? '' : ' (' + c.percent.toFixed(1) + '%)');

  const config: Config = JSON.parse(byId('stepmark-config').textContent || '{}');
  const report = byId('report');
  const onlyToggle = byId('only') as HTMLInputElement;

  // ---- diff -----------------------------------------------------------------------------

  function metaSpans(meta: Meta | undefined, changed: string[], other: Meta | undefined): HTMLElement[] {
    const out: HTMLElement[] = [];
    const keys = meta && typeof meta === 'object' ? Object.keys(meta) : [];
    for (const k of keys) {
      const hit = changed.indexOf('meta:' + k) >= 0;
      out.push(el('span', 'kv' + (hit ? ' hl' : ''), visible(k) + '=' + clip(show(meta![k]), 160)));
    }
    // A key only the other side has: shown as missing here.
    for (const k of other && typeof other === 'object' ? Object.keys(other) : []) {
      if (changed.indexOf('meta:' + k) >= 0 && keys.indexOf(k) < 0)
        out.push(el('span', 'kv hl', visible(k) + '=∅'));
    }
    return out;
  }

  function cell(side: Side | undefined, other: Side | undefined, row: Row): HTMLElement {
    const c = el('div', 'cell');
    if (!side) {
      c.classList.add('none');
      return c;
    }
    const hit = (f: string): string => (row.changed.indexOf(f) >= 0 ? ' hl' : '');
    if (side.type === 'span') {
      c.style.paddingLeft = 8 + Math.min(row.depth, MAX_INDENT) * 14 + 'px';
      if (row.depth > MAX_INDENT) c.append(el('span', 'depth', '↳' + row.depth + ' '));
      c.append(el('span', 'span-name', text(side.name)));
      if (side.entity !== undefined) c.append(el('span', 'badge' + hit('entity'), text(side.entity)));
      if (row.changed.indexOf('duration') >= 0 && typeof side.duration === 'number')
        c.append(el('span', 'dur hl', ms(side.duration)));
      if (side.status === 'error')
        c.append(
          el('span', 'err' + hit('status') + hit('error'), '✖ ' + clip(text(or(side.error, 'error')), 300)),
        );
      else if (side.status !== 'ok') c.append(el('span', 'badge' + hit('status'), text(side.status)));
      else if (row.changed.indexOf('status') >= 0) c.append(el('span', 'badge hl', 'ok'));
    } else if (side.type === 'event') {
      c.append(
        el('span', 'stage', text(side.stage)),
        el('span', 'arrow', '→'),
        el('span', 'action' + hit('action'), text(side.action)),
      );
      const m = metaSpans(side.meta, row.changed, other ? other.meta : undefined);
      if (m.length) {
        const box = el('span', 'meta');
        box.append(...m);
        c.append(box);
      }
    } else {
      c.append(el('span', 'entity-id', text(side.id)));
      if (side.kind !== undefined) c.append(el('span', 'kind' + hit('kind'), text(side.kind)));
      const m = metaSpans(side.meta, row.changed, other ? other.meta : undefined);
      if (m.length) {
        const box = el('span', 'meta');
        box.append(...m);
        c.append(box);
      }
    }
    return c;
  }

  function sectionTitle(row: Row): HTMLElement {
    if (row.section === 'spans') return el('h3', '', 'Spans');
    if (row.section === 'events') return el('h3', '', 'Events without an entity');
    const a = row.a ? text(row.a.id) : undefined;
    const b = row.b ? text(row.b.id) : undefined;
    const h = el('h3', '', 'Entity ');
    h.append(
      el('span', 'ids', a !== undefined && b !== undefined && a !== b ? a + ' ⇄ ' + b : or(a, or(b, ''))),
    );
    if (row.journey === 'removed' || row.journey === 'added')
      h.append(' — only in ' + (row.journey === 'removed' ? labels[0] : labels[1]));
    return h;
  }

  const labels = or(config.labels, ['a', 'b']);

  function renderDiff(): void {
    const rows = or(config.rows, [] as Row[]);
    const sum = byId('summary');
    const summary = or(config.summary, '');
    const colon = summary.indexOf(': ');
    sum.textContent = colon > 0 ? summary.slice(0, colon) : summary;
    sum.className = 'status ' + (config.equal ? 'live' : 'down');
    if (colon > 0) {
      const detail = byId('detail-line');
      detail.textContent = summary.slice(colon + 2);
      detail.hidden = false;
    }
    const grid = el('div', 'diff');
    const head = el('div', 'drow heads');
    for (const [i, s] of [config.a, config.b].entries()) {
      const h = el('div', 'cell head');
      h.append(el('div', 'label', (i === 0 ? '− ' : '+ ') + text(labels[i])));
      if (s) {
        const meta = s.meta && typeof s.meta === 'object' ? s.meta : {};
        const text = Object.keys(meta)
          .slice(0, 8)
          .map((k) => visible(k) + '=' + clip(show(meta[k]), 60))
          .join('  ');
        h.append(
          el(
            'div',
            'sub',
            s.spans +
              ' spans · ' +
              s.events +
              ' events' +
              (s.dropped ? ' · ' + s.dropped + ' dropped by the recorder' : ''),
          ),
        );
        if (text) h.append(el('div', 'meta', text));
      }
      head.append(h);
    }
    grid.append(head);
    let drawn = 0;
    let changes = 0;
    const path: HTMLElement[] = []; // the last row drawn at each depth
    for (const row of rows) {
      if (drawn >= MAX_ROWS) break;
      drawn++;
      if (row.op === 'section') {
        path.length = 0;
        const r = el('div', 'drow section ' + (row.section === 'entity' ? 'entity-' + row.journey : ''));
        r.append(sectionTitle(row));
        grid.append(r);
        if (row.section === 'entity' && row.a && row.b) {
          const e = el('div', 'drow ' + (row.changed.length ? 'changed' : 'same') + ' entity-row');
          e.append(cell(row.a, row.b, row), cell(row.b, row.a, row));
          if (row.changed.length) e.dataset.change = String(changes++);
          grid.append(e);
        }
        continue;
      }
      const r = el('div', 'drow ' + row.op);
      if (row.op !== 'same') {
        r.dataset.change = String(changes++);
        // The spans a changed span is nested in stay in view with "changes only".
        for (let d = 0; d < Math.min(row.depth, path.length); d++) path[d]!.classList.add('ctx');
      }
      path.length = row.depth;
      path.push(r);
      r.append(cell(row.a, row.b, row), cell(row.b, row.a, row));
      grid.append(r);
    }
    report.replaceChildren(grid);
    if (rows.length > drawn)
      report.append(
        el('p', 'empty', rows.length - drawn + ' more rows not shown (stepmark diff prints them all).'),
      );
  }

  let current = -1;
  /** Marks the next (or previous) changed row and scrolls it into view. */
  function jump(dir: number): void {
    const list = Array.prototype.slice.call(report.querySelectorAll('.drow[data-change]')) as HTMLElement[];
    if (!list.length) return;
    current = current < 0 ? (dir > 0 ? 0 : list.length - 1) : (current + dir + list.length) % list.length;
    for (const r of report.querySelectorAll('.drow.current')) r.classList.remove('current');
    const target = list[current]!;
    target.classList.add('current');
    target.scrollIntoView({ block: 'center' });
    byId('count').textContent = 'change ' + (current + 1) + ' of ' + list.length;
  }

  // ---- coverage -------------------------------------------------------------------------

  function bar(c: Counts): HTMLElement {
    const b = el('span', 'meter');
    const fill = el('span', 'fill');
    fill.style.width = (c.percent === null ? 0 : c.percent) + '%';
    if (config.min !== undefined && config.min !== null && c.percent !== null && c.percent < config.min)
      b.classList.add('low');
    b.append(fill);
    return b;
  }

  function renderCoverage(): void {
    const r = config.report;
    if (!r) return;
    const sum = byId('summary');
    sum.textContent =
      r.traces +
      (r.traces === 1 ? ' trace' : ' traces') +
      ' · decisions ' +
      pct(r.summary.decisions) +
      ' · sites ' +
      pct(r.summary.sites);
    const below =
      config.min !== undefined &&
      config.min !== null &&
      (or(r.summary.decisions.percent, 0) as number) < config.min;
    sum.className = 'status ' + (below ? 'down' : 'live');
    const out: HTMLElement[] = [];
    for (const f of r.files) {
      const sec = el('section', 'cov-file');
      sec.dataset.file = f.file;
      const complete = f.sites.every((s) => s.reached && (s.actions || []).every((a) => a.count > 0));
      if (complete) sec.classList.add('complete');
      const h = el('h3', 'cov-head');
      h.append(
        el('span', 'file', text(f.file)),
        el('span', 'pct', 'decisions ' + pct(f.summary.decisions)),
        bar(f.summary.decisions),
        el('span', 'pct', 'sites ' + pct(f.summary.sites)),
      );
      sec.append(h);
      for (const s of f.sites) {
        const incomplete = !s.reached || (s.actions || []).some((a) => a.count === 0);
        const row = el(
          'div',
          'site' + (s.reached ? ' reached' : ' unreached') + (incomplete ? ' incomplete' : ''),
        );
        row.append(
          el('span', 'mark', s.reached ? '✓' : '✗'),
          el('span', 'site-name', text(s.name)),
          el('span', 'at', s.line + ':' + s.column + ' · ' + s.kind),
        );
        const acts = el('span', 'acts');
        if (!s.reached) acts.append(el('span', 'never', 'never reached'));
        else if (!s.actions || (s.actions.length === 0 && s.dynamic))
          acts.append(el('span', 'count', '×' + s.count));
        for (const a of s.reached ? or(s.actions, []) : []) {
          acts.append(
            el(
              'span',
              'chip ' + (a.count > 0 ? 'seen' : 'unseen'),
              (a.count > 0 ? '✓ ' : '✗ ') + text(a.action) + (a.count > 0 ? ' ×' + a.count : ''),
            ),
          );
        }
        row.append(acts);
        sec.append(row);
      }
      out.push(sec);
    }
    if (!out.length) out.push(el('p', 'empty', 'The catalog lists no sites.'));
    report.replaceChildren(...out);
  }

  // ---- wiring ---------------------------------------------------------------------------

  onlyToggle.addEventListener('change', () => {
    report.classList.toggle('only', onlyToggle.checked);
  });
  if (config.kind === 'diff') {
    renderDiff();
    byId('next').addEventListener('click', () => jump(1));
    document.addEventListener('keydown', (ev) => {
      const target = ev.target as HTMLElement;
      if (target && target.tagName === 'INPUT') return;
      if (ev.key === 'n' || ev.key === 'j') jump(1);
      else if (ev.key === 'p' || ev.key === 'k') jump(-1);
    });
  } else renderCoverage();
}
