// The flight recorder holds every trace packed into bytes: its index keys (request id, entity ids),
// then either its records (an ended `RecorderTrace` handed over by the runtime: spans, events,
// entities and their snapshotted meta, numbers as they were recorded) or its JSON text (a trace
// that arrived in the trace format). The bytes live outside the JavaScript heap (see store.ts), so
// the garbage collector has nothing of a held trace to copy or mark. Read back (find, a dump),
// records are turned into the trace format by the same function that collects a live trace.
import {
  type EntityRecord,
  type EntryRecord,
  type EventRecord,
  formatTrace,
  isSpanEntry,
  type SpanRecord,
  type TraceRecords,
} from '../runtime/trace.js';
import type { JsonValue, Trace } from '../runtime/types.js';
import type { TraceFacts } from './facts.js';

// Value tags of a packed JSON value.
const J_NULL = 0;
const J_FALSE = 1;
const J_TRUE = 2;
const J_NUMBER = 3;
const J_STRING = 4;
const J_ARRAY = 5;
const J_OBJECT = 6;
const J_ABSENT = 7;
/** A whole number in [0, 2^31): a varint (one byte below 128) instead of a double's eight. */
const J_UINT = 8;

// Entry tags of a packed event list.
const E_SPAN = 0;
const E_EVENT = 1;

/** A count or index in one byte below this; above, the byte is followed by the number as a double. */
const SMALL = 0xff;

// String kinds (the low two bits of a string's header).
const S_LATIN1 = 0;
const S_WIDE = 1;
const S_ASCII = 2;
/** Strings at least this long are checked and copied by the platform (ASCII), not a character at a time. */
const LONG = 64;
const ascii = new TextEncoder();
const asciiDecoder = new TextDecoder();

/**
 * Names (span names, source locations, stages, entity kinds) are the program's own constants, in
 * every trace: each is written once into this table, shared by every recorder of this copy of the
 * module, and a trace refers to it by number. Actions and meta keys are written in the trace: the
 * program may make them from its data, which must not outlive the traces (`maxAge`, `clear`).
 * Bounded: past `MAX_NAMES` names, or for a longer name, the text is written in the trace itself.
 */
const MAX_NAMES = 4096;
const MAX_NAME_LENGTH = 128;
const nameIds = new Map<string, number>();
const names: string[] = [];

/** The names table of this copy of the module (what it keeps for the life of the process). */
export function heldNames(): readonly string[] {
  return names;
}

// What follows the index keys.
const BODY_RECORDS = 0;
const BODY_JSON = 1;

/**
 * Writes a packed trace: in place, into a ring's chunk where it will stay, or into a scratch buffer
 * once it outgrows the room left there (the ring then copies it into a new chunk). One writer per
 * process: packing is synchronous.
 */
export class Writer {
  /** The buffer written: a ring's chunk, or the scratch buffer. */
  buf: Uint8Array;
  view: DataView;
  /** Where the trace being written starts in `buf`. */
  start = 0;
  n = 0;
  /** Whether `buf` is a ring's chunk. */
  inPlace = false;
  #scratch = new Uint8Array(4096);
  #scratchView = new DataView(this.#scratch.buffer);

  constructor() {
    this.buf = this.#scratch;
    this.view = this.#scratchView;
  }

  /** Begins a trace in `chunk` (with its `view`) at `offset`, or in the scratch buffer. */
  to(chunk: Uint8Array | undefined, view: DataView | undefined, offset: number): void {
    if (chunk !== undefined && view !== undefined) {
      this.buf = chunk;
      this.view = view;
      this.start = this.n = offset;
      this.inPlace = true;
      return;
    }
    if (this.#scratch.length > 1024 * 1024) {
      // a huge trace passed: do not keep its scratch space
      this.#scratch = new Uint8Array(4096);
      this.#scratchView = new DataView(this.#scratch.buffer);
    }
    this.buf = this.#scratch;
    this.view = this.#scratchView;
    this.start = this.n = 0;
    this.inPlace = false;
  }

  /** The scratch buffer (for tests: what the writer keeps between traces). */
  get scratch(): Uint8Array {
    return this.#scratch;
  }

  /** Bytes of the trace written so far. */
  get length(): number {
    return this.n - this.start;
  }

  /** Makes room for `k` more bytes: moves to the scratch buffer (grown as needed) when `buf` is full. */
  reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const len = this.n - this.start;
    let scratch = this.#scratch;
    if (len + k > scratch.length) {
      let size = scratch.length * 2;
      while (size < len + k) size *= 2;
      scratch = new Uint8Array(size);
    }
    if (scratch !== this.buf) scratch.set(this.buf.subarray(this.start, this.n));
    if (scratch !== this.#scratch) {
      this.#scratch = scratch;
      this.#scratchView = new DataView(scratch.buffer);
    }
    this.buf = scratch;
    this.view = this.#scratchView;
    this.start = 0;
    this.n = len;
    this.inPlace = false;
  }

  // The writes below check for room themselves and call `reserve` only when it runs out: they
  // are called some hundred times per trace.

  u8(v: number): void {
    if (this.n >= this.buf.length) this.reserve(1);
    this.buf[this.n++] = v;
  }

  f64(v: number): void {
    if (this.n + 8 > this.buf.length) this.reserve(8);
    this.view.setFloat64(this.n, v, true);
    this.n += 8;
  }

  uint(v: number): void {
    if (v >= 0 && v < SMALL && v === (v | 0)) this.u8(v);
    else {
      this.u8(SMALL);
      this.f64(v);
    }
  }

  /** LEB128: seven bits a byte. */
  varint(v: number): void {
    if (this.n + 5 > this.buf.length) this.reserve(5);
    while (v > 0x7f) {
      this.buf[this.n++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.n++] = v;
  }

  /** A name: its number in the names table (plus one), or 0 and its text. */
  name(s: string): void {
    let id = nameIds.get(s);
    if (id === undefined) {
      if (names.length >= MAX_NAMES || s.length > MAX_NAME_LENGTH) {
        this.u8(0);
        this.str(s);
        return;
      }
      id = names.length;
      names.push(s);
      nameIds.set(s, id);
    }
    this.varint(id + 1);
  }

  optName(s: string | undefined): void {
    if (s === undefined) this.u8(0);
    else {
      this.u8(1);
      this.name(s);
    }
  }

  /**
   * One byte a character when every character fits (Latin-1), else two: exact for any string
   * (lone surrogates included). Long ASCII text is copied by the platform's encoder.
   */
  str(s: string): void {
    const len = s.length;
    const at = this.n - this.start; // `start` moves if the trace moves to the scratch buffer
    if (len >= LONG) {
      // UTF-8 of ASCII is ASCII: the platform's copy is the text exactly when each character took
      // one byte (no pass of its own to check first). Else it is written again, over those bytes.
      this.uint(4 * len + S_ASCII);
      this.reserve(len);
      const copied = ascii.encodeInto(s, this.buf.subarray(this.n, this.n + len));
      if (copied.read === len && copied.written === len) {
        this.n += len;
        return;
      }
      this.n = this.start + at;
    }
    this.uint(4 * len + S_LATIN1);
    this.reserve(len);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) {
        this.n = this.start + at;
        this.wide(s);
        return;
      }
      buf[n++] = c;
    }
    this.n = n;
  }

  private wide(s: string): void {
    const len = s.length;
    this.uint(4 * len + S_WIDE);
    this.reserve(2 * len);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      buf[n++] = c & 0xff;
      buf[n++] = c >>> 8;
    }
    this.n = n;
  }

  optStr(s: string | undefined): void {
    if (s === undefined) this.u8(0);
    else {
      this.u8(1);
      this.str(s);
    }
  }

  value(v: JsonValue | undefined): void {
    if (v === undefined) this.u8(J_ABSENT);
    else if (v === null) this.u8(J_NULL);
    else if (v === true) this.u8(J_TRUE);
    else if (v === false) this.u8(J_FALSE);
    else if (typeof v === 'number') {
      // counts, ids and statuses are most of a trace's numbers (-0 stays a double, as it was)
      if ((v | 0) === v && v >= 0 && !Object.is(v, -0)) {
        this.u8(J_UINT);
        this.varint(v);
      } else {
        this.u8(J_NUMBER);
        this.f64(v);
      }
    } else if (typeof v === 'string') {
      this.u8(J_STRING);
      this.str(v);
    } else if (Array.isArray(v)) {
      this.u8(J_ARRAY);
      this.uint(v.length);
      for (const x of v) this.value(x);
    } else {
      const keys = Object.keys(v);
      this.u8(J_OBJECT);
      this.uint(keys.length);
      for (const k of keys) {
        this.str(k);
        this.value(v[k]);
      }
    }
  }

  list(list: readonly EntryRecord[]): void {
    this.uint(list.length);
    for (const e of list) {
      if (isSpanEntry(e)) {
        this.u8(E_SPAN);
        this.uint(e.seq);
        continue;
      }
      this.u8(E_EVENT);
      this.name(e.stage);
      this.str(e.action);
      this.f64(e.t);
      this.value(e.meta);
      this.uint(e.span === undefined ? 0 : e.span.seq);
      this.uint(e.droppedKeys);
    }
  }

  /** Writes a trace's index keys (first, after `to`). */
  keys(facts: TraceFacts): void {
    this.optStr(facts.requestId);
    this.uint(facts.entities.length);
    for (const id of facts.entities) this.str(id);
  }

  json(text: string): void {
    this.u8(BODY_JSON);
    this.str(text);
  }

  records(t: TraceRecords): void {
    this.u8(BODY_RECORDS);
    this.u8((t.clocked ? 1 : 0) | (t.failed ? 2 : 0));
    this.f64(t.wall0);
    this.f64(t.perf0);
    this.uint(t.dropped);
    this.uint(t.droppedSpans);
    this.uint(t.droppedEntities);
    this.value(t.meta);
    this.uint(t.spans.length);
    for (const s of t.spans) {
      this.uint(s.seq);
      this.uint(s.parent === undefined ? 0 : s.parent.seq);
      this.name(s.name);
      this.optName(s.location);
      this.optStr(s.entity?.id);
      this.f64(s.start);
      this.f64(s.end);
      this.uint(s.status);
      this.optStr(s.error);
      this.value(s.enterMeta);
      this.uint(s.enterDropped);
    }
    this.list(t.events);
    this.uint(t.entities.size);
    for (const e of t.entities.values()) {
      this.str(e.id);
      this.optName(e.kind);
      this.value(e.meta);
      this.uint(e.droppedKeys);
      this.list(e.events);
    }
  }
}

/** A span read back: the fields the trace format is made from. */
interface ReadSpan extends SpanRecord {
  parent: SpanRecord | undefined;
}

/** Reads the records of one packed trace. */
class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  n: number;
  readonly bySeq: ReadSpan[] = [];

  constructor(buf: Uint8Array, offset: number) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.n = offset;
  }

  u8(): number {
    return this.buf[this.n++]!;
  }

  f64(): number {
    const v = this.view.getFloat64(this.n, true);
    this.n += 8;
    return v;
  }

  uint(): number {
    const b = this.u8();
    return b === SMALL ? this.f64() : b;
  }

  str(): string {
    const head = this.uint();
    const len = Math.floor(head / 4);
    const kind = head % 4;
    const buf = this.buf;
    let n = this.n;
    if (kind === S_ASCII) {
      this.n = n + len;
      return asciiDecoder.decode(buf.subarray(n, n + len));
    }
    const codes: number[] = new Array(len);
    if (kind === S_LATIN1) for (let i = 0; i < len; i++) codes[i] = buf[n++]!;
    else
      for (let i = 0; i < len; i++) {
        codes[i] = buf[n]! | (buf[n + 1]! << 8);
        n += 2;
      }
    this.n = n;
    let out = '';
    for (let i = 0; i < len; i += 8192) out += String.fromCharCode(...codes.slice(i, i + 8192));
    return out;
  }

  /** Whether the next string is `s` (any string when undefined); skips it, making nothing. */
  strIs(s: string | undefined): boolean {
    const head = this.uint();
    const len = Math.floor(head / 4);
    const wide = head % 4 === S_WIDE;
    const start = this.n;
    this.n = start + (wide ? 2 * len : len);
    if (s === undefined) return true;
    if (s.length !== len) return false;
    const buf = this.buf;
    if (wide) {
      for (let i = 0; i < len; i++)
        if (s.charCodeAt(i) !== (buf[start + 2 * i]! | (buf[start + 2 * i + 1]! << 8))) return false;
    } else for (let i = 0; i < len; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
    return true;
  }

  /** Skips a string. */
  skipStr(): void {
    const head = this.uint();
    const len = Math.floor(head / 4);
    this.n += head % 4 === S_WIDE ? 2 * len : len;
  }

  varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  }

  name(): string {
    const id = this.varint();
    return id === 0 ? this.str() : names[id - 1]!;
  }

  optName(): string | undefined {
    return this.u8() === 0 ? undefined : this.name();
  }

  /** Whether the next name is `s` (whose number in the names table is `id`, -1 if none); skips it. */
  nameIs(s: string | undefined, id: number): boolean {
    const v = this.varint();
    if (v !== 0) return s === undefined || v - 1 === id;
    if (s === undefined) {
      this.skipStr();
      return true;
    }
    return this.str() === s;
  }

  skipName(): void {
    if (this.varint() === 0) this.skipStr();
  }

  /** Skips a JSON value. */
  skipValue(): void {
    switch (this.u8()) {
      case J_NUMBER:
        this.n += 8;
        return;
      case J_UINT:
        this.varint();
        return;
      case J_STRING:
        this.skipStr();
        return;
      case J_ARRAY:
        for (let i = this.uint(); i > 0; i--) this.skipValue();
        return;
      case J_OBJECT:
        for (let i = this.uint(); i > 0; i--) {
          this.skipStr();
          this.skipValue();
        }
        return;
      default:
        return;
    }
  }

  optStr(): string | undefined {
    return this.u8() === 0 ? undefined : this.str();
  }

  value(): JsonValue | undefined {
    switch (this.u8()) {
      case J_NULL:
        return null;
      case J_FALSE:
        return false;
      case J_TRUE:
        return true;
      case J_NUMBER:
        return this.f64();
      case J_UINT:
        return this.varint();
      case J_STRING:
        return this.str();
      case J_ARRAY: {
        const out: JsonValue[] = new Array(this.uint());
        for (let i = 0; i < out.length; i++) out[i] = this.value() as JsonValue;
        return out;
      }
      case J_OBJECT: {
        const out: Record<string, JsonValue> = {};
        for (let i = this.uint(); i > 0; i--) {
          const k = this.str();
          const v = this.value() as JsonValue;
          if (k === '__proto__')
            Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
          else out[k] = v;
        }
        return out;
      }
      default:
        return undefined;
    }
  }

  /** The span numbered `seq` (a stand-in with that number if the trace had none: never in practice). */
  span(seq: number): SpanRecord | undefined {
    if (seq === 0) return undefined;
    return this.bySeq[seq] ?? placeholder(seq);
  }

  list(): EntryRecord[] {
    const out: EntryRecord[] = new Array(this.uint());
    for (let i = 0; i < out.length; i++) {
      if (this.u8() === E_SPAN) {
        out[i] = this.span(this.uint())!;
        continue;
      }
      const ev: EventRecord = {
        stage: this.name(),
        action: this.str(),
        t: this.f64(),
        meta: this.value() as Record<string, JsonValue> | undefined,
        span: this.span(this.uint()),
        droppedKeys: this.uint(),
      };
      out[i] = ev;
    }
    return out;
  }

  /** The index keys at the start of a packed trace. */
  keys(): { requestId: string | undefined; entities: string[] } {
    const requestId = this.optStr();
    const entities: string[] = new Array(this.uint());
    for (let i = 0; i < entities.length; i++) entities[i] = this.str();
    return { requestId, entities };
  }

  skipKeys(): void {
    if (this.u8() !== 0) this.skipStr();
    for (let i = this.uint(); i > 0; i--) this.skipStr();
  }

  /**
   * Whether the records (after the keys and body tag) have an event of this stage and/or action,
   * among `entity`'s events when given: read in place, nothing made but the entity ids compared.
   */
  hasEvent(entity: string | undefined, stage: string | undefined, action: string | undefined): boolean {
    const sid = stage === undefined ? -1 : (nameIds.get(stage) ?? -1);
    this.n += 1 + 16; // flags, wall0, perf0
    this.uint();
    this.uint();
    this.uint();
    this.skipValue();
    // which spans are named `stage` (their entries are its `entered` and `exited` events)
    const named: boolean[] = [];
    for (let i = this.uint(); i > 0; i--) {
      const seq = this.uint();
      this.uint(); // parent
      named[seq] = this.nameIs(stage, sid);
      if (this.u8() !== 0) this.skipName(); // location
      if (this.u8() !== 0) this.skipStr(); // entity id
      this.n += 16; // start, end
      this.uint(); // status
      if (this.u8() !== 0) this.skipStr(); // error
      this.skipValue(); // enterMeta
      this.uint(); // enterDropped
    }
    const look = (match: boolean): boolean => {
      const seen: boolean[] = [];
      for (let i = this.uint(); i > 0; i--) {
        if (this.u8() === E_SPAN) {
          const seq = this.uint();
          const a = seen[seq] === true ? 'exited' : 'entered';
          seen[seq] = true;
          if (match && named[seq] === true && (action === undefined || action === a)) return true;
          continue;
        }
        const stageIs = this.nameIs(stage, sid);
        const actionIs = this.strIs(action);
        if (match && stageIs && actionIs) return true;
        this.n += 8; // t
        this.skipValue();
        this.uint(); // span
        this.uint(); // droppedKeys
      }
      return false;
    };
    if (look(entity === undefined)) return true;
    for (let i = this.uint(); i > 0; i--) {
      const mine = entity === undefined || this.str() === entity;
      if (entity === undefined) this.skipStr();
      if (this.u8() !== 0) this.skipName(); // kind
      this.skipValue(); // meta
      this.uint(); // droppedKeys
      if (look(mine)) return true;
      if (mine && entity !== undefined) return false;
    }
    return false;
  }

  /** The trace in the trace format (after its keys). */
  trace(): Trace {
    return this.u8() === BODY_JSON ? (JSON.parse(this.str()) as Trace) : formatTrace(this.records());
  }

  /** The trace as one line of JSON (after its keys). */
  text(): string {
    return this.u8() === BODY_JSON ? this.str() : JSON.stringify(formatTrace(this.records()));
  }

  /** The records of a trace packed from them (after its keys and body tag). */
  records(): TraceRecords {
    const flags = this.u8();
    const wall0 = this.f64();
    const perf0 = this.f64();
    const dropped = this.uint();
    const droppedSpans = this.uint();
    const droppedEntities = this.uint();
    const meta = this.value() as Record<string, JsonValue>;
    const spans: ReadSpan[] = new Array(this.uint());
    const parents: number[] = new Array(spans.length);
    for (let i = 0; i < spans.length; i++) {
      const seq = this.uint();
      parents[i] = this.uint();
      const name = this.name();
      const location = this.optName();
      const entityId = this.optStr();
      const s: ReadSpan = {
        seq,
        parent: undefined,
        name,
        location,
        entity: entityId === undefined ? undefined : { id: entityId },
        start: this.f64(),
        end: this.f64(),
        status: this.uint(),
        error: this.optStr(),
        enterMeta: this.value() as Record<string, JsonValue> | undefined,
        enterDropped: this.uint(),
        walk: 0,
      };
      spans[i] = s;
      this.bySeq[seq] = s;
    }
    for (let i = 0; i < spans.length; i++) spans[i]!.parent = this.span(parents[i]!);
    const events = this.list();
    const entities = new Map<string, EntityRecord>();
    for (let i = this.uint(); i > 0; i--) {
      const id = this.str();
      const entity: EntityRecord = {
        id,
        kind: this.optName(),
        meta: this.value() as Record<string, JsonValue>,
        droppedKeys: this.uint(),
        events: this.list(),
      };
      entities.set(id, entity);
    }
    return {
      meta,
      events,
      entities,
      spans,
      dropped,
      droppedSpans,
      droppedEntities,
      failed: (flags & 2) !== 0,
      clocked: (flags & 1) !== 0,
      wall0,
      perf0,
    };
  }
}

function placeholder(seq: number): SpanRecord {
  return {
    seq,
    parent: undefined,
    name: '',
    location: undefined,
    entity: undefined,
    start: 0,
    end: -1,
    status: 0,
    error: undefined,
    enterMeta: undefined,
    enterDropped: 0,
    walk: 0,
  };
}

export const writer = new Writer();

/** Where a packed trace is: its chunk (which it keeps alive) and offset. */
export interface Held {
  readonly chunk: Uint8Array;
  readonly offset: number;
}

export function heldKeys(h: Held): { requestId: string | undefined; entities: string[] } {
  return new Reader(h.chunk, h.offset).keys();
}

export function heldTrace(h: Held): Trace {
  const r = new Reader(h.chunk, h.offset);
  r.skipKeys();
  return r.trace();
}

export function heldJson(h: Held): string {
  const r = new Reader(h.chunk, h.offset);
  r.skipKeys();
  return r.text();
}

/** Whether the trace has an event of this stage and/or action (among `entity`'s events when given). */
export function heldHasEvent(
  h: Held,
  entity: string | undefined,
  stage: string | undefined,
  action: string | undefined,
): boolean {
  const r = new Reader(h.chunk, h.offset);
  r.skipKeys();
  if (r.u8() === BODY_JSON) {
    const text = r.str();
    // A text without the stage or action in it cannot have the event: no need to parse it.
    if (!text.includes('\\')) {
      if (stage !== undefined && !text.includes(JSON.stringify(stage))) return false;
      if (action !== undefined && !text.includes(JSON.stringify(action))) return false;
    }
    return traceHasEvent(JSON.parse(text) as Trace, entity, stage, action);
  }
  return r.hasEvent(entity, stage, action);
}

/** The same question of a trace in the trace format (any origin: its fields are not trusted). */
function traceHasEvent(
  trace: Trace,
  entity: string | undefined,
  stage: string | undefined,
  action: string | undefined,
): boolean {
  const match = (events: unknown): boolean =>
    Array.isArray(events) &&
    events.some(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        (stage === undefined || e.stage === stage) &&
        (action === undefined || e.action === action),
    );
  const entities = trace.entities ?? {};
  if (entity !== undefined) {
    for (const key of Object.keys(entities)) {
      const e = entities[key]!;
      if ((e?.entity_id ?? key) === entity) return match(e?.events);
    }
    return false;
  }
  if (match(trace.events)) return true;
  for (const key of Object.keys(entities)) if (match(entities[key]?.events)) return true;
  return false;
}
