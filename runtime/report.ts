/**
 * Failures of code that stepmark runs for the program (an `onEnd`, a sink, an OpenTelemetry span
 * processor) are never thrown into the program; they are reported here, once per distinct failure:
 * a process warning (`process.emitWarning`, type `StepmarkWarning`, with a stable `code`), or
 * `console.warn` where there is no `process`. A failure that changes its message every time cannot
 * flood the output: after {@link MAX_DISTINCT} distinct failures of one code, one more line says
 * that further ones are not reported. The failure's text is escaped like everything stepmark
 * prints (`escapeForTerminal`): an error message can carry a caller's data.
 *
 * The record of what was reported lives on `globalThis` (a registered symbol), like the runtime's
 * state, so the ESM and CommonJS copies of the runtime do not report the same failure twice.
 */
import { escapeForTerminal } from './render.js';
import { describeError } from './snapshot.js';

const MAX_DISTINCT = 20;
/** Longest failure text in a warning (an error message can be megabytes). */
const MAX_TEXT = 300;
const MORE = '\u0000more';

const KEY = Symbol.for('stepmark.reported.v1');
const g = globalThis as unknown as Record<symbol, Map<string, Set<string>> | undefined>;
const reported: Map<string, Set<string>> = g[KEY] ?? (g[KEY] = new Map());

/**
 * Reports `error` under `code` (e.g. `STEPMARK_ON_END_FAILED`) with `what` saying what failed,
 * unless the same failure was reported before. Never throws.
 */
export function reportOnce(code: string, what: string, error: unknown): void {
  try {
    const text = escapeForTerminal(failureText(error));
    let seen = reported.get(code);
    if (seen === undefined) reported.set(code, (seen = new Set()));
    if (seen.has(text)) return;
    if (seen.size >= MAX_DISTINCT) {
      if (seen.has(MORE)) return;
      seen.add(MORE);
      emit(code, `${what}: further distinct failures of this kind are not reported`);
      return;
    }
    seen.add(text);
    emit(code, `${escapeForTerminal(what)}: ${text}`);
  } catch {
    // reporting is the last stop: nothing here may reach the program
  }
}

function failureText(error: unknown): string {
  const message = describeError(error);
  const name = error instanceof Error && error.name !== 'Error' ? `${error.name}: ` : '';
  const text = name + message;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

function emit(code: string, message: string): void {
  const p = (globalThis as { process?: { emitWarning?: (m: string, o: object) => void } }).process;
  if (typeof p?.emitWarning === 'function') {
    p.emitWarning(`stepmark: ${message}`, { type: 'StepmarkWarning', code });
  } else {
    globalThis.console?.warn?.(`[stepmark] ${code}: ${message}`);
  }
}
