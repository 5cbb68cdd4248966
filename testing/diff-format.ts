/**
 * A trace diff as lines: {@link diffLines} flattens the aligned spans and journeys into one row
 * per item (what the HTML page draws side by side), {@link formatTraceDiff} prints those rows like
 * a unified diff — context, `-` and `+` lines, a changed item as its pair.
 */
import { escapeForTerminal, formatMs } from '../runtime/render.js';
import type { JsonValue, TraceEvent, TraceSpan } from '../runtime/types.js';
import type {
  DiffOp,
  FieldChange,
  JourneyDiff,
  SpanDiff,
  TraceChange,
  TraceDiff,
  TraceSummary,
} from './diff.js';

/** One side of a row. */
export type DiffSide =
  | {
      readonly type: 'span';
      readonly name: string;
      readonly entity: string | undefined;
      readonly status: string;
      readonly error: string | undefined;
      readonly duration: number | undefined;
    }
  | {
      readonly type: 'event';
      readonly stage: string;
      readonly action: string;
      readonly meta: Record<string, JsonValue> | undefined;
    }
  | {
      readonly type: 'entity';
      readonly id: string;
      readonly kind: string | undefined;
      readonly meta: Record<string, JsonValue> | undefined;
    };

/** A row of the side-by-side diff. */
export interface DiffLine {
  /** `section` opens a part: the span tree, one journey, the events without an entity. */
  readonly op: DiffOp | 'section';
  /** Nesting depth of a span (0 for roots and for events). */
  readonly depth: number;
  readonly a: DiffSide | undefined;
  readonly b: DiffSide | undefined;
  /** Of a changed pair: what differs (`action`, `status`, `error`, `entity`, `kind`, `duration`, `meta:<key>`). */
  readonly changed: readonly string[];
  /** Sections: `spans`, `entity` or `events`. */
  readonly section?: 'spans' | 'entity' | 'events';
  /** Of an `entity` section: how the journey compares (`removed`: the entity is only in a). */
  readonly journey?: DiffOp;
}

const fieldName = (c: FieldChange) => (c.field === 'meta' ? `meta:${c.key}` : c.field);

function spanSide(s: TraceSpan): DiffSide {
  return {
    type: 'span',
    name: String(s.name),
    entity: s.entity_id,
    status: s.status ?? 'ok',
    error: s.status === 'error' ? (s.error ?? 'error') : undefined,
    duration: typeof s.duration_ms === 'number' ? s.duration_ms : undefined,
  };
}

function eventSide(e: TraceEvent): DiffSide {
  return { type: 'event', stage: String(e.stage), action: String(e.action), meta: e.meta };
}

/** The rows of a diff, in order: the span tree, then each journey. */
export function diffLines(diff: TraceDiff): DiffLine[] {
  const out: DiffLine[] = [];
  if (diff.spans.length > 0) {
    out.push({ op: 'section', section: 'spans', depth: 0, a: undefined, b: undefined, changed: [] });
    const stack: { d: SpanDiff; depth: number }[] = [];
    for (let i = diff.spans.length - 1; i >= 0; i--) stack.push({ d: diff.spans[i]!, depth: 0 });
    for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
      const { d, depth } = e;
      out.push({
        op: d.op,
        depth,
        a: d.a ? spanSide(d.a) : undefined,
        b: d.b ? spanSide(d.b) : undefined,
        changed: d.changes.map(fieldName),
      });
      for (let i = d.children.length - 1; i >= 0; i--) stack.push({ d: d.children[i]!, depth: depth + 1 });
    }
  }
  for (const j of diff.journeys) out.push(...journeyLines(j));
  return out;
}

function journeyLines(j: JourneyDiff): DiffLine[] {
  const side = (id: string | undefined, e: JourneyDiff['a']): DiffSide | undefined =>
    id === undefined ? undefined : { type: 'entity', id, kind: e?.kind, meta: e?.meta };
  const out: DiffLine[] = [
    {
      op: 'section',
      ...(j.entity[0] === undefined && j.entity[1] === undefined
        ? { section: 'events' as const }
        : { section: 'entity' as const, journey: j.op }),
      depth: 0,
      a: side(j.entity[0], j.a),
      b: side(j.entity[1], j.b),
      changed: j.changes.map(fieldName),
    },
  ];
  for (const e of j.events) {
    out.push({
      op: e.op,
      depth: 0,
      a: e.a ? eventSide(e.a) : undefined,
      b: e.b ? eventSide(e.b) : undefined,
      changed: e.changes.map(fieldName),
    });
  }
  return out;
}

export interface FormatDiffOptions {
  /** ANSI colours (default false). */
  color?: boolean;
  /** Unchanged rows kept around each change (default 3); longer runs print as `⋮ n unchanged`. `Infinity` keeps all. */
  context?: number;
  /** Names of the two traces in the header (default `a` and `b`; the CLI passes the file names). */
  labels?: readonly [string, string];
}

type Style = 'plain' | 'strong' | 'dim';
type Segment = readonly [text: string, style: Style];
type Tone = 'none' | 'removed' | 'added' | 'section' | 'head' | 'dim';

const TONE: Record<Tone, string> = {
  none: '',
  removed: '31',
  added: '32',
  section: '36',
  head: '1',
  dim: '2',
};
const STYLE: Record<Style, string> = { plain: '', strong: '1', dim: '2' };

function paintLine(tone: Tone, segments: readonly Segment[], color: boolean): string {
  if (!color) return segments.map((s) => s[0]).join('');
  return segments
    .map(([text, style]) => {
      const codes = [TONE[tone], STYLE[style]].filter(Boolean).join(';');
      return codes && text ? `\u001b[${codes}m${text}\u001b[0m` : text;
    })
    .join('');
}

/** Characters of a value shown inline; a changed value shows the window where it differs. */
const SHORT = 60;

/** JSON-like text of a meta value, every string escaped for a terminal (simple strings unquoted). */
function valueText(v: JsonValue | undefined): string {
  if (v === undefined) return '∅';
  if (typeof v === 'string') return /^[\w.@:/-]+$/.test(v) ? v : `"${escapeForTerminal(v, true)}"`;
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v); // nested too deep for JSON.stringify
  }
  // JSON escapes the C0 controls; the rest (DEL, C1, bidi) are escaped here.
  return escapeForTerminal(text);
}

function clip(text: string, max = SHORT): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Characters of a name (span, stage, action, entity id) shown. */
const NAME = 200;

/** The two texts shortened to `max` so that where they differ stays in view. */
function clipPair(x: string, y: string, max = SHORT): [string, string] {
  if (x.length <= max && y.length <= max) return [x, y];
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  if (i < max - 10) return [clip(x, max), clip(y, max)];
  const from = i - 20;
  return [`…${clip(x.slice(from), max - 1)}`, `…${clip(y.slice(from), max - 1)}`];
}

/** A recorded name as printed: escaped, at most NAME characters. */
const name = (text: string) => clip(escapeForTerminal(text), NAME);

function metaSegments(
  meta: Record<string, JsonValue> | undefined,
  other: Record<string, JsonValue> | undefined,
  changed: ReadonlySet<string>,
): Segment[] {
  if (meta === null || typeof meta !== 'object') return [];
  const out: Segment[] = [];
  for (const key of Object.keys(meta)) {
    const hit = changed.has(`meta:${key}`);
    let text = valueText(meta[key]);
    if (hit && other && Object.hasOwn(other, key)) text = clipPair(text, valueText(other[key]))[0];
    else text = clip(text);
    out.push([' ', 'plain'], [`${name(key)}=${text}`, hit ? 'strong' : 'dim']);
  }
  return out;
}

/** What a removed meta key looks like on the side that lacks it. */
function missingKeys(
  meta: Record<string, JsonValue> | undefined,
  other: Record<string, JsonValue> | undefined,
  changed: ReadonlySet<string>,
): Segment[] {
  const out: Segment[] = [];
  for (const key of Object.keys(other ?? {})) {
    if (changed.has(`meta:${key}`) && !(meta && Object.hasOwn(meta, key)))
      out.push([' ', 'plain'], [`${name(key)}=∅`, 'strong']);
  }
  return out;
}

function sideSegments(side: DiffSide, other: DiffSide | undefined, changed: ReadonlySet<string>): Segment[] {
  const hit = (f: string): Style => (changed.has(f) ? 'strong' : 'plain');
  if (side.type === 'span') {
    const out: Segment[] = [[name(side.name), 'plain']];
    if (side.entity !== undefined) out.push([' ', 'plain'], [`[${name(side.entity)}]`, hit('entity')]);
    else if (changed.has('entity')) out.push([' ', 'plain'], ['[no entity]', 'strong']);
    if (changed.has('duration') && side.duration !== undefined)
      out.push([' ', 'plain'], [formatMs(side.duration), 'strong']);
    if (side.status === 'error') {
      const style = changed.has('status') || changed.has('error') ? 'strong' : 'plain';
      out.push([' ', 'plain'], [`✗ ${name(side.error ?? 'error')}`, style]);
    } else if (side.status !== 'ok') out.push([' ', 'plain'], [`(${name(side.status)})`, hit('status')]);
    else if (changed.has('status')) out.push([' ', 'plain'], ['(ok)', 'strong']);
    return out;
  }
  const otherMeta = other && other.type !== 'span' ? other.meta : undefined;
  if (side.type === 'event') {
    const action =
      changed.has('action') && other?.type === 'event'
        ? clipPair(escapeForTerminal(side.action), escapeForTerminal(other.action), NAME)[0]
        : name(side.action);
    return [
      [name(side.stage), 'plain'],
      [' → ', 'dim'],
      [action, hit('action')],
      ...metaSegments(side.meta, otherMeta, changed),
      ...missingKeys(side.meta, otherMeta, changed),
    ];
  }
  return [
    [name(side.id), 'plain'],
    ...(side.kind !== undefined ? ([[` (${name(side.kind)})`, hit('kind')]] as Segment[]) : []),
    ...metaSegments(side.meta, otherMeta, changed),
    ...missingKeys(side.meta, otherMeta, changed),
  ];
}

function sectionTitle(line: DiffLine): string {
  if (line.section === 'spans') return 'spans';
  if (line.section === 'events') return 'events without an entity';
  const a = line.a?.type === 'entity' ? line.a : undefined;
  const b = line.b?.type === 'entity' ? line.b : undefined;
  const ids = a && b && a.id !== b.id ? `${name(a.id)} ⇄ ${name(b.id)}` : name((a ?? b)?.id ?? '');
  const kind = (a ?? b)?.kind;
  const only = line.journey === 'removed' ? ', only in a' : line.journey === 'added' ? ', only in b' : '';
  return `entity ${ids}${kind !== undefined ? ` (${name(kind)})` : ''}${only}`;
}

function headerLine(mark: string, label: string, s: TraceSummary): Segment[] {
  const meta = Object.keys(s.meta)
    .slice(0, 8)
    .map((k) => `${name(k)}=${clip(valueText(s.meta[k]), 40)}`)
    .join(' ');
  const counts = `${s.spans} span${s.spans === 1 ? '' : 's'}, ${s.events} event${s.events === 1 ? '' : 's'}${s.dropped ? `, ${s.dropped} dropped by the recorder` : ''}`;
  return [
    [`${mark} ${name(label)}`, 'plain'],
    [meta ? `  ${meta}` : '', 'dim'],
    [`  (${counts})`, 'dim'],
  ];
}

const CHANGE_WORDS: Record<TraceChange['type'], [string, string]> = {
  'span-removed': ['span removed', 'spans removed'],
  'span-added': ['span added', 'spans added'],
  'span-changed': ['span changed', 'spans changed'],
  'entity-removed': ['entity removed', 'entities removed'],
  'entity-added': ['entity added', 'entities added'],
  'entity-changed': ['entity changed', 'entities changed'],
  'event-removed': ['event removed', 'events removed'],
  'event-added': ['event added', 'events added'],
  'event-changed': ['event changed', 'events changed'],
};

/** One line: how many differences of which kind. */
export function diffSummary(diff: TraceDiff): string {
  if (diff.equal) return 'no differences';
  const counts = new Map<TraceChange['type'], number>();
  for (const c of diff.changes) counts.set(c.type, (counts.get(c.type) ?? 0) + 1);
  const parts = [...counts].map(([type, n]) => `${n} ${CHANGE_WORDS[type][n === 1 ? 0 : 1]}`);
  return `${diff.changes.length} difference${diff.changes.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/**
 * The diff as text, like a unified diff: a header per trace, then per part (the span tree, each
 * journey) the rows that differ — `-` only in a, `+` only in b, a changed item as its `-`/`+`
 * pair with what changed in bold — with `context` unchanged rows around them, and a summary.
 * Every recorded string is escaped: one string never becomes two lines.
 */
export function formatTraceDiff(diff: TraceDiff, options: FormatDiffOptions = {}): string {
  const color = options.color === true;
  const context = Math.max(0, options.context ?? 3);
  const [la, lb] = options.labels ?? ['a', 'b'];
  const out: string[] = [
    paintLine('head', headerLine('---', la, diff.a), color),
    paintLine('head', headerLine('+++', lb, diff.b), color),
  ];
  const lines = diffLines(diff);
  let i = 0;
  while (i < lines.length) {
    const head = lines[i]!;
    let end = i + 1;
    while (end < lines.length && lines[end]!.op !== 'section') end++;
    out.push(...section(head, lines.slice(i + 1, end), context, color));
    i = end;
  }
  out.push(paintLine(diff.equal ? 'none' : 'head', [[diffSummary(diff), 'plain']], color));
  return out.join('\n');
}

function section(head: DiffLine, rows: DiffLine[], context: number, color: boolean): string[] {
  const out = [paintLine('section', [[`@@ ${sectionTitle(head)} @@`, 'plain']], color)];
  if (head.section === 'entity' && head.journey === 'changed' && head.changed.length > 0) {
    out.push(...rowLines({ ...head, op: 'changed' }, color));
  }
  // Shown: every change, `context` rows either side of it, and (in the span tree) the spans it
  // is nested in, so a change is never read without its path.
  const shown = rows.map((r) => r.op !== 'same');
  const changes = shown.flatMap((c, k) => (c ? [k] : []));
  for (const k of changes) {
    for (let r = Math.max(0, k - context); r <= Math.min(rows.length - 1, k + context); r++) shown[r] = true;
    for (let r = k - 1, depth = rows[k]!.depth; r >= 0 && depth > 0; r--) {
      if (rows[r]!.depth < depth) {
        shown[r] = true;
        depth = rows[r]!.depth;
      }
    }
  }
  let k = 0;
  while (k < rows.length) {
    let end = k;
    while (end < rows.length && !shown[end]) end++;
    if (end - k === 1) out.push(...rowLines(rows[k]!, color));
    else if (end > k) out.push(paintLine('dim', [[`  ⋮ ${end - k} unchanged`, 'plain']], color));
    for (k = end; k < rows.length && shown[k]; k++) out.push(...rowLines(rows[k]!, color));
  }
  return out;
}

const MAX_INDENT = 64;

function rowLines(row: DiffLine, color: boolean): string[] {
  const depth = Math.min(row.depth, MAX_INDENT);
  const indent = `${'  '.repeat(depth)}${row.depth > MAX_INDENT ? `[+${row.depth - MAX_INDENT}] ` : ''}`;
  const changed = new Set(row.changed);
  const line = (mark: string, tone: Tone, side: DiffSide, other: DiffSide | undefined) =>
    paintLine(tone, [[`${mark} ${indent}`, 'plain'], ...sideSegments(side, other, changed)], color);
  switch (row.op) {
    case 'same':
      return [line(' ', 'none', row.a!, row.b)];
    case 'removed':
      return [line('-', 'removed', row.a!, undefined)];
    case 'added':
      return [line('+', 'added', row.b!, undefined)];
    default:
      return [line('-', 'removed', row.a!, row.b), line('+', 'added', row.b!, row.a)];
  }
}
