// How stepmark data becomes OpenTelemetry attributes. Plain data in, plain data out: no import of
// @opentelemetry/api here (the attribute shape is structural).
//
// Attribute names (documented in docs/EXPORT.md):
//   code.function.name, code.file.path, code.line.number, code.column.number  (semantic conventions)
//   stepmark.span_id, stepmark.entity.id, stepmark.entity.kind, stepmark.entity.meta.<key>
//   stepmark.trace.meta.<key>                   (top-level spans: the trace's meta)
//   stepmark.entity.ids                         (top-level spans: every entity the trace touched)
//   stepmark.stage, stepmark.meta.<key>         (span events: a step or recorded event)

import { parseLocation as parseSourceLocation } from '../runtime/location.js';
import type { JsonValue, TraceSpan } from '../runtime/types.js';

export type AttrValue = string | number | boolean | string[] | number[] | boolean[];
export type Attrs = Record<string, AttrValue>;

export const ATTR = {
  FUNCTION: 'code.function.name',
  FILE: 'code.file.path',
  LINE: 'code.line.number',
  COLUMN: 'code.column.number',
  SPAN_ID: 'stepmark.span_id',
  ENTITY_ID: 'stepmark.entity.id',
  ENTITY_KIND: 'stepmark.entity.kind',
  ENTITY_META: 'stepmark.entity.meta.',
  ENTITY_IDS: 'stepmark.entity.ids',
  TRACE_META: 'stepmark.trace.meta.',
  STAGE: 'stepmark.stage',
  EVENT_META: 'stepmark.meta.',
  UNFINISHED: 'stepmark.unfinished',
  DROPPED_EVENTS: 'stepmark.dropped_events',
  DROPPED_SPANS: 'stepmark.dropped_spans',
  DROPPED_ENTITIES: 'stepmark.dropped_entities',
  EXCEPTION_TYPE: 'exception.type',
  EXCEPTION_MESSAGE: 'exception.message',
} as const;

/**
 * Splits `"path:line:col"` from the right, so Windows drive letters (`C:/src/a.ts:3:1`) and other
 * colons in the path survive. Returns undefined for anything else.
 */
export function parseLocation(location: string | undefined): Location | undefined {
  if (!location) return undefined;
  // A program has a bounded set of locations: each is parsed once (the cache is capped anyway).
  let loc = locations.get(location);
  if (loc === undefined) {
    loc = parseSourceLocation(location) ?? null;
    if (locations.size >= 5000) locations.clear();
    locations.set(location, loc);
  }
  return loc ?? undefined;
}

export interface Location {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}
const locations = new Map<string, Location | null>();

/** One JSON value as an attribute value: primitives as they are, homogeneous primitive arrays as arrays, else JSON text. */
export function toAttrValue(value: JsonValue | undefined): AttrValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (Array.isArray(value) && value.length > 0) {
    const t = typeof value[0];
    if ((t === 'string' || t === 'number' || t === 'boolean') && value.every((v) => typeof v === t)) {
      return value as string[] | number[] | boolean[];
    }
  }
  return JSON.stringify(value);
}

export function addMeta(attrs: Attrs, prefix: string, meta: Record<string, JsonValue> | undefined): void {
  if (!meta) return;
  for (const key of Object.keys(meta)) {
    const v = toAttrValue(meta[key]);
    if (v !== undefined) attrs[prefix + key] = v;
  }
}

/** Attributes of a span: code location (semantic conventions), stepmark span id, entity. */
export function spanAttributes(
  span: Pick<TraceSpan, 'name' | 'span_id' | 'entity_id' | 'location'>,
  entity: { kind?: string; meta?: Record<string, JsonValue> } | undefined,
): Attrs {
  const attrs: Attrs = { [ATTR.FUNCTION]: span.name, [ATTR.SPAN_ID]: span.span_id };
  const loc = parseLocation(span.location);
  if (loc) {
    attrs[ATTR.FILE] = loc.file;
    attrs[ATTR.LINE] = loc.line;
    attrs[ATTR.COLUMN] = loc.column;
  }
  if (span.entity_id !== undefined) addEntity(attrs, span.entity_id, entity);
  return attrs;
}

/** `stepmark.entity.id`, `.kind` and `.meta.<key>` of an entity. */
export function addEntity(
  attrs: Attrs,
  id: string,
  entity: { kind?: string; meta?: Record<string, JsonValue> } | undefined,
): void {
  attrs[ATTR.ENTITY_ID] = id;
  if (entity?.kind !== undefined) attrs[ATTR.ENTITY_KIND] = entity.kind;
  addMeta(attrs, ATTR.ENTITY_META, entity?.meta);
}

/** At most this many ids in `stepmark.entity.ids` (backends cap attribute sizes too). */
export const MAX_ENTITY_IDS = 128;

/**
 * `stepmark.entity.ids`: the ids of every entity a trace touched (its own spans or only its
 * events), so that a backend can find all traces of one entity from the trace's root span.
 */
export function addEntityIds(attrs: Attrs, ids: Iterable<string>): void {
  const list: string[] = [];
  for (const id of ids) {
    if (list.length >= MAX_ENTITY_IDS) break;
    list.push(id);
  }
  if (list.length > 0) attrs[ATTR.ENTITY_IDS] = list;
}

/** Attributes of a span event (a step or a recorded event). */
export function eventAttributes(
  stage: string,
  meta: Record<string, JsonValue> | undefined,
  entityId: string | undefined,
  kind: string | undefined,
): Attrs {
  const attrs: Attrs = { [ATTR.STAGE]: stage };
  if (entityId !== undefined) attrs[ATTR.ENTITY_ID] = entityId;
  if (kind !== undefined) attrs[ATTR.ENTITY_KIND] = kind;
  addMeta(attrs, ATTR.EVENT_META, meta);
  return attrs;
}

/** Epoch milliseconds (fractional) as OpenTelemetry's HrTime `[seconds, nanoseconds]`. */
export function msToHrTime(ms: number): [number, number] {
  let sec = Math.floor(ms / 1000);
  let ns = Math.round((ms - sec * 1000) * 1e6);
  if (ns >= 1e9) {
    sec += 1;
    ns -= 1e9;
  }
  return [sec, ns];
}
