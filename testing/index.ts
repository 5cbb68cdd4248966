/**
 * `stepmark/testing`: compare spans in tests.
 *
 * - `normalizeTrace(trace)` makes a trace deterministic (span ids renumbered in order of
 *   appearance, timestamps and durations replaced) while keeping its structure, for
 *   `toEqual`/`toMatchSnapshot`;
 * - `renderSpanTree(trace)` and `renderJourneys(trace)` give compact text for
 *   `toMatchInlineSnapshot`;
 * - `stepmarkMatchers` for `expect.extend` (Vitest and Jest): `toHaveSpanPath`,
 *   `toHaveEntityJourney`, `toHaveSpan`.
 *
 * @example
 * ```ts
 * import { capture } from 'stepmark';
 * import { renderSpanTree, stepmarkMatchers } from 'stepmark/testing';
 * expect.extend(stepmarkMatchers);
 *
 * const { trace } = await capture(() => service.place(order));
 * expect(trace).toHaveSpanPath(['OrderService.place', 'FraudService.score']);
 * expect(trace).toHaveEntityJourney('order_42', ['validate:ok', 'fraud_check:flagged']);
 * expect(renderSpanTree(trace)).toMatchInlineSnapshot();
 * ```
 */

import { depthMark, escapeForTerminal as esc, MAX_TREE_INDENT, spanTreeEntries } from '../runtime/render.js';
import type { Trace, TraceEvent, TraceSpan } from '../runtime/types.js';
import { type DiffOptions, diffTraces } from './diff.js';
import { formatTraceDiff } from './diff-format.js';
import { asTrace, type TraceLike } from './trace-like.js';

export { formatTrace, type SpanTreeEntry, spanTreeEntries } from '../runtime/render.js';
export type { Trace, TraceEntity, TraceEvent, TraceSpan } from '../runtime/types.js';
export * from './catalog.js';
export {
  type CoverageCounts,
  type CoverageReport,
  type CoverageSummary,
  type DecisionCoverageOptions,
  decisionCoverage,
  type FileCoverage,
  type FormatCoverageReportOptions,
  formatDecisionCoverage,
  meetsMinimum,
  type SiteReport,
} from './coverage.js';
export * from './diff.js';
export {
  type DiffLine,
  type DiffSide,
  diffLines,
  diffSummary,
  type FormatDiffOptions,
  formatTraceDiff,
} from './diff-format.js';

export type { TraceLike } from './trace-like.js';

function isTrace(t: unknown): t is Trace {
  return (
    !!t && typeof t === 'object' && Array.isArray((t as Trace).spans) && Array.isArray((t as Trace).events)
  );
}

export interface NormalizeOptions {
  /** What replaces every timestamp, span start and end (default `"<time>"`). */
  time?: string;
  /** Keep `location` fields (default true; false drops them, e.g. to compare with a run without a build step). */
  locations?: boolean;
  /** Keep the `entered`/`exited` events (default true). */
  spanEvents?: boolean;
}

/**
 * A deterministic copy of `trace`: span ids become "1", "2", … in order of appearance in
 * `spans` (and every `span_id`/`parent_id` follows), timestamps become `"<time>"`, durations
 * (`duration_ms` of spans and of `exited` events) become 0. Everything else is kept.
 */
export function normalizeTrace(input: TraceLike, options: NormalizeOptions = {}): Trace {
  const trace = asTrace(input);
  const time = options.time ?? '<time>';
  const ids = new Map<string, string>();
  const idOf = (id: string) => {
    let n = ids.get(id);
    if (n === undefined) ids.set(id, (n = String(ids.size + 1)));
    return n;
  };
  for (const s of trace.spans) idOf(s.span_id);
  const event = (e: TraceEvent): TraceEvent => {
    const out: TraceEvent = { stage: e.stage, action: e.action, timestamp: time };
    if (e.meta !== undefined) {
      out.meta = clone(e.meta);
      if (e.action === 'exited' && typeof out.meta.duration_ms === 'number') out.meta.duration_ms = 0;
    }
    if (e.span_id !== undefined) out.span_id = idOf(e.span_id);
    return out;
  };
  const keepEvent = (e: TraceEvent) =>
    options.spanEvents !== false || (e.action !== 'entered' && e.action !== 'exited');
  const entities: Trace['entities'] = {};
  for (const key of Object.keys(trace.entities)) {
    const e = trace.entities[key]!;
    const out = { ...clone(e), events: e.events.filter(keepEvent).map(event) };
    Object.defineProperty(entities, key, {
      value: out,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const spans = trace.spans.map((s): TraceSpan => {
    const out: TraceSpan = { ...clone(s), span_id: idOf(s.span_id), start: time };
    if (s.parent_id !== undefined) out.parent_id = idOf(s.parent_id);
    if (s.end !== undefined) out.end = time;
    if (s.duration_ms !== undefined) out.duration_ms = 0;
    if (options.locations === false) delete out.location;
    return out;
  });
  const out: Trace = {
    ...clone(trace),
    meta: clone(trace.meta),
    entities,
    events: trace.events.filter(keepEvent).map(event),
    spans,
  };
  return out;
}

function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

export interface SpanTreeOptions {
  /** Show durations (default false: snapshots must be deterministic). */
  durations?: boolean;
  /** Show `location` after each name (default false). */
  locations?: boolean;
}

/**
 * The span tree as indented text, one span per line, children two spaces under their parent in
 * start order: `name [entity_id] !error: message` / `(unfinished)`. Spans deeper than 64 levels
 * keep 64 levels of indentation and show the rest as `[+n]`, so the text stays linear in size.
 */
export function renderSpanTree(input: TraceLike, options: SpanTreeOptions = {}): string {
  return spanTreeEntries(asTrace(input))
    .map(({ span: s, depth }) => {
      let line = `${'  '.repeat(Math.min(depth, MAX_TREE_INDENT))}${depthMark(depth)}${esc(s.name)}`;
      if (s.entity_id !== undefined) line += ` [${esc(s.entity_id)}]`;
      if (options.locations && s.location) line += ` @${esc(s.location)}`;
      if (s.status === 'error') line += ` !error${s.error ? `: ${esc(s.error)}` : ''}`;
      if (s.status === 'unfinished') line += ' (unfinished)';
      else if (options.durations && s.duration_ms !== undefined) line += ` ${s.duration_ms}ms`;
      return line;
    })
    .join('\n');
}

export interface JourneyOptions {
  /** Include `entered`/`exited` events (default false). */
  spanEvents?: boolean;
  /** Include event meta as JSON (default false). */
  meta?: boolean;
}

/** `stage:action` steps of one entity's events (span events left out unless asked). */
export function entityJourney(
  input: TraceLike,
  entityId: string,
  options: JourneyOptions = {},
): string[] | undefined {
  const e = asTrace(input).entities[entityId];
  if (!e || !Object.hasOwn(asTrace(input).entities, entityId)) return undefined;
  return journeySteps(e.events, options);
}

function journeySteps(events: TraceEvent[], options: JourneyOptions): string[] {
  return events
    .filter((ev) => options.spanEvents || (ev.action !== 'entered' && ev.action !== 'exited'))
    .map((ev) => `${ev.stage}:${ev.action}${options.meta && ev.meta ? ` ${JSON.stringify(ev.meta)}` : ''}`);
}

/**
 * Each entity's journey on one line, `id (kind): stage:action → stage:action`, then the
 * unscoped events as `(events): …` when there are any.
 */
export function renderJourneys(input: TraceLike, options: JourneyOptions = {}): string {
  const trace = asTrace(input);
  const lines: string[] = [];
  for (const id of Object.keys(trace.entities)) {
    const e = trace.entities[id]!;
    const steps = journeySteps(e.events, options).map((step) => esc(step));
    lines.push(`${esc(id)}${e.kind ? ` (${esc(e.kind)})` : ''}: ${steps.join(' → ')}`);
  }
  const loose = journeySteps(trace.events, options).map((step) => esc(step));
  if (loose.length) lines.push(`(events): ${loose.join(' → ')}`);
  return lines.join('\n');
}

/** Span paths: for each span, the names from the root down to it. */
export function spanPaths(input: TraceLike): string[][] {
  const trace = asTrace(input);
  const byId = new Map(trace.spans.map((s) => [s.span_id, s]));
  return trace.spans.map((s) => {
    const path: string[] = [];
    for (let cur: TraceSpan | undefined = s; cur && path.length <= trace.spans.length; ) {
      path.unshift(cur.name);
      cur = cur.parent_id !== undefined ? byId.get(cur.parent_id) : undefined;
    }
    return path;
  });
}

/** Whether the trace has spans named `path[0] > path[1] > …`, each the direct child of the previous (starting anywhere). */
export function hasSpanPath(input: TraceLike, path: readonly string[]): boolean {
  if (path.length === 0) return true;
  const trace = asTrace(input);
  const children = new Map<string, TraceSpan[]>();
  for (const s of trace.spans) {
    if (s.parent_id === undefined) continue;
    const list = children.get(s.parent_id) ?? [];
    list.push(s);
    children.set(s.parent_id, list);
  }
  const from = (s: TraceSpan, i: number): boolean =>
    i === path.length || (children.get(s.span_id) ?? []).some((k) => k.name === path[i] && from(k, i + 1));
  return trace.spans.some((s) => s.name === path[0] && from(s, 1));
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}
interface MatcherContext {
  isNot?: boolean;
}

function notATrace(received: unknown, what = ''): MatcherResult | undefined {
  const t =
    received && typeof received === 'object' && 'trace' in received
      ? (received as { trace: unknown }).trace
      : received;
  if (isTrace(t)) return undefined;
  return {
    pass: false,
    message: () =>
      `expected a stepmark trace (or capture()'s { trace })${what ? ` ${what}` : ''}, received ${typeof received}`,
  };
}

/** A matcher called with arguments of the wrong type: a TypeError that says which (the assertion fails with it). */
function checkArgs(matcher: string, args: [name: string, value: unknown, ok: boolean, want: string][]): void {
  for (const [name, value, ok, want] of args) {
    if (!ok) {
      const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
      throw new TypeError(`stepmark: ${matcher}: \`${name}\` must be ${want}, received ${got}`);
    }
  }
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function matchJourneyStep(expected: string, actual: string): boolean {
  // "stage:action" matches exactly; "stage" alone matches any action of that stage.
  return expected.includes(':') ? expected === actual : actual.slice(0, actual.indexOf(':')) === expected;
}

/** Matchers for `expect.extend(stepmarkMatchers)` (Vitest and Jest). */
export const stepmarkMatchers = {
  /** The trace has spans `path[0] > path[1] > …`, each the direct child of the previous one. */
  toHaveSpanPath(this: MatcherContext, received: unknown, path: string[]): MatcherResult {
    checkArgs('toHaveSpanPath', [['path', path, isStrings(path), 'an array of span names']]);
    const bad = notATrace(received);
    if (bad) return bad;
    const trace = asTrace(received as TraceLike);
    const pass = hasSpanPath(trace, path);
    return {
      pass,
      message: () =>
        `expected trace ${pass ? 'not ' : ''}to have span path ${path.join(' > ')}\n\nspan tree:\n${renderSpanTree(trace) || '(no spans)'}`,
    };
  },
  /**
   * The entity's events (span events left out) are exactly `steps`, in order. A step is
   * `"stage:action"`, or `"stage"` to accept any action.
   */
  toHaveEntityJourney(
    this: MatcherContext,
    received: unknown,
    entityId: string,
    steps: string[],
  ): MatcherResult {
    checkArgs('toHaveEntityJourney', [
      ['entityId', entityId, typeof entityId === 'string', 'a string'],
      ['steps', steps, isStrings(steps), 'an array of "stage" or "stage:action" strings'],
    ]);
    const bad = notATrace(received);
    if (bad) return bad;
    const trace = asTrace(received as TraceLike);
    const actual = entityJourney(trace, entityId);
    const pass =
      actual !== undefined &&
      actual.length === steps.length &&
      steps.every((s, i) => matchJourneyStep(s, actual[i]!));
    return {
      pass,
      message: () =>
        actual === undefined
          ? `expected trace to have entity ${esc(entityId)}; entities: ${
              Object.keys(trace.entities)
                .map((id) => esc(id))
                .join(', ') || '(none)'
            }`
          : `expected entity ${esc(entityId)} ${pass ? 'not ' : ''}to have journey\n  ${steps.join(' → ')}\nreceived\n  ${actual.map((step) => esc(step)).join(' → ')}`,
    };
  },
  /** The trace has a span named `name` whose fields include `fields` (e.g. `{ status: 'error' }`). */
  toHaveSpan(
    this: MatcherContext,
    received: unknown,
    name: string,
    fields: Partial<TraceSpan> = {},
  ): MatcherResult {
    checkArgs('toHaveSpan', [
      ['name', name, typeof name === 'string', 'a string'],
      [
        'fields',
        fields,
        fields !== null && typeof fields === 'object' && !Array.isArray(fields),
        'an object',
      ],
    ]);
    const bad = notATrace(received);
    if (bad) return bad;
    const trace = asTrace(received as TraceLike);
    const keys = Object.keys(fields) as (keyof TraceSpan)[];
    const pass = trace.spans.some((s) => s.name === name && keys.every((k) => s[k] === fields[k]));
    return {
      pass,
      message: () =>
        `expected trace ${pass ? 'not ' : ''}to have span ${name}${keys.length ? ` with ${JSON.stringify(fields)}` : ''}\n\nspans:\n${trace.spans.map((s) => `  ${esc(JSON.stringify(s))}`).join('\n')}`,
    };
  },
  /**
   * The trace is `expected` as {@link diffTraces} compares them (ids, timestamps, durations and
   * locations do not count; `options` as there). The failure message is the diff, expected (`-`)
   * against received (`+`).
   */
  toMatchTrace(
    this: MatcherContext,
    received: unknown,
    expected: TraceLike,
    options?: DiffOptions,
  ): MatcherResult {
    const bad = notATrace(received) ?? notATrace(expected, 'as the expected value');
    if (bad) return bad;
    const diff = diffTraces(expected, received as TraceLike, options);
    return {
      pass: diff.equal,
      message: () =>
        diff.equal
          ? 'expected the traces to differ, but nothing that is compared differs (ids, timestamps, durations and locations are not)'
          : `expected the trace to match\n\n${formatTraceDiff(diff, { labels: ['expected', 'received'] })}`,
    };
  },
};

/**
 * The matchers' signatures, for augmenting your framework's assertion type (see docs/RUNTIME.md):
 * `stepmark/testing/vitest` does it for Vitest; with Jest,
 * `declare global { namespace jest { interface Matchers<R> extends StepmarkMatchers<R> {} } }`.
 */
export interface StepmarkMatchers<R = unknown> {
  toHaveSpanPath(path: string[]): R;
  toHaveEntityJourney(entityId: string, steps: string[]): R;
  toHaveSpan(name: string, fields?: Partial<TraceSpan>): R;
  toMatchTrace(expected: TraceLike, options?: DiffOptions): R;
}
