// A human-readable span tree for the console sink:
//
//   trace request_id=r1
//   └─ OrderService.place 3.2ms [order_42]
//      ├─ · validated {"total":249.99}
//      └─ FraudService.score 1.25ms ✗ boom
//
// Steps and events appear under the span that was open when they were recorded.

import type { Trace, TraceEvent, TraceSpan } from '../runtime/types.js';
import { isSpanMirrorEvent } from './records.js';

type Node = { kind: 'span'; span: TraceSpan; at: string } | { kind: 'event'; event: TraceEvent; at: string };

function spanLabel(s: TraceSpan): string {
  let label = s.name;
  label += s.duration_ms === undefined ? ' (unfinished)' : ` ${Math.round(s.duration_ms * 100) / 100}ms`;
  if (s.entity_id !== undefined) label += ` [${s.entity_id}]`;
  if (s.status === 'error') label += ` ✗ ${s.error ?? 'error'}`;
  return label;
}

function eventLabel(e: TraceEvent, entityId: string | undefined): string {
  let label = `· ${e.stage}: ${e.action}`;
  if (entityId !== undefined) label += ` [${entityId}]`;
  if (e.meta && Object.keys(e.meta).length > 0) label += ` ${JSON.stringify(e.meta)}`;
  return label;
}

/** Renders a trace as an indented tree of spans, with events under their span. */
export function renderTree(trace: Trace): string {
  const children = new Map<string | undefined, Node[]>();
  const add = (parent: string | undefined, node: Node) => {
    const list = children.get(parent);
    if (list) list.push(node);
    else children.set(parent, [node]);
  };
  const known = new Set((trace.spans ?? []).map((s) => s.span_id));
  for (const s of trace.spans ?? []) {
    add(s.parent_id !== undefined && known.has(s.parent_id) ? s.parent_id : undefined, {
      kind: 'span',
      span: s,
      at: s.start,
    });
  }
  const entityOf = new Map<TraceEvent, string>();
  const addEvent = (e: TraceEvent) => {
    if (isSpanMirrorEvent(e)) return;
    add(e.span_id !== undefined && known.has(e.span_id) ? e.span_id : undefined, {
      kind: 'event',
      event: e,
      at: e.timestamp,
    });
  };
  for (const ent of Object.values(trace.entities ?? {})) {
    for (const e of ent.events ?? []) {
      entityOf.set(e, ent.entity_id);
      addEvent(e);
    }
  }
  for (const e of trace.events ?? []) addEvent(e);

  const meta = Object.entries(trace.meta ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const lines = [meta ? `trace ${meta}` : 'trace'];
  const walk = (parent: string | undefined, prefix: string) => {
    const list = (children.get(parent) ?? [])
      .slice()
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    list.forEach((node, i) => {
      const last = i === list.length - 1;
      const label =
        node.kind === 'span' ? spanLabel(node.span) : eventLabel(node.event, entityOf.get(node.event));
      lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label}`);
      if (node.kind === 'span') walk(node.span.span_id, prefix + (last ? '   ' : '│  '));
    });
  };
  walk(undefined, '');
  if (trace.dropped > 0) lines.push(`(${trace.dropped} event(s) dropped: maxEvents)`);
  return lines.join('\n');
}
