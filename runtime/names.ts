/**
 * Names without a build step: the name of the function that called a stepmark API function,
 * read from V8's structured call sites. Slow (a stack capture costs microseconds), which is
 * what the build plugins remove; only runs while a trace is active in the current context.
 *
 * Rules (kept equal to the build-time names wherever V8 can know them, see docs/NAMING.md):
 * - `new X` → `X.constructor`; methods (instance, static, class fields holding functions,
 *   private `#m`) → `Receiver.method`, where Receiver is the class of `this` (for an inherited
 *   method called on a subclass instance V8 reports the subclass: a known difference);
 * - plain functions and arrows → their (inferred) name; methods on plain objects → the method
 *   name alone (V8 cannot know the variable that holds the object);
 * - getters/setters → `Class.get x` / `Class.set x` as V8 names them;
 * - anonymous functions, builtins and runtime-internal frames are skipped, so a call inside an
 *   anonymous callback gets the enclosing named function's name;
 * - module top level → `<module>`.
 */

interface CallSite {
  getTypeName(): string | null;
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getFileName(): string | null | undefined;
  isConstructor(): boolean;
  isToplevel(): boolean;
  isNative(): boolean;
  isEval(): boolean;
  toString(): string;
}

type ErrorCtor = {
  captureStackTrace?(o: object, fn?: Function): void;
  prepareStackTrace?: ((e: Error, cs: CallSite[]) => unknown) | undefined;
  stackTraceLimit?: number;
};

const E = Error as unknown as ErrorCtor;
const capture = typeof E.captureStackTrace === 'function' ? E.captureStackTrace : undefined;

function structured(_e: Error, cs: CallSite[]): CallSite[] {
  return cs;
}

export const MODULE_NAME = '<module>';
export const UNKNOWN_NAME = '<unknown>';

/**
 * The name of the function that called `apiFn` (a public stepmark function; frames from it
 * upwards are not reported). Never throws; `<unknown>` where the platform has no call sites.
 */
export function callerName(apiFn: Function): string {
  if (capture === undefined) return UNKNOWN_NAME;
  const prevPrepare = E.prepareStackTrace;
  const prevLimit = E.stackTraceLimit;
  let sites: unknown;
  try {
    E.prepareStackTrace = structured;
    E.stackTraceLimit = 20;
    const holder: { stack?: unknown } = {};
    capture(holder, apiFn);
    sites = holder.stack;
  } catch {
    sites = undefined;
  } finally {
    E.prepareStackTrace = prevPrepare;
    E.stackTraceLimit = prevLimit;
  }
  if (!Array.isArray(sites)) return UNKNOWN_NAME;
  try {
    for (const site of sites as CallSite[]) {
      const name = siteName(site);
      if (name !== undefined) return name;
    }
  } catch {}
  return UNKNOWN_NAME;
}

/** The name for one call site, or undefined to skip it (anonymous, builtin, eval). */
export function siteName(site: CallSite): string | undefined {
  const file = site.getFileName();
  if (!file || site.isNative()) return undefined;
  const fn = site.getFunctionName();
  if (site.isConstructor()) return fn ? `${fn}.constructor` : undefined;
  if (!fn) return site.isToplevel() && !site.isEval() ? MODULE_NAME : undefined;
  if (site.isToplevel()) return fn;
  let type = site.getTypeName();
  if (type === 'Function' || type === null) {
    // Static methods: Node 20 reports the receiver's type as Function; its own text has the class.
    const text = String(site);
    const m = /^(?:async )?([\w$]+)\.([^\s(]+) \(/.exec(text);
    type = m && m[1] !== 'Function' && m[1] !== 'Object' ? m[1]! : null;
  }
  if (type === null || type === 'Object' || type === 'global' || type === 'Window') return fn;
  // V8 prefixes some names with the receiver already (e.g. `A.m` for a function assigned as A.m).
  return fn.startsWith(`${type}.`) ? fn : `${type}.${fn}`;
}
