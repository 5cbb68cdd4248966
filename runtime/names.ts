/**
 * Names without a build step: the name of the function that called a stepmark API function,
 * read from V8's structured call sites. Slow (a stack capture costs microseconds), which is
 * what the build plugins remove; only runs while a trace is active in the current context.
 *
 * Rules: docs/NAMING.md ("For the run-time fallback"); the name equals the build-time name
 * wherever V8 can know it:
 * - `new X` → `X.constructor`; a member called on an instance/class `T` → `T.member` (getters
 *   `T.get g`, private `T.#p`, class initializers `T.<static_initializer>`, whose class Node 20
 *   does not print); V8 reports the receiver's class, so an inherited method called on a
 *   subclass instance shows the subclass;
 * - plain functions and arrows → their own or inferred name, as V8 prints it (`foo`,
 *   `exports.foo`, `Foo.bar`, `o.<computed>`); members of plain objects → the member name alone
 *   (V8 cannot know the variable that holds the object);
 * - a nameless frame → `<module>` for a module's top-level code, `<anonymous>` otherwise;
 * - builtin frames (no file) are skipped.
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
export const ANONYMOUS_NAME = '<anonymous>';

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
    E.stackTraceLimit = 3; // the caller, and its caller to tell module code from callbacks
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
    const list = sites as CallSite[];
    for (let i = 0; i < list.length; i++) {
      const name = siteName(list[i]!, list.slice(i + 1));
      if (name !== undefined) return name;
    }
  } catch {}
  return UNKNOWN_NAME;
}

/** The name for one call site (`callers` are the frames below it), or undefined to skip it (builtin). */
export function siteName(site: CallSite, callers: CallSite[] = []): string | undefined {
  const file = site.getFileName();
  if (!file || site.isNative()) return undefined;
  const fn = site.getFunctionName();
  if (site.isConstructor()) return fn ? `${fn}.constructor` : ANONYMOUS_NAME;
  if (!fn) return calledByModuleLoader(callers) ? MODULE_NAME : ANONYMOUS_NAME;
  if (site.isToplevel()) return fn;
  let type = site.getTypeName();
  if (type === 'Function' || type === null) {
    // Static members: Node 20 reports the receiver's type as Function; the printed frame has the class.
    const m = /^(?:async )?([\w$]+)\.([^\s(]+) \(/.exec(String(site));
    type = m && m[1] !== 'Function' && m[1] !== 'Object' ? m[1]! : null;
  }
  // `Module` is the receiver when a function is called through a namespace object (`ns.f()`).
  if (type === null || type === 'Object' || type === 'Module' || type === 'global' || type === 'Window')
    return fn;
  // Names V8 inferred from an assignment already carry their container (`Foo.bar`).
  return fn.startsWith(`${type}.`) ? fn : `${type}.${fn}`;
}

/**
 * Whether a nameless frame was called by a module loader, i.e. is a module's top-level code:
 * Node's ESM and CommonJS loaders, or Vite's module runner (Vitest, vite-node). Top-level code
 * after an `await` (an `import` in Vite's runner, top-level await) is called from the microtask
 * queue first, so that frame is looked through.
 */
function calledByModuleLoader(callers: CallSite[]): boolean {
  for (const c of callers) {
    const file = c.getFileName() ?? '';
    if (file.startsWith('node:internal/process/')) continue;
    return (
      file.startsWith('node:internal/modules/') || /[\\/](vite|vite-node|vitest)[\\/]dist[\\/]/.test(file)
    );
  }
  return true;
}
