import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import pino from 'pino';
import {
  consoleSink,
  flattenTrace,
  ndjsonSink,
  pinoSink,
  type SinkError,
  StepmarkConfigError,
  teeSinks,
} from 'stepmark/sinks';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConfigErrorCase, expectConfigErrors } from '../support/config-errors.js';
import { captureWarnings } from '../support/warnings.js';
import { sampleTrace } from './fixture.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepmark-sinks-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (ext = 'ndjson') => path.join(dir, `t${n++}.${ext}`);
const readLines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('ndjson file sink', () => {
  it('writes one JSON line per trace, after write() has returned (off the request path)', async () => {
    const file = tmp();
    const errors: Error[] = [];
    const sink = ndjsonSink(file, { onError: (e) => errors.push(e) });
    const traces = [sampleTrace('a'), sampleTrace('b'), sampleTrace('c')];
    for (const t of traces) sink.write(t);
    // write() only queued: nothing has been opened or written yet in this tick.
    expect(fs.existsSync(file)).toBe(false);
    expect(sink.stats.pending).toBe(3);
    await sink.flush();
    expect(readLines(file)).toEqual(traces);
    expect(sink.stats).toMatchObject({ written: 3, dropped: 0, failed: 0, pending: 0 });
    await sink.close();
    expect(errors).toEqual([]);
  });

  it('is usable as a detached function (run(fn, { onEnd: sink.write }))', async () => {
    const file = tmp();
    const sink = ndjsonSink(file);
    const { write } = sink;
    write(sampleTrace('detached'));
    await sink.close();
    expect(readLines(file).map((t) => t.meta.request_id)).toEqual(['detached']);
  });

  it('ignores (and counts) a write of something that is not a trace', async () => {
    const file = tmp();
    const sink = ndjsonSink(file);
    sink.write(undefined as never);
    sink.write(sampleTrace('real'));
    await sink.close();
    expect(readLines(file).map((t) => t.meta.request_id)).toEqual(['real']);
    expect(sink.stats).toMatchObject({ written: 1, dropped: 1 });
  });

  it('teeSinks hands each trace to every sink; a failed one does not hold up the others', async () => {
    const good = tmp();
    const a = ndjsonSink(good);
    const b = ndjsonSink(path.join(dir, 'nope', 'x.ndjson'), { onError: () => {} });
    const onEnd = teeSinks(b, a);
    onEnd(sampleTrace('t1'));
    onEnd(sampleTrace('t2'));
    await Promise.all([a.close(), b.close()]);
    expect(readLines(good).map((t) => t.meta.request_id)).toEqual(['t1', 't2']);
    expect(b.stats.written).toBe(0);
  });

  it("records mode: one line per span and per event, time-ordered, without entered/exited, each with the trace's meta", async () => {
    const file = tmp();
    const sink = ndjsonSink(file, { lines: 'records' });
    sink.write(sampleTrace());
    await sink.close();
    const lines = readLines(file);
    expect(lines.map((l) => (l.type === 'span' ? `span ${l.name}` : `event ${l.action}`))).toEqual([
      'span OrderService.place',
      'event received',
      'span FraudService.score',
      'event flagged',
    ]);
    expect(lines.every((l) => l.trace.request_id === 'r1')).toBe(true);
    expect(lines[2]).toMatchObject({
      entity_id: 'order_42',
      entity_kind: 'order',
      status: 'error',
      parent_id: '1',
    });
    expect(lines[3]).toMatchObject({ entity_id: 'order_42', span_id: '2', meta: { score: 0.78 } });
    expect(flattenTrace(sampleTrace(), { spanEvents: true })).toHaveLength(6);
  });

  it('bounds the queue: overflow is dropped, counted, reported once, and noted in the output', async () => {
    const file = tmp();
    const errors: SinkError[] = [];
    const sink = ndjsonSink(file, { maxQueue: 2, onError: (e) => errors.push(e as SinkError) });
    for (let i = 0; i < 5; i++) sink.write(sampleTrace(`r${i}`));
    expect(sink.stats).toMatchObject({ pending: 2, dropped: 3 });
    expect(errors.map((e) => e.code)).toEqual(['STEPMARK_SINK_OVERFLOW']);
    await sink.flush();
    const lines = readLines(file);
    expect(lines.slice(0, 2).map((t) => t.meta.request_id)).toEqual(['r0', 'r1']);
    expect(lines[2]).toMatchObject({ type: 'stepmark.dropped', dropped: 3 });
    // A second overflow episode is reported again (once).
    for (let i = 0; i < 4; i++) sink.write(sampleTrace(`s${i}`));
    await sink.close();
    expect(errors.map((e) => e.code)).toEqual(['STEPMARK_SINK_OVERFLOW', 'STEPMARK_SINK_OVERFLOW']);
    expect(readLines(file).at(-1)).toMatchObject({ type: 'stepmark.dropped', dropped: 2 });
    expect(sink.stats).toMatchObject({ written: 6, dropped: 5 });
  });

  it('drains a long queue in order, batch by batch', async () => {
    const file = tmp();
    const sink = ndjsonSink(file, { maxQueue: 5000, batchSize: 7 });
    const small = (i: number) => ({ meta: { i }, entities: {}, events: [], spans: [], dropped: 0 });
    for (let i = 0; i < 5000; i++) sink.write(small(i));
    expect(sink.stats.pending).toBe(5000);
    await sink.close();
    expect(readLines(file).map((t) => t.meta.i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(sink.stats).toMatchObject({ written: 5000, dropped: 0, pending: 0 });
  });

  it('a path that cannot be opened is reported once and never throws into the caller', async () => {
    const errors: SinkError[] = [];
    const sink = ndjsonSink(path.join(dir, 'no', 'such', 'dir', 'x.ndjson'), {
      onError: (e) => errors.push(e as SinkError),
    });
    sink.write(sampleTrace());
    await sink.flush();
    sink.write(sampleTrace());
    sink.write(sampleTrace());
    await sink.flush();
    await sink.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('STEPMARK_SINK_FAILED');
    expect(errors[0]!.message).toContain('ENOENT');
    expect(sink.stats).toMatchObject({ written: 0, failed: 1, dropped: 2 });
  });

  it('defaults to one process warning for a failure', async () => {
    const warnings = await captureWarnings(async () => {
      const sink = ndjsonSink(path.join(dir, 'missing', 'y.ndjson'));
      for (let i = 0; i < 3; i++) {
        sink.write(sampleTrace());
        await sink.flush();
      }
    });
    expect(warnings.map((w) => (w as SinkError).code)).toEqual(['STEPMARK_SINK_FAILED']);
  });

  it('a stream that errors (EISDIR) or was closed fails the sink once, without an uncaught error event', async () => {
    const errors: Error[] = [];
    const broken = fs.createWriteStream(dir); // a directory: the stream emits 'error' EISDIR
    const sink = ndjsonSink(broken, { onError: (e) => errors.push(e) });
    sink.write(sampleTrace());
    await sink.flush();
    sink.write(sampleTrace());
    await sink.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/EISDIR|closed|destroyed/);

    const closedErrors: Error[] = [];
    const closed = fs.createWriteStream(tmp());
    await new Promise<void>((r) => closed.end(r));
    const sink2 = ndjsonSink(closed, { onError: (e) => closedErrors.push(e) });
    expect(() => sink2.write(sampleTrace())).not.toThrow();
    await sink2.flush();
    expect(closedErrors).toHaveLength(1);
    expect(sink2.stats.failed).toBe(1);
  });

  it('waits for a slow stream (backpressure) instead of buffering without bound', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const received: string[] = [];
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, cb) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        received.push(String(chunk));
        setTimeout(() => {
          inFlight--;
          cb();
        }, 2);
      },
    });
    const sink = ndjsonSink(slow, { batchSize: 1, maxQueue: 100 });
    for (let i = 0; i < 10; i++) sink.write(sampleTrace(`b${i}`));
    await sink.close();
    expect(maxInFlight).toBe(1);
    expect(received.map((l) => JSON.parse(l).meta.request_id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `b${i}`),
    );
  });

  it('writes what is still queued when the process exits (process.exit right after write)', () => {
    const file = tmp();
    const script = `
      const { ndjsonSink } = require('stepmark/sinks');
      const sink = ndjsonSink(${JSON.stringify(file)});
      for (let i = 0; i < 50; i++) sink.write({ meta: { i }, entities: {}, events: [], spans: [], dropped: 0 });
      process.exit(0);
    `;
    const res = spawnSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(readLines(file).map((t) => t.meta.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('console sink', () => {
  const collectText = () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c) => chunks.push(String(c)));
    return { out, text: () => chunks.join('') };
  };

  it("prints the runtime's span tree and entity journeys, one block per trace, failures marked", async () => {
    const { out, text } = collectText();
    const sink = consoleSink({ stream: out });
    sink.write(sampleTrace('a'));
    sink.write(sampleTrace('b'));
    expect(text()).toBe('');
    await sink.flush();
    const lines = text().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^trace request_id=a /);
    expect(lines.filter((l) => l.startsWith('trace request_id='))).toHaveLength(2);
    const place = lines.findIndex((l) => l.includes('OrderService.place'));
    const score = lines.findIndex((l) => l.includes('FraudService.score') && l.includes('ms'));
    const indent = (l: string) => l.search(/[A-Za-z]/);
    expect(place).toBeGreaterThan(0);
    expect(score).toBe(place + 1);
    expect(indent(lines[score]!)).toBeGreaterThan(indent(lines[place]!)); // nesting shows as indentation
    expect(lines[score]).toContain('score service down');
    expect(text()).toContain('flagged score=0.78');
    expect(text()).not.toContain('entered');
    expect(text()).not.toContain('\u001b['); // not a TTY: no colours
  });

  it('colours when asked (default: when the stream is a TTY) and accepts a custom renderer', async () => {
    const a = collectText();
    const coloured = consoleSink({ stream: a.out, format: { color: true } });
    coloured.write(sampleTrace());
    await coloured.flush();
    expect(a.text()).toContain('\u001b[');
    const b = collectText();
    const custom = consoleSink({ stream: b.out, render: (t) => `custom ${t.meta.request_id}` });
    custom.write(sampleTrace('z'));
    await custom.flush();
    expect(b.text()).toBe('custom z\n');
  });
});

describe('pino sink', () => {
  const pinoTo = () => {
    const lines: any[] = [];
    const dest = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    return { logger: pino({ base: undefined }, dest), lines };
  };

  it('trace mode: the whole trace as a structured field of one log line, error level when a span failed', async () => {
    const { logger, lines } = pinoTo();
    const sink = pinoSink(logger);
    const ok = sampleTrace('ok');
    ok.spans = ok.spans.map((s) => ({ ...s, status: 'ok', error: undefined }));
    sink.write(ok);
    sink.write(sampleTrace('failed'));
    expect(lines).toEqual([]); // logged when the queue drains, not inside write()
    await sink.flush();
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'stepmark trace' });
    expect(lines[0].stepmark).toEqual(JSON.parse(JSON.stringify(ok)));
    expect(lines[1]).toMatchObject({ level: 50, stepmark: { meta: { request_id: 'failed' } } });
  });

  it('lines mode: one log line per span and per step, with the trace meta for joining', async () => {
    const { logger, lines } = pinoTo();
    const sink = pinoSink(logger.child({ svc: 'checkout' }), { mode: 'lines', key: 'sm' });
    sink.write(sampleTrace());
    await sink.flush();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual([
      'span OrderService.place 10.25ms',
      'checkout: received',
      'span FraudService.score 2.5ms',
      'FraudService.score: flagged',
    ]);
    expect(lines.map((l) => l.level)).toEqual([30, 30, 50, 30]);
    expect(lines.every((l) => l.svc === 'checkout' && l.sm.trace.request_id === 'r1')).toBe(true);
    expect(lines[3].sm).toMatchObject({ type: 'event', entity_id: 'order_42', meta: { score: 0.78 } });
  });

  it('lines still queued at process.exit reach an asynchronous pino destination (flushed before pino ends it)', () => {
    const file = tmp('log');
    // The destination opens its file asynchronously, and pino's own exit flush throws ("not ready
    // yet") when the process exits before that: the lines are written once it is open.
    const script = `
      const pino = require('pino');
      const { pinoSink } = require('stepmark/sinks');
      const destination = pino.destination({ dest: ${JSON.stringify(file)}, sync: false });
      const sink = pinoSink(pino(destination));
      destination.once('ready', () => {
        for (let i = 0; i < 20; i++) sink.write({ meta: { i }, entities: {}, events: [], spans: [], dropped: 0 });
        process.exit(0);
      });
    `;
    const res = spawnSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    // All of them, in any order: the destination starts an asynchronous write with the first line
    // it gets at exit and pino's exit flush writes the rest synchronously; Node completes that
    // write as it exits, at times after the others (pino's behaviour, the same for its own lines).
    const written = readLines(file).map((l) => l.stepmark.meta.i);
    expect(written.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a logger that throws is reported once and switched off', async () => {
    const errors: Error[] = [];
    const broken = () => {
      throw new Error('logger broken');
    };
    const bad = { info: broken, warn: broken, error: broken };
    const sink = pinoSink(bad, { onError: (e) => errors.push(e) });
    sink.write(sampleTrace());
    await sink.flush();
    sink.write(sampleTrace());
    await sink.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('logger broken');
  });
});

describe('sink options', () => {
  it('refuse an unknown option or a bad value when the sink is created, naming it', () => {
    const logger = pino({ enabled: false });
    const file = tmp();
    const cases: ConfigErrorCase[] = [
      // typos that would otherwise be silently ignored: the file appended to, one line per trace…
      [() => ndjsonSink(file, { mode: 'truncat' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'mode'],
      [() => ndjsonSink(file, { line: 'records' } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'line'],
      [() => ndjsonSink(file, { lines: 'record' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'lines'],
      [() => ndjsonSink(file, { maxQueue: 0 }), 'ERR_STEPMARK_INVALID_OPTION', 'maxQueue'],
      [() => ndjsonSink(file, { flushTimeout: -1 }), 'ERR_STEPMARK_INVALID_OPTION', 'flushTimeout'],
      [() => ndjsonSink(file, { onError: 'log' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'onError'],
      [() => ndjsonSink(file, { flushOnExit: 'no' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'flushOnExit'],
      [() => pinoSink(logger, { mode: 'line' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'mode'],
      // …or that would switch the sink off at its first write
      [() => pinoSink(logger, { level: 'inf' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'level'],
      [() => pinoSink(logger, { errorLevel: 'err' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'errorLevel'],
      [() => pinoSink(logger, { key: '' }), 'ERR_STEPMARK_INVALID_OPTION', 'key'],
      [() => consoleSink({ colour: true } as never), 'ERR_STEPMARK_UNKNOWN_OPTION', 'colour'],
      [() => consoleSink({ render: 'text' } as never), 'ERR_STEPMARK_INVALID_OPTION', 'render'],
      [() => ndjsonSink(file, 'truncate' as never), 'ERR_STEPMARK_INVALID_OPTION', 'options'],
    ];
    expectConfigErrors(StepmarkConfigError, cases);
    // a level the logger has (pino's custom levels included) is accepted
    const custom = pino({ enabled: false, customLevels: { audit: 35 } });
    expect(() => pinoSink(custom, { level: 'audit' as never, flushOnExit: false })).not.toThrow();
    expect(fs.existsSync(file)).toBe(false);
  });
});
