/**
 * The calls behind ABI 1 (abi.ts builds the `v1` object from them). They live apart from the
 * entry module so that `v1` is declared in `stepmark/runtime` itself, not re-exported from a
 * shared chunk: a host that turns each export into a getter wrapped in `try {} catch {}` (Vite's
 * SSR transform, which Vitest applies to a runtime it inlines) then has one getter and no nested
 * call between a call site and `v1`. A nested getter would swallow a stack overflow and hand
 * `undefined` to the call site, which turns a RangeError into a TypeError.
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
import { G } from './state.js';
import { type Frame, NOOP_FRAME, type Span } from './trace.js';
import type { Meta } from './types.js';

/** A scope object as returned by `scope(kind)`. */
export interface AbiScope {
  readonly kind: string;
}

export function on(): boolean {
  return G.active !== 0;
}

/** `flags` argument of `enter`/`enterEntity`: the frame is a plain `async` function (not a generator). */
export const FRAME_ASYNC = 1;

function flagged(frame: Frame, flags: number | undefined): Frame {
  if (flags === FRAME_ASYNC && frame !== NOOP_FRAME) (frame as Span).awaitOnly = true;
  return frame;
}

// The frame calls test the process-wide counter themselves before calling `here()`: with nothing
// traced, entering an instrumented function makes one call, not two.
export function enter(name: string, location: string | undefined, flags?: number): Frame {
  if (G.active === 0) return NOOP_FRAME;
  const c = here();
  if (c === undefined) return NOOP_FRAME;
  return flagged(openIn(c, name, location, undefined), flags);
}

export function enterEntity(
  name: string,
  location: string | undefined,
  kind: string | null,
  entityId: unknown,
  flags?: number,
): Frame {
  if (G.active === 0) return NOOP_FRAME;
  const c = here();
  if (c === undefined) return NOOP_FRAME;
  return flagged(
    openEntityIn(c, name, location, kind === null ? undefined : kind, entityId, undefined),
    flags,
  );
}

export function step(name: string, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordIn(c, name, action, meta);
}

export function stepEntity(name: string, entityId: unknown, action: string, meta?: Meta): void {
  const c = here();
  if (c === undefined) return;
  recordEntityIn(c, entityId, undefined, name, action, meta);
}

export function enterUser(name: string, meta?: Meta): ExitHandle {
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openIn(c, name, undefined, meta));
}

export function enterEntityUser(name: string, entityId: unknown, meta?: Meta): ExitHandle {
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openEntityIn(c, name, undefined, undefined, entityId, meta));
}

export function scopeStep(
  scope: AbiScope,
  name: string,
  entityId: unknown,
  action: string,
  meta?: Meta,
): void {
  // Not a stepmark scope (a plugin rewrote something it should not have): keep the program's behaviour.
  if (!isScope(scope)) {
    (scope as any).step(entityId, action, meta);
    return;
  }
  const c = here();
  if (c === undefined) return;
  recordEntityIn(c, entityId, scope.kind, name, action, meta);
}

export function scopeEnter(scope: AbiScope, name: string, entityId: unknown, meta?: Meta): ExitHandle {
  if (!isScope(scope)) return (scope as any).enter(entityId, meta);
  const c = here();
  if (c === undefined) return NOOP_HANDLE;
  return handleFor(openEntityIn(c, name, undefined, scope.kind, entityId, meta));
}
