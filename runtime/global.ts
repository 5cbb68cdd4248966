/**
 * Process-wide objects shared by every copy of the runtime (ESM and CommonJS builds, a bundled
 * copy and an installed one), kept out of reach of whatever tears globals down.
 *
 * `globalThis[Symbol.for(key)]` holds a frozen holder `{ get }` whose `get()` returns the shared
 * object; the object itself is never a property of anything global. So a test environment that
 * cleans up what a test file left on its global (Jest 30 turns every property of such objects into
 * warning getters/setters, or deletes them) finds only the frozen holder, which it cannot change,
 * and a deep freeze of the globals (SES `harden`) does not reach the state either. Each copy looks
 * the object up once, when it loads, and keeps it: if the holder is later frozen, deleted or
 * replaced, the copies already loaded go on with the object they have, and a copy loaded after
 * that starts a new one (the key carries the layout's major version, so a copy with another
 * layout never reads this one).
 */

interface Holder<T> {
  readonly get: () => T;
}

export function shared<T extends object>(key: string, create: () => T, valid: (value: T) => boolean): T {
  const sym = Symbol.for(key);
  const g = globalThis as unknown as Record<symbol, unknown>;
  try {
    const holder = g[sym] as Holder<T> | undefined;
    if (typeof holder?.get === 'function') {
      const value = holder.get();
      if (value !== null && typeof value === 'object' && valid(value)) return value;
    }
  } catch {
    // something else under our key (a throwing proxy, a getter): start our own
  }
  const value = create();
  const holder: Holder<T> = Object.freeze({ get: () => value });
  try {
    Object.defineProperty(g, sym, { value: holder, writable: true, configurable: true, enumerable: false });
  } catch {
    // a frozen globalThis: this copy keeps its object to itself
  }
  return value;
}
