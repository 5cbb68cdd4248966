// Issue 18, "Failures are reported once, and nothing is lost": whatever breaks around a trace (a
// sink, an onEnd, an OpenTelemetry span processor, a process.exit at the wrong moment), the
// others still get every trace, the failure is reported once, and nothing is thrown into the app.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import * as stepmark from 'stepmark';
import { enableOtel, isolateSpanProcessors, otelOnEnd, otelSink } from 'stepmark/otel';
import { flightRecorder } from 'stepmark/recorder';
import { createSink, type SinkError, type SinkItem, teeSinks } from 'stepmark/sinks';
import { afterAll, afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';

type Trace = stepmark.Trace;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepmark-failures-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let warnings: MockInstance<typeof process.emitWarning>;
beforeEach(() => {
  // Counted, and kept off the test output.
  warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
});
afterEach(() => warnings.mockRestore());
const warned = () => warnings.mock.calls.map((c) => String(c[0] instanceof Error ? c[0].message : c[0]));

const trace = (id: string): Trace => ({
  meta: { request_id: id },
  entities: {},
  events: [],
  spans: [],
  dropped: 0,
});

/** A sink that keeps what it is given (through the real queue). */
function memorySink() {
  const got: Trace[] = [];
  const sink = createSink(
    {
      name: 'memory',
      write(items: readonly SinkItem[], done: () => void) {
        for (const item of items) if ('meta' in item) got.push(item);
        done();
      },
    },
    {},
  );
  return { sink, got };
}

describe('teeSinks', () => {
  it('hands every trace to the other sinks when one throws, and reports that once', async () => {
    const broken = {
      write() {
        throw new Error('sink a is broken');
      },
    };
    const { sink, got } = memorySink();
    const onEnd = teeSinks(broken, sink);
    for (const id of ['t1', 't2', 't3']) expect(() => onEnd(trace(id))).not.toThrow();
    await sink.flush();
    expect(got.map((t) => t.meta.request_id)).toEqual(['t1', 't2', 't3']);
    expect(warned()).toEqual([expect.stringContaining('sink a is broken')]);
  });
});

describe('a throwing onEnd', () => {
  it('is reported once per distinct error, and never reaches the program', async () => {
    const same = () => {
      throw new Error('onEnd broke: same every time');
    };
    for (let i = 0; i < 5; i++) expect(stepmark.run(() => i, { onEnd: same })).toBe(i);
    await expect(stepmark.run(async () => 'async', { onEnd: same })).resolves.toBe('async');
    await expect(stepmark.capture(() => 'captured', { onEnd: same })).resolves.toMatchObject({
      result: 'captured',
    });
    stepmark.run(() => undefined, {
      onEnd: () => {
        throw new TypeError('onEnd broke: another way');
      },
    });
    stepmark.run(() => undefined, {
      onEnd: () => {
        throw 'a string'; // not even an Error
      },
    });
    expect(warned()).toEqual([
      expect.stringContaining('onEnd broke: same every time'),
      expect.stringContaining('onEnd broke: another way'),
      expect.stringContaining('a string'),
    ]);
  });

  it('does not flood: a message that changes every time is reported a bounded number of times', () => {
    for (let i = 0; i < 200; i++) {
      stepmark.run(() => undefined, {
        onEnd: () => {
          throw new Error(`flood ${i}`);
        },
      });
    }
    const flood = warned().filter((w) => w.includes('flood'));
    expect(flood.length).toBeGreaterThan(1);
    expect(flood.length).toBeLessThanOrEqual(21);
  });
});

describe("a flight recorder's keep.where", () => {
  const traced = (recorder: ReturnType<typeof flightRecorder>, id: string) =>
    stepmark.run(() => stepmark.record('order', 'placed'), { meta: { request_id: id }, onEnd: recorder.add });

  it('that throws: every trace is recorded as ordinary traffic, and the failure is reported once', () => {
    const recorder = flightRecorder({
      keep: {
        where: () => {
          throw new Error('where broke');
        },
      },
    });
    expect(() => {
      for (let i = 0; i < 5; i++) traced(recorder, `req-${i}`);
      recorder.add(trace('from-a-file'));
    }).not.toThrow();
    expect(recorder.stats()).toMatchObject({ traces: 6, kept: 0 });
    expect(recorder.find({ requestId: 'req-4' })).toHaveLength(1);
    const about = warned().filter((m) => m.includes('keep.where'));
    expect(about).toHaveLength(1);
    expect(about[0]).toContain('where broke');
  });

  it('that answers neither true nor false (a truthy string, a promise) keeps nothing and says so, once per kind', () => {
    const answers: unknown[] = ['yes', 'yes', Promise.resolve(true), 1, undefined];
    let i = 0;
    const recorder = flightRecorder({ keep: { where: () => answers[i++ % answers.length] as boolean } });
    for (let n = 0; n < 10; n++) traced(recorder, `req-${n}`);
    expect(recorder.stats()).toMatchObject({ traces: 10, kept: 0 });
    const about = warned().filter((m) => m.includes('keep.where'));
    expect(about).toHaveLength(4);
    expect(about.join('\n')).toMatch(/a string/);
    expect(about.join('\n')).toMatch(/a promise/);
    expect(about.join('\n')).toMatch(/a number/);
    expect(about.join('\n')).toMatch(/undefined/);
  });
});

describe('process.exit() while a batch is being written', () => {
  const readIds = (file: string) =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).meta.i);

  const exitDuringWrite = (setup: string) => {
    const file = path.join(dir, `exit-${Math.random().toString(36).slice(2)}.ndjson`);
    const script = `
      const { ndjsonSink } = require('stepmark/sinks');
      const sink = ndjsonSink(${JSON.stringify(file)});
      const t = (i) => ({ meta: { i }, entities: {}, events: [], spans: [], dropped: 0 });
      (async () => {
        ${setup}
        for (let i = 0; i < 250; i++) sink.write(t(i));
        // the queue's drain (a setImmediate scheduled by the first write) runs first: a batch is
        // being written when the process exits
        setImmediate(() => process.exit(0));
      })();
    `;
    const res = spawnSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    return readIds(file);
  };

  it('writes every queued trace, the batch in flight included (file not yet open)', () => {
    expect(exitDuringWrite('')).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('writes every queued trace, the batch in flight included (file already open)', () => {
    const ids = exitDuringWrite('sink.write(t(-1)); await sink.flush();');
    expect(ids).toEqual([-1, ...Array.from({ length: 250 }, (_, i) => i)]);
  });
});

describe('a sink whose destination stalls', () => {
  const stuck = (options: Record<string, unknown>) =>
    createSink({ name: 'stuck', write() {} /* never calls done */ }, options);

  it('flush() gives up after flushTimeout, reporting the stall once', async () => {
    const errors: Error[] = [];
    const sink = stuck({ flushTimeout: 30, onError: (e: Error) => errors.push(e) });
    sink.write(trace('a'));
    await sink.flush();
    sink.write(trace('b'));
    await sink.flush();
    await sink.close();
    expect(errors.map((e) => (e as SinkError).code)).toEqual(['STEPMARK_SINK_FLUSH_TIMEOUT']);
    expect(errors[0]!.message).toMatch(/stuck.*30 ms/);
  });

  it('reports the stall as a process warning by default', async () => {
    const sink = stuck({ flushTimeout: 10 });
    sink.write(trace('a'));
    await sink.flush();
    expect(warnings).toHaveBeenCalledTimes(1);
    expect((warnings.mock.calls[0]![0] as SinkError).code).toBe('STEPMARK_SINK_FLUSH_TIMEOUT');
  });

  it('refuses a flushTimeout that is not a positive number of milliseconds', () => {
    expect(() => stuck({ flushTimeout: 0 })).toThrow(/flushTimeout/);
    expect(() => stuck({ flushTimeout: '5s' })).toThrow(/flushTimeout/);
  });
});

describe('OpenTelemetry: a span processor that throws', () => {
  /** A trace of six spans: a root with five children. */
  const sixSpans = (id: string): Trace => ({
    meta: { request_id: id },
    entities: {},
    events: [],
    dropped: 0,
    spans: Array.from({ length: 6 }, (_, i) => ({
      span_id: String(i + 1),
      ...(i > 0 ? { parent_id: '1' } : {}),
      name: `span${i + 1}`,
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T00:00:00.001Z',
      duration_ms: 1,
      status: 'ok' as const,
    })),
  });

  const throwing = (where: 'onStart' | 'onEnd', message: string): SpanProcessor => ({
    onStart() {
      if (where === 'onStart') throw new Error(message);
    },
    onEnd() {
      if (where === 'onEnd') throw new Error(message);
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  });

  const memory = () => {
    const exporter = new InMemorySpanExporter();
    return { exporter, processor: new SimpleSpanProcessor(exporter) };
  };
  const names = (spans: ReadableSpan[]) => spans.map((s) => s.name).sort();
  const ALL = ['span1', 'span2', 'span3', 'span4', 'span5', 'span6'];

  it('keeps exporting the rest of the trace: a processor before it gets all six spans, reported once', () => {
    const before = memory();
    const provider = new BasicTracerProvider({
      spanProcessors: [before.processor, throwing('onEnd', 'processor onEnd broke')],
    });
    const onEnd = otelOnEnd({ tracer: provider.getTracer('t') });
    onEnd(sixSpans('r1'));
    onEnd(sixSpans('r2'));
    expect(names(before.exporter.getFinishedSpans())).toEqual([...ALL, ...ALL].sort());
    expect(warned()).toEqual([expect.stringContaining('processor onEnd broke')]);
  });

  it('isolateSpanProcessors: every other processor gets every span, wherever the throwing one sits', () => {
    const after = memory();
    const also = memory();
    const provider = new BasicTracerProvider({
      spanProcessors: [
        isolateSpanProcessors(
          throwing('onStart', 'isolated onStart broke'),
          throwing('onEnd', 'isolated onEnd broke'),
          after.processor,
          also.processor,
        ),
      ],
    });
    const onEnd = otelOnEnd({ tracer: provider.getTracer('t') });
    onEnd(sixSpans('r1'));
    onEnd(sixSpans('r2'));
    expect(names(after.exporter.getFinishedSpans())).toEqual([...ALL, ...ALL].sort());
    expect(names(also.exporter.getFinishedSpans())).toEqual([...ALL, ...ALL].sort());
    expect(warned().sort()).toEqual([
      expect.stringContaining('isolated onEnd broke'),
      expect.stringContaining('isolated onStart broke'),
    ]);
  });

  it('otelSink stays on after a failing export, and exports the next traces', async () => {
    const before = memory();
    const provider = new BasicTracerProvider({
      spanProcessors: [before.processor, throwing('onEnd', 'sink processor broke')],
    });
    const sink = otelSink({ tracer: provider.getTracer('t') });
    sink.write(sixSpans('r1'));
    await sink.flush();
    sink.write(sixSpans('r2'));
    await sink.flush();
    expect(sink.stats.error).toBeUndefined();
    expect(before.exporter.getFinishedSpans()).toHaveLength(12);
    expect(warned()).toEqual([expect.stringContaining('sink processor broke')]);
  });

  it('live mode reports its failure, once, and the program runs on', async () => {
    const provider = new BasicTracerProvider({ spanProcessors: [throwing('onStart', 'live onStart broke')] });
    const otel = enableOtel({ live: true, tracer: provider.getTracer('t'), captureParent: false });
    try {
      for (let i = 0; i < 3; i++) {
        const { result } = await stepmark.capture(async () => {
          const done = stepmark.enter();
          await new Promise((r) => setImmediate(r));
          done();
          return 'ok';
        });
        expect(result).toBe('ok');
      }
    } finally {
      otel.disable();
    }
    expect(warned()).toEqual([expect.stringContaining('live onStart broke')]);
  });
});

describe('an error hook that throws itself', () => {
  // onError (adapters, sinks) and onDump (the recorder) are where stepmark tells the program about
  // a failure. One that throws must not silence every later report: its own failure is reported
  // once, as a process warning naming what it was told, and nothing reaches the program.
  const codes = () => warnings.mock.calls.map((c) => (c[1] as { code?: string } | undefined)?.code);

  it("an adapter's onError", async () => {
    const { inject } = await import('light-my-request');
    const { stepmarkListener } = await import('stepmark/http');
    const handler = stepmarkListener((_req, res) => res.end('ok'), {
      record: flightRecorder(),
      meta() {
        throw new Error('meta broke');
      },
      onError() {
        throw new Error('onError broke');
      },
    });
    for (let i = 0; i < 3; i++) expect((await inject(handler, { url: '/' })).payload).toBe('ok');
    const about = warned().filter((m) => m.includes('onError broke'));
    expect(about).toHaveLength(1);
    expect(about[0]).toContain('meta broke');
    expect(codes()).toContain('STEPMARK_ON_ERROR_FAILED');
  });

  it("a sink's onError", async () => {
    const sink = createSink(
      {
        name: 'broken',
        write(_items: readonly SinkItem[], done: (err?: Error) => void) {
          done(new Error('destination broke'));
        },
      },
      {
        onError() {
          throw new Error('sink onError broke');
        },
      },
    );
    sink.write(trace('a'));
    await sink.flush();
    sink.write(trace('b'));
    await sink.flush();
    const about = warned().filter((m) => m.includes('sink onError broke'));
    expect(about).toHaveLength(1);
    expect(about[0]).toContain('destination broke');
    expect(codes()).toContain('STEPMARK_SINK_ON_ERROR_FAILED');
  });

  it("a flight recorder's onDump: the dump is still written", async () => {
    const file = path.join(dir, 'on-dump.ndjson');
    const recorder = flightRecorder({
      dumpOn: {
        signal: 'SIGUSR2',
        path: file,
        onDump() {
          throw new Error('onDump broke');
        },
      },
    });
    try {
      recorder.add(trace('dumped'));
      for (let i = 0; i < 2; i++) {
        process.emit('SIGUSR2', 'SIGUSR2');
        await vi.waitFor(() => expect(warned().some((m) => m.includes('onDump broke'))).toBe(true));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fs.readFileSync(file, 'utf8')).toContain('"dumped"');
      const about = warned().filter((m) => m.includes('onDump broke'));
      expect(about).toHaveLength(1);
      expect(about[0]).toContain('wrote 1 traces');
      expect(codes()).toContain('STEPMARK_ON_DUMP_FAILED');
    } finally {
      recorder.close();
    }
  });
});

describe('a callback that throws on every call says so, once', () => {
  // Each of these used to fail silently: nothing recorded for any entity (entityFilter), every
  // time NaN (clock), every live-page request refused (authorize), every request id random
  // (generateRequestId). A misconfiguration that does nothing must say so.
  const codes = () => warnings.mock.calls.map((c) => (c[1] as { code?: string } | undefined)?.code);

  it('entityFilter: the entity is not recorded, and the failure is reported once', () => {
    const filter = () => {
      throw new Error('filter broke');
    };
    for (let i = 0; i < 3; i++) {
      const { trace: t } = stepmark.captureSync(() => stepmark.recordEntity('order_1', 'a', 'b'), {
        entityFilter: filter,
      });
      expect(t.entities).toEqual({});
    }
    expect(warned().filter((m) => m.includes('filter broke'))).toHaveLength(1);
    expect(codes()).toContain('STEPMARK_ENTITY_FILTER_FAILED');
  });

  it('clock: the time is NaN, and the failure is reported once', () => {
    const clock = () => {
      throw new Error('clock broke');
    };
    for (let i = 0; i < 3; i++) stepmark.captureSync(() => stepmark.record('a', 'b'), { clock });
    expect(warned().filter((m) => m.includes('clock broke'))).toHaveLength(1);
    expect(codes()).toContain('STEPMARK_CLOCK_FAILED');
  });

  it("the live endpoint's authorize: the request is refused, and the failure is reported once", async () => {
    const { createLiveEndpoint } = await import('stepmark/live');
    const live = createLiveEndpoint({
      enabled: true,
      authorize() {
        throw new Error('authorize broke');
      },
    });
    for (let i = 0; i < 3; i++) {
      const res = await live.fetch(new Request('http://localhost/__stepmark'));
      expect(res.status).toBe(401);
    }
    expect(warned().filter((m) => m.includes('authorize broke'))).toHaveLength(1);
    expect(codes()).toContain('STEPMARK_LIVE_AUTHORIZE_FAILED');
  });

  it("an adapter's generateRequestId: a random id instead, and onError is told", async () => {
    const { inject } = await import('light-my-request');
    const { stepmarkListener } = await import('stepmark/http');
    const recorder = flightRecorder();
    const told: Array<[string, string]> = [];
    const answers: unknown[] = [new Error('generator broke'), '', 42];
    let n = 0;
    const handler = stepmarkListener((_req, res) => res.end('ok'), {
      record: recorder,
      generateRequestId() {
        const a = answers[n++ % answers.length];
        if (a instanceof Error) throw a;
        return a as string;
      },
      onError: (error, source) => told.push([source, (error as Error).message]),
    });
    for (let i = 0; i < 3; i++) expect((await inject(handler, { url: '/' })).payload).toBe('ok');
    await vi.waitFor(() => expect(recorder.stats().traces).toBe(3));
    for (const t of recorder.find()) expect(String(t.meta.request_id)).toMatch(/^[0-9a-f-]{36}$/);
    expect(told).toEqual([
      ['requestId', 'generator broke'],
      ['requestId', 'generateRequestId() must return a non-empty string, got ""'],
      ['requestId', 'generateRequestId() must return a non-empty string, got number 42'],
    ]);
  });
});
