/**
 * `stepmark/recorder`: a flight recorder. Every finished trace goes into a ring bounded by bytes,
 * indexed by entity id and request id, so that "why was order 42 rejected?" is answered after the
 * fact, without anyone having asked for a trace before the request ran. Traces matched by a keep
 * rule (failures, slow requests, a predicate) live in a budget of their own, out of reach of
 * ordinary traffic. See docs/RECORDER.md.
 *
 * @example
 * ```ts
 * import { flightRecorder } from 'stepmark/recorder';
 * import { stepmarkMiddleware } from 'stepmark/http';
 *
 * const recorder = flightRecorder({ maxBytes: 64 * 2 ** 20, keep: { errors: true, slowerThan: 2000 } });
 * app.use(stepmarkMiddleware({ record: recorder }));   // every request recorded, none exposed
 * // later: recorder.find({ entity: 'order_42' })      // newest first
 * ```
 */
import { StepmarkConfigError } from '../adapters/core/errors.js';
import { escapeForTerminal, oneLine } from '../runtime/render.js';
import { reportOnce } from '../runtime/report.js';
import { completeTrace, traceProblem } from '../runtime/shape.js';
import { describeError } from '../runtime/snapshot.js';
import { ON_END_COMPACT, type RecorderTrace } from '../runtime/trace.js';
import type { Trace } from '../runtime/types.js';
import {
  dumpPath,
  fsNow,
  loadFs,
  type WritableLike,
  writeFileLines,
  writeFileLinesSync,
  writeStreamLines,
} from './dump.js';
import { factsOf, recordsFacts, type TraceFacts } from './facts.js';
import { type Held, heldHasEvent, heldJson, heldKeys, heldTrace, writer } from './packed.js';
import { Ring } from './store.js';

export { StepmarkConfigError, type StepmarkConfigErrorCode } from '../adapters/core/errors.js';
export type { Trace } from '../runtime/types.js';
export type { WritableLike } from './dump.js';

/** Rules for traces that must outlive ordinary traffic. A trace matching any rule is kept. */
export interface KeepRules {
  /** Keep traces in which a span failed, the traced function threw, or the response was a server error (HTTP 5xx, gRPC INTERNAL and the like). */
  errors?: boolean;
  /** Keep traces that took at least this long (ms): the adapters' request duration, else the extent of the trace's spans. */
  slowerThan?: number;
  /**
   * Keep traces for which this returns true (it receives the trace in the trace format). A throw,
   * or an answer other than true or false (a promise, a truthy string), counts as false and is
   * reported once as a process warning (`STEPMARK_KEEP_WHERE_FAILED`).
   */
  where?: (trace: Trace) => boolean;
  /**
   * Bytes set aside, out of the recorder's `maxBytes`, for kept traces: ordinary traffic never
   * evicts them, and once this budget is full the oldest kept trace goes.
   * @default a quarter of `maxBytes`
   */
  maxBytes?: number;
}

/** Writes the recorder to a file on a signal and when the process dies of an uncaught exception. */
export interface DumpOptions {
  /** The file written (replaced), mode 0600. `{pid}` and `{time}` in it are replaced, so dumps can be kept apart. */
  path: string;
  /** Dump when the process receives this signal, e.g. `'SIGUSR2'`. Default: no signal. */
  signal?: string;
  /**
   * Dump (synchronously) when an uncaught exception is about to end the process. With an
   * `uncaughtException` listener of the application's, when the process then exits with a
   * non-zero code (nothing when the listener carries on). @default true
   */
  uncaughtException?: boolean;
  /** Told about each dump. Default: one line on stderr. */
  onDump?: (result: DumpResult) => void;
}

export interface DumpResult {
  path: string;
  /** Traces written. */
  traces: number;
  /** What made the dump. */
  reason: 'signal' | 'uncaughtException';
  /** Set when the dump failed. */
  error?: Error;
}

export interface FlightRecorderOptions {
  /**
   * Heap bytes the recorder may hold, kept traces included: the oldest traces are evicted to stay
   * under it. What the recorder actually keeps alive stays under twice this, plus a small constant.
   * @default 64 MiB
   */
  maxBytes?: number;
  /** Drop traces older than this many milliseconds (counted from when they were added). */
  maxAge?: number;
  /** Rules for traces kept in a budget of their own. */
  keep?: KeepRules;
  /** Write the recorder to a file on a signal and on an uncaught exception. */
  dumpOn?: DumpOptions;
}

export interface FindQuery {
  /** Traces that touched this entity (exact id). */
  entity?: string;
  /** Traces whose `meta.request_id` is this. */
  requestId?: string;
  /** With an event of this stage (the entity's events when `entity` is given, else any). */
  stage?: string;
  /** With an event of this action (the same event as `stage`, when both are given). */
  action?: string;
  /** Only failed traces (true) or only the others (false); see {@link KeepRules.errors}. */
  error?: boolean;
  /** Traces that started at or after this instant (a Date, epoch ms or an ISO string). */
  since?: Date | number | string;
  /** Traces that started at or before this instant. */
  until?: Date | number | string;
  /** At most this many traces. @default 100 */
  limit?: number;
}

export interface RecorderStats {
  /** Traces held (kept ones included). */
  traces: number;
  /** Heap bytes held, by the recorder's own accounting (≤ `maxBytes`). */
  bytes: number;
  /** Traces ever added. */
  added: number;
  /** Traces evicted to make room (oldest first). */
  evicted: number;
  /** Traces dropped because they were older than `maxAge`. */
  expired: number;
  /** Traces held under a keep rule. */
  kept: number;
  /** Traces not stored because they alone were larger than their budget. */
  oversize: number;
  /** The configured `maxBytes`. */
  maxBytes: number;
}

export interface FlightRecorder {
  /**
   * Adds a finished trace. A plain function (no `this`), so it can be passed directly as the
   * `onEnd` of `run`/`capture` or an adapter's `onFinish`; extra arguments are ignored.
   */
  readonly add: (trace: Trace, ...ignored: unknown[]) => void;
  /** Traces matching every given criterion, newest first, each an independent copy. */
  find(query?: FindQuery): Trace[];
  stats(): RecorderStats;
  /**
   * Writes every held trace, oldest first, one per line (NDJSON, what `stepmark view` and
   * `stepmark find` read), to a file (replaced, mode 0600) or a writable stream (left open).
   * Resolves to the number of traces written. One dump at a time: while one is being written
   * (this or a `dumpOn.signal` dump), another rejects with `ERR_STEPMARK_DUMP_IN_PROGRESS`.
   */
  writeNdjson(target: string | WritableLike): Promise<number>;
  /** Forgets every trace (the counters stay). */
  clear(): void;
  /** Removes the `dumpOn` handlers and cancels the `maxAge` timer. The recorder keeps working (an add sets the timer again). */
  close(): void;
  [Symbol.dispose](): void;
}

const MiB = 2 ** 20;
const KNOWN = new Set(['maxBytes', 'maxAge', 'keep', 'dumpOn']);
const KNOWN_KEEP = new Set(['errors', 'slowerThan', 'where', 'maxBytes']);
const KNOWN_DUMP = new Set(['path', 'signal', 'uncaughtException', 'onDump']);
const KNOWN_FIND = new Set(['entity', 'requestId', 'stage', 'action', 'error', 'since', 'until', 'limit']);
// Signals a dump may not take: uncatchable, or the inspector's.
const RESERVED_SIGNALS = new Set(['SIGKILL', 'SIGSTOP', 'SIGUSR1']);
const WHERE = 'stepmark/recorder';
const HELD = Symbol.for('stepmark.recorder.held');
const BUFFERS = Symbol.for('stepmark.recorder.buffers');

/** What a `keep.where` answered instead of a boolean, for its report. */
function answerKind(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof (v as { then?: unknown }).then === 'function') return 'a promise (it must decide synchronously)';
  if (Array.isArray(v)) return 'an array';
  const type = typeof v;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function invalid(option: string, why: string): StepmarkConfigError {
  return new StepmarkConfigError(
    'ERR_STEPMARK_INVALID_OPTION',
    `${WHERE}: option \`${option}\` ${why}.`,
    option,
  );
}

function unknownKeys(value: object, known: Set<string>, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      throw new StepmarkConfigError(
        'ERR_STEPMARK_UNKNOWN_OPTION',
        `${WHERE}: unknown option ${JSON.stringify(prefix + key)}. Known options: ${[...known]
          .map((k) => prefix + k)
          .join(', ')}.`,
        prefix + key,
      );
    }
  }
}

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

interface Resolved {
  maxBytes: number;
  maxAge: number | undefined;
  keep: KeepRules | undefined;
  keepBytes: number;
  dumpOn: DumpOptions | undefined;
}

function resolve(options: FlightRecorderOptions | undefined): Resolved {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw invalid('options', 'must be an object');
  unknownKeys(options, KNOWN, '');
  const maxBytes = options.maxBytes ?? 64 * MiB;
  if (!positive(maxBytes) || maxBytes < 4096) throw invalid('maxBytes', 'must be a number of bytes >= 4096');
  const maxAge = options.maxAge;
  if (maxAge !== undefined && !positive(maxAge)) throw invalid('maxAge', 'must be a positive number of ms');
  let keep = options.keep;
  let keepBytes = 0;
  if (keep !== undefined) {
    if (keep === null || typeof keep !== 'object' || Array.isArray(keep))
      throw invalid('keep', 'must be an object');
    unknownKeys(keep, KNOWN_KEEP, 'keep.');
    if (keep.errors !== undefined && typeof keep.errors !== 'boolean')
      throw invalid('keep.errors', 'must be true or false');
    if (keep.slowerThan !== undefined && !(typeof keep.slowerThan === 'number' && keep.slowerThan >= 0))
      throw invalid('keep.slowerThan', 'must be a number of ms >= 0');
    if (keep.where !== undefined && typeof keep.where !== 'function')
      throw invalid('keep.where', 'must be a function (trace) => boolean');
    keepBytes = keep.maxBytes ?? Math.floor(maxBytes / 4);
    if (!positive(keepBytes) || keepBytes >= maxBytes)
      throw invalid('keep.maxBytes', `must be a number of bytes > 0 and < maxBytes (${maxBytes})`);
    if (keep.errors !== true && keep.slowerThan === undefined && keep.where === undefined) {
      // every rule off (e.g. errors: false from a configuration flag): nothing is set aside
      if (keep.maxBytes !== undefined)
        throw invalid(
          'keep.maxBytes',
          'sets aside a budget that no rule uses (errors: true, slowerThan or where)',
        );
      keep = undefined;
      keepBytes = 0;
    }
  }
  const dumpOn = options.dumpOn;
  if (dumpOn !== undefined) {
    if (dumpOn === null || typeof dumpOn !== 'object' || Array.isArray(dumpOn))
      throw invalid('dumpOn', 'must be an object');
    unknownKeys(dumpOn, KNOWN_DUMP, 'dumpOn.');
    if (typeof dumpOn.path !== 'string' || dumpOn.path === '')
      throw invalid('dumpOn.path', 'must be the path of the file to write');
    if (dumpOn.signal !== undefined) {
      if (typeof dumpOn.signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(dumpOn.signal))
        throw invalid(
          'dumpOn.signal',
          `must be a signal name such as "SIGUSR2", got ${shown(dumpOn.signal)}`,
        );
      if (RESERVED_SIGNALS.has(dumpOn.signal))
        throw invalid(
          'dumpOn.signal',
          `cannot be ${dumpOn.signal} (it cannot be caught, or the inspector owns it)`,
        );
    }
    if (dumpOn.uncaughtException !== undefined && typeof dumpOn.uncaughtException !== 'boolean')
      throw invalid('dumpOn.uncaughtException', 'must be true or false');
    if (dumpOn.onDump !== undefined && typeof dumpOn.onDump !== 'function')
      throw invalid('dumpOn.onDump', 'must be a function');
    const proc = (globalThis as { process?: { on?: unknown } }).process;
    if (typeof proc?.on !== 'function')
      throw invalid('dumpOn', 'needs Node.js (process signals and a file system)');
  }
  return { maxBytes, maxAge, keep, keepBytes, dumpOn };
}

/** A value as an error message shows it: one line, at most 60 characters, whatever it is. */
function shown(value: unknown): string {
  let text: string;
  try {
    text =
      typeof value === 'string'
        ? JSON.stringify(value)
        : typeof value === 'bigint'
          ? `${value}n`
          : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return oneLine(text, 60);
}

function instant(value: Date | number | string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (typeof t !== 'number' || Number.isNaN(t)) {
    throw new StepmarkConfigError(
      'ERR_STEPMARK_INVALID_ARGUMENT',
      `${WHERE}: find({ ${name} }) must be a Date, epoch milliseconds or an ISO-8601 string, got ${shown(value)}.`,
      name,
    );
  }
  return t;
}

function badTarget(why: string): StepmarkConfigError {
  return new StepmarkConfigError('ERR_STEPMARK_INVALID_ARGUMENT', `${WHERE}: ${why}.`, 'target');
}

function badArgument(name: string, why: string): StepmarkConfigError {
  return new StepmarkConfigError(
    'ERR_STEPMARK_INVALID_ARGUMENT',
    `${WHERE}: find({ ${name} }) ${why}.`,
    name,
  );
}

/**
 * Creates a flight recorder. Options are checked here (a typed {@link StepmarkConfigError}).
 *
 * @example
 * ```ts
 * const recorder = flightRecorder({ maxBytes: 16 * 2 ** 20, keep: { errors: true } });
 * await run(() => placeOrder(order), { meta: { request_id }, onEnd: recorder.add });
 * recorder.find({ entity: order.id, action: 'rejected' });
 * ```
 */
export function flightRecorder(options?: FlightRecorderOptions): FlightRecorder {
  const o = resolve(options);
  const ring = new Ring(o.maxBytes - o.keepBytes);
  const keptRing = new Ring(o.keepBytes);
  const counts = { added: 0, evicted: 0, expired: 0, oversize: 0 };
  let seq = 0;

  const expire = (): void => {
    if (o.maxAge === undefined) return;
    const cutoff = Date.now() - o.maxAge;
    for (const r of [ring, keptRing]) {
      while (r.oldestAdded() < cutoff) {
        r.shift();
        counts.expired++;
      }
      r.scrub();
    }
  };

  // With maxAge, a timer lets go of expired traces while nothing else happens: an idle process
  // keeps no trace past its policy either. It is set for the oldest held trace's expiry plus a
  // slack of maxAge / 8 (at most a second), so steady traffic does not set one per trace; it is
  // unref'd, and there is none while nothing is held.
  let expiry: ReturnType<typeof setTimeout> | undefined;
  const onExpiry = (): void => {
    expiry = undefined;
    expire();
    watch();
  };
  const watch = (): void => {
    const maxAge = o.maxAge;
    if (maxAge === undefined || expiry !== undefined) return;
    const oldest = Math.min(ring.oldestAdded(), keptRing.oldestAdded());
    if (oldest === Number.POSITIVE_INFINITY) return;
    const wait = Math.max(0, oldest + maxAge - Date.now()) + Math.min(1000, maxAge / 8);
    expiry = setTimeout(onExpiry, Math.min(wait, 2 ** 31 - 1));
    (expiry as { unref?: () => void }).unref?.();
  };
  const unwatch = (): void => {
    if (expiry !== undefined) clearTimeout(expiry);
    expiry = undefined;
  };

  /** Whether a keep rule matches; `where` gets the trace format of `source` (a JSON text, or the ended trace). */
  const keeps = (facts: TraceFacts, source: string | RecorderTrace): boolean => {
    const k = o.keep;
    if (k === undefined) return false;
    if (k.errors === true && facts.error) return true;
    if (k.slowerThan !== undefined && facts.duration >= k.slowerThan) return true;
    if (k.where !== undefined) {
      let verdict: unknown;
      try {
        verdict = k.where(typeof source === 'string' ? (JSON.parse(source) as Trace) : source.toJSON());
      } catch (error) {
        reportOnce(
          'STEPMARK_KEEP_WHERE_FAILED',
          'flightRecorder keep.where threw (the trace was recorded as ordinary traffic)',
          error,
        );
        return false;
      }
      if (verdict === true) return true;
      if (verdict !== false) {
        reportOnce(
          'STEPMARK_KEEP_WHERE_FAILED',
          'flightRecorder keep.where must return true or false (the trace was recorded as ordinary traffic)',
          new TypeError(`it returned ${answerKind(verdict)}`),
        );
      }
    }
    return false;
  };

  /** Stores what `writer` wrote into `target` since `target.begin`. */
  const store = (target: Ring, facts: TraceFacts): void => {
    const evicted = target.push(writer, ++seq, Date.now(), facts);
    if (evicted < 0) counts.oversize++;
    else counts.evicted += evicted;
    if (expiry === undefined && o.maxAge !== undefined) watch();
  };

  const add = (trace: Trace): void => {
    if (trace === null || typeof trace !== 'object') {
      throw new StepmarkConfigError(
        'ERR_STEPMARK_INVALID_ARGUMENT',
        `${WHERE}: add(trace) needs a trace object, got ${trace === null ? 'null' : typeof trace}.`,
        'trace',
      );
    }
    // held as its JSON text, in the full trace shape: an independent copy, whatever the caller
    // does with the object
    let whole: Trace;
    let text: string;
    try {
      const problem = traceProblem(trace);
      if (problem !== undefined) throw new TypeError(problem);
      whole = completeTrace(trace as unknown as Record<string, unknown>);
      text = JSON.stringify(whole);
    } catch (error) {
      throw new StepmarkConfigError(
        'ERR_STEPMARK_INVALID_ARGUMENT',
        `${WHERE}: add(trace) needs a trace in the trace format: ${oneLine(describeError(error), 200)}`,
        'trace',
      );
    }
    counts.added++;
    expire();
    const facts = factsOf(whole);
    const target = keeps(facts, text) ? keptRing : ring;
    target.begin(writer);
    writer.keys(facts);
    writer.json(text);
    store(target, facts);
  };
  // What `run` hands to an `onEnd` carrying this key: the ended trace in its compact form, packed
  // from its records (no JSON built on the request path).
  const addCompact = (trace: RecorderTrace): void => {
    counts.added++;
    expire();
    const facts = recordsFacts(trace);
    const target = keeps(facts, trace) ? keptRing : ring;
    target.begin(writer);
    writer.keys(facts);
    writer.records(trace);
    store(target, facts);
  };
  Object.defineProperty(add, ON_END_COMPACT, { value: addCompact });

  /** Every held trace, newest first (both rings merged by add order). */
  const everything = (): IterableIterator<Found> =>
    newestOf(found(ring, ring.newestFirst()), found(keptRing, keptRing.newestFirst()));

  /** Traces of an index key in both rings, newest first. */
  const keyed = (request: boolean, key: string): IterableIterator<Found> =>
    newestOf(found(ring, ring.keyed(request, key)), found(keptRing, keptRing.keyed(request, key)));

  const find = (query: FindQuery = {}): Trace[] => {
    if (query === null || typeof query !== 'object' || Array.isArray(query))
      throw new StepmarkConfigError(
        'ERR_STEPMARK_INVALID_ARGUMENT',
        `${WHERE}: find(query) needs an object, got ${query === null ? 'null' : Array.isArray(query) ? 'an array' : typeof query}.`,
        'query',
      );
    for (const key of Object.keys(query)) {
      if (!KNOWN_FIND.has(key))
        throw new StepmarkConfigError(
          'ERR_STEPMARK_UNKNOWN_OPTION',
          `${WHERE}: find() does not know ${JSON.stringify(key)}. Known: ${[...KNOWN_FIND].join(', ')}.`,
          key,
        );
    }
    const { entity, requestId, stage, action, error } = query;
    for (const [name, v] of [
      ['entity', entity],
      ['requestId', requestId],
      ['stage', stage],
      ['action', action],
    ] as const) {
      if (v !== undefined && typeof v !== 'string') throw badArgument(name, 'must be a string');
    }
    if (error !== undefined && typeof error !== 'boolean')
      throw badArgument('error', 'must be true or false');
    const since = instant(query.since, 'since');
    const until = instant(query.until, 'until');
    const limit = query.limit ?? 100;
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 0)))
      throw badArgument('limit', 'must be a whole number >= 0 or Infinity');
    expire();
    // Candidates from an index when there is a key, newest first; else everything. Requests are
    // rarer than entity ids: a request id narrows more. Index candidates are checked against
    // their trace's own keys (by `keyed`); the other key is checked here.
    const candidates =
      requestId !== undefined
        ? keyed(true, requestId)
        : entity !== undefined
          ? keyed(false, entity)
          : everything();
    const out: Trace[] = [];
    if (limit === 0) return out;
    for (const { ring: r, i } of candidates) {
      if (error !== undefined && r.errorOf(i) !== error) continue;
      const started = r.startOf(i);
      const at = Number.isNaN(started) ? r.addedOf(i) : started;
      if (since !== undefined && at < since) continue;
      if (until !== undefined && at > until) continue;
      try {
        const held = r.held(i);
        if (requestId !== undefined && entity !== undefined && !heldKeys(held).entities.includes(entity))
          continue;
        if ((stage !== undefined || action !== undefined) && !heldHasEvent(held, entity, stage, action))
          continue;
        out.push(heldTrace(held));
      } catch {}
      if (out.length >= limit) break;
    }
    return out;
  };

  const stats = (): RecorderStats => {
    expire();
    return {
      traces: ring.size + keptRing.size,
      bytes: ring.bytes + keptRing.bytes,
      added: counts.added,
      evicted: counts.evicted,
      expired: counts.expired,
      kept: keptRing.size,
      oversize: counts.oversize,
      maxBytes: o.maxBytes,
    };
  };

  /**
   * Every held trace as JSON lines, oldest first, from a snapshot of the rings taken when the first
   * line is asked for (once the file is open).
   */
  const lines = function* (): Generator<string> {
    expire();
    const held: Held[] = [];
    for (const { ring: r, i } of everything()) held.push(r.held(i));
    held.reverse();
    // lines are written over several turns of the event loop: the chunks read must stay as they are
    const unpin = [ring.pin(), keptRing.pin()];
    try {
      for (const h of held) {
        try {
          yield heldJson(h);
        } catch {}
      }
    } finally {
      for (const u of unpin) u();
    }
  };

  // A dump holds the chunks it reads until it has finished (see `lines`): two at a time, each
  // stalled on a stream nobody reads while traffic turns the ring over, would keep three rings'
  // memory alive. One at a time keeps it within twice `maxBytes`.
  let dumping = false;
  /** Takes the one dump slot (throws when taken); returns what gives it back. */
  const claimDump = (): (() => void) => {
    if (dumping) {
      throw new StepmarkConfigError(
        'ERR_STEPMARK_DUMP_IN_PROGRESS',
        `${WHERE}: a dump of this recorder is still being written (one at a time: a dump holds the traces it reads until it finishes). Wait for it, or end the stream it writes to.`,
      );
    }
    dumping = true;
    return () => {
      dumping = false;
    };
  };

  const writeNdjson = async (target: string | WritableLike): Promise<number> => {
    const toFile = typeof target === 'string';
    if (toFile) {
      if (target === '') throw badTarget('writeNdjson(path) needs a file path');
    } else if (target === null || typeof target !== 'object' || typeof target.write !== 'function')
      throw badTarget('writeNdjson(target) needs a file path or a writable stream');
    const release = claimDump();
    try {
      return await (toFile ? writeFileLines(target, lines()) : writeStreamLines(target, lines()));
    } finally {
      release();
    }
  };

  const clear = (): void => {
    ring.clear();
    keptRing.clear();
    unwatch();
  };

  const uninstall = installDump(o.dumpOn, lines, claimDump);
  const close = (): void => {
    uninstall();
    unwatch();
  };
  const recorder: FlightRecorder = { add, find, stats, writeNdjson, clear, close, [Symbol.dispose]: close };
  // For tests: how many traces are held, without expiring any first (as every public read does).
  Object.defineProperty(recorder, HELD, { value: () => ring.size + keptRing.size });
  // For tests: every buffer that outlives a trace (chunks, spare chunks, the writer's scratch).
  Object.defineProperty(recorder, BUFFERS, {
    value: () => [...ring.buffers(), ...keptRing.buffers(), writer.scratch],
  });
  return recorder;
}

/** A held trace: its ring and number there. */
interface Found {
  ring: Ring;
  i: number;
}

function* found(ring: Ring, numbers: IterableIterator<number>): IterableIterator<Found> {
  for (const i of numbers) yield { ring, i };
}

/** Two newest-first sequences merged into one, by add order. */
function* newestOf(a: IterableIterator<Found>, b: IterableIterator<Found>): IterableIterator<Found> {
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.ring.seqOf(x.value.i) > y.value.ring.seqOf(y.value.i))) {
      yield x.value as Found;
      x = a.next();
    } else {
      yield y.value as Found;
      y = b.next();
    }
  }
}

interface ProcessLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  listenerCount?(event: string): number;
}

/** What a dump did, in one line (the path and the system's message escaped). */
function dumpLine(result: DumpResult): string {
  const what = result.reason === 'signal' ? 'on a signal' : 'on an uncaught exception';
  // neither the path nor the system's message can break the line or drive the terminal
  const path = escapeForTerminal(result.path);
  return result.error
    ? `flight recorder: dump ${what} to ${path} failed: ${escapeForTerminal(result.error.message)}`
    : `flight recorder: wrote ${result.traces} traces ${what} to ${path}`;
}

function reportDump(result: DumpResult): void {
  try {
    console.error(`[stepmark] ${dumpLine(result)}`);
  } catch {}
}

/** Installs the `dumpOn` handlers; returns the function that removes them. */
function installDump(
  dumpOn: DumpOptions | undefined,
  lines: () => Iterable<string>,
  claimDump: () => () => void,
): () => void {
  if (dumpOn === undefined) return () => {};
  const proc = (globalThis as unknown as { process: ProcessLike }).process;
  const tell = (result: DumpResult) => {
    try {
      (dumpOn.onDump ?? reportDump)(result);
    } catch (error) {
      // reported once, with what it was told: a broken onDump must not hide every later dump
      reportOnce('STEPMARK_ON_DUMP_FAILED', `dumpOn.onDump threw when told: ${dumpLine(result)}`, error);
    }
  };
  const removers: (() => void)[] = [];
  if (dumpOn.signal !== undefined) {
    const onSignal = () => {
      const path = dumpPath(dumpOn.path);
      const failed = (error: unknown) =>
        tell({
          path,
          traces: 0,
          reason: 'signal',
          error: error instanceof Error ? error : new Error(String(error)),
        });
      let release: () => void;
      try {
        release = claimDump();
      } catch (error) {
        failed(error);
        return;
      }
      writeFileLines(path, lines())
        .finally(release)
        .then((traces) => tell({ path, traces, reason: 'signal' }), failed);
    };
    proc.on(dumpOn.signal, onSignal);
    removers.push(() => proc.off(dumpOn.signal!, onSignal));
  }
  if (dumpOn.uncaughtException !== false) {
    // Loaded now: when the exception comes, there is no time for an asynchronous import.
    if (fsNow() === undefined) void loadFs().catch(() => {});
    // Not held back by a dump in progress: this one is the last chance, and it is written
    // synchronously, holding nothing once it returns.
    const dump = () => {
      const path = dumpPath(dumpOn.path);
      const fs = fsNow();
      try {
        if (fs === undefined) throw new Error('node:fs is not available');
        tell({ path, traces: writeFileLinesSync(fs, path, lines()), reason: 'uncaughtException' });
      } catch (error) {
        tell({
          path,
          traces: 0,
          reason: 'uncaughtException',
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    };
    // With an 'uncaughtException' listener of the application's, the exception does not end the
    // process by itself: the listener may log it and carry on (then nothing is written, and a
    // server that survives its exceptions does not stall on a dump for each), or end the process
    // (the usual log-then-exit): the dump is written on the way out, when it exits with a failure.
    let onExit: ((code: unknown) => void) | undefined;
    const onCrash = () => {
      if ((proc.listenerCount?.('uncaughtException') ?? 0) === 0) return dump();
      if (onExit !== undefined) return;
      onExit = (code) => {
        if (code !== 0) dump();
      };
      proc.on('exit', onExit);
    };
    // The monitor event sees the exception without changing what happens next.
    proc.on('uncaughtExceptionMonitor', onCrash);
    removers.push(() => {
      proc.off('uncaughtExceptionMonitor', onCrash);
      if (onExit !== undefined) proc.off('exit', onExit);
    });
  }
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    for (const remove of removers) remove();
  };
}
