/**
 * Process warnings a test expects (`process.emitWarning`): Node prints every warning to stderr
 * through a listener of its own, so a test that only adds a listener still prints it. This one
 * takes the warnings from every listener while `fn` runs, and returns them for the test to check.
 */
export async function captureWarnings(fn: () => unknown): Promise<Error[]> {
  const warnings: Error[] = [];
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    await fn();
    // emitWarning dispatches on the next tick
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
    for (const l of listeners) process.on('warning', l);
  }
  return warnings;
}
