/**
 * Human rendering of a trace: the span tree (durations, errors, unfinished spans) and each
 * entity's journey (stage → action). Shared by the demo, `stepmark/testing` and logs.
 */
import type { JsonValue, Trace, TraceEvent, TraceSpan } from './types.js';

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
    const dropped = trace.dropped ? `, ${trace.dropped} dropped` : '';
    out.push(
      paint('bold', `trace${meta}`) +
        paint('dim', ` (${trace.spans.length} spans, ${countEvents(trace)} events${dropped})`),
    );
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
      const kind = e.kind ? paint('dim', ` (${e.kind})`) : '';
      const meta =
        options.meta !== false && Object.keys(e.meta ?? {}).length
          ? ` ${paint('dim', inlineMeta(e.meta))}`
          : '';
      out.push(`  ${paint('cyan', id)}${kind}${meta}`);
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
  const action = /fail|error|reject|denied|declined|flagged/i.test(ev.action)
    ? paint('yellow', ev.action)
    : paint('green', ev.action);
  const meta =
    options.meta !== false && ev.meta && Object.keys(ev.meta).length
      ? ` ${paint('dim', inlineMeta(ev.meta))}`
      : '';
  return `${ev.stage} → ${action}${meta}`;
}

/** The span tree, one line per span, children indented under their parent, in start order. */
export function spanTreeLines(
  trace: Trace,
  options: FormatOptions = {},
  paint: Paint = (_c, s) => s,
): string[] {
  const byParent = new Map<string | undefined, TraceSpan[]>();
  const ids = new Set(trace.spans.map((s) => s.span_id));
  for (const s of trace.spans) {
    // A parent missing from the trace (e.g. dropped) makes the span a root rather than vanish.
    const p = s.parent_id !== undefined && ids.has(s.parent_id) ? s.parent_id : undefined;
    let list = byParent.get(p);
    if (!list) byParent.set(p, (list = []));
    list.push(s);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, prefix: string, depth: number) => {
    const kids = byParent.get(parent) ?? [];
    kids.forEach((s, i) => {
      const last = i === kids.length - 1;
      const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
      lines.push(`${prefix}${branch}${spanLabel(s, options, paint)}`);
      walk(s.span_id, depth === 0 ? prefix : `${prefix}${last ? '   ' : '│  '}`, depth + 1);
    });
  };
  walk(undefined, '', 0);
  return lines;
}

function spanLabel(s: TraceSpan, options: FormatOptions, paint: Paint): string {
  let label = s.name;
  if (s.entity_id !== undefined) label += paint('cyan', ` [${s.entity_id}]`);
  if (s.status === 'unfinished') label += paint('yellow', ' (unfinished)');
  else if (options.durations !== false && s.duration_ms !== undefined)
    label += paint('dim', ` ${formatMs(s.duration_ms)}`);
  if (s.status === 'error') label += paint('red', ` ✗ ${s.error ?? 'error'}`);
  return label;
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** `{a: 1, b: "x"}` compactly, long values shortened. */
export function inlineMeta(meta: Record<string, JsonValue>): string {
  const parts = Object.keys(meta).map((k) => `${k}=${short(meta[k]!)}`);
  return parts.join(' ');
}

function short(v: JsonValue): string {
  const s = typeof v === 'string' ? (/^[\w.@:/-]*$/.test(v) && v ? v : JSON.stringify(v)) : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
