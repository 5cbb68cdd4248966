// The Sink object that every factory returns: a bound `write` (pass it as `run`'s `onEnd`) in
// front of a BoundedQueue, and a target that formats traces only when the queue drains.

import type { Trace } from '../runtime/types.js';
import type { TextOutput } from './outputs.js';
import { BoundedQueue, type QueueOptions, type QueueTarget, type SinkStats } from './queue.js';

export type { QueueOptions, SinkStats };

export interface Sink {
  readonly name: string;
  /**
   * Queues a trace and returns at once; never throws. Bound to the sink, so it can be passed
   * as it is: `run(fn, { onEnd: sink.write })`.
   */
  readonly write: (trace: Trace) => void;
  /** Resolves once everything queued so far has been written (or counted as lost). */
  flush(): Promise<void>;
  /** Flushes, then releases the destination; later writes are dropped and counted. */
  close(): Promise<void>;
  /** Live counters: written, dropped (queue full), failed (destination error), pending. */
  readonly stats: Readonly<SinkStats>;
}

/** Queue item standing for "n traces were dropped while the queue was full". */
export class DroppedNotice {
  constructor(
    readonly dropped: number,
    readonly timestamp = new Date().toISOString(),
  ) {}
}

export type SinkItem = Trace | DroppedNotice;

export function createSink(target: QueueTarget<SinkItem>, options: QueueOptions | undefined): Sink {
  const queue = new BoundedQueue<SinkItem>(target, options);
  return {
    name: target.name,
    write: (trace) => {
      // Anything but a trace object (a misplaced onEnd, undefined) is counted as dropped, not written.
      if (trace === null || typeof trace !== 'object') queue.stats.dropped++;
      else queue.push(trace);
    },
    flush: () => queue.flush(),
    close: () => queue.close(),
    get stats() {
      return queue.stats;
    },
  };
}

/**
 * A queue target that turns items into text (at drain time) and hands it to an output. A
 * formatter that throws on one item (a trace built by hand with a BigInt, say) costs that item
 * only: it is replaced by `onFormatError`'s text.
 */
export function textTarget(
  output: TextOutput,
  format: (item: SinkItem) => string,
  onFormatError: (err: unknown) => string,
): QueueTarget<SinkItem> {
  const render = (items: readonly SinkItem[]) => {
    let text = '';
    for (const item of items) {
      try {
        text += format(item);
      } catch (err) {
        text += onFormatError(err);
      }
    }
    return text;
  };
  return {
    name: output.name,
    write: (items, done) => output.write(render(items), done),
    writeSync: output.writeSync ? (items) => output.writeSync!(render(items)) : undefined,
    overflowNotice: (dropped) => new DroppedNotice(dropped),
    end: output.end ? (done) => output.end!(done) : undefined,
  };
}
