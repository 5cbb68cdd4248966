// The recorder's memory: two byte-bounded rings (ordinary traffic, and traces kept by a rule),
// oldest first, each with two indexes (entity id, request id). Every byte figure is what
// the held data costs on the heap, counted with its overheads, so that the recorder's own
// accounting is an upper bound of what it keeps alive.
import type { Trace } from '../runtime/types.js';
import type { TraceFacts } from './facts.js';

/** A stored trace, in whatever form is cheapest to hold; turned into the trace format on demand. */
export interface Payload {
  /** Heap bytes held by this payload (an upper bound). */
  readonly bytes: number;
  /** A fresh, independent trace object. */
  trace(): Trace;
  /** The trace as one line of JSON (no newline). */
  json(): string;
  /** Whether the trace has an event of this stage and/or action (among `entity`'s events when given). */
  hasEvent(entity: string | undefined, stage: string | undefined, action: string | undefined): boolean;
}

export interface Entry {
  /** Add order: larger is newer. */
  readonly seq: number;
  /** `Date.now()` when it was added (what `maxAge` is measured against). */
  readonly added: number;
  readonly facts: TraceFacts;
  readonly payload: Payload;
  /** Held under a keep rule (in the keep budget). */
  readonly kept: boolean;
  /** Heap bytes of the entry: payload, entry, index entries. */
  readonly bytes: number;
}

// Per-entry heap cost besides the payload: the entry and facts objects, the ring slot, the
// entity-id array. Per index key: the map entry with its share of the table's spare capacity, the
// array holding entries of a repeated key, the key string's header. Measured on Node 24 (x64, no
// pointer compression) and rounded up; see bench/recorder.bench.mjs for the heap check.
const ENTRY_BYTES = 256;
const INDEX_KEY_BYTES = 112;

/** Heap bytes of a string: header plus one byte per character, two when it needs 16 bits. */
export function stringBytes(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is for any code unit above Latin-1
  return 24 + (/[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length);
}

/** What an entry costs besides its payload. */
export function overheadBytes(facts: TraceFacts): number {
  let bytes = ENTRY_BYTES + 8 * facts.entities.length;
  for (const id of facts.entities) bytes += INDEX_KEY_BYTES + stringBytes(id);
  if (facts.requestId !== undefined) bytes += INDEX_KEY_BYTES + stringBytes(facts.requestId);
  return bytes;
}

/**
 * Oldest-first queue of entries with a byte total, and its indexes. Entries leave in the order
 * they came (eviction and expiry both take the oldest), so each leaves its index arrays from the
 * front.
 */
export class Ring {
  bytes = 0;
  budget: number;
  readonly byEntity = new Index();
  readonly byRequest = new Index();
  #items: (Entry | undefined)[] = [];
  #head = 0;

  constructor(budget: number) {
    this.budget = budget;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(e: Entry): void {
    this.#items.push(e);
    this.bytes += e.bytes;
    for (const id of e.facts.entities) this.byEntity.add(id, e);
    if (e.facts.requestId !== undefined) this.byRequest.add(e.facts.requestId, e);
  }

  oldest(): Entry | undefined {
    return this.#items[this.#head];
  }

  shift(): Entry | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const e = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined;
    this.bytes -= e.bytes;
    for (const id of e.facts.entities) this.byEntity.remove(id, e);
    if (e.facts.requestId !== undefined) this.byRequest.remove(e.facts.requestId, e);
    // Reclaim the dead front once it is most of the array.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return e;
  }

  /** Entries oldest first. */
  *[Symbol.iterator](): IterableIterator<Entry> {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) yield items[i]!;
  }

  /** Entries newest first. */
  *newestFirst(): IterableIterator<Entry> {
    const items = this.#items;
    for (let i = items.length - 1; i >= this.#head; i--) yield items[i]!;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.bytes = 0;
    this.byEntity.clear();
    this.byRequest.clear();
  }
}

const NONE: readonly Entry[] = Object.freeze([]);

/**
 * Entries by key (entity id, request id), oldest first per key. Most keys name one entry, so a
 * key holds the entry itself until a second one arrives.
 */
export class Index {
  #map = new Map<string, Entry | Entry[]>();

  add(key: string, e: Entry): void {
    const held = this.#map.get(key);
    if (held === undefined) this.#map.set(key, e);
    else if (Array.isArray(held)) held.push(e);
    else this.#map.set(key, [held, e]);
  }

  remove(key: string, e: Entry): void {
    const held = this.#map.get(key);
    if (held === e) this.#map.delete(key);
    else if (Array.isArray(held)) {
      // Entries leave their ring oldest first: this one is at the front.
      if (held[0] === e) held.shift();
      else {
        const i = held.indexOf(e);
        if (i >= 0) held.splice(i, 1);
      }
      if (held.length === 1) this.#map.set(key, held[0]!);
      else if (held.length === 0) this.#map.delete(key);
    }
  }

  /** Entries under `key`, oldest first (the index's own array: read it, never change it). */
  get(key: string): readonly Entry[] {
    const held = this.#map.get(key);
    if (held === undefined) return NONE;
    return Array.isArray(held) ? held : [held];
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map = new Map();
  }
}
