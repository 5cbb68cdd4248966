/**
 * Human rendering of a trace: the span tree (durations, errors, unfinished spans) and each
 * entity's journey (stage → action). Shared by the demo, `stepmark/testing` and logs.
 *
 * Recorded strings come from the program and from whatever it handles (a request's header, a
 * file name): each is printed through {@link escapeForTerminal}, so it stays one field on one
 * line and cannot send a terminal a command.
 */
import { safeString } from './snapshot.js';
import type { JsonValue, Trace, TraceEvent, TraceSpan } from './types.js';

/**
 * Characters a terminal acts on or that move text: C0 controls (newline included), DEL, C1
 * controls (U+0080–U+009F, e.g. U+009B, a one-character CSI), the Arabic letter mark, LRM/RLM,
 * the line and paragraph separators, and the bidirectional embeddings, overrides and isolates.
 * Written as a string so the source itself holds no control character.
 */
const UNSAFE = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';
const UNSAFE_RE = new RegExp(`[${UNSAFE}]`, 'g');
/** The same, and `"` and `\`, inside a quoted string. */
const UNSAFE_QUOTED_RE = new RegExp(`[${UNSAFE}"\\\\]`, 'g');

function escapeChar(ch: string): string {
  switch (ch) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '"':
      return '\\"';
    case '\\':
      return '\\\\';
  }
  const code = ch.charCodeAt(0);
  return code < 0x80
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` safe to print on a terminal as one field: every control character and every character
 * that moves text is written as an escape (`\x1b`, `\n`, `\u009b`, `\u202e`), so the result
 * has no line break and no escape sequence. `quoted`: for text between double quotes, where `"`
 * and `\` are escaped too (as in JSON). Every stepmark printer goes through this function; use it
 * in a custom rendering (`consoleSink({ render })`) as well.
 */
export function escapeForTerminal(text: string, quoted = false): string {
  return text.replace(quoted ? UNSAFE_QUOTED_RE : UNSAFE_RE, escapeChar);
}

/** Longest error head (name and message) and stack frame {@link errorForTerminal} prints, and how many frames. */
const ERROR_HEAD_MAX = 1000;
const ERROR_FRAME_MAX = 300;
const ERROR_FRAMES = 30;

/** `text` cut to `max` characters, saying how many more there were. */
function capped(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more]`;
}

/**
 * An error as stepmark prints it on stderr: its name and message on one line, escaped (a message
 * can carry a caller's data, line breaks and escape sequences included) and capped, then its
 * stack frames, one per line, each escaped (at most 30); then the same for its `cause`.
 */
export function errorForTerminal(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return escapeForTerminal(safeString(error));
  let name: string;
  let message: string;
  let stack: unknown;
  let cause: unknown;
  try {
    name = safeString(error.name);
    message = safeString(error.message);
    stack = error.stack;
    cause = error.cause;
  } catch {
    return escapeForTerminal(safeString(error));
  }
  const head = message === '' ? name : `${name}: ${message}`;
  const lines = [escapeForTerminal(capped(head, ERROR_HEAD_MAX))];
  // V8's stack is the head then the frames; a stack made up otherwise shows no frames
  if (typeof stack === 'string' && stack.startsWith(head)) {
    let frames = 0;
    for (const frame of stack.slice(head.length, head.length + ERROR_FRAMES * ERROR_FRAME_MAX).split('\n')) {
      if (frame.trim() === '') continue;
      if (frames++ === ERROR_FRAMES) break;
      lines.push(escapeForTerminal(capped(frame, ERROR_FRAME_MAX)));
    }
  }
  if (cause !== undefined && depth < 3) lines.push(`[cause] ${errorForTerminal(cause, depth + 1)}`);
  return lines.join('\n');
}

/** One line, bounded: an error message can quote its input (a JSON text, a value), newlines included. */
export function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A recorded value (a string, or whatever a trace read from a file holds) as one printable field. */
function field(v: unknown): string {
  return escapeForTerminal(typeof v === 'string' ? v : safeString(v));
}

export interface FormatOptions {
  /** ANSI colours (default false). */
  color?: boolean;
  /** Show span durations (default true; `stepmark/testing` turns them off for snapshots). */
  durations?: boolean;
  /** Show event meta inline (default true). */
  meta?: boolean;
  /** Include the `entered`/`exited` events in journeys and unscoped events (default false). */
  spanEvents?: boolean;
  /** Sections to print (default all that are non-empty). */
  sections?: ReadonlyArray<'header' | 'spans' | 'entities' | 'events'>;
}

const ANSI = {
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
};
type Paint = (code: keyof typeof ANSI, s: string) => string;

/** Renders `trace` as indented text (a string without trailing newline). */
export function formatTrace(trace: Trace, options: FormatOptions = {}): string {
  const paint: Paint = options.color ? (code, s) => `${ANSI[code]}${s}${ANSI.reset}` : (_code, s) => s;
  const want = new Set(options.sections ?? ['header', 'spans', 'entities', 'events']);
  const out: string[] = [];
  if (want.has('header')) {
    const meta = Object.keys(trace.meta ?? {}).length ? ` ${inlineMeta(trace.meta)}` : '';
    let dropped = trace.dropped ? `, ${field(trace.dropped)} dropped` : '';
    if (trace.dropped_spans) dropped += `, ${field(trace.dropped_spans)} spans dropped`;
    if (trace.dropped_entities) dropped += `, ${field(trace.dropped_entities)} entities dropped`;
    out.push(
      paint('bold', `trace${meta}`) +
        paint('dim', ` (${trace.spans.length} spans, ${countEvents(trace)} events${dropped})`),
    );
    if (trace.spans.length === 0 && !trace.dropped_spans && countEvents(trace) > 0)
      out.push(paint('dim', `  ${NO_SPANS_HINT}`));
  }
  if (want.has('spans') && trace.spans.length) {
    out.push(paint('bold', 'spans'));
    for (const line of spanTreeLines(trace, options, paint)) out.push(`  ${line}`);
  }
  if (want.has('entities')) {
    const ids = Object.keys(trace.entities ?? {});
    if (ids.length) out.push(paint('bold', 'entities'));
    for (const id of ids) {
      const e = trace.entities[id]!;
      const kind = e.kind ? paint('dim', ` (${field(e.kind)})`) : '';
      const meta =
        options.meta !== false && Object.keys(e.meta ?? {}).length
          ? ` ${paint('dim', inlineMeta(e.meta))}`
          : '';
      out.push(`  ${paint('cyan', field(id))}${kind}${meta}`);
      for (const ev of e.events)
        if (options.spanEvents || !isSpanEvent(ev)) out.push(`    ${eventLine(ev, options, paint)}`);
    }
  }
  if (want.has('events')) {
    const evs = trace.events.filter((ev) => options.spanEvents || !isSpanEvent(ev));
    if (evs.length) out.push(paint('bold', 'events'));
    for (const ev of evs) out.push(`  ${eventLine(ev, options, paint)}`);
  }
  return out.join('\n');
}

/**
 * Said under the header of a trace with events but no spans: the usual cause is code that was
 * marked but never instrumented.
 */
export const NO_SPANS_HINT =
  'no spans: no instrumented function ran. Marked code (// @stepmark) needs a stepmark build plugin ' +
  '(esbuild, Vite, Babel, tsc) or node --import stepmark/register: see "Build plugins" in the stepmark README';

/** Alias of {@link formatTrace}. */
export const render = formatTrace;

function countEvents(trace: Trace): number {
  let n = trace.events.length;
  for (const id of Object.keys(trace.entities ?? {})) n += trace.entities[id]!.events.length;
  return n;
}

function isSpanEvent(ev: TraceEvent): boolean {
  return ev.action === 'entered' || ev.action === 'exited';
}

function eventLine(ev: TraceEvent, options: FormatOptions, paint: Paint): string {
  const text = field(ev.action);
  const action = /fail|error|reject|denied|declined|flagged/i.test(text)
    ? paint('yellow', text)
    : paint('green', text);
  const meta =
    options.meta !== false && ev.meta && Object.keys(ev.meta).length
      ? ` ${paint('dim', inlineMeta(ev.meta))}`
      : '';
  return `${field(ev.stage)} → ${action}${meta}`;
}

/** One span of the tree in display order (see {@link spanTreeEntries}). */
export interface SpanTreeEntry {
  span: TraceSpan;
  /** 0 for a root. */
  depth: number;
  /** Whether it is the last child of its parent. */
  last: boolean;
  /**
   * Box-drawing columns of its ancestors (`│  ` or three spaces each), for tree renderings; at
   * most {@link MAX_TREE_INDENT} levels (deeper spans print their extra depth instead).
   */
  indent: string;
}

/** Levels of indentation a tree rendering draws; deeper spans are marked `[+n]` (output stays linear). */
export const MAX_TREE_INDENT = 64;

/** `[+n] ` for a span deeper than {@link MAX_TREE_INDENT}, else empty. */
export function depthMark(depth: number): string {
  return depth > MAX_TREE_INDENT ? `[+${depth - MAX_TREE_INDENT}] ` : '';
}

/**
 * Each span's children, in order, by parent id; the roots under `undefined`: spans without a
 * parent, with a parent that is not in the list (dropped), or that are their own parent.
 */
export function spanChildren(spans: readonly TraceSpan[]): Map<string | undefined, TraceSpan[]> {
  const ids = new Set(spans.map((s) => s.span_id));
  const kids = new Map<string | undefined, TraceSpan[]>();
  for (const s of spans) {
    const p =
      s.parent_id !== undefined && s.parent_id !== s.span_id && ids.has(s.parent_id)
        ? s.parent_id
        : undefined;
    let list = kids.get(p);
    if (!list) kids.set(p, (list = []));
    list.push(s);
  }
  return kids;
}

/**
 * The spans of a trace in tree order (depth first, children in start order), iteratively, so a
 * trace thousands of spans deep renders without a stack overflow. A span whose parent is missing
 * (dropped) is a root; spans caught in a malformed parent cycle are listed as roots too, never lost.
 */
export function spanTreeEntries(trace: Trace): SpanTreeEntry[] {
  const kids = spanChildren(trace.spans);
  const out: SpanTreeEntry[] = [];
  const seen = new Set<TraceSpan>();
  const stack: SpanTreeEntry[] = [];
  const pushChildren = (list: readonly TraceSpan[] | undefined, depth: number, indent: string) => {
    if (!list) return;
    for (let i = list.length - 1; i >= 0; i--)
      stack.push({ span: list[i]!, depth, last: i === list.length - 1, indent });
  };
  const drain = () => {
    for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
      if (seen.has(e.span)) continue;
      seen.add(e.span);
      out.push(e);
      const indent =
        e.depth === 0 || e.depth >= MAX_TREE_INDENT ? e.indent : `${e.indent}${e.last ? '   ' : '│  '}`;
      pushChildren(kids.get(e.span.span_id), e.depth + 1, indent);
    }
  };
  pushChildren(kids.get(undefined), 0, '');
  drain();
  for (const s of trace.spans) {
    if (seen.has(s)) continue;
    stack.push({ span: s, depth: 0, last: true, indent: '' });
    drain();
  }
  return out;
}

/** The span tree, one line per span, children indented under their parent, in start order. */
export function spanTreeLines(
  trace: Trace,
  options: FormatOptions = {},
  paint: Paint = (_c, s) => s,
): string[] {
  return spanTreeEntries(trace).map((e) => {
    const branch = e.depth === 0 ? '' : e.last ? '└─ ' : '├─ ';
    return `${e.indent}${branch}${depthMark(e.depth)}${spanLabel(e.span, options, paint)}`;
  });
}

function spanLabel(s: TraceSpan, options: FormatOptions, paint: Paint): string {
  let label = field(s.name);
  if (s.entity_id !== undefined) label += paint('cyan', ` [${field(s.entity_id)}]`);
  if (s.status === 'unfinished') label += paint('yellow', ' (unfinished)');
  else if (options.durations !== false && s.duration_ms !== undefined)
    label += paint('dim', ` ${formatMs(s.duration_ms)}`);
  if (s.status === 'error') label += paint('red', ` ✗ ${field(s.error ?? 'error')}`);
  return label;
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** `a=1 b="x y"` compactly, long values shortened. */
export function inlineMeta(meta: Record<string, JsonValue>): string {
  const parts = Object.keys(meta).map((k) => `${field(k)}=${short(meta[k]!)}`);
  return parts.join(' ');
}

const SHORT = 60;

function short(v: JsonValue): string {
  const s = typeof v === 'string' && /^[\w.@:/-]+$/.test(v) ? v : preview(v, SHORT);
  return s.length > SHORT ? `${s.slice(0, SHORT - 3)}…` : s;
}

/**
 * JSON-like text of `v` with every string escaped for a terminal, built only until it is longer
 * than `max` characters (a large meta value costs no more than a small one; nesting is at most
 * `max` levels deep by then).
 */
function preview(v: unknown, max: number): string {
  let out = '';
  const quote = (s: string) => `"${escapeForTerminal(s.length > max ? s.slice(0, max) : s, true)}"`;
  const walk = (x: unknown): void => {
    if (typeof x === 'string') out += quote(x);
    else if (Array.isArray(x)) {
      out += '[';
      for (let i = 0; i < x.length && out.length <= max; i++) {
        if (i > 0) out += ',';
        walk(x[i]);
      }
      out += ']';
    } else if (x !== null && typeof x === 'object') {
      out += '{';
      let first = true;
      for (const k in x) {
        if (out.length > max) break;
        if (!Object.hasOwn(x, k)) continue;
        out += `${first ? '' : ','}${quote(k)}:`;
        first = false;
        walk((x as Record<string, unknown>)[k]);
      }
      out += '}';
    } else
      out += field(typeof x === 'number' || typeof x === 'boolean' || x === null ? JSON.stringify(x) : x);
  };
  walk(v);
  return out;
}
