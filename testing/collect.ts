/**
 * `stepmark/testing/collect`: the worker half of the decision-coverage reporter
 * (`stepmark/testing/reporter`). Loaded in every test file (Vitest `setupFiles`, Jest
 * `setupFilesAfterEnv`), it counts the spans and events of every trace that ends in the worker
 * — `capture`, `run`, a traced request — and appends the counts, one line per trace, to a file of
 * its own in the directory the reporter named in `STEPMARK_COVERAGE_DIR`. Without that variable
 * (tests run without the reporter) it does nothing.
 *
 * Counts, not traces, cross the process boundary: a line is a few names and numbers, whatever
 * the trace held, and the reporter reads them with the catalog at the end of the run.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { bump, newTally, type Tally } from '../runtime/catalog.js';
import { addObserver } from '../runtime/observers.js';

/** The environment variable the reporter sets for its workers. */
export const COVERAGE_DIR_ENV = 'STEPMARK_COVERAGE_DIR';

/** One line of a worker's file. */
export interface TallyLine {
  /** Traces ended since the previous line. */
  traces: number;
  /** `[name, location, count]` of spans opened. */
  spans: [string, string, number][];
  /** `[stage, action, count]` of events recorded (span enter/exit left out). */
  events: [string, string, number][];
}

const KEY = Symbol.for('stepmark.testing.collect.v1');

function start(dir: string): void {
  // Once per global: test files that share one (Vitest reuses a worker's global) share one collector.
  const g = globalThis as unknown as Record<symbol, unknown>;
  if (g[KEY] !== undefined) return;
  const file = join(
    dir,
    `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}.ndjson`,
  );
  let tally: Tally = newTally();
  let failed = false;
  const flush = (): void => {
    const line: TallyLine = { traces: 1, spans: [], events: [] };
    for (const [name, m] of tally.spans) for (const [loc, n] of m) line.spans.push([name, loc, n]);
    for (const [stage, m] of tally.events) for (const [action, n] of m) line.events.push([stage, action, n]);
    tally = newTally();
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch (error) {
      if (failed) return;
      failed = true; // said once; the test run itself goes on
      process.stderr.write(
        `stepmark/testing/collect: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? error}): decision coverage will miss this worker's traces\n`,
      );
    }
  };
  g[KEY] = addObserver({
    spanStart(span) {
      bump(tally.spans, span.name, span.location ?? '');
    },
    event(event) {
      if (event.action !== 'entered' && event.action !== 'exited')
        bump(tally.events, event.stage, event.action);
    },
    traceEnd: flush,
  });
}

const dir = typeof process === 'object' ? process.env?.[COVERAGE_DIR_ENV] : undefined;
if (dir) start(dir);
