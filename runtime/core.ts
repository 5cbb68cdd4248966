/**
 * The operations behind both the public API (index.ts) and the plugin ABI (abi.ts). Every
 * function starts with the process-wide fast path — `G.active === 0` means no trace runs
 * anywhere, so nothing else is looked at — then reads the context's cursor once. None throws.
 */
import { notifyTraceEnd, OBS } from './observers.js';
import { reportOnce } from './report.js';
import { type Cursor, currentCursor, ensureStore, G, idle, withCursor } from './state.js';
import { compactOf, type Frame, NOOP_FRAME, RecorderTrace, type Span } from './trace.js';
import type { Meta, Trace, TraceOptions } from './types.js';

/**
 * The cursor of this context's running trace, or undefined. The first check is the process-wide
 * fast path: when no trace runs anywhere it returns before looking the store up.
 */
export function here(): Cursor | undefined {
  if (G.active === 0) return undefined;
  const c = currentCursor();
  return c !== undefined && !c.trace.ended ? c : undefined;
}

/** Whether `run`'s result is a promise to wait for (a throwing `then` getter counts as not). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return false;
  try {
    return typeof (v as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

/** Ends a trace (idempotent): observers hear of it, then its `onEnd` receives it. */
export function endTrace(trace: RecorderTrace, failed: boolean): void {
  if (trace.ended) return;
  trace.ended = true;
  if (failed) trace.failed = true;
  if (OBS.list !== undefined) notifyTraceEnd(trace);
  G.active--;
  if (G.active === 0) idle();
  const onEnd = trace.onEnd;
  trace.seal();
  if (onEnd !== undefined) {
    try {
      // A flight recorder (or an adapter feeding one) takes the trace as it is; anyone else gets it collected.
      const compact = compactOf(onEnd);
      if (compact !== undefined) compact(trace);
      else onEnd(trace.toJSON());
    } catch (e) {
      reportOnce(
        'STEPMARK_ON_END_FAILED',
        'onEnd threw (the trace was lost to it; the program was not affected)',
        e,
      );
    }
  }
}

/**
 * Starts a trace whose end the caller decides (`endTrace`); enter the returned cursor with
 * `withCursor` to record into it. For a server adapter, whose trace lasts until the response
 * closes: no promise chain per request to wait for that. `meta`, when given, is the trace's meta
 * instead of `options.meta` (so that shared options need no copy per trace). Throws when
 * `options` are refused.
 */
export function openTrace(
  options: TraceOptions | undefined,
  started?: (trace: RecorderTrace) => void,
  meta?: Meta,
): Cursor {
  const trace = new RecorderTrace(options, meta);
  started?.(trace);
  ensureStore();
  G.active++;
  return { trace, span: undefined };
}

/**
 * Starts a trace, runs `fn` in it, ends the trace when `fn` returns or its promise settles.
 * `started` receives the trace first (capture uses it to collect at the end).
 */
export function runTrace<R>(
  fn: () => R,
  options: TraceOptions | undefined,
  started?: (trace: RecorderTrace) => void,
  meta?: Meta,
): R {
  if (typeof fn !== 'function') throw new TypeError('stepmark: run(fn, options?) needs a function');
  const cursor = openTrace(options, started, meta);
  const trace = cursor.trace;
  let result: R;
  try {
    result = withCursor(cursor, fn);
  } catch (e) {
    endTrace(trace, true);
    throw e;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (v) => {
        endTrace(trace, false);
        return v;
      },
      (e) => {
        endTrace(trace, true);
        throw e;
      },
    ) as R;
  }
  endTrace(trace, false);
  return result;
}

export function recordIn(c: Cursor, stage: unknown, action: unknown, meta: unknown): void {
  try {
    const t = c.trace;
    t.event(t.events, t.str(stage), t.str(action), meta, c.span);
  } catch {}
}

export function recordEntityIn(
  c: Cursor,
  entityId: unknown,
  kind: string | undefined,
  stage: unknown,
  action: unknown,
  meta: unknown,
): void {
  try {
    const t = c.trace;
    const id = t.str(entityId);
    const k = kind === undefined ? undefined : t.str(kind);
    if (!t.accepts(id, k)) return;
    const e = t.entity(id, k);
    if (e !== undefined) t.event(e.events, t.str(stage), t.str(action), meta, c.span);
  } catch {}
}

export function trackIn(c: Cursor, entityId: unknown, meta: unknown, kind: string | undefined): void {
  try {
    const t = c.trace;
    const id = t.str(entityId);
    const k = kind === undefined ? undefined : t.str(kind);
    if (!t.accepts(id, k)) return;
    t.track(id, meta, k);
  } catch {}
}

export function openIn(c: Cursor, name: string, location: string | undefined, meta: unknown): Span | Frame {
  try {
    const t = c.trace;
    return t.openSpan(c, t.str(name), location === undefined ? undefined : t.str(location), undefined, meta);
  } catch {
    return NOOP_FRAME;
  }
}

export function openEntityIn(
  c: Cursor,
  name: string,
  location: string | undefined,
  kind: string | undefined,
  entityId: unknown,
  meta: unknown,
): Span | Frame {
  try {
    if (entityId === undefined || entityId === null || entityId === false) {
      return openIn(c, name, location, meta);
    }
    const t = c.trace;
    const id = t.str(entityId);
    const k = kind === undefined ? undefined : t.str(kind);
    if (!t.accepts(id, k)) return NOOP_FRAME;
    // beyond `maxEntities` the span is still opened (the tree stays whole), without its entity
    const e = t.entity(id, k);
    return t.openSpan(c, t.str(name), location === undefined ? undefined : t.str(location), e, meta);
  } catch {
    return NOOP_FRAME;
  }
}

/** What `enter()` returns: call it (or `using` it) to end the span. */
export interface ExitHandle {
  (): void;
  /** Ends the span (same as calling the handle). */
  exit(): void;
  /** Marks the span failed with the thrown value's message. */
  fail(error: unknown): void;
  [Symbol.dispose](): void;
}

function nothing(): void {}
export const NOOP_HANDLE: ExitHandle = Object.freeze(
  Object.assign(function stepmarkNoopExit() {}, { exit: nothing, fail: nothing, [Symbol.dispose]: nothing }),
) as ExitHandle;

export function handleFor(frame: Span | Frame): ExitHandle {
  if (frame === NOOP_FRAME) return NOOP_HANDLE;
  try {
    const span = frame as Span;
    span.explicit = true;
    const h = (() => span.exit()) as ExitHandle;
    h.exit = h;
    h.fail = (e: unknown) => span.fail(e);
    h[Symbol.dispose] = h;
    return h;
  } catch {
    return NOOP_HANDLE;
  }
}

/** Snapshot of the trace running in this context; undefined outside a trace or after it ended. */
export function collectCurrent(): Trace | undefined {
  const c = here();
  if (c === undefined) return undefined;
  try {
    return c.trace.toJSON();
  } catch {
    return undefined;
  }
}

/** Brand shared by every runtime copy, so the ABI recognises scopes made by another copy. */
export const SCOPE_BRAND = Symbol.for('stepmark.scope');

export interface ScopeLike {
  readonly kind: string;
}

export function isScope(s: unknown): s is ScopeLike {
  return s !== null && typeof s === 'object' && (s as Record<symbol, unknown>)[SCOPE_BRAND] === true;
}

export type { Meta };
