/**
 * `stepmark/runtime`: the versioned ABI that the build plugins emit calls into (docs/ABI.md).
 *
 *     import { v2 as __stepmark } from "stepmark/runtime";           // ESM
 *     const __stepmark = require("stepmark/runtime").abi(2);         // CommonJS
 *
 * Every function is built for the disabled path first: one load and compare of the
 * process-wide active-trace counter, then the shared no-op frame; nothing is allocated. When
 * a trace is active somewhere, one AsyncLocalStorage lookup finds this context's cursor.
 * Names and locations arrive as string literals, so no stack is read. Nothing here throws into
 * user code (bad arguments are recorded as strings, internal failures drop the record).
 *
 * Compatibility: each ABI keeps its names, parameters and frame methods for as long as the
 * runtime exports it. ABI 2 is ABI 1 plus the frame methods `x` and `t` (docs/ABI.md, "Frames");
 * code instrumented for ABI 1 keeps working. A runtime without ABI 2 makes `import { v2 }` fail
 * at link time and `abi(2)` throw StepmarkAbiError, instead of failing at the first `__smf.x`.
 */
import {
  type AbiScope,
  enter,
  enterEntity,
  enterEntityUser,
  enterUser,
  on,
  scopeEnter,
  scopeStep,
  step,
  stepEntity,
} from './abi-calls.js';
import type { ExitHandle } from './core.js';
import { ABIS, VERSION } from './state.js';
import type { Frame } from './trace.js';
import type { Meta } from './types.js';

export { type AbiScope, FRAME_ASYNC } from './abi-calls.js';
export type { ExitHandle } from './core.js';
export type { Frame } from './trace.js';

/** ABI version 1 (docs/ABI.md): what plugins before ABI 2 emitted. */
export interface AbiV1 {
  readonly version: 1 | 2;
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

/** The calls every ABI version has (a frame's methods are what differs: docs/ABI.md). */
const CALLS = {
  enter,
  enterEntity,
  on,
  step,
  stepEntity,
  enterUser,
  enterEntityUser,
  scopeStep,
  scopeEnter,
};

/**
 * ABI 1: what `import { v1 as __stepmark } from "stepmark/runtime"` binds. Declared here, in the
 * entry module, and never imported by other modules of the package (see abi-calls.ts).
 */
export const v1: AbiV1 = Object.freeze({ version: 1 as const, ...CALLS });

/** ABI version 2 (docs/ABI.md): ABI 1's calls; its frames also have `x` and `t`. */
export interface AbiV2 extends AbiV1 {
  readonly version: 2;
}

/**
 * ABI 2: what `import { v2 as __stepmark } from "stepmark/runtime"` binds. Declared here, in the
 * entry module, like `v1` (a re-export would be one more getter under Vite's SSR transform).
 */
export const v2: AbiV2 = Object.freeze({ version: 2 as const, ...CALLS });

const abis: Record<number, AbiV1> = { 1: v1, 2: v2 };

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

/** The ABI object for version `n` (CommonJS output calls `require("stepmark/runtime").abi(2)`). */
export function abi(n: 2): AbiV2;
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
