// The live bus: a bounded ring of published items that subscribers read through their own
// cursor. Publishing never waits for anyone: it overwrites the oldest slot and wakes the
// subscribers that are parked. A subscriber that falls more than `capacity` items behind
// finds its next items already overwritten; it skips to the oldest item still held and is
// told how many it lost. Because a subscriber is nothing but a sequence number, "backlog
// then live" is one code path and exactly-once delivery follows from the cursor only moving
// forward, one item at a time: there is no hand-over between a backlog copy and a live
// queue where an item could be missed or seen twice.

import { checkType, invalidOption, knownOptions } from '../adapters/core/errors.js';

/** What a bus item carries: a finished trace, or a live span/step event. */
export type LiveKind = 'trace' | 'event';

export interface LiveItem<T = unknown> {
  /** Position in this bus, 1-based, strictly increasing. */
  readonly seq: number;
  /** `"<epoch>:<seq>"`: the SSE event id. The epoch tells ids of a restarted process apart. */
  readonly id: string;
  readonly kind: LiveKind;
  readonly data: T;
}

export interface Delivery<T = unknown> {
  readonly item: LiveItem<T>;
  /**
   * Items this subscriber lost right before `item` (overwritten before it read them). Counts
   * only the kinds it reads, except for a gap before an id that was already overwritten when it
   * subscribed: the bus no longer knows their kinds, so that gap counts items of any kind.
   */
  readonly lost: number;
}

export interface BusOptions {
  /** Items held for late and slow subscribers. Default 1000. */
  capacity?: number;
  /** Accept live span/step events (`publishEvent`); otherwise they are ignored. Default false. */
  liveEvents?: boolean;
}

export interface SubscribeOptions {
  /**
   * Deliver items published after this one. Accepts a sequence number or an id
   * (`"<epoch>:<seq>"`, e.g. a `Last-Event-ID`). An id of another epoch (the process was
   * restarted) replays the whole backlog. Default: only items published from now on.
   */
  since?: number | string | null;
  /** Only these kinds (items of other kinds are skipped, and not counted as lost). */
  kinds?: readonly LiveKind[];
  /** Cancels the subscription when aborted. */
  signal?: AbortSignal;
}

export interface Subscription<T = unknown> extends AsyncIterableIterator<Delivery<T>> {
  /** The next delivery, without waiting: `undefined` when nothing new is held. */
  poll(): Delivery<T> | undefined;
  /** Ends the subscription; a pending `next()` resolves with `done: true`. Idempotent. */
  cancel(): void;
  readonly cancelled: boolean;
  /** Total items this subscriber lost so far. */
  readonly lost: number;
}

const DEFAULT_CAPACITY = 1000;

function randomEpoch(): string {
  // Not a secret: only tells two process lifetimes apart.
  return (Date.now() % 0x100000000).toString(36) + Math.floor(Math.random() * 0x100000).toString(36);
}

/** Parses `since` into a sequence number of this bus (0 = from the oldest held item). */
function parseSince(since: number | string | null | undefined, epoch: string, head: number): number {
  if (since === undefined || since === null || since === '') return head;
  let seq: number;
  if (typeof since === 'number') {
    if (!Number.isFinite(since)) return head;
    seq = Math.max(0, Math.floor(since));
  } else {
    const colon = since.lastIndexOf(':');
    const seqText = colon < 0 ? since : since.slice(colon + 1);
    // Garbage, or another epoch's id (a previous process): replay what we hold.
    if (!/^\d{1,15}$/.test(seqText)) return 0;
    if (colon >= 0 && since.slice(0, colon) !== epoch) return 0;
    seq = Number(seqText);
  }
  // A position this bus has not reached (it cannot have produced it) is treated like a
  // foreign id rather than silently skipping that many items.
  return seq > head ? 0 : seq;
}

export class LiveBus<T = unknown> {
  readonly capacity: number;
  readonly liveEvents: boolean;
  readonly epoch: string = randomEpoch();
  readonly #ring: (LiveItem<T> | undefined)[];
  // For each held seq, how many traces were published up to and including it. With it a
  // subscriber that reads only some kinds is told how many of *those* it lost.
  readonly #tracesUpToRing: Float64Array;
  #traces = 0;
  #head = 0; // seq of the newest item (0: none yet)
  #waiters = new Set<() => void>();
  #subscribers = 0;

  constructor(options: BusOptions = {}) {
    const o = knownOptions('stepmark/live createBus', options, ['capacity', 'liveEvents']);
    checkType('stepmark/live createBus', o, 'liveEvents', 'boolean');
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw invalidOption(
        'stepmark/live createBus',
        'capacity',
        `must be a positive integer, got ${String(capacity)}`,
      );
    }
    this.capacity = capacity;
    this.liveEvents = options.liveEvents ?? false;
    this.#ring = new Array(capacity);
    this.#tracesUpToRing = new Float64Array(capacity);
  }

  /** Sequence number of the newest item (0 before the first publish). */
  get head(): number {
    return this.#head;
  }

  /** Sequence number of the oldest item still held (head + 1 when empty). */
  get tail(): number {
    return Math.max(1, this.#head - this.capacity + 1);
  }

  /** Open subscriptions. */
  get subscribers(): number {
    return this.#subscribers;
  }

  /** Publishes a finished trace. Never blocks and never throws; returns the item. */
  publish(trace: T): LiveItem<T> {
    return this.#push('trace', trace);
  }

  /** Publishes a live span/step event; ignored (returns undefined) unless `liveEvents`. */
  publishEvent(event: T): LiveItem<T> | undefined {
    return this.liveEvents ? this.#push('event', event) : undefined;
  }

  /** The items still held, oldest first (a copy). */
  snapshot(kinds?: readonly LiveKind[]): LiveItem<T>[] {
    const out: LiveItem<T>[] = [];
    for (let seq = this.tail; seq <= this.#head; seq++) {
      const item = this.#ring[seq % this.capacity]!;
      if (!kinds || kinds.includes(item.kind)) out.push(item);
    }
    return out;
  }

  /**
   * Reads the backlog after `since`, then live items, each exactly once. Pass the options, or
   * just `since` (`bus.subscribe(lastEventId)`).
   */
  subscribe(options: SubscribeOptions | number | string | null = {}): Subscription<T> {
    return this.#subscription(options === null || typeof options !== 'object' ? { since: options } : options);
  }

  #push(kind: LiveKind, data: T): LiveItem<T> {
    const seq = this.#head + 1;
    // No clock read here: publishing sits on the request path (traces carry their own timestamps).
    const item: LiveItem<T> = { seq, id: `${this.epoch}:${seq}`, kind, data };
    if (kind === 'trace') this.#traces++;
    this.#ring[seq % this.capacity] = item;
    this.#tracesUpToRing[seq % this.capacity] = this.#traces;
    this.#head = seq;
    if (this.#waiters.size > 0) {
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const wake of waiters) wake();
    }
    return item;
  }

  /** Traces among items 1..seq, when the bus can still tell (seq held, just evicted, 0 or head). */
  #tracesUpTo(seq: number): number | undefined {
    if (seq <= 0) return 0;
    if (seq >= this.#head) return this.#traces;
    const tail = this.tail;
    if (seq >= tail) return this.#tracesUpToRing[seq % this.capacity];
    if (seq === tail - 1) {
      const first = this.#ring[tail % this.capacity]!;
      return this.#tracesUpToRing[tail % this.capacity]! - (first.kind === 'trace' ? 1 : 0);
    }
    return undefined;
  }

  #subscription(options: SubscribeOptions): Subscription<T> {
    const kinds = options.kinds;
    let cursor = parseSince(options.since, this.epoch, this.#head); // last seq handled
    let carry = 0; // lost items not yet reported
    let lostTotal = 0;
    let cancelled = false;
    // Readers parked in next(), served in call order so concurrent next() calls never
    // share or reorder items.
    const readers: ((result: IteratorResult<Delivery<T>>) => void)[] = [];
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    this.#subscribers++;

    // Traces among items 1..cursor. The subscriber keeps its own count because the item at its
    // cursor may be overwritten by the time it reads on; undefined when it starts from an
    // already overwritten id (then a gap is reported as the number of items of any kind).
    let tracesSeen = this.#tracesUpTo(cursor);

    const poll = (): Delivery<T> | undefined => {
      while (!cancelled && cursor < this.#head) {
        const tail = this.tail;
        if (cursor + 1 < tail) {
          const to = tail - 1;
          const tracesTo = this.#tracesUpTo(to)!;
          if (kinds && tracesSeen !== undefined) {
            const traces = tracesTo - tracesSeen;
            carry +=
              (kinds.includes('trace') ? traces : 0) + (kinds.includes('event') ? to - cursor - traces : 0);
          } else carry += to - cursor;
          cursor = to;
          tracesSeen = tracesTo;
        }
        cursor++;
        tracesSeen = this.#tracesUpToRing[cursor % this.capacity];
        const item = this.#ring[cursor % this.capacity]!;
        if (kinds && !kinds.includes(item.kind)) continue;
        const lost = carry;
        carry = 0;
        lostTotal += lost;
        return { item, lost };
      }
      return undefined;
    };

    const serve = (): void => {
      while (readers.length > 0) {
        if (cancelled) {
          readers.shift()!(done);
          continue;
        }
        const got = poll();
        if (!got) break;
        readers.shift()!({ done: false, value: got });
      }
      if (readers.length > 0) this.#waiters.add(serve);
    };

    const cancel = (): void => {
      if (cancelled) return;
      cancelled = true;
      this.#subscribers--;
      this.#waiters.delete(serve);
      options.signal?.removeEventListener('abort', cancel);
      serve();
    };
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel, { once: true });

    const next = (): Promise<IteratorResult<Delivery<T>>> =>
      new Promise((resolve) => {
        readers.push(resolve);
        serve();
      });

    return {
      next,
      poll: () => (readers.length > 0 ? undefined : poll()),
      cancel,
      return(): Promise<IteratorResult<Delivery<T>>> {
        cancel();
        return Promise.resolve(done);
      },
      get cancelled() {
        return cancelled;
      },
      get lost() {
        return lostTotal;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

/** Creates a bus. See {@link LiveBus}. */
export function createBus<T = unknown>(options?: BusOptions): LiveBus<T> {
  return new LiveBus<T>(options);
}
