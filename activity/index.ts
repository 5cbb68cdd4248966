/**
 * The activity-tracker pattern: `activity(operation, subject, kv)` starts an activity and returns
 * `{ reportErr, reportChange, end }`. Trackers decide where an activity goes: the stepmark trace
 * (a span plus events, the default), a log, nowhere, or several of those chained. All data passes
 * through one sanitizer first (redaction of sensitive field names, a size cap that keeps a hash and
 * a preview), so every tracker receives the same safe copy.
 *
 * @example
 * ```ts
 * using act = activity('order.update', order.id, { by: user.id, password });  // password → "[Redacted]"
 * try {
 *   act.reportChange({ status: { from: 'new', to: 'paid' } });
 * } catch (e) {
 *   act.reportErr(e);
 *   throw e;
 * }
 * // act.end() runs at the end of the block (`using`), or call it yourself; it is idempotent
 * ```
 */

import * as v1 from '../runtime/abi-calls.js';
import { enabled, scope } from '../runtime/index.js';
import { describeError } from '../runtime/snapshot.js';
import { type RedactOptions, type Sanitizer, sanitizer, type Truncated } from './redact.js';

export type { RedactOptions, Truncated };
export { sanitizer };

export type Kv = Record<string, unknown>;

/** What a tracker returns for one started activity. Methods may throw: `activity` isolates them. */
export interface ActivityReporter {
  reportErr(error: unknown, kv?: Kv): void;
  reportChange(change: Kv): void;
  end(kv?: Kv): void;
}

/** Something that records activities. `kv` and change data arrive already sanitised. */
export interface ActivityTracker {
  start(operation: string, subject: string | undefined, kv: Kv | undefined): ActivityReporter;
  /**
   * Whether `start` would record anything right now. When it returns false, `activity` skips
   * sanitising `kv` and returns a shared no-op handle: the cost of an activity nobody records.
   * Absent: always records.
   */
  enabled?(): boolean;
}

/** The handle `activity` returns. `end` is idempotent; later reports are ignored. */
export interface Activity {
  /** The operation; `""` on the shared no-op handle returned when nothing records. */
  readonly operation: string;
  readonly subject: string | undefined;
  reportErr(error: unknown, kv?: Kv): void;
  reportChange(change: Kv): void;
  end(kv?: Kv): void;
  [Symbol.dispose](): void;
}

const NOOP_REPORTER: ActivityReporter = Object.freeze({ reportErr() {}, reportChange() {}, end() {} });

/** A tracker that records nothing. */
export const noopTracker: ActivityTracker = Object.freeze({
  start: () => NOOP_REPORTER,
  enabled: () => false,
});

export interface StepmarkTrackerOptions {
  /** Entity kind given to the subject (e.g. `"order"`). */
  kind?: string;
}

/**
 * Records each activity in the active stepmark trace: a span named after the operation (an
 * entity-scoped span when there is a subject) whose `entered` event carries `kv`, a `changed`
 * event per `reportChange`, an `error` event and a failed span status for `reportErr`. Nothing is
 * recorded (at no cost) when no trace is active.
 */
export function stepmarkTracker(options: StepmarkTrackerOptions = {}): ActivityTracker {
  const kindScope = options.kind === undefined ? undefined : scope(options.kind);
  return {
    enabled: () => v1.on() && enabled(),
    start(operation, subject, kv) {
      if (!v1.on()) return NOOP_REPORTER;
      const handle =
        subject === undefined
          ? v1.enterUser(operation, kv)
          : kindScope === undefined
            ? v1.enterEntityUser(operation, subject, kv)
            : v1.scopeEnter(kindScope, operation, subject, kv);
      const event = (action: string, meta: Kv | undefined) =>
        subject === undefined
          ? v1.step(operation, action, meta)
          : kindScope === undefined
            ? v1.stepEntity(operation, subject, action, meta)
            : v1.scopeStep(kindScope, operation, subject, action, meta);
      return {
        reportErr(error, more) {
          event('error', { error: describeError(error), ...more });
          handle.fail(error);
        },
        reportChange(change) {
          event('changed', change);
        },
        end(more) {
          if (more !== undefined) event('ended', more);
          handle.exit();
        },
      };
    },
  };
}

/** A logger with pino's call shape (`logger.info(obj, msg)`), or a plain function receiving each record. */
export type ActivityLogger =
  | { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void }
  | ((record: ActivityLogRecord) => void);

export interface ActivityLogRecord {
  activity: string;
  subject?: string;
  event: 'start' | 'error' | 'change' | 'end';
  kv?: Kv;
  error?: string;
  change?: Kv;
  duration_ms?: number;
  outcome?: 'ok' | 'error';
}

/**
 * Logs each activity: one record at start, per error, per change and at the end (with duration
 * and outcome). With a pino logger, errors log at `error`, the rest at `info`.
 */
export function logTracker(logger: ActivityLogger): ActivityTracker {
  const emit =
    typeof logger === 'function'
      ? logger
      : (r: ActivityLogRecord) =>
          r.event === 'error'
            ? logger.error(r, `${r.activity} failed`)
            : logger.info(r, `${r.activity} ${r.event}`);
  const now: () => number = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();
  return {
    start(operation, subject, kv) {
      const base = subject === undefined ? { activity: operation } : { activity: operation, subject };
      const t0 = now();
      let failed = false;
      emit(kv === undefined ? { ...base, event: 'start' } : { ...base, event: 'start', kv });
      return {
        reportErr(error, more) {
          failed = true;
          const r: ActivityLogRecord = { ...base, event: 'error', error: describeError(error) };
          if (more !== undefined) r.kv = more;
          emit(r);
        },
        reportChange(change) {
          emit({ ...base, event: 'change', change });
        },
        end(more) {
          const r: ActivityLogRecord = {
            ...base,
            event: 'end',
            duration_ms: Math.round((now() - t0) * 1000) / 1000,
            outcome: failed ? 'error' : 'ok',
          };
          if (more !== undefined) r.kv = more;
          emit(r);
        },
      };
    },
  };
}

/**
 * Several trackers as one. Each call reaches every tracker; one that throws is skipped for that
 * call (and reported through `onError`) without stopping the others.
 */
export function chainTrackers(
  trackers: readonly ActivityTracker[],
  onError?: (err: unknown) => void,
): ActivityTracker {
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      try {
        onError?.(err);
      } catch {}
    }
  };
  return {
    enabled: () => trackers.some((t) => t.enabled === undefined || t.enabled()),
    start(operation, subject, kv) {
      const reporters: ActivityReporter[] = [];
      for (const t of trackers) guard(() => reporters.push(t.start(operation, subject, kv)));
      return {
        reportErr: (error, more) => {
          for (const r of reporters) guard(() => r.reportErr(error, more));
        },
        reportChange: (change) => {
          for (const r of reporters) guard(() => r.reportChange(change));
        },
        end: (more) => {
          for (const r of reporters) guard(() => r.end(more));
        },
      };
    },
  };
}

export interface ActivityOptions extends RedactOptions {
  /** Where activities go. Default: the tracker set with `setActivityTracker`, else `stepmarkTracker()`. */
  tracker?: ActivityTracker;
}

const NOOP_ACTIVITY: Activity = Object.freeze({
  operation: '',
  subject: undefined,
  reportErr() {},
  reportChange() {},
  end() {},
  [Symbol.dispose]() {},
});

let defaultTracker: ActivityTracker = stepmarkTracker();
let defaultSanitize: Sanitizer = sanitizer();

/**
 * Sets the tracker (and sanitiser options) that `activity` uses when none is passed.
 *
 * @example
 * ```ts
 * setActivityTracker(chainTrackers([stepmarkTracker({ kind: 'order' }), logTracker(pino())]));
 * ```
 */
export function setActivityTracker(tracker: ActivityTracker, options?: RedactOptions): void {
  defaultTracker = tracker;
  defaultSanitize = sanitizer(options);
}

/**
 * Starts an activity: `operation` (e.g. `"order.update"`), its `subject` (the entity id it acts
 * on, or undefined) and context `kv`. Returns `{ reportErr, reportChange, end }`, also
 * `Disposable` (`using`). Never throws into the caller: tracker failures are swallowed.
 */
export function activity(
  operation: string,
  subject?: string | number,
  kv?: Kv,
  options?: ActivityOptions,
): Activity {
  const tracker = options?.tracker ?? defaultTracker;
  try {
    if (tracker.enabled !== undefined && !tracker.enabled()) return NOOP_ACTIVITY;
  } catch {}
  const sanitize =
    options &&
    (options.redact !== undefined || options.maxValueSize !== undefined || options.previewSize !== undefined)
      ? sanitizer(options)
      : defaultSanitize;
  const subj = subject === undefined || subject === null ? undefined : String(subject);
  let reporter: ActivityReporter = NOOP_REPORTER;
  try {
    reporter = tracker.start(operation, subj, sanitize(kv));
  } catch {}
  let ended = false;
  const end = (more?: Kv) => {
    if (ended) return;
    ended = true;
    try {
      reporter.end(sanitize(more));
    } catch {}
  };
  return {
    operation,
    subject: subj,
    reportErr(error, more) {
      if (ended) return;
      try {
        reporter.reportErr(error, sanitize(more));
      } catch {}
    },
    reportChange(change) {
      if (ended) return;
      try {
        reporter.reportChange(sanitize(change) ?? {});
      } catch {}
    },
    end,
    [Symbol.dispose]: () => end(),
  };
}
