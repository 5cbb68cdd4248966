/**
 * stepmark — on-demand business-logic tracing. The public API (DESIGN §3), Go Stepmark's
 * semantics in TypeScript idiom: a trace is bound to the current async context, so no context
 * argument is passed around, and every call is a cheap no-op when no trace is active.
 *
 * Without a build step, `step`/`enter` and their entity forms name the stage after the calling
 * function by reading the stack (microseconds per call); the build plugins rewrite those calls
 * to pass the name, so the stack is never read.
 *
 * @example
 * ```ts
 * import * as stepmark from 'stepmark';
 * const { result, trace } = await stepmark.capture(() => placeOrder(order), { meta: { request_id } });
 * console.log(stepmark.formatTrace(trace));
 * ```
 */
import {
  collectCurrent,
  type ExitHandle,
  handleFor,
  here,
  NOOP_HANDLE,
  openEntityIn,
  openIn,
  recordEntityIn,
  recordIn,
  runTrace,
  SCOPE_BRAND,
  trackIn,
} from './core.js';
import { callerName } from './names.js';
import type { RecorderTrace } from './trace.js';
import type { Meta, Trace, TraceOptions } from './types.js';

export {
  type Catalog,
  type CatalogKind,
  type CatalogSite,
  type Coverage,
  type CoverageOptions,
  formatCoverage,
  loadCatalog,
  loadedCatalog,
  type SiteCoverage,
  StepmarkCatalogError,
  stageCoverage,
} from './catalog.js';
export type { ExitHandle } from './core.js';
export {
  diagnosticsChannelEnabled,
  type EventMessage as DiagnosticsEventMessage,
  enableDiagnosticsChannel,
  type SpanMessage as DiagnosticsSpanMessage,
} from './diagnostics.js';
export { escapeForTerminal, type FormatOptions, formatTrace, render } from './render.js';
export { DEFAULT_REDACT } from './snapshot.js';
export { useAsyncLocalStorage, VERSION as version } from './state.js';
export type * from './types.js';

/**
 * Runs `fn` inside a new trace and returns its result (a promise if `fn` is async). The trace
 * is active in every async continuation of `fn` until `fn` returns or its promise settles;
 * calls made afterwards (e.g. from a timer it left behind) are ignored. Use `options.onEnd`
 * (or `capture`) to receive the trace. Options and their defaults: docs/RUNTIME.md.
 *
 * @example
 * ```ts
 * app.post('/orders', (req, res) =>
 *   stepmark.run(() => orders.place(req.body), {
 *     meta: { request_id: req.id },
 *     onEnd: (trace) => logger.info({ trace }, 'order trace'),
 *   }),
 * );
 * ```
 */
export function run<R>(fn: () => R, options?: TraceOptions): R {
  return runTrace(fn, options);
}

export interface Captured<R> {
  result: R;
  trace: Trace;
}

/**
 * Like `run`, and resolves to `{ result, trace }` with the collected trace — for tests. If `fn`
 * throws or rejects, the promise rejects with that same value; when it is an object, the trace
 * is attached to it as the non-enumerable property `stepmarkTrace`.
 */
export function capture<R>(fn: () => R, options?: TraceOptions): Promise<Captured<Awaited<R>>> {
  let trace: RecorderTrace | undefined;
  const onError = (e: unknown) => {
    attachTrace(e, trace);
    throw e;
  };
  try {
    const result = runTrace(fn, options, (t) => {
      trace = t;
    });
    return Promise.resolve(result).then(
      (r) => ({ result: r as Awaited<R>, trace: trace!.toJSON() }),
      onError,
    );
  } catch (e) {
    return Promise.reject(e).catch(onError);
  }
}

/** Synchronous `capture` for synchronous functions. */
export function captureSync<R>(fn: () => R, options?: TraceOptions): Captured<R> {
  let trace: RecorderTrace | undefined;
  try {
    const result = runTrace(fn, options, (t) => {
      trace = t;
    });
    return { result, trace: trace!.toJSON() };
  } catch (e) {
    attachTrace(e, trace);
    throw e;
  }
}

function attachTrace(e: unknown, trace: RecorderTrace | undefined): void {
  if (trace === undefined || e === null || typeof e !== 'object' || !Object.isExtensible(e)) return;
  try {
    Object.defineProperty(e, 'stepmarkTrace', { value: trace.toJSON(), configurable: true, writable: true });
  } catch {}
}

/** Whether a trace is active in the current async context. */
export function enabled(): boolean {
  return here() !== undefined;
}

/** Snapshot of the trace active in this context (independent deep copy), or `undefined`. */
export function collect(): Trace | undefined {
  return collectCurrent();
}

export interface TrackOptions {
  kind?: string;
}

/** Registers an entity (an order, a user…) with its meta; later calls merge meta. */
export function track(entityId: string | number, meta?: Meta, options?: TrackOptions): void {
  const c = here();
  if (c === undefined) return;
  trackIn(c, entityId, meta, kindOf(options));
}

function kindOf(options: TrackOptions | undefined): string | undefined {
  try {
    const k = options?.kind;
    return k === undefined || k === null ? undefined : String(k);
  } catch {
    return undefined;
  }
}

/** Records an event for an entity: it reached `stage` with outcome `action`. */
export function recordEntity(entityId: string | number, stage: string, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordEntityIn(c, entityId, undefined, stage, action, meta);
}

/** Records an unscoped event. */
export function record(stage: string, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordIn(c, stage, action, meta);
}

/**
 * Records an unscoped event whose stage is the calling function's name (written in by the build
 * plugins; read from the stack without them).
 *
 * @example
 * ```ts
 * class FraudService {
 *   score(order: Order) {
 *     if (order.total > 200) stepmark.step('flagged', { total: order.total }); // stage "FraudService.score"
 *   }
 * }
 * ```
 */
export function step(action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordIn(c, callerName(step), action, meta);
}

/** Records an entity event whose stage is the calling function's name. */
export function stepEntity(entityId: string | number, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  if (!c.trace.accepts(c.trace.str(entityId), undefined)) return;
  recordEntityIn(c, entityId, undefined, callerName(stepEntity), action, meta);
}

/**
 * Opens a span named after the calling function; its parent is the span open in this async
 * context. Returns an exit handle: call it, or `using _ = enter()`. (With a build plugin, marked
 * functions get spans without this call.)
 *
 * @example
 * ```ts
 * function reserveStock(items: Item[]) {
 *   const done = stepmark.enter({ items: items.length });
 *   try {
 *     // …
 *   } catch (err) {
 *     done.fail(err);
 *     throw err;
 *   } finally {
 *     done();
 *   }
 * }
 * ```
 */
export function enter(meta?: Meta): ExitHandle {
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openIn(c, callerName(enter), undefined, meta));
}

/** Opens an entity-scoped span (its events go to the entity's journey). */
export function enterEntity(entityId: string | number, meta?: Meta): ExitHandle {
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  if (!c.trace.accepts(c.trace.str(entityId), undefined)) return NOOP_HANDLE;
  return handleFor(openEntityIn(c, callerName(enterEntity), undefined, undefined, entityId, meta));
}

/** Entity calls with a fixed `kind`. */
export interface Scope {
  readonly kind: string;
  track(entityId: string | number, meta?: Meta): void;
  recordEvent(entityId: string | number, stage: string, action: string, meta?: Meta): void;
  step(entityId: string | number, action: string, meta?: Meta): void;
  enter(entityId: string | number, meta?: Meta): ExitHandle;
}

class KindScope implements Scope {
  readonly kind: string;
  constructor(kind: string) {
    this.kind = kind;
    Object.defineProperty(this, SCOPE_BRAND, { value: true });
  }
  track(entityId: string | number, meta?: Meta): void {
    const c = here();
    if (c !== undefined) trackIn(c, entityId, meta, this.kind);
  }
  recordEvent(entityId: string | number, stage: string, action: string, meta?: Meta): void {
    const c = here();
    if (c !== undefined) recordEntityIn(c, entityId, this.kind, stage, action, meta);
  }
  step(entityId: string | number, action: string, meta?: Meta): void {
    const c = here();
    if (c === undefined || !c.trace.accepts(c.trace.str(entityId), c.trace.str(this.kind))) return;
    recordEntityIn(c, entityId, this.kind, callerName(KindScope.prototype.step), action, meta);
  }
  enter(entityId: string | number, meta?: Meta): ExitHandle {
    const c = here();
    if (c === undefined || !c.trace.accepts(c.trace.str(entityId), c.trace.str(this.kind)))
      return NOOP_HANDLE;
    return handleFor(
      openEntityIn(c, callerName(KindScope.prototype.enter), undefined, this.kind, entityId, meta),
    );
  }
}

/** Entity calls that set `kind` for you: `const orders = scope('order'); orders.step(order.id, 'validated')`. */
export function scope(kind: string): Scope {
  return new KindScope(String(kind));
}
