/**
 * `stepmark/sinks`: send collected traces where people already look — an NDJSON file, the
 * console (as a span tree), a pino logger — without ever slowing down or breaking the request.
 *
 * Every sink is a bounded queue: `write` only appends (formatting and I/O happen later, off the
 * request path), a full queue drops and counts (`stats.dropped`) and says so once in its own
 * output when it has room again, pending lines are written synchronously when the process exits,
 * and a failing destination is reported once (a process warning, or `onError`) and switches the
 * sink off instead of throwing.
 *
 * @example
 * ```ts
 * import { run } from 'stepmark';
 * import { ndjsonSink } from 'stepmark/sinks';
 * const sink = ndjsonSink('traces.ndjson');
 * await run(handleRequest, { meta: { request_id }, onEnd: sink.write });
 * ```
 */

import { checkChoice, checkType, invalidOption, knownOptions } from '../adapters/core/errors.js';
import { escapeForTerminal, type FormatOptions, formatTrace } from '../runtime/render.js';
import { reportOnce } from '../runtime/report.js';
import type { Trace } from '../runtime/types.js';
import { fileOutput, streamOutput, type WritableLike } from './outputs.js';
import { QUEUE_OPTIONS, type QueueOptions } from './queue.js';
import { type FlattenOptions, flattenTrace } from './records.js';
import { createSink, DroppedNotice, type Sink, type SinkItem } from './sink.js';

export { StepmarkConfigError, type StepmarkConfigErrorCode } from '../adapters/core/errors.js';
export { registerExitFlush } from './exit.js';
export type { TextOutput, WritableLike } from './outputs.js';
export { fileOutput, streamOutput } from './outputs.js';
export { BoundedQueue, type QueueOptions, type QueueTarget, SinkError, type SinkStats } from './queue.js';
export {
  type EventRecord,
  type FlattenOptions,
  flattenTrace,
  isSpanMirrorEvent,
  type SpanRecord,
  type TraceRecord,
} from './records.js';
export { createSink, DroppedNotice, type Sink, type SinkItem, textTarget } from './sink.js';

import { textTarget } from './sink.js';

/**
 * One `onEnd` callback that hands each trace to several sinks (each with its own queue, so a slow or
 * failed one never holds up the others). A `write` that throws (a hand-written sink) costs that
 * sink the trace, not the others; the failure is reported once (a process warning,
 * `STEPMARK_SINK_FAILED`).
 *
 * @example
 * ```ts
 * run(handler, { onEnd: teeSinks(ndjsonSink('traces.ndjson'), pinoSink(log)) });
 * ```
 */
export function teeSinks(...sinks: ReadonlyArray<Pick<Sink, 'write'>>): (trace: Trace) => void {
  return (trace) => {
    for (const s of sinks) {
      try {
        s.write(trace);
      } catch (error) {
        reportOnce(
          'STEPMARK_SINK_FAILED',
          'teeSinks: a sink threw from write (the other sinks got the trace)',
          error,
        );
      }
    }
  };
}

export interface NdjsonSinkOptions extends QueueOptions {
  /**
   * `'trace'` (default): one line per trace, the trace JSON exactly as `collect()` returns it.
   * `'records'`: one line per span and per event (see {@link flattenTrace}), for log pipelines
   * that index flat records.
   */
  lines?: 'trace' | 'records';
  /** Options for `lines: 'records'`. */
  records?: FlattenOptions;
  /** For a path: append to the file (default) or truncate it when it is opened. */
  mode?: 'append' | 'truncate';
}

const NDJSON_OPTIONS = [...QUEUE_OPTIONS, 'lines', 'records', 'mode'];

const droppedLine = (n: DroppedNotice) =>
  JSON.stringify({ type: 'stepmark.dropped', dropped: n.dropped, timestamp: n.timestamp }) + '\n';

const formatErrorLine = (err: unknown) =>
  JSON.stringify({ type: 'stepmark.error', error: `trace not serialisable: ${String(err)}` }) + '\n';

/**
 * Newline-delimited JSON: to a file (path or descriptor, opened on first write) or a Node
 * writable stream. A dropped-traces notice is a line `{"type":"stepmark.dropped","dropped":n}`.
 */
export function ndjsonSink(
  destination: string | number | WritableLike,
  options: NdjsonSinkOptions = {},
): Sink {
  const o = knownOptions('stepmark/sinks ndjsonSink', options, NDJSON_OPTIONS);
  checkChoice('stepmark/sinks ndjsonSink', o, 'lines', ['trace', 'records']);
  checkChoice('stepmark/sinks ndjsonSink', o, 'mode', ['append', 'truncate']);
  checkType('stepmark/sinks ndjsonSink', o, 'records', 'object');
  const output =
    typeof destination === 'string' || typeof destination === 'number'
      ? fileOutput(destination, { mode: options.mode })
      : streamOutput(destination, 'ndjson stream');
  const records = options.lines === 'records';
  const format = (item: SinkItem): string => {
    if (item instanceof DroppedNotice) return droppedLine(item);
    if (!records) return JSON.stringify(item) + '\n';
    let text = '';
    for (const rec of flattenTrace(item, options.records)) text += JSON.stringify(rec) + '\n';
    return text;
  };
  return createSink(textTarget(output, format, formatErrorLine), options);
}

export interface ConsoleSinkOptions extends QueueOptions {
  /** Where to print. Default `process.stderr` (stdout often carries the program's own output). */
  stream?: WritableLike;
  /** Options of the default rendering (`formatTrace` from `stepmark`); `color` defaults to `stream.isTTY`. */
  format?: FormatOptions;
  /** Turns a trace into text, replacing `formatTrace`; print recorded strings through `escapeForTerminal` (from `stepmark`). */
  render?: (trace: Trace) => string;
}

/** Prints each trace as a human-readable span tree and entity journeys (`formatTrace`). */
export function consoleSink(options: ConsoleSinkOptions = {}): Sink {
  const o = knownOptions('stepmark/sinks consoleSink', options, [
    ...QUEUE_OPTIONS,
    'stream',
    'format',
    'render',
  ]);
  checkType('stepmark/sinks consoleSink', o, 'stream', 'object');
  checkType('stepmark/sinks consoleSink', o, 'format', 'object');
  checkType('stepmark/sinks consoleSink', o, 'render', 'function');
  const stream =
    options.stream ??
    ((globalThis as { process?: { stderr?: WritableLike } }).process?.stderr as WritableLike);
  if (!stream) throw new TypeError('stepmark consoleSink: no process.stderr here; pass options.stream');
  const formatOptions: FormatOptions = {
    color: (stream as { isTTY?: boolean }).isTTY === true,
    ...options.format,
  };
  const render = options.render ?? ((trace: Trace) => formatTrace(trace, formatOptions));
  const format = (item: SinkItem): string => {
    if (item instanceof DroppedNotice)
      return `stepmark: ${item.dropped} trace(s) dropped (console sink queue full)\n`;
    const text = render(item);
    return text.endsWith('\n') ? text : text + '\n';
  };
  return createSink(
    textTarget(
      streamOutput(stream, 'console'),
      format,
      (err) => `stepmark: trace not printable: ${escapeForTerminal(String(err))}\n`,
    ),
    options,
  );
}

/** The part of a pino logger (or any logger with pino's call shape) that the pino sink uses. */
export interface PinoLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  [level: string]: unknown;
}

export type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface PinoSinkOptions extends QueueOptions {
  /**
   * `'trace'` (default): one log line per trace, the trace under `key`.
   * `'lines'`: one log line per span and per step/event, each with the trace's meta under `key`
   * (`{ stepmark: { type: 'span', name, duration_ms, ... } }`), so logs can be filtered by span.
   */
  mode?: 'trace' | 'lines';
  /** Property holding stepmark data in each log object. Default `"stepmark"`. */
  key?: string;
  /** Level of normal lines. Default `"info"`. */
  level?: PinoLevel;
  /** Level of a trace with a failed span (mode trace) or of a failed span (mode lines). Default `"error"`. */
  errorLevel?: PinoLevel;
  /** Options for `mode: 'lines'`. */
  records?: FlattenOptions;
}

/**
 * Logs traces through a pino logger (pino itself is not imported: pass your logger, or a child
 * of it). Logging happens when the queue drains, never inside the request.
 *
 * @example
 * ```ts
 * const log = pino();
 * const sink = pinoSink(log, { mode: 'lines' });
 * app.use(stepmarkMiddleware({ onFinish: sink.write }));
 * ```
 */
export function pinoSink(logger: PinoLike, options: PinoSinkOptions = {}): Sink {
  if (!logger || typeof logger.info !== 'function') {
    throw new TypeError('stepmark pinoSink: the first argument must be a pino logger');
  }
  const where = 'stepmark/sinks pinoSink';
  const o = knownOptions(where, options, [...QUEUE_OPTIONS, 'mode', 'key', 'level', 'errorLevel', 'records']);
  checkChoice(where, o, 'mode', ['trace', 'lines']);
  checkType(where, o, 'records', 'object');
  if (o.key !== undefined && (typeof o.key !== 'string' || o.key === '')) {
    throw invalidOption(where, 'key', 'must be a non-empty string');
  }
  // A level the logger has no method for (a typo, or a custom level it was not created with)
  // would fail at the first write and switch the sink off: refuse it now.
  for (const option of ['level', 'errorLevel'] as const) {
    const name = o[option];
    if (name !== undefined && (typeof name !== 'string' || typeof logger[name] !== 'function')) {
      throw invalidOption(
        where,
        option,
        `must name a level method of the logger (info, warn, error…), got ${JSON.stringify(name)}`,
      );
    }
  }
  const key = options.key ?? 'stepmark';
  const level = options.level ?? 'info';
  const errorLevel = options.errorLevel ?? 'error';
  const lines = options.mode === 'lines';
  const log = (lvl: PinoLevel, obj: object, msg: string) => {
    (logger[lvl] as (o: object, m: string) => void).call(logger, obj, msg);
  };
  const logItem = (item: SinkItem) => {
    if (item instanceof DroppedNotice) {
      log(
        'warn',
        { [key]: { type: 'stepmark.dropped', dropped: item.dropped } },
        'stepmark: traces dropped (sink queue full)',
      );
      return;
    }
    if (!lines) {
      const failed = item.spans?.some((s) => s.status === 'error');
      log(failed ? errorLevel : level, { [key]: item }, 'stepmark trace');
      return;
    }
    for (const rec of flattenTrace(item, options.records)) {
      if (rec.type === 'span') {
        const ms = rec.duration_ms === undefined ? 'unfinished' : `${rec.duration_ms}ms`;
        log(rec.status === 'error' ? errorLevel : level, { [key]: rec }, `span ${rec.name} ${ms}`);
      } else {
        log(level, { [key]: rec }, `${rec.stage}: ${rec.action}`);
      }
    }
  };
  const logAll = (items: readonly SinkItem[]) => {
    for (const item of items) logItem(item);
  };
  return createSink(
    {
      name: 'pino',
      write(items, done) {
        logAll(items);
        done();
      },
      writeSync: logAll,
      overflowNotice: (dropped) => new DroppedNotice(dropped),
    },
    options,
  );
}
