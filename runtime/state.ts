/**
 * Process-wide state shared by every copy of the runtime (ESM and CommonJS builds, a bundled copy
 * and an installed one), so a trace started through one copy is seen by calls made through
 * another. It is reached through a frozen holder on `globalThis` (see global.ts), never stored on
 * anything global itself: a test environment that tears globals down between test files cannot
 * change it under the timers and promise callbacks that still use it.
 *
 * The key carries the state layout's major version: a copy with an incompatible layout uses
 * another key (and so does not see the other's traces) instead of corrupting it.
 */
import { shared } from './global.js';
import { VERSION } from './version.js';

export { VERSION };

import type { RecorderTrace, Span } from './trace.js';

/** What the async context holds: a small mutable view of "which trace, which span is open here". */
export interface Cursor {
  trace: RecorderTrace;
  span: Span | undefined;
}

interface AlsLike<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
  enterWith(store: T): void;
  disable(): void;
}
type AlsClass = new <T>() => AlsLike<T>;

export interface SharedState {
  /** Number of traces whose `run` has not finished. 0 = the fast path: every call returns at once. */
  active: number;
  /** The AsyncLocalStorage, created when the first trace starts (never before: see docs/RUNTIME.md). */
  als: AlsLike<Cursor> | undefined;
  /** Whether `als` is the async_hooks-based implementation (Node ≤ 23) that taxes every await while enabled. */
  alsHooked: boolean;
  /** Looked up once: the AsyncLocalStorage class, or null when the platform has none. */
  alsClass: AlsClass | null | undefined;
  /** Current cursor of the synchronous fallback (platforms without AsyncLocalStorage). */
  cursor: Cursor | undefined;
  /** Package version of the copy that created the state. */
  version: string;
  /** ABI versions supported by the copy that created the state. */
  abis: number[];
  /** Whether a timer will disable the hooked store (see `idle`). */
  idleTimer: boolean;
  /** Warnings already printed (each once per process). */
  warned: Set<string>;
}

export const ABIS = [1, 2];

/** The shared state (one object per process). */
export const G: SharedState = shared(
  'stepmark.runtime.v2',
  (): SharedState => ({
    active: 0,
    als: undefined,
    alsHooked: false,
    alsClass: undefined,
    cursor: undefined,
    version: VERSION,
    abis: ABIS.slice(),
    idleTimer: false,
    warned: new Set(),
  }),
  (s) => typeof s.active === 'number' && typeof s.warned?.has === 'function',
);

export function warnOnce(key: string, message: string): void {
  if (G.warned.has(key)) return;
  G.warned.add(key);
  try {
    globalThis.console?.warn?.(`[stepmark] ${message}`);
  } catch {
    // a broken console must not break the program
  }
}

/**
 * Finds AsyncLocalStorage without a static `import 'node:async_hooks'`, so browser bundles of the
 * runtime need no shim: `process.getBuiltinModule` (Node ≥ 20.16, Bun, Deno), then a global
 * (some edge runtimes). No `require('node:async_hooks')` either: bundlers would try to resolve it
 * for browsers. Older Node 20 releases (< 20.16) can pass the class to `useAsyncLocalStorage`.
 */
function findAls(): AlsClass | null {
  try {
    const p = (globalThis as any).process;
    const mod = p?.getBuiltinModule?.('node:async_hooks');
    if (mod?.AsyncLocalStorage) return mod.AsyncLocalStorage;
  } catch {}
  const global = (globalThis as any).AsyncLocalStorage;
  if (typeof global === 'function') return global;
  return null;
}

/**
 * Supplies the AsyncLocalStorage class where the runtime cannot find it by itself (Node 20 before
 * 20.16, Cloudflare Workers with `nodejs_compat`, …). Only before the first trace starts: returns
 * false (and changes nothing) once a store exists or a trace is running.
 *
 * @example
 * ```ts
 * import { AsyncLocalStorage } from 'node:async_hooks';
 * import { useAsyncLocalStorage } from 'stepmark';
 * useAsyncLocalStorage(AsyncLocalStorage);
 * ```
 */
export function useAsyncLocalStorage(cls: new () => unknown): boolean {
  if (G.als !== undefined || G.active !== 0 || typeof cls !== 'function') return false;
  G.alsClass = cls as AlsClass;
  return true;
}

/** Called when a trace starts. Creates the AsyncLocalStorage on first use. */
export function ensureStore(): void {
  if (G.als !== undefined) return;
  if (G.alsClass === undefined) {
    G.alsClass = findAls();
    if (G.alsClass === null && (globalThis as any).process?.versions?.node) {
      warnOnce(
        'no-als',
        'AsyncLocalStorage not found (Node < 20.16?): traces follow only the synchronous extent of run(); pass it with useAsyncLocalStorage(), see docs/RUNTIME.md',
      );
    }
  }
  if (G.alsClass === null) return;
  const als = new G.alsClass<Cursor>();
  G.als = als;
  // The async_hooks implementation has `_enable`; the AsyncContextFrame one (Node ≥ 24) does not.
  G.alsHooked = typeof (als as any)._enable === 'function';
}

/** The cursor of the current async context (or of the synchronous fallback). */
export function currentCursor(): Cursor | undefined {
  const als = G.als;
  return als !== undefined ? als.getStore() : G.cursor;
}

/** Makes `c` the current cursor for the rest of this synchronous execution and what it schedules. */
export function setCursor(c: Cursor | undefined): void {
  const als = G.als;
  if (als !== undefined) als.enterWith(c as Cursor);
  else G.cursor = c;
}

/** Runs `fn` with `c` as the current cursor. */
export function withCursor<R>(c: Cursor, fn: () => R): R {
  const als = G.als;
  if (als !== undefined) return als.run(c, fn);
  const prev = G.cursor;
  G.cursor = c;
  try {
    return fn();
  } finally {
    G.cursor = prev;
  }
}

type SetTimer = (fn: () => void, ms: number) => unknown;

/**
 * `setTimeout`, looked up once when the runtime loads, from `node:timers` where there is one: fake
 * timers installed later (Jest's, Vitest's) replace the global, and the idle timer must neither
 * show up in a test's timer count nor wait for the test to advance a fake clock.
 */
const setTimer: SetTimer | undefined = (() => {
  try {
    const timers = (globalThis as any).process?.getBuiltinModule?.('node:timers');
    if (typeof timers?.setTimeout === 'function') return timers.setTimeout as SetTimer;
  } catch {}
  const global = (globalThis as any).setTimeout;
  return typeof global === 'function' ? (global as SetTimer) : undefined;
})();

/** How long the store stays enabled after the last trace ended (ms): back-to-back traces do not toggle hooks. */
export const IDLE_DISABLE_MS = 200;

/**
 * Called when the last active trace ended. With the async_hooks-based AsyncLocalStorage
 * (Node 20/22) an enabled store installs promise hooks that make every `await` in the process
 * ~3x slower; disabling it when nothing traces removes that cost until the next trace starts
 * (`run` re-enables it). Enabling and disabling the hooks costs a few µs, so the store is
 * disabled only once no trace has run for {@link IDLE_DISABLE_MS} (one unref'd timer at a time).
 * Stores left on resources created during a trace only point at ended traces, which ignore calls.
 */
export function idle(): void {
  if (!G.alsHooked || G.active !== 0 || G.idleTimer) return;
  try {
    const t = setTimer!(disableIfIdle, IDLE_DISABLE_MS);
    (t as { unref?: () => void }).unref?.();
    G.idleTimer = true;
  } catch {
    disableIfIdle();
  }
}

function disableIfIdle(): void {
  G.idleTimer = false;
  if (G.active !== 0) return;
  try {
    G.als!.disable();
  } catch {}
}
