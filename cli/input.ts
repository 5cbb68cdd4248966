// Reading traces from a file: one JSON trace, a JSON array of traces, or NDJSON (one trace
// per line). Every problem becomes one line naming where it is, never a stack trace.
import type { JsonValue, Trace, TraceEntity, TraceEvent, TraceSpan } from '../runtime/types.js';

export class InputError extends Error {
  override name = 'InputError';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One line, bounded: a JSON.parse message can quote the input, newlines included. */
export function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "line 3, column 7" for a character offset. */
function position(text: string, offset: number): string {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return `line ${line}, column ${offset - last}`;
}

function jsonProblem(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = /at position (\d+)/.exec(message);
  const where = at ? ` at ${position(text, Number(at[1]))}` : '';
  return `not valid JSON${where} (${oneLine(message.replace(/ in JSON at position \d+.*$/s, ''))})`;
}

function checkEvents(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return `"${path}" is not an array`;
  for (let i = 0; i < value.length; i++) {
    const ev = value[i];
    if (!isObject(ev)) return `${path}[${i}] is not an object`;
    if (typeof ev.stage !== 'string' || typeof ev.action !== 'string') {
      return `${path}[${i}] has no "stage"/"action" strings`;
    }
  }
  return undefined;
}

/** Why `value` is not a trace, or undefined when it is one (Go Stepmark's shape included). */
export function traceProblem(value: unknown): string | undefined {
  if (!isObject(value))
    return `expected a trace object, got ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'null' : typeof value}`;
  if (!('entities' in value) && !('events' in value) && !('spans' in value)) {
    return 'not a stepmark trace (expected an object with "entities", "events" or "spans")';
  }
  if (value.meta !== undefined && !isObject(value.meta)) return '"meta" is not an object';
  if (value.entities !== undefined) {
    if (!isObject(value.entities)) return '"entities" is not an object';
    for (const [id, e] of Object.entries(value.entities)) {
      if (!isObject(e)) return `entities[${JSON.stringify(id)}] is not an object`;
      const bad = checkEvents(e.events, `entities[${JSON.stringify(id)}].events`);
      if (bad) return bad;
    }
  }
  const bad = checkEvents(value.events, 'events');
  if (bad) return bad;
  if (value.spans !== undefined) {
    if (!Array.isArray(value.spans)) return '"spans" is not an array';
    for (let i = 0; i < value.spans.length; i++) {
      const s = value.spans[i];
      if (!isObject(s)) return `spans[${i}] is not an object`;
      if (typeof s.span_id !== 'string' || typeof s.name !== 'string')
        return `spans[${i}] has no "span_id"/"name" strings`;
    }
  }
  return undefined;
}

/** Fills what a Go Stepmark trace (or a hand-trimmed one) leaves out, so renderers see the full shape. */
export function completeTrace(value: Record<string, unknown>): Trace {
  const entities: Record<string, TraceEntity> = {};
  for (const [id, raw] of Object.entries((value.entities as Record<string, Record<string, unknown>>) ?? {})) {
    entities[id] = {
      ...(raw as object),
      entity_id: typeof raw.entity_id === 'string' ? raw.entity_id : id,
      meta: (isObject(raw.meta) ? raw.meta : {}) as Record<string, JsonValue>,
      events: (raw.events as TraceEvent[]) ?? [],
    } as TraceEntity;
  }
  return {
    ...(value as object),
    meta: (value.meta as Record<string, JsonValue>) ?? {},
    entities,
    events: (value.events as TraceEvent[]) ?? [],
    spans: ((value.spans as TraceSpan[]) ?? []).map((s) => ({ ...s, status: s.status ?? 'ok' })),
    dropped: typeof value.dropped === 'number' ? value.dropped : 0,
  } as Trace;
}

function asTraces(value: unknown, where: (i: number) => string): Trace[] {
  const list = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && value.length === 0) throw new InputError('an empty array: no traces');
  return list.map((item, i) => {
    const problem = traceProblem(item);
    if (problem) throw new InputError(`${where(i)}${problem}`);
    return completeTrace(item as Record<string, unknown>);
  });
}

/** Parses a file's text into traces. Throws {@link InputError} with a one-line message. */
export function parseTraces(text: string): Trace[] {
  const content = text.replace(/^\uFEFF/, '');
  if (!content.trim()) throw new InputError('empty input: no traces');
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = JSON.parse(content);
  } catch (error) {
    wholeError = error;
  }
  if (wholeError === undefined) {
    return asTraces(whole, (i) => (Array.isArray(whole) ? `item ${i + 1}: ` : ''));
  }
  // NDJSON when the first non-empty line is a JSON value by itself; otherwise the document
  // is one broken JSON value and the whole-document error is the useful one.
  const lines = content.split(/\r?\n/);
  const firstLine = lines.findIndex((l) => l.trim() !== '');
  let firstOk = false;
  try {
    JSON.parse(lines[firstLine]!);
    firstOk = lines.slice(firstLine + 1).some((l) => l.trim() !== '');
  } catch {}
  if (!firstOk) throw new InputError(jsonProblem(content, wholeError));
  const traces: Trace[] = [];
  for (let i = firstLine; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(`line ${i + 1}: ${jsonProblem(line, error).replace(/ at line 1,/, ' at')}`);
    }
    traces.push(...asTraces(value, () => `line ${i + 1}: `));
  }
  return traces;
}

/**
 * Keeps the traces with an entity that matches `text` and, in each, only the matching
 * entities. The same syntax as the viewer's filter: `order_4` (in the id or the kind),
 * `id:order_4` (in the id), `kind:order` (exactly this kind). Case-insensitive.
 */
export function filterTraces<E extends { trace: Trace }>(list: readonly E[], text: string): E[] {
  const m = /^\s*(id|kind)\s*:\s*(.*)$/i.exec(text);
  const field = m ? m[1]!.toLowerCase() : 'any';
  const term = (m ? m[2]! : text).trim().toLowerCase();
  const matches = (id: string, kind: string | undefined): boolean => {
    const k = (kind ?? '').toLowerCase();
    const i = id.toLowerCase();
    if (field === 'kind') return k === term;
    if (field === 'id') return i.includes(term);
    return i.includes(term) || k.includes(term);
  };
  const out: E[] = [];
  for (const entry of list) {
    const entities = Object.fromEntries(
      Object.entries(entry.trace.entities).filter(([id, e]) => matches(e.entity_id ?? id, e.kind)),
    );
    if (Object.keys(entities).length > 0) out.push({ ...entry, trace: { ...entry.trace, entities } });
  }
  return out;
}
