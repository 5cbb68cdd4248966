// The viewer's browser code. It is embedded into the page with Function#toString, so it
// must stay self-contained: no imports, no references to anything outside viewerMain,
// nothing a compiler would lower into a helper (keep to ES2022 without classes).
// Trace content is untrusted text: it only ever reaches the DOM through textContent.

export function viewerMain(): void {
  type Meta = Record<string, unknown>;
  interface Ev {
    stage?: string;
    action?: string;
    timestamp?: string;
    meta?: Meta;
    span_id?: string;
    entity_id?: string;
  }
  interface Span {
    span_id: string;
    parent_id?: string | null;
    name?: string;
    entity_id?: string;
    start?: string;
    end?: string | null;
    duration_ms?: number | null;
    status?: string;
    error?: string;
    location?: string;
  }
  interface Entity {
    entity_id?: string;
    kind?: string;
    meta?: Meta;
    events?: Ev[];
  }
  interface Trace {
    meta?: Meta;
    entities?: Record<string, Entity>;
    events?: Ev[];
    spans?: Span[];
    dropped?: number;
    dropped_spans?: number;
    dropped_entities?: number;
  }
  interface Entry {
    n: number;
    trace: Trace;
    title: string;
    sub: string;
    error: boolean;
    ids: string[];
    kinds: string[];
    /** Epoch ms of the trace's first span or event. */
    at: number | undefined;
    /** `meta.request_id`: one trace per request, whether it came live or from the recorder. */
    key: string | undefined;
  }
  interface Config {
    live?: boolean;
    find?: boolean;
    traces?: unknown[];
  }

  const ROW = 48; // px, fixed row height of the virtual list
  const MAX_TRACES = 20000; // the page keeps at most this many; older ones are forgotten
  const MAX_SPAN_ROWS = 1500; // timeline rows drawn for one trace
  const MAX_INDENT = 24; // nesting levels shown by indentation; deeper ones say their depth

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

  const config: Config = JSON.parse(byId('stepmark-config').textContent || '{}');
  const list = byId('list');
  const spacer = byId('spacer');
  const detail = byId('detail');
  const filterInput = byId('filter') as HTMLInputElement;
  const spanEventsToggle = byId('span-events') as HTMLInputElement;
  const statusEl = byId('status');
  const countEl = byId('count');
  const lostEl = byId('lost');
  const activityEl = byId('activity');
  const foundEl = byId('found');

  const entries: Entry[] = []; // oldest first
  const keys = new Set<string>(); // request ids of the entries
  let shown: Entry[] = []; // entries matching the filter, oldest first (displayed newest first)
  let selected: Entry | undefined;
  let counter = 0;
  let forgotten = 0;
  let lost = 0;
  let liveEvents = 0;
  let filter = { field: 'any', term: '' };
  let pending: unknown[] = [];
  let frame = 0;

  // No `??` or `?.` in this file: the CommonJS build lowers them into helper calls that do
  // not exist in the page (test/live/endpoint.test.ts compares both builds' pages).
  const or = <A, B>(v: A, fallback: B): NonNullable<A> | B =>
    v === undefined || v === null ? fallback : (v as NonNullable<A>);
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const ms = (v: number): string =>
    v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v >= 10 ? v.toFixed(1) + ' ms' : v.toFixed(2) + ' ms';
  const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  const show = (v: unknown): string => {
    if (typeof v === 'string') return v;
    try {
      return or(JSON.stringify(v), String(v));
    } catch (_error) {
      return String(v);
    }
  };
  const metaText = (meta: Meta | undefined): string =>
    meta && typeof meta === 'object'
      ? Object.keys(meta)
          .map((k) => k + '=' + clip(show(meta[k]), 160))
          .join('  ')
      : '';
  const time = (iso: string | undefined): number | undefined => {
    const t = iso ? Date.parse(iso) : Number.NaN;
    return Number.isNaN(t) ? undefined : t;
  };

  function spansOf(t: Trace): Span[] {
    return Array.isArray(t.spans) ? t.spans.filter((s) => s && typeof s === 'object') : [];
  }
  function entitiesOf(t: Trace): Entity[] {
    const out: Entity[] = [];
    if (t.entities && typeof t.entities === 'object') {
      for (const id of Object.keys(t.entities)) {
        const e = t.entities[id];
        if (e && typeof e === 'object') out.push({ ...e, entity_id: or(str(e.entity_id), id) });
      }
    }
    return out;
  }

  function describe(t: Trace, recorded: boolean): Entry {
    const meta = t.meta && typeof t.meta === 'object' ? t.meta : {};
    const spans = spansOf(t);
    const ents = entitiesOf(t);
    const roots = spans.filter((s) => !s.parent_id);
    const method = str(meta.method);
    const where = or(str(meta.route), or(str(meta.path), str(meta.url)));
    const candidates = [
      method && where ? method + ' ' + where : undefined,
      where,
      str(meta.name),
      str(roots.length ? roots[0]!.name : undefined),
      str(meta.request_id) ? 'request ' + meta.request_id : undefined,
    ];
    const title = or(
      candidates.find((c) => c !== undefined),
      'trace',
    );
    const duration = or(
      num(meta.duration_ms),
      roots.reduce((a, s) => a + or(num(s.duration_ms), 0), 0),
    );
    const error = spans.some((s) => s.status === 'error') || or(num(meta.status), 0) >= 500;
    const parts = [
      recorded ? 'recorder' : '#' + (counter + 1),
      num(meta.status) !== undefined ? String(meta.status) : '',
      duration ? ms(duration) : '',
      ents.length + (ents.length === 1 ? ' entity' : ' entities'),
      spans.length + (spans.length === 1 ? ' span' : ' spans'),
      str(meta.request_id) ? 'id ' + meta.request_id : '',
    ];
    return {
      n: ++counter,
      trace: t,
      title,
      sub: parts.filter(Boolean).join(' · '),
      error,
      ids: ents.map((e) => String(e.entity_id).toLowerCase()),
      kinds: ents.map((e) => or(str(e.kind), '').toLowerCase()),
      at: spanOrigin(t),
      key: typeof meta.request_id === 'string' ? meta.request_id : undefined,
    };
  }

  function parseFilter(text: string): { field: string; term: string } {
    const m = /^\s*(id|kind)\s*:\s*(.*)$/i.exec(text);
    return m
      ? { field: m[1]!.toLowerCase(), term: m[2]!.trim().toLowerCase() }
      : { field: 'any', term: text.trim().toLowerCase() };
  }
  function entityMatches(id: string, kind: string): boolean {
    const { field, term } = filter;
    if (!term) return true;
    if (field === 'kind') return kind === term;
    if (field === 'id') return id.includes(term);
    return id.includes(term) || kind.includes(term);
  }
  function matches(e: Entry): boolean {
    if (!filter.term) return true;
    for (let i = 0; i < e.ids.length; i++) if (entityMatches(e.ids[i]!, e.kinds[i]!)) return true;
    return false;
  }

  // ---- list ---------------------------------------------------------------------------

  function renderList(): void {
    spacer.style.height = shown.length * ROW + 'px';
    const top = list.scrollTop;
    const height = list.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - 8);
    const last = Math.min(shown.length, Math.ceil((top + height) / ROW) + 8);
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const e = shown[shown.length - 1 - i]!;
      const row = el('div', 'trace-row' + (e.error ? ' error' : '') + (e === selected ? ' selected' : ''));
      row.style.top = i * ROW + 'px';
      row.dataset.n = String(e.n);
      row.append(el('div', 'trace-title', e.title), el('div', 'trace-sub', e.sub));
      row.addEventListener('click', () => select(e));
      rows.push(row);
    }
    spacer.replaceChildren(...rows);
    countEl.textContent =
      (filter.term ? shown.length + ' of ' : '') +
      entries.length +
      (entries.length === 1 ? ' trace' : ' traces') +
      (forgotten ? ' (' + forgotten + ' older forgotten)' : '');
  }

  function refilter(): void {
    shown = filter.term ? entries.filter(matches) : entries.slice();
    renderList();
    if (selected) renderDetail(selected);
  }

  function flush(): void {
    frame = 0;
    const batch = pending;
    pending = [];
    let added = 0;
    for (const raw of batch) {
      if (!raw || typeof raw !== 'object') continue;
      const e = describe(raw as Trace, false);
      entries.push(e);
      if (e.key !== undefined) keys.add(e.key);
      if (matches(e)) {
        shown.push(e);
        added++;
      }
    }
    forgetOldest();
    // Keep the rows under the reader's eyes still when new ones arrive above them.
    if (list.scrollTop > 0) list.scrollTop += added * ROW;
    renderList();
    if (!selected && shown.length > 0) select(shown[shown.length - 1]!);
  }

  function forgetOldest(): void {
    if (entries.length <= MAX_TRACES) return;
    const drop = entries.length - MAX_TRACES;
    const gone = new Set(entries.splice(0, drop));
    forgotten += drop;
    for (const e of gone) if (e.key !== undefined) keys.delete(e.key);
    shown = shown.filter((e) => !gone.has(e));
    if (selected && gone.has(selected)) selected = undefined;
  }

  /** Traces from the recorder: placed among the others by time, unless the page already has them. */
  function addFound(found: unknown[]): number {
    let added = 0;
    for (const raw of found) {
      if (!raw || typeof raw !== 'object') continue;
      const e = describe(raw as Trace, true);
      if (e.key !== undefined) {
        if (keys.has(e.key)) continue;
        keys.add(e.key);
      }
      let i = entries.length;
      if (e.at === undefined) i = 0;
      else while (i > 0 && (entries[i - 1]!.at === undefined || entries[i - 1]!.at! > e.at)) i--;
      entries.splice(i, 0, e);
      added++;
    }
    forgetOldest();
    return added;
  }

  // The entity filter also asks the server's flight recorder (exact entity id), so the page can
  // show requests it never saw live. Only the latest question's answer is used.
  let asked = 0;
  function askRecorder(text: string): void {
    const m = /^\s*(id|kind)\s*:\s*(.*)$/i.exec(text);
    const id = (m ? m[2]! : text).trim();
    const mine = ++asked;
    if (!config.find || !config.live || !id || (m && m[1]!.toLowerCase() === 'kind')) {
      foundEl.hidden = true;
      return;
    }
    const url = location.pathname.replace(/\/+$/, '') + '/find?limit=200&entity=' + encodeURIComponent(id);
    fetch(url, { headers: { accept: 'application/json' } })
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error('HTTP ' + res.status))))
      .then(
        (found: unknown) => {
          if (mine !== asked) return;
          const list = Array.isArray(found) ? found : [];
          const added = addFound(list);
          foundEl.textContent =
            'recorder: ' +
            list.length +
            (list.length === 1 ? ' trace' : ' traces') +
            ' of ' +
            id +
            (added < list.length ? ' (' + (list.length - added) + ' already shown)' : '');
          foundEl.hidden = false;
          refilter();
        },
        (error: Error) => {
          if (mine !== asked) return;
          foundEl.textContent = 'recorder: could not search (' + error.message + ')';
          foundEl.hidden = false;
        },
      );
  }

  function add(raw: unknown): void {
    pending.push(raw);
    // A hidden tab gets no animation frames: keep what waits for one bounded too.
    if (pending.length > MAX_TRACES + 1000) {
      const drop = pending.length - MAX_TRACES;
      pending.splice(0, drop);
      forgotten += drop;
    }
    if (!frame) frame = requestAnimationFrame(flush);
  }

  function select(e: Entry): void {
    selected = e;
    renderList();
    renderDetail(e);
  }

  // ---- one trace ----------------------------------------------------------------------

  function renderDetail(e: Entry): void {
    const t = e.trace;
    const out: HTMLElement[] = [];
    const head = el('div', 'detail-head');
    const save = el('a', 'save', 'Download JSON');
    // A trace file for a bug report, readable by `stepmark view`.
    save.addEventListener('click', () => {
      const blob = new Blob([JSON.stringify(t, null, 2) + '\n'], { type: 'application/json' });
      const href = URL.createObjectURL(blob);
      save.href = href;
      const id = str(or(t.meta, {} as Meta).request_id);
      save.download = 'trace-' + (id ? id.replace(/[^\w.-]+/g, '_').slice(0, 60) : String(e.n)) + '.json';
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    });
    head.append(el('h2', 'detail-title', e.title), save);
    out.push(head);
    const meta = t.meta && typeof t.meta === 'object' ? t.meta : {};
    if (Object.keys(meta).length) {
      const dl = el('dl', 'trace-meta');
      for (const k of Object.keys(meta)) dl.append(el('dt', '', k), el('dd', '', clip(show(meta[k]), 400)));
      out.push(dl);
    }
    if (or(num(t.dropped), 0) > 0) {
      out.push(el('p', 'warn', t.dropped + ' events were dropped by the recorder (maxEvents).'));
    }
    if (or(num(t.dropped_spans), 0) > 0) {
      out.push(el('p', 'warn', t.dropped_spans + ' spans were not recorded (maxSpans).'));
    }
    if (or(num(t.dropped_entities), 0) > 0) {
      out.push(
        el('p', 'warn', t.dropped_entities + ' calls for entities beyond maxEntities were not recorded.'),
      );
    }
    out.push(renderTimeline(t), renderJourneys(t));
    const loose = (Array.isArray(t.events) ? t.events : []).filter(
      (ev) => spanEventsToggle.checked || !(ev && (ev.action === 'entered' || ev.action === 'exited')),
    );
    if (loose.length) {
      const sec = el('section', 'events');
      sec.append(el('h3', '', 'Events without an entity'));
      sec.append(renderSteps(loose, t, spanOrigin(t)));
      out.push(sec);
    }
    detail.replaceChildren(...out);
  }

  function spanOrigin(t: Trace): number | undefined {
    let origin: number | undefined;
    for (const s of spansOf(t)) {
      const st = time(s.start);
      if (st !== undefined && (origin === undefined || st < origin)) origin = st;
    }
    if (origin === undefined) {
      const all = [
        ...(Array.isArray(t.events) ? t.events : []),
        ...entitiesOf(t).flatMap((en) => (Array.isArray(en.events) ? en.events : [])),
      ];
      for (const ev of all) {
        const ts = ev ? time(ev.timestamp) : undefined;
        if (ts !== undefined && (origin === undefined || ts < origin)) origin = ts;
      }
    }
    return origin;
  }

  function renderTimeline(t: Trace): HTMLElement {
    const sec = el('section', 'timeline');
    const spans = spansOf(t);
    sec.append(el('h3', '', 'Spans'));
    if (!spans.length) {
      const events =
        (Array.isArray(t.events) ? t.events.length : 0) +
        entitiesOf(t).reduce((n, en) => n + (Array.isArray(en.events) ? en.events.length : 0), 0);
      // events but no spans: most often code that was marked but never instrumented
      sec.append(
        el(
          'p',
          'empty',
          events > 0
            ? 'No spans in this trace: no instrumented function ran. Marked code (// @stepmark) needs a ' +
                'stepmark build plugin (esbuild, Vite, Babel, tsc) or node --import stepmark/register: see ' +
                '"Build plugins" in the stepmark README.'
            : 'No spans in this trace.',
        ),
      );
      return sec;
    }
    const origin = or(spanOrigin(t), 0);
    const ids = new Set(spans.map((s) => s.span_id));
    const children = new Map<string, Span[]>();
    const roots: Span[] = [];
    for (const s of spans) {
      const parent = s.parent_id && ids.has(s.parent_id) ? s.parent_id : undefined;
      if (parent === undefined) roots.push(s);
      else {
        const arr = or(children.get(parent), [] as Span[]);
        arr.push(s);
        children.set(parent, arr);
      }
    }
    // Depth-first, without recursion: instrumented recursive code makes chains thousands deep.
    const ordered: { s: Span; depth: number }[] = [];
    const seen = new Set<Span>();
    const visit = (start: Span): void => {
      const stack: { s: Span; depth: number }[] = [{ s: start, depth: 0 }];
      while (stack.length) {
        const top = stack.pop()!;
        if (seen.has(top.s)) continue;
        seen.add(top.s);
        ordered.push(top);
        const kids = or(children.get(top.s.span_id), [] as Span[]);
        for (let i = kids.length - 1; i >= 0; i--) stack.push({ s: kids[i]!, depth: top.depth + 1 });
      }
    };
    for (const r of roots) visit(r);
    for (const s of spans) visit(s); // anything in a parent cycle still shows up
    let extent = 0;
    for (const s of spans) {
      const st = or(time(s.start), origin) - origin;
      const en =
        num(s.duration_ms) !== undefined
          ? st + num(s.duration_ms)!
          : or(time(or(s.end, undefined)), origin) - origin;
      extent = Math.max(extent, st, en);
    }
    extent = extent || 1;
    const axis = el('div', 'axis');
    for (let i = 0; i <= 4; i++) {
      const tick = el('span', 'tick', ms((extent * i) / 4));
      tick.style.left = i * 25 + '%';
      axis.append(tick);
    }
    const head = el('div', 'span-row axis-row');
    head.append(el('div', 'span-label', ''), axis, el('div', 'span-dur', ''));
    sec.append(head);
    for (const { s, depth } of ordered.slice(0, MAX_SPAN_ROWS)) {
      const failed = s.status === 'error';
      const unfinished = !s.end && num(s.duration_ms) === undefined;
      const row = el('div', 'span-row' + (failed ? ' error' : '') + (unfinished ? ' unfinished' : ''));
      row.dataset.spanId = String(s.span_id);
      const label = el('div', 'span-label');
      label.style.paddingLeft = 6 + Math.min(depth, MAX_INDENT) * 14 + 'px';
      if (depth > MAX_INDENT) label.append(el('span', 'depth', '↳' + depth + ' '));
      label.append(el('span', 'span-name', or(s.name, '(anonymous)')));
      if (s.entity_id) {
        const badge = el('span', 'badge', s.entity_id);
        if (filter.term && entityMatches(String(s.entity_id).toLowerCase(), '')) badge.classList.add('hit');
        label.append(badge);
      }
      if (s.location) label.title = s.location;
      const track = el('div', 'span-track');
      const bar = el('div', 'bar');
      const st = or(time(s.start), origin) - origin;
      const dur = or(num(s.duration_ms), unfinished ? extent - st : 0);
      bar.style.left = (st / extent) * 100 + '%';
      bar.style.width = Math.max((dur / extent) * 100, 0.4) + '%';
      track.append(bar);
      const durText = unfinished ? 'unfinished' : ms(or(num(s.duration_ms), 0));
      row.append(label, track, el('div', 'span-dur', durText));
      sec.append(row);
      if (failed) sec.append(el('div', 'span-error', '✖ ' + or(s.error, 'error')));
    }
    if (ordered.length > MAX_SPAN_ROWS) {
      sec.append(
        el(
          'p',
          'empty',
          ordered.length - MAX_SPAN_ROWS + ' more spans not shown (stepmark view prints them all).',
        ),
      );
    }
    return sec;
  }

  function renderSteps(events: Ev[], t: Trace, origin: number | undefined): HTMLElement {
    const spanNames = new Map(spansOf(t).map((s) => [s.span_id, or(s.name, '')]));
    const ol = el('ol', 'journey');
    for (const ev of events) {
      if (!ev || typeof ev !== 'object') continue;
      const spanEvent = ev.action === 'entered' || ev.action === 'exited';
      if (spanEvent && !spanEventsToggle.checked) continue;
      const li = el('li', 'step' + (spanEvent ? ' span-event' : ''));
      li.append(
        el('span', 'stage', or(ev.stage, '')),
        el('span', 'arrow', '→'),
        el('span', 'action', or(ev.action, '')),
      );
      const m = metaText(ev.meta);
      if (m) li.append(el('span', 'meta', m));
      const at = time(ev.timestamp);
      const where: string[] = [];
      if (at !== undefined && origin !== undefined) where.push('+' + ms(at - origin));
      if (ev.span_id && spanNames.get(ev.span_id)) where.push('in ' + spanNames.get(ev.span_id));
      if (where.length) li.append(el('span', 'at', where.join(' · ')));
      ol.append(li);
    }
    if (!ol.childElementCount) ol.append(el('li', 'empty', 'no steps'));
    return ol;
  }

  function renderJourneys(t: Trace): HTMLElement {
    const sec = el('section', 'entities');
    const ents = entitiesOf(t);
    const hits = ents.filter((en) =>
      entityMatches(String(en.entity_id).toLowerCase(), or(str(en.kind), '').toLowerCase()),
    );
    sec.append(el('h3', '', 'Entities' + (filter.term ? ' matching the filter' : '')));
    if (!hits.length)
      sec.append(
        el('p', 'empty', ents.length ? 'No entity matches the filter.' : 'No entities in this trace.'),
      );
    const origin = spanOrigin(t);
    for (const en of hits) {
      const card = el('div', 'entity');
      card.dataset.entityId = String(en.entity_id);
      const head = el('div', 'entity-head');
      head.append(el('span', 'entity-id', String(en.entity_id)));
      if (str(en.kind)) head.append(el('span', 'kind', String(en.kind)));
      const m = metaText(en.meta);
      if (m) head.append(el('span', 'meta', m));
      card.append(head, renderSteps(Array.isArray(en.events) ? en.events : [], t, origin));
      sec.append(card);
    }
    return sec;
  }

  // ---- wiring -------------------------------------------------------------------------

  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  filterInput.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      filter = parseFilter(filterInput.value);
      refilter();
      askRecorder(filterInput.value);
    }, 80);
  });
  spanEventsToggle.addEventListener('change', () => {
    if (selected) renderDetail(selected);
  });
  let scrollFrame = 0;
  list.addEventListener('scroll', () => {
    if (!scrollFrame)
      scrollFrame = requestAnimationFrame(() => {
        scrollFrame = 0;
        renderList();
      });
  });
  window.addEventListener('resize', () => renderList());
  list.addEventListener('keydown', (ev) => {
    if (!selected || (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp')) return;
    const i = shown.indexOf(selected);
    const j = ev.key === 'ArrowDown' ? i - 1 : i + 1; // displayed newest first
    if (i < 0 || j < 0 || j >= shown.length) return;
    ev.preventDefault();
    select(shown[j]!);
    const pos = (shown.length - 1 - j) * ROW;
    if (pos < list.scrollTop) list.scrollTop = pos;
    else if (pos + ROW > list.scrollTop + list.clientHeight) list.scrollTop = pos + ROW - list.clientHeight;
  });

  for (const t of Array.isArray(config.traces) ? config.traces : []) add(t);

  if (config.live) {
    // since=0: start with everything the server still holds. On reconnection the browser sends
    // Last-Event-ID, which the server prefers, so nothing arrives twice.
    const url = location.pathname.replace(/\/+$/, '') + '/events?since=0';
    const source = new EventSource(url);
    statusEl.textContent = 'connecting…';
    source.addEventListener('open', () => {
      statusEl.textContent = '● live';
      statusEl.className = 'status live';
    });
    source.addEventListener('error', () => {
      statusEl.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
      statusEl.className = 'status down';
    });
    source.addEventListener('trace', (ev) => {
      try {
        add(JSON.parse((ev as MessageEvent).data));
      } catch (_error) {
        /* a malformed message is skipped, the stream goes on */
      }
    });
    source.addEventListener('lost', (ev) => {
      try {
        lost += Number(JSON.parse((ev as MessageEvent).data).count) || 0;
      } catch (_error) {
        return;
      }
      lostEl.textContent =
        lost +
        ' item' +
        (lost === 1 ? ' was' : 's were') +
        " lost: this page fell behind the server's buffer.";
      lostEl.hidden = false;
    });
    // Live span/step events (a bus with liveEvents): which requests are running right now,
    // and where each one is.
    const running = new Map<number, { label: string; at: string }>();
    source.addEventListener('event', (ev) => {
      liveEvents++;
      let d: Ev & { name?: string; type?: string; request_id?: unknown; trace?: number };
      try {
        d = JSON.parse((ev as MessageEvent).data);
      } catch (_error) {
        return;
      }
      const id = typeof d.trace === 'number' ? d.trace : -1;
      const label = d.request_id !== undefined ? show(d.request_id) : 'trace ' + id;
      if (d.type === 'trace-end') running.delete(id);
      else {
        const at =
          d.type === 'span-start'
            ? or(d.name, '')
            : d.type === 'event'
              ? or(d.stage, '') + ' → ' + or(d.action, '')
              : '';
        const current = running.get(id);
        if (current) current.at = at || current.at;
        else if (running.size < 1000) running.set(id, { label, at });
      }
      const list = [...running.values()]
        .slice(0, 5)
        .map((r) => r.label + (r.at ? ' (' + clip(r.at, 60) + ')' : ''));
      activityEl.textContent =
        liveEvents +
        ' live events · running: ' +
        (running.size
          ? list.join(', ') + (running.size > 5 ? ' and ' + (running.size - 5) + ' more' : '')
          : 'none');
      activityEl.hidden = false;
    });
  } else {
    statusEl.textContent = 'offline copy';
    statusEl.className = 'status';
  }
  renderList();
  if (!entries.length && !pending.length) {
    detail.replaceChildren(el('p', 'empty', config.live ? 'Waiting for traces…' : 'No traces.'));
  }
}
