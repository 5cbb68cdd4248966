// The recorder's memory: rings of packed traces (ordinary traffic, and traces kept by a rule),
// oldest first, each indexed by entity id and request id. Nothing of a held trace is a JavaScript
// object: its bytes are in chunks outside the heap, its facts in typed arrays, its index keys are
// hashes in two maps of numbers. A program recording every request therefore gives the garbage
// collector nothing more to copy or mark than one that records none (a ring of trace objects cost
// a server more in collection than recording them did).
import type { TraceFacts } from './facts.js';
import { type Held, heldKeys, type Writer } from './packed.js';

// Heap bytes a held trace costs besides its packed bytes: its slots in the entry arrays (with the
// arrays' spare capacity) and, per index key, its slots in the node arrays and its map entry (with
// the table's spare capacity). Rounded up.
const ENTRY_BYTES = 128;
const KEY_BYTES = 96;

const KIND_ENTITY = 0;
const KIND_REQUEST = 1;

/** 32-bit FNV-1a of the string's code units (a small integer: no allocation as a map key). */
export function keyHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Grows a typed array to `size`, keeping each absolute index `i` at `i & (size - 1)`. */
function regrow<T extends Float64Array | Int32Array | Uint8Array>(
  old: T,
  size: number,
  first: number,
  next: number,
  make: (n: number) => T,
): T {
  const out = make(size);
  // [first, next) in runs that are contiguous in both arrays (at most three), each one copy
  for (let i = first; i < next; ) {
    const from = i & (old.length - 1);
    const to = i & (size - 1);
    const run = Math.min(next - i, old.length - from, size - to);
    out.set(old.subarray(from, from + run), to);
    i += run;
  }
  return out;
}

/**
 * Hash → number (an index chain's newest node), in typed arrays: open addressing with linear
 * probing, deletion by moving later entries back (no tombstones, so no rehash in a steady state).
 * Hash 0 is stored as 1 (0 marks an empty slot): the two share chains, which are checked anyway.
 */
class HashIndex {
  #keys = new Int32Array(256);
  #values = new Float64Array(256);
  #shift = 24;
  #count = 0;

  #home(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> this.#shift;
  }

  get(h: number): number {
    if (h === 0) h = 1;
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = this.#home(h); keys[i] !== 0; i = (i + 1) & mask) if (keys[i] === h) return this.#values[i]!;
    return -1;
  }

  /** Sets `h` to `v`; returns what it was (-1: nothing). */
  put(h: number, v: number): number {
    if (h === 0) h = 1;
    if ((this.#count + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = keys.length - 1;
    let i = this.#home(h);
    while (keys[i] !== 0 && keys[i] !== h) i = (i + 1) & mask;
    let was = -1;
    if (keys[i] === 0) this.#count++;
    else was = this.#values[i]!;
    keys[i] = h;
    this.#values[i] = v;
    return was;
  }

  /** Removes `h` if it is set to `v`. */
  deleteIf(h: number, v: number): void {
    if (h === 0) h = 1;
    const keys = this.#keys;
    const values = this.#values;
    const mask = keys.length - 1;
    let i = this.#home(h);
    while (keys[i] !== h) {
      if (keys[i] === 0) return;
      i = (i + 1) & mask;
    }
    if (values[i] !== v) return;
    keys[i] = 0;
    this.#count--;
    // move back the entries after it whose probe would now stop at the hole
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = this.#home(keys[j]!);
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      keys[i] = keys[j]!;
      values[i] = values[j]!;
      keys[j] = 0;
      i = j;
    }
  }

  /** Makes room for `more` entries at once (one rehash instead of one per doubling). */
  reserve(more: number): void {
    let size = this.#keys.length;
    let shift = this.#shift;
    while ((this.#count + more) * 2 > size) {
      size *= 2;
      shift--;
    }
    if (size !== this.#keys.length) this.#rehash(size, shift);
  }

  #grow(): void {
    this.#rehash(this.#keys.length * 2, this.#shift - 1);
  }

  #rehash(size: number, shift: number): void {
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = new Int32Array(size);
    this.#values = new Float64Array(size);
    this.#shift = shift;
    this.#count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.put(keys[i]!, values[i]!);
  }
}

const f64 = (n: number) => new Float64Array(n);
const i32 = (n: number) => new Int32Array(n);
const u8 = (n: number) => new Uint8Array(n);

/**
 * Oldest-first queue of packed traces with a byte total, and its indexes. Traces are numbered in
 * the order they came (absolute numbers, never reused); traces leave oldest first (eviction and
 * expiry both take the oldest), and so do their index nodes and chunks.
 *
 * Index: each key of a trace is a node (its trace, its hash, the previous node of the same hash);
 * a map from hash to the newest node makes one chain per hash, newest first. A chain may mix keys
 * whose hashes collide: a trace found through it is checked against its own keys. Nodes are
 * appended as traces come and enter the map at the next lookup, so a ring nobody searches never
 * touches its maps.
 */
export class Ring {
  bytes = 0;
  budget: number;
  readonly chunkSize: number;

  // Traces: absolute numbers [first, next), at `i & (cap - 1)` in the arrays.
  #first = 0;
  #next = 0;
  #seq = f64(64);
  #added = f64(64);
  #start = f64(64);
  #bytes = f64(64);
  #chunk = f64(64);
  #offset = f64(64);
  #error = u8(64);
  /** Absolute number of the trace's first index node. */
  #node0 = f64(64);

  // Index nodes: absolute numbers [nodeFirst, nodeNext). Those before `indexed` are in the maps;
  // the rest enter them when a lookup needs them (`#catchUp`).
  #nodeFirst = 0;
  #nodeNext = 0;
  #indexed = 0;
  #nodeTrace = f64(128);
  #nodePrev = f64(128);
  #nodeHash = i32(128);
  #nodeKind = u8(128);
  #byEntity = new HashIndex();
  #byRequest = new HashIndex();

  // Chunks: absolute numbers [chunkBase, chunkBase + chunks.length); the last is being filled.
  #chunks: Uint8Array[] = [];
  #chunkBase = 0;
  #used = 0;
  /** Whether the last chunk is one traces are appended to (not one holding a single large trace). */
  #open = false;
  /** A view of the open chunk. */
  #view: DataView | undefined;
  /** Chunks let go of, to be filled again (a steady ring allocates nothing). */
  #spare: Uint8Array[] = [];
  /** Readers holding on to chunks across turns of the event loop (a dump): nothing is reused meanwhile. */
  #pins = 0;

  constructor(budget: number) {
    this.budget = budget;
    let size = 4096;
    while (size < 64 * 1024 && size * 32 <= budget) size *= 2;
    this.chunkSize = size;
  }

  get size(): number {
    return this.#next - this.#first;
  }

  /** Points `w` at the room left in the open chunk, where the next trace is written in place. */
  begin(w: Writer): void {
    if (this.#open) w.to(this.#chunks[this.#chunks.length - 1], this.#view, this.#used);
    else w.to(undefined, undefined, 0);
  }

  /**
   * Stores the trace `w` has written since `begin` (number `seq`, added at `added`, with these
   * facts), evicting the oldest as needed. Returns the number evicted, or -1 when the trace alone is larger than the budget (not
   * stored).
   */
  push(w: Writer, seq: number, added: number, a: TraceFacts): number {
    const length = w.length;
    const keys = a.entities.length + (a.requestId === undefined ? 0 : 1);
    const base = length + ENTRY_BYTES + KEY_BYTES * keys;
    if (base > this.budget) {
      w.buf.fill(0, w.start, w.n); // not stored: nothing of it stays behind
      return -1;
    }
    // Written in place, it stays where it is. Else it goes into a chunk of its own when larger
    // than a chunk, or a new open chunk; what is left of the full one is counted with this trace.
    const inPlace = w.inPlace;
    const big = length > this.chunkSize;
    const wasted = !inPlace && this.#open ? this.#chunks[this.#chunks.length - 1]!.length - this.#used : 0;
    const bytes = Math.min(base + wasted, this.budget);
    let evicted = 0;
    while (this.bytes + bytes > this.budget && this.size > 0) {
      this.shift();
      evicted++;
    }
    // eviction never lets go of the last chunk
    let offset = 0;
    if (inPlace) offset = w.start;
    else {
      const chunk = big ? new Uint8Array(length) : (this.#spare.pop() ?? new Uint8Array(this.chunkSize));
      chunk.set(w.buf.subarray(w.start, w.n));
      w.buf.fill(0, w.start, w.n); // the scratch copy
      this.#chunks.push(chunk);
      this.#open = !big;
      this.#view = big ? undefined : new DataView(chunk.buffer);
    }
    this.#used = offset + length;

    if (this.size === this.#seq.length) this.#growTraces();
    const i = this.#next++;
    const m = this.#seq.length - 1;
    this.#seq[i & m] = seq;
    this.#added[i & m] = added;
    this.#start[i & m] = a.start;
    this.#bytes[i & m] = bytes;
    this.#chunk[i & m] = this.#chunkBase + this.#chunks.length - 1;
    this.#offset[i & m] = offset;
    this.#error[i & m] = a.error ? 1 : 0;
    this.#node0[i & m] = this.#nodeNext;
    this.bytes += bytes;
    for (const id of a.entities) this.#addNode(i, KIND_ENTITY, keyHash(id));
    if (a.requestId !== undefined) this.#addNode(i, KIND_REQUEST, keyHash(a.requestId));
    return evicted;
  }

  /**
   * Appends an index node; it enters the maps at the next lookup (`#catchUp`). Most traces leave
   * the ring without ever being looked up, and a map put (then its delete at eviction) is a
   * random access into tables sized by every key the ring holds: a fifth of what `add` cost a
   * small trace. Appending is sequential.
   */
  #addNode(trace: number, kind: number, h: number): void {
    if (this.#nodeNext - this.#nodeFirst === this.#nodeTrace.length) this.#growNodes();
    const n = this.#nodeNext++;
    const m = this.#nodeTrace.length - 1;
    this.#nodeTrace[n & m] = trace;
    this.#nodeHash[n & m] = h;
    this.#nodeKind[n & m] = kind;
  }

  /** Puts the nodes appended since the last lookup into the maps, oldest first. */
  #catchUp(): void {
    const m = this.#nodeTrace.length - 1;
    let entities = 0;
    for (let n = this.#indexed; n < this.#nodeNext; n++)
      if (this.#nodeKind[n & m] === KIND_ENTITY) entities++;
    this.#byEntity.reserve(entities);
    this.#byRequest.reserve(this.#nodeNext - this.#indexed - entities);
    for (let n = this.#indexed; n < this.#nodeNext; n++) {
      const index = this.#nodeKind[n & m] === KIND_ENTITY ? this.#byEntity : this.#byRequest;
      this.#nodePrev[n & m] = index.put(this.#nodeHash[n & m]!, n);
    }
    this.#indexed = this.#nodeNext;
  }

  #growTraces(): void {
    const size = this.#seq.length * 2;
    const [a, b] = [this.#first, this.#next];
    this.#seq = regrow(this.#seq, size, a, b, f64);
    this.#added = regrow(this.#added, size, a, b, f64);
    this.#start = regrow(this.#start, size, a, b, f64);
    this.#bytes = regrow(this.#bytes, size, a, b, f64);
    this.#chunk = regrow(this.#chunk, size, a, b, f64);
    this.#offset = regrow(this.#offset, size, a, b, f64);
    this.#error = regrow(this.#error, size, a, b, u8);
    this.#node0 = regrow(this.#node0, size, a, b, f64);
  }

  #growNodes(): void {
    const size = this.#nodeTrace.length * 2;
    const [a, b] = [this.#nodeFirst, this.#nodeNext];
    this.#nodeTrace = regrow(this.#nodeTrace, size, a, b, f64);
    this.#nodePrev = regrow(this.#nodePrev, size, a, b, f64);
    this.#nodeHash = regrow(this.#nodeHash, size, a, b, i32);
    this.#nodeKind = regrow(this.#nodeKind, size, a, b, u8);
  }

  /** `Date.now()` when the oldest trace was added (Infinity when empty). */
  oldestAdded(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.#added[this.#first & (this.#seq.length - 1)]!;
  }

  /** Lets go of the oldest trace: its bytes, its index nodes, and the chunks no trace uses any more. */
  shift(): void {
    if (this.size === 0) return;
    const m = this.#seq.length - 1;
    const i = this.#first++;
    this.bytes -= this.#bytes[i & m]!;
    const end = this.size > 0 ? this.#node0[this.#first & m]! : this.#nodeNext;
    const nm = this.#nodeTrace.length - 1;
    // only nodes already in the maps are taken out (the others never entered them)
    const indexed = Math.min(end, this.#indexed);
    for (let n = this.#nodeFirst; n < indexed; n++) {
      // the node is its hash's newest only if no later indexed trace has that hash: the chain ends here
      const index = this.#nodeKind[n & nm] === KIND_ENTITY ? this.#byEntity : this.#byRequest;
      index.deleteIf(this.#nodeHash[n & nm]!, n);
    }
    this.#nodeFirst = end;
    if (this.#indexed < end) this.#indexed = end;
    // chunks before the oldest trace's are no one's now (the last one stays open for the next)
    const keep = this.size > 0 ? this.#chunk[this.#first & m]! : this.#chunkBase + this.#chunks.length - 1;
    const drop = Math.min(keep - this.#chunkBase, this.#chunks.length - 1);
    if (drop > 0) {
      for (const chunk of this.#chunks.splice(0, drop)) {
        if (this.#pins > 0) continue; // a dump is reading it: left as it was
        chunk.fill(0); // what it held is gone from memory, not only from the ring
        if (chunk.length === this.chunkSize && this.#spare.length < 4) this.#spare.push(chunk);
      }
      this.#chunkBase += drop;
    }
    if (this.size === 0) this.bytes = 0; // no drift from adding and taking back fractions
  }

  /**
   * Once the ring is empty, zeroes what its traces left in the chunk that stays open (unless a
   * dump is reading it). Not done by `shift` itself: `push` evicts before it stores the trace it
   * has just written there.
   */
  scrub(): void {
    if (this.size > 0 || this.#pins > 0 || this.#chunks.length === 0) return;
    this.#chunks[this.#chunks.length - 1]!.fill(0, 0, this.#used);
    this.#used = 0;
  }

  /** Every buffer the ring keeps (its chunks and spare chunks), for tests. */
  buffers(): Uint8Array[] {
    return [...this.#chunks, ...this.#spare];
  }

  /** Traces, newest first (absolute numbers; read them before the ring changes). */
  *newestFirst(): IterableIterator<number> {
    for (let i = this.#next - 1; i >= this.#first; i--) yield i;
  }

  /** Traces with this entity id (`request` false) or request id (true), newest first. */
  *keyed(request: boolean, key: string): IterableIterator<number> {
    if (this.#indexed < this.#nodeNext) this.#catchUp();
    const index = request ? this.#byRequest : this.#byEntity;
    let n = index.get(keyHash(key));
    let last = -1;
    while (n >= 0 && n >= this.#nodeFirst) {
      const nm = this.#nodeTrace.length - 1;
      const i = this.#nodeTrace[n & nm]!;
      const prev = this.#nodePrev[n & nm]!;
      // two keys of one trace may share a hash: their nodes are next to each other in the chain
      if (i !== last && i >= this.#first) {
        last = i;
        const keys = heldKeys(this.held(i));
        if (request ? keys.requestId === key : keys.entities.includes(key)) yield i;
      }
      n = prev;
    }
  }

  seqOf(i: number): number {
    return this.#seq[i & (this.#seq.length - 1)]!;
  }

  addedOf(i: number): number {
    return this.#added[i & (this.#seq.length - 1)]!;
  }

  startOf(i: number): number {
    return this.#start[i & (this.#seq.length - 1)]!;
  }

  errorOf(i: number): boolean {
    return this.#error[i & (this.#seq.length - 1)] === 1;
  }

  /** Where trace `i` is packed (holding on to its chunk while it is read). */
  held(i: number): Held {
    const m = this.#seq.length - 1;
    return { chunk: this.#chunks[this.#chunk[i & m]! - this.#chunkBase]!, offset: this.#offset[i & m]! };
  }

  /** While pinned, chunks let go of are not filled again: what a reader holds stays as it was. */
  pin(): () => void {
    this.#pins++;
    let done = false;
    return () => {
      if (!done) this.#pins--;
      done = true;
    };
  }

  clear(): void {
    if (this.#pins === 0) {
      for (const chunk of this.#chunks) {
        chunk.fill(0);
        if (chunk.length === this.chunkSize && this.#spare.length < 4) this.#spare.push(chunk);
      }
    }
    this.#first = this.#next;
    this.#nodeFirst = this.#nodeNext;
    this.#indexed = this.#nodeNext;
    this.#byEntity = new HashIndex();
    this.#byRequest = new HashIndex();
    this.#chunkBase += this.#chunks.length;
    this.#chunks = [];
    this.#open = false;
    this.#view = undefined;
    this.#used = 0;
    this.bytes = 0;
  }
}
