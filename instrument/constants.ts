/**
 * The fixed identifiers and strings of the code every stepmark build plugin emits (docs/ABI.md,
 * ABI v1). Plugins take them from here so the three hosts can never drift apart.
 */

/** ABI version the emitted code is written against. */
export const ABI_VERSION = 2;

/** Export of `stepmark/runtime` that ESM output imports: `import { v2 as __stepmark } from "stepmark/runtime"`. */
export const ABI_EXPORT = 'v2';

/** Function of `stepmark/runtime` that CommonJS output calls: `require("stepmark/runtime").abi(1)`. */
export const ABI_CHECK_FUNCTION = 'abi';

/** Local binding of the runtime ABI object added as the first statement of the module. */
export const RUNTIME_BINDING = '__stepmark';

/** Local `const` holding the frame returned by `enter` in an instrumented function. */
export const FRAME_BINDING = '__smf';

/** Parameter of the `catch` clause that reports the thrown value to the frame. */
export const CAUGHT_BINDING = '__sme';

/**
 * Names the emitted code binds where the user's code can see them: in a file that gets any
 * frame or rewritten call, the user's code may not use them as variables (reserved-name error).
 * `__sme` is not among them: it is bound only in the frame's own `catch` clause, around no user code.
 */
export function isReservedName(name: string): boolean {
  return name === RUNTIME_BINDING || name === FRAME_BINDING;
}

/** Package whose `/runtime` subpath is imported and whose public API calls are rewritten. */
export const DEFAULT_IMPORT_SOURCE = 'stepmark';

/** Name of the enclosing "function" for explicit calls at module level (not inside any function). */
export const MODULE_SCOPE_NAME = '<module>';

/**
 * Methods of the ABI object (`__stepmark.<method>`) and of a frame (`__smf.<method>`) that
 * emitted code calls.
 */
export const ABI = {
  /** `__stepmark.enter(name, location, flags?)` opens a span; returns a frame. */
  enter: 'enter',
  /** `__stepmark.enterEntity(name, location, kind, entityId, flags?)` opens an entity-scoped span. */
  enterEntity: 'enterEntity',
  /** `__stepmark.on()`: whether any trace is active in the process (guards entity expressions). */
  on: 'on',
  /** `__smf.fail(e)` marks the span as failed with the thrown value. */
  fail: 'fail',
  /** `__smf.exit()` closes the span (at the end of the body, or in `finally`). */
  exit: 'exit',
  /** `return __smf.x(v)`: closes the span and returns `v` (ABI 2). */
  exitWith: 'x',
  /** `throw __smf.t(e)`: marks the span failed with `e`, closes it, returns `e` (ABI 2). */
  failWith: 't',
  /** `__smf.s(v)`: suspend (around `await`/`yield` operands). */
  suspend: 's',
  /** `__smf.r(v)`: resume (around the result of `await`/`yield`). */
  resume: 'r',
} as const;

/**
 * Optional last argument of `enter`/`enterEntity` (docs/ABI.md, "Frames"): the function is a
 * plain `async` function, so every suspension is an `await` and the runtime can skip two
 * `enterWith` per await after the first. Runtimes that predate it ignore the extra argument.
 */
export const FRAME_ASYNC = 1;

/** What the flags rule needs to know about a function (every host can say this of its nodes). */
export interface FrameKind {
  readonly async: boolean;
  readonly generator: boolean;
  /**
   * The body holds a `with` statement (sloppy mode; not counting nested functions). Inside it the
   * frame's names would be looked up on the statement's object first, which may claim any name:
   * nothing there may refer to `__smf`.
   */
  readonly withStatement?: boolean;
}

/**
 * The flags argument of a function's `enter`/`enterEntity`, or `undefined` to emit none:
 * `FRAME_ASYNC` for async functions, async methods and async arrows only, never for a generator
 * or an async generator (a `yield` hands control to the caller, whose context must be restored).
 */
export function frameFlags(fn: FrameKind): number | undefined {
  return fn.async && !fn.generator ? FRAME_ASYNC : undefined;
}

export type FrameEnding = 'returns' | 'finally';

/**
 * How a frame closes its span (docs/ABI.md, "Frames"):
 * - `'returns'` — every `return v` of the function becomes `return __smf.x(v)`, the `try` block
 *   ends with `__smf.exit();`, and the handler is `catch (__sme) { throw __smf.t(__sme); }`: no
 *   `finally`. V8 reserves stack slots for a `finally` block's completion in every activation,
 *   which kept instrumented recursion at 0.72 of the plain maximum depth; without it, 0.87.
 * - `'finally'` — `catch (__sme) { __smf.fail(__sme); throw __sme; } finally { __smf.exit(); }`,
 *   for generators and async generators: `.return()` leaves them at a `yield`, which only a
 *   `finally` block sees; and for a function whose body holds a `with` statement, where a
 *   `return __smf.x(v)` could find `__smf` on the statement's object (its `await`s and `yield`s
 *   stay unwrapped there too).
 */
export function frameEnding(fn: FrameKind): FrameEnding {
  return fn.generator || fn.withStatement ? 'finally' : 'returns';
}

/** The exact text an instrumented body starts with; a body that starts with it is never wrapped again. */
export const IDEMPOTENCE_MARKER = `const ${FRAME_BINDING} = ${RUNTIME_BINDING}.`;

/**
 * The module specifier of the runtime ABI entry for an import source:
 * `"stepmark"` → `"stepmark/runtime"`.
 */
export function runtimeSpecifier(importSource: string = DEFAULT_IMPORT_SOURCE): string {
  return `${importSource}/runtime`;
}

/** Whether a module specifier is the runtime entry of some import source (`"stepmark/runtime"`). */
export function isRuntimeSpecifier(specifier: unknown): boolean {
  return typeof specifier === 'string' && specifier.endsWith('/runtime');
}

/** The ESM import statement, as source text (for hosts that emit text). */
export function runtimeImportEsm(importSource: string = DEFAULT_IMPORT_SOURCE): string {
  return `import { ${ABI_EXPORT} as ${RUNTIME_BINDING} } from ${JSON.stringify(runtimeSpecifier(importSource))};`;
}

/** The CommonJS binding statement, as source text (for hosts that emit text). */
export function runtimeImportCjs(importSource: string = DEFAULT_IMPORT_SOURCE): string {
  return `const ${RUNTIME_BINDING} = require(${JSON.stringify(runtimeSpecifier(importSource))}).${ABI_CHECK_FUNCTION}(${ABI_VERSION});`;
}

/**
 * Whether a file's text uses CommonJS (`require(…)`, `module.exports`, `exports.x`): one without
 * `import`/`export` that does gets the `require` form of the runtime binding (an `import` would
 * turn it into an ES module).
 */
export function usesCommonJs(text: string): boolean {
  return /\brequire\s*\(|\bmodule\.exports\b|\bexports\.[\w$]/.test(text);
}

/**
 * Public API functions of `stepmark` whose calls are rewritten to pass the enclosing function's
 * name (docs/ABI.md, "Explicit calls"). Key: exported name; value: the ABI method called instead.
 * The ABI method receives the name as a new first argument; all user arguments follow unchanged.
 */
export const REWRITTEN_CALLS = {
  step: 'step',
  stepEntity: 'stepEntity',
  enter: 'enterUser',
  enterEntity: 'enterEntityUser',
} as const;

/** A public API function whose calls are rewritten. */
export type RewrittenCall = keyof typeof REWRITTEN_CALLS;

/** The public factory whose result's `.step`/`.enter` calls are rewritten: `const s = scope(kind)`. */
export const SCOPE_FACTORY = 'scope';

/**
 * Methods of a `scope(kind)` result whose calls are rewritten. Emitted as
 * `__stepmark.<abi>(scopeObject, "Name", ...args)`.
 */
export const REWRITTEN_SCOPE_METHODS = {
  step: 'scopeStep',
  enter: 'scopeEnter',
} as const;

/** A scope method whose calls are rewritten. */
export type RewrittenScopeMethod = keyof typeof REWRITTEN_SCOPE_METHODS;

/** Whether `name` is a public API function whose calls are rewritten. */
export function isRewrittenCall(name: string): name is RewrittenCall {
  return Object.hasOwn(REWRITTEN_CALLS, name);
}

/** Whether `name` is a scope method whose calls are rewritten. */
export function isRewrittenScopeMethod(name: string): name is RewrittenScopeMethod {
  return Object.hasOwn(REWRITTEN_SCOPE_METHODS, name);
}

/**
 * The ABI method an API call is rewritten to: `step()` → `step`, `enter()` → `enterUser`, `.step()`
 * on a `scope(kind)` object (`onScope`) → `scopeStep`; undefined for calls that are not rewritten.
 */
export function abiMethodOf(api: string, onScope: boolean): string | undefined {
  if (onScope) return isRewrittenScopeMethod(api) ? REWRITTEN_SCOPE_METHODS[api] : undefined;
  return isRewrittenCall(api) ? REWRITTEN_CALLS[api] : undefined;
}
