/**
 * `stepmark/runtime`: the versioned ABI that the build plugins emit calls into (docs/ABI.md).
 *
 *     import { v1 as __stepmark } from "stepmark/runtime";           // ESM
 *     const __stepmark = require("stepmark/runtime").abi(1);         // CommonJS
 *
 * Every function is built for the disabled path first: one load and compare of the
 * process-wide active-trace counter, then the shared no-op frame; nothing is allocated. When
 * a trace is active somewhere, one AsyncLocalStorage lookup finds this context's cursor.
 * Names and locations arrive as string literals, so no stack is read. Nothing here throws into
 * user code (bad arguments are recorded as strings, internal failures drop the record).
 *
 * Compatibility: ABI 1 keeps these names, parameters and frame methods for as long as the
 * runtime exports `v1`. A new ABI gets a new export (`v2`) and `abi(2)`; a runtime that drops
 * ABI 1 makes `import { v1 }` fail at link time and `abi(1)` throw StepmarkAbiError.
 */
import {
  type ExitHandle,
  handleFor,
  here,
  isScope,
  NOOP_HANDLE,
  openEntityIn,
  openIn,
  recordEntityIn,
  recordIn,
} from './core.js';
import { ABIS, G, VERSION } from './state.js';
import { type Frame, NOOP_FRAME, type Span } from './trace.js';
import type { Meta } from './types.js';

export type { ExitHandle } from './core.js';
export type { Frame } from './trace.js';

/** A scope object as returned by `scope(kind)`. */
export interface AbiScope {
  readonly kind: string;
}

/** ABI version 1 (docs/ABI.md). */
export interface AbiV1 {
  readonly version: 1;
  /**
   * Opens a span for an instrumented function; the shared no-op frame when nothing traces here.
   * Optional `flags`: `FRAME_ASYNC` (1) for a plain `async` function (never for a generator or an
   * async generator) lets its awaits skip two `enterWith` each; without it every frame is handled
   * in the way that is safe for generators too. Runtimes that predate the flag ignore it.
   */
  enter(name: string, location: string | undefined, flags?: number): Frame;
  /** Opens an entity-scoped span (`@stepmark entity=… kind=…`). `entityId` is `false` when `on()` was false. */
  enterEntity(
    name: string,
    location: string | undefined,
    kind: string | null,
    entityId: unknown,
    flags?: number,
  ): Frame;
  /** Whether any trace is active in the process (guards evaluation of entity expressions). */
  on(): boolean;
  /** `step(action, meta?)` with the stage name written at build time. */
  step(name: string, action: string, meta?: Meta): void;
  /** `stepEntity(id, action, meta?)` with the stage name written at build time. */
  stepEntity(name: string, entityId: unknown, action: string, meta?: Meta): void;
  /** `enter(meta?)` with the span name written at build time: the user's exit handle. */
  enterUser(name: string, meta?: Meta): ExitHandle;
  /** `enterEntity(id, meta?)` with the span name written at build time. */
  enterEntityUser(name: string, entityId: unknown, meta?: Meta): ExitHandle;
  /** `s.step(id, action, meta?)` for `const s = scope(kind)`. */
  scopeStep(scope: AbiScope, name: string, entityId: unknown, action: string, meta?: Meta): void;
  /** `s.enter(id, meta?)` for `const s = scope(kind)`. */
  scopeEnter(scope: AbiScope, name: string, entityId: unknown, meta?: Meta): ExitHandle;
}

function on(): boolean {
  return G.active !== 0;
}

/** `flags` argument of `enter`/`enterEntity`: the frame is a plain `async` function (not a generator). */
export const FRAME_ASYNC = 1;

function flagged(frame: Frame, flags: number | undefined): Frame {
  if (flags === FRAME_ASYNC && frame !== NOOP_FRAME) (frame as Span).awaitOnly = true;
  return frame;
}

function enter(name: string, location: string | undefined, flags?: number): Frame {
  const c = here();
  if (c === undefined) return NOOP_FRAME;
  return flagged(openIn(c, name, location, undefined), flags);
}

function enterEntity(
  name: string,
  location: string | undefined,
  kind: string | null,
  entityId: unknown,
  flags?: number,
): Frame {
  const c = here();
  if (c === undefined) return NOOP_FRAME;
  return flagged(
    openEntityIn(c, name, location, kind === null ? undefined : kind, entityId, undefined),
    flags,
  );
}

function step(name: string, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordIn(c, name, action, meta);
}

function stepEntity(name: string, entityId: unknown, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordEntityIn(c, entityId, undefined, name, action, meta);
}

function enterUser(name: string, meta?: Meta): ExitHandle {
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openIn(c, name, undefined, meta));
}

function enterEntityUser(name: string, entityId: unknown, meta?: Meta): ExitHandle {
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openEntityIn(c, name, undefined, undefined, entityId, meta));
}

function scopeStep(scope: AbiScope, name: string, entityId: unknown, action: string, meta?: Meta): void {
  // Not a stepmark scope (a plugin rewrote something it should not have): keep the program's behaviour.
  if (!isScope(scope)) {
    (scope as any).step(entityId, action, meta);
    return;
  }
  const c = here();
  if (c === undefined) return;
  recordEntityIn(c, entityId, scope.kind, name, action, meta);
}

function scopeEnter(scope: AbiScope, name: string, entityId: unknown, meta?: Meta): ExitHandle {
  if (!isScope(scope)) return (scope as any).enter(entityId, meta);
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openEntityIn(c, name, undefined, scope.kind, entityId, meta));
}

/** ABI 1: what `import { v1 as __stepmark } from "stepmark/runtime"` binds. */
export const v1: AbiV1 = Object.freeze({
  version: 1 as const,
  enter,
  enterEntity,
  on,
  step,
  stepEntity,
  enterUser,
  enterEntityUser,
  scopeStep,
  scopeEnter,
});

const abis: Record<number, AbiV1> = { 1: v1 };

/** Thrown by `abi(n)` when this runtime does not implement ABI `n`. */
export class StepmarkAbiError extends Error {
  readonly code = 'STEPMARK_ABI_MISMATCH';
  readonly requested: unknown;
  readonly supported: readonly number[];
  readonly runtimeVersion: string;
  constructor(requested: unknown) {
    super(
      `stepmark: this code was instrumented for runtime ABI ${String(requested)}, but the installed stepmark runtime ` +
        `(version ${VERSION}) supports ABI ${ABIS.join(', ')}. Install matching versions of stepmark and of the ` +
        `build plugin that instrumented it, then rebuild.`,
    );
    this.name = 'StepmarkAbiError';
    this.requested = requested;
    this.supported = ABIS.slice();
    this.runtimeVersion = VERSION;
  }
}

/** The ABI object for version `n` (CommonJS output calls `require("stepmark/runtime").abi(1)`). */
export function abi(n: 1): AbiV1;
export function abi(n: number): AbiV1;
export function abi(n: number): AbiV1 {
  const found = typeof n === 'number' && Object.hasOwn(abis, n) ? abis[n] : undefined;
  if (found === undefined) throw new StepmarkAbiError(n);
  return found;
}

/** Package version of this runtime, and the ABIs it implements. */
export const runtimeVersion = VERSION;
export const supportedAbis: readonly number[] = Object.freeze(ABIS.slice());
