// One process 'exit' listener for all sinks (instead of one per sink, which would trip Node's
// MaxListenersExceededWarning in apps that create many). At 'exit' only synchronous work runs, so
// each sink writes what it still holds with its synchronous path.
//
// Signals are left alone on purpose: installing a SIGINT/SIGTERM handler would change how the
// application exits. Apps that exit on a signal should call `sink.flush()` in their own handler.

const flushers = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const flush of flushers) {
    try {
      flush();
    } catch {
      // each sink reports its own failures; exiting must go on
    }
  }
}

/** Registers a synchronous flush to run at process exit; returns the function that removes it. */
export function registerExitFlush(flush: () => void): () => void {
  const p = (globalThis as { process?: { prependOnceListener?: (e: string, fn: () => void) => void } })
    .process;
  if (typeof p?.prependOnceListener !== 'function') return () => {};
  flushers.add(flush);
  if (!installed) {
    installed = true;
    // First among 'exit' listeners: a logger's own exit flush (pino's final flushSync) must come
    // after the lines we still hand to it, or they are lost.
    p.prependOnceListener('exit', runAll);
  }
  return () => {
    flushers.delete(flush);
  };
}
