import type { Trace } from '../runtime/types.js';

/** What the helpers accept: a trace, or `capture`'s `{ result, trace }`. */
export type TraceLike = Trace | { trace: Trace };

export function asTrace(t: TraceLike): Trace {
  if (t && typeof t === 'object' && 'trace' in t && t.trace && typeof t.trace === 'object') return t.trace;
  return t as Trace;
}
