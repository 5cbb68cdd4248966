// A JSON-able description of any value, so that results, thrown values and logged side effects
// can be compared across processes: the fixture runner (runner.mjs) and the library runner
// (test/libraries/runner.mjs) print what their runs produced through it.

/** A JSON-able description of any value, so results can be compared across processes. */
export function describe(value, seen = new Set()) {
  switch (typeof value) {
    case 'undefined':
      return { undefined: true };
    case 'number':
      if (Number.isNaN(value)) return { number: 'NaN' };
      if (!Number.isFinite(value)) return { number: String(value) };
      if (Object.is(value, -0)) return { number: '-0' };
      return value;
    case 'bigint':
      return { bigint: String(value) };
    case 'symbol':
      return { symbol: value.description };
    case 'function':
      return { function: value.name, length: value.length };
    case 'string':
    case 'boolean':
      return value;
  }
  if (value === null) return null;
  if (seen.has(value)) return { circular: true };
  seen.add(value);
  try {
    if (value instanceof Error) {
      const own = {};
      for (const k of Object.keys(value)) if (k !== 'stepmarkTrace') own[k] = describe(value[k], seen);
      return { error: value.name, message: value.message, class: value.constructor?.name, own };
    }
    if (Array.isArray(value)) return value.map((v) => describe(v, seen));
    if (value instanceof Map)
      return { map: [...value].map(([k, v]) => [describe(k, seen), describe(v, seen)]) };
    if (value instanceof Set) return { set: [...value].map((v) => describe(v, seen)) };
    if (typeof value.then === 'function') return { thenable: true };
    const out = {};
    for (const k of Object.keys(value)) out[k] = describe(value[k], seen);
    const proto = Object.getPrototypeOf(value);
    const cls = proto === null ? 'null' : proto === Object.prototype ? undefined : proto.constructor?.name;
    return cls === undefined ? out : { class: cls, fields: out };
  } catch (e) {
    // e.g. a revoked Proxy, or a getter that throws: what could not be read is part of the result
    return { unreadable: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  } finally {
    seen.delete(value);
  }
}
