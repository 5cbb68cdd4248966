// The bounded, non-blocking queue behind every sink.
//
// `push` only appends to an array and, at most once per tick, schedules a drain with setImmediate:
// the request path never formats, serialises or performs I/O. Formatting happens in the drain, one
// batch at a time, and the next batch waits for the previous write to complete (backpressure). When
// the queue is full new items are dropped and counted; once the queue has room again the sink is
// told how many were lost (`onOverflowEnd`), so the loss shows up in the sink's own output.
// A failing target is reported once and the sink turns itself off: nothing ever throws to the app.

import { checkType, invalidOption } from '../adapters/core/errors.js';
import { escapeForTerminal, oneLine } from '../runtime/render.js';
import { reportOnce } from '../runtime/report.js';
import { registerExitFlush } from './exit.js';

export interface SinkStats {
  /** Items accepted by `write` and handed to the target. */
  written: number;
  /** Items dropped because the queue was full (or the sink was closed or failed). */
  dropped: number;
  /** Items lost because the target failed. */
  failed: number;
  /** Items waiting in the queue. */
  pending: number;
  /** The first error of the target, once it failed; the sink writes nothing after that. */
  error?: Error;
}

const WHERE = 'stepmark/sinks';

/** The keys of {@link QueueOptions}, which every sink's options share (typed: none is forgotten). */
export const QUEUE_OPTIONS: readonly string[] = Object.keys({
  maxQueue: true,
  batchSize: true,
  flushOnExit: true,
  flushTimeout: true,
  onError: true,
} satisfies Record<keyof QueueOptions, true>);

export interface QueueOptions {
  /** Most items kept waiting; further writes are dropped and counted. Default 1000. */
  maxQueue?: number;
  /** Most items formatted and written in one go. Default 100. */
  batchSize?: number;
  /** Flush synchronously when the process exits (Node only). Default true. */
  flushOnExit?: boolean;
  /**
   * Longest time `flush()` (and so `close()`) waits for the destination, in milliseconds; then it
   * resolves anyway and the stall is reported once (code `STEPMARK_SINK_FLUSH_TIMEOUT`). What is
   * still queued stays queued. Default 10000.
   */
  flushTimeout?: number;
  /**
   * Called once when the target fails, once per overflow episode and once per stall; default: a
   * Node process warning (`process.emitWarning`, codes `STEPMARK_SINK_FAILED`,
   * `STEPMARK_SINK_OVERFLOW`, `STEPMARK_SINK_FLUSH_TIMEOUT`).
   */
  onError?: (error: Error) => void;
}

/** How a queue reaches its destination. Implemented once per kind of target. */
export interface QueueTarget<T> {
  readonly name: string;
  /** Writes a batch; calls `done` when the next batch may be written. May throw (counted as failure). */
  write(items: readonly T[], done: (err?: Error | null) => void): void;
  /** Writes a batch synchronously, at process exit. Absent: what is pending at exit is lost. */
  writeSync?(items: readonly T[]): void;
  /** Turns the notice "n items were dropped" into an item, or returns undefined to skip it. */
  overflowNotice?(dropped: number): T | undefined;
  /** Releases the target (closes a file descriptor); called by `close` after the last write. */
  end?(done: () => void): void;
}

export class SinkError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkError';
    this.code = code;
  }
}

const schedule: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

function defaultReport(error: Error): void {
  const p = (globalThis as { process?: { emitWarning?: (w: Error) => void } }).process;
  if (p?.emitWarning) p.emitWarning(error);
  else console.warn(error.message);
}

export class BoundedQueue<T> {
  readonly stats: SinkStats = { written: 0, dropped: 0, failed: 0, pending: 0 };
  // Waiting items are items[head..]; taking a batch advances `head` (no O(n) shift per batch).
  private items: T[] = [];
  private head = 0;
  private scheduled = false;
  private writing = false;
  private closed = false;
  private overflowing = 0;
  // Reported a stall (a flush that timed out) since the destination last completed a write.
  private stalled = false;
  private waiters: (() => void)[] = [];
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly flushTimeout: number;
  private readonly report: (error: Error) => void;
  private readonly unregisterExit: () => void;

  constructor(
    private readonly target: QueueTarget<T>,
    options: QueueOptions = {},
  ) {
    this.maxQueue = positiveInt(options.maxQueue, 1000, 'maxQueue');
    this.batchSize = positiveInt(options.batchSize, 100, 'batchSize');
    this.flushTimeout = positiveMs(options.flushTimeout, 10_000, 'flushTimeout');
    checkType(WHERE, options as Record<string, unknown>, 'flushOnExit', 'boolean');
    checkType(WHERE, options as Record<string, unknown>, 'onError', 'function');
    const onError = options.onError ?? defaultReport;
    this.report = (error) => {
      try {
        onError(error);
      } catch (hookError) {
        // a throwing error handler must not reach the application either; its own failure is
        // reported once, with what it was told
        reportOnce(
          'STEPMARK_SINK_ON_ERROR_FAILED',
          `a sink's onError threw when told: ${oneLine(error.message, 160)}`,
          hookError,
        );
      }
    };
    this.unregisterExit =
      options.flushOnExit === false ? () => {} : registerExitFlush(() => this.flushSync());
  }

  private get size(): number {
    return this.items.length - this.head;
  }

  /** Queues one item. Never throws, never blocks; returns false when the item was dropped. */
  push(item: T): boolean {
    if (this.closed || this.stats.error) {
      this.stats.dropped++;
      return false;
    }
    if (this.size >= this.maxQueue) {
      this.stats.dropped++;
      if (this.overflowing++ === 0) {
        this.report(
          new SinkError(
            'STEPMARK_SINK_OVERFLOW',
            `stepmark sink ${escapeForTerminal(this.target.name)}: queue full (maxQueue ${this.maxQueue}), dropping until it drains; see sink.stats`,
          ),
        );
      }
      return false;
    }
    this.items.push(item);
    this.stats.pending = this.size;
    this.kick();
    return true;
  }

  /**
   * Resolves once everything queued so far has been written (or lost), or after `flushTimeout`
   * when the destination stalls (the stall is then reported).
   */
  flush(): Promise<void> {
    if (this.size === 0 && !this.writing && this.overflowing === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        this.reportStall();
        resolve();
      }, this.flushTimeout);
      this.waiters.push(done);
      this.kick();
    });
  }

  private reportStall(): void {
    if (this.stalled) return;
    this.stalled = true;
    this.report(
      new SinkError(
        'STEPMARK_SINK_FLUSH_TIMEOUT',
        `stepmark sink ${escapeForTerminal(this.target.name)}: flush gave up after ${this.flushTimeout} ms: the destination has not ` +
          `completed a write (${this.size} item(s) still queued); see sink.stats`,
      ),
    );
  }

  /** Flushes, releases the target, and drops anything written afterwards. */
  async close(): Promise<void> {
    if (this.closed) return this.flush();
    await this.flush();
    this.closed = true;
    this.unregisterExit();
    const end = this.target.end;
    if (end && !this.stats.error) await new Promise<void>((resolve) => end.call(this.target, resolve));
  }

  private kick(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    schedule(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private takeBatch(): T[] {
    const end = Math.min(this.head + this.batchSize, this.items.length);
    const batch = this.items.slice(this.head, end);
    this.head = end;
    if (end === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (end >= 1024 && end * 2 >= this.items.length) {
      this.items = this.items.slice(end);
      this.head = 0;
    }
    // The queue has room again: tell the destination how much it missed, in its own format.
    if (this.overflowing > 0 && this.size < this.maxQueue) {
      const notice = this.target.overflowNotice?.(this.overflowing);
      this.overflowing = 0;
      if (notice !== undefined) batch.push(notice);
    }
    this.stats.pending = this.size;
    return batch;
  }

  private drain(): void {
    if (this.writing) return;
    const batch = this.stats.error ? [] : this.takeBatch();
    if (batch.length === 0) {
      this.settle();
      return;
    }
    this.writing = true;
    let called = false;
    const done = (err?: Error | null) => {
      if (called) return;
      called = true;
      this.writing = false;
      this.stalled = false;
      if (err) this.fail(err, batch.length);
      else this.stats.written += batch.length;
      if (this.size > 0 || this.overflowing > 0) this.kick();
      else this.settle();
    };
    try {
      this.target.write(batch, done);
    } catch (err) {
      done(toError(err));
    }
  }

  /** At process exit: write what is left, synchronously, because no callback will run anymore. */
  flushSync(): void {
    if (this.stats.error || !this.target.writeSync) return;
    let batch: T[] = [];
    try {
      for (;;) {
        batch = this.takeBatch();
        if (batch.length === 0) break;
        this.target.writeSync(batch);
        this.stats.written += batch.length;
      }
    } catch (err) {
      this.fail(toError(err), batch.length); // fail() adds what is still queued
    }
  }

  private fail(err: Error, lost: number): void {
    if (!this.stats.error) {
      this.stats.error = err;
      this.report(
        new SinkError(
          'STEPMARK_SINK_FAILED',
          `stepmark sink ${escapeForTerminal(this.target.name)} failed and is now off: ${escapeForTerminal(String(err.message))}`,
          {
            cause: err,
          },
        ),
      );
    }
    this.stats.failed += lost + this.size;
    this.items = [];
    this.head = 0;
    this.stats.pending = 0;
    this.settle();
  }

  private settle(): void {
    if (this.size > 0 || this.writing) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The longest delay a timer takes (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function positiveMs(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw invalidOption(WHERE, name, `must be a positive number of milliseconds, got ${String(value)}`);
  }
  return Math.min(value, MAX_TIMER_MS);
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw invalidOption(WHERE, name, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
