// Issue 18, "The trigger secret is never recorded", for what watches a trace while it runs: the
// live page's event stream (publishRuntimeEvents + createLiveEndpoint over SSE), OpenTelemetry
// live mode (the real SDK, in-memory exporter) and the diagnostics_channel bridge. A handler that
// copies the trigger header everywhere it can must show none of it to any of them, and what they
// see is redacted exactly as the finished trace is.
import diagnostics_channel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import express from 'express';
import * as stepmark from 'stepmark';
import { stepmarkMiddleware } from 'stepmark/http';
import { createBus, createLiveEndpoint, type LiveEvent, publishRuntimeEvents } from 'stepmark/live';
import { enableOtel } from 'stepmark/otel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, listen } from '../adapters/helpers.js';
import { connectSse, type SseConnection } from '../live/sse-client.js';

type Trace = stepmark.Trace;

// The first characters are found nowhere else in this file's output, so even a secret's
// beginning left in front of a cut is caught.
const SECRET = 'Zq7!live-secret-0123456789abcdef';
const HEAD = SECRET.slice(0, 4);
const LIVE_SECRET = 'live-page-secret-0123456789';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Copies the trigger header everywhere the recorder takes a string, across awaits. */
async function careless(v: string): Promise<void> {
  const id = `session:${v}`;
  stepmark.track(
    id,
    {
      auth: `Bearer ${v}`,
      nested: { deep: [v, { [v]: v }] },
      [`key ${v}`]: 'as a key',
      error: new Error(`bad ${v}`),
      map: new Map([[v, v]]),
    },
    { kind: `kind ${v}` },
  );
  stepmark.step('copied', { header: v, note: `token=${v};path=/` });
  stepmark.record(`stage ${v}`, `checked ${v}`);
  await sleep(1);
  const span = stepmark.enterEntity(id, { v });
  stepmark.stepEntity(id, `action ${v}`, { v });
  await sleep(1);
  // wherever the string cap falls, for some of these the secret straddles it
  for (let pad = 990; pad < 1030; pad += 3)
    stepmark.record('pad', `${'x'.repeat(pad)}${v}`, { v: 'y'.repeat(pad) + v });
  span.fail(new Error(`rejected token ${v}`));
  span();
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();

/** What one diagnostics_channel subscriber saw, serialised when it was published. */
const published: string[] = [];
const spanChannel = diagnostics_channel.tracingChannel('stepmark:span');
const eventChannel = diagnostics_channel.channel('stepmark:event');
const seeSpan = (name: string) => (m: unknown) => {
  const msg = m as stepmark.DiagnosticsSpanMessage;
  published.push(
    `${name} ${JSON.stringify({ ...msg, parent: undefined, error: msg.error?.message, stack: msg.error?.stack })}`,
  );
};
const spanHandlers = {
  start: seeSpan('start'),
  end: seeSpan('end'),
  asyncStart: seeSpan('asyncStart'),
  asyncEnd: seeSpan('asyncEnd'),
  error: seeSpan('error'),
};
const seeEvent = (m: unknown) => {
  const msg = m as stepmark.DiagnosticsEventMessage;
  published.push(`event ${JSON.stringify({ ...msg, span: undefined })}`);
};

describe('the trigger secret and live observers (Express over loopback)', () => {
  const finished: Trace[] = [];
  let server: { port: number; close(): Promise<void> };
  let stream: SseConnection;
  const stops: (() => void)[] = [];

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(provider);
    const otel = enableOtel({ live: true, tracer: provider.getTracer('secrets-live') });
    stops.push(() => otel.disable());
    stops.push(stepmark.enableDiagnosticsChannel());
    spanChannel.subscribe(spanHandlers);
    eventChannel.subscribe(seeEvent);
    stops.push(() => {
      spanChannel.unsubscribe(spanHandlers);
      eventChannel.unsubscribe(seeEvent);
    });

    const bus = createBus({ capacity: 1000, liveEvents: true });
    stops.push(publishRuntimeEvents(bus));
    const live = createLiveEndpoint({ enabled: true, secret: LIVE_SECRET, bus });
    const app = express();
    app.use(live);
    app.use(
      stepmarkMiddleware({
        secret: SECRET,
        responseHeader: true,
        meta: (req) => ({ headers: req.headers, copied: `x-stepmark was ${req.headers['x-stepmark']}` }),
        onFinish: (t) => {
          finished.push(t);
          live.onFinish(t);
        },
      }),
    );
    app.get('/careless', async (req, res) => {
      await careless(String(req.get('x-stepmark')));
      res.json({ traced: stepmark.enabled() });
    });
    server = await listen(createServer(app));
    stream = await connectSse(`http://127.0.0.1:${server.port}/__stepmark/events?since=0`, {
      authorization: `Bearer ${LIVE_SECRET}`,
    });
    expect(stream.status).toBe(200);
  });

  afterAll(async () => {
    stream?.close();
    for (const stop of stops.reverse()) stop();
    await server?.close();
    await provider.shutdown();
    contextManager.disable();
  });

  it('is never seen by the live stream, OTel live mode or diagnostics_channel; they see what the trace holds', async () => {
    const reply = await get(server.port, '/careless', {
      'x-stepmark': SECRET,
      'x-request-id': 'live-secret',
    });
    expect(JSON.parse(reply.body)).toEqual({ traced: true });

    // The stream: hello, the live events of the request, then its finished trace.
    const items = [];
    for (;;) {
      const [item] = await stream.take(1);
      items.push(item!);
      if (item!.event === 'trace') break;
    }
    const liveEvents = items.filter((i) => i.event === 'event').map((i) => JSON.parse(i.data) as LiveEvent);
    const [done] = finished;
    expect(done).toBeDefined();
    expect(JSON.parse(items.at(-1)!.data)).toEqual(done);

    // Nothing anywhere: the stream as sent, every OTel span, every diagnostics message, the header.
    const spans = exporter.getFinishedSpans();
    const otel = JSON.stringify(
      spans.map((s: ReadableSpan) => ({
        name: s.name,
        attributes: s.attributes,
        status: s.status,
        events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
      })),
    );
    const seen = {
      stream: stream.raw,
      otel,
      diagnostics: published.join('\n'),
      header: String(reply.headers['x-stepmark-trace']),
    };
    const leaked = Object.entries(seen).flatMap(([where, text]) => [
      ...(text.includes(SECRET) ? [`the secret in ${where}`] : []),
      ...(text.includes(HEAD) ? [`its beginning in ${where}`] : []),
    ]);
    expect(leaked).toEqual([]);

    // The observers did see the request, redacted like the finished trace: a secret inside a
    // longer string is replaced by "[Redacted]", the rest of the string stays.
    const session = 'session:[Redacted]';
    expect(Object.keys(done!.entities)).toEqual([session]);
    expect(done!.entities[session]!.kind).toBe('kind [Redacted]');
    expect(done!.entities[session]!.meta).toMatchObject({
      auth: 'Bearer [Redacted]',
      nested: { deep: ['[Redacted]', { '[Redacted]': '[Redacted]' }] },
      'key [Redacted]': 'as a key',
      error: { message: 'bad [Redacted]' },
      map: { '[Redacted]': '[Redacted]' },
    });
    expect(done!.meta.copied).toBe('x-stepmark was [Redacted]');

    // live events: every step and span the trace holds, with the same strings
    const steps = liveEvents.filter((e) => e.type === 'event');
    const recorded = [...done!.events, ...done!.entities[session]!.events].filter(
      (e) => e.action !== 'entered' && e.action !== 'exited',
    );
    expect(steps.map((e) => [e.stage, e.action, e.meta])).toEqual(
      expect.arrayContaining(recorded.map((e) => [e.stage, e.action, e.meta])),
    );
    expect(steps).toHaveLength(recorded.length);
    expect(steps.map((e) => e.action)).toContain('checked [Redacted]');
    expect(steps.find((e) => e.action === 'copied')?.meta).toEqual({
      header: '[Redacted]',
      note: 'token=[Redacted];path=/',
    });
    const ended = liveEvents.find((e) => e.type === 'span-end');
    expect(ended).toMatchObject({ entity_id: session, status: 'error', error: 'rejected token [Redacted]' });
    expect(done!.spans.map((s) => s.error)).toEqual(['rejected token [Redacted]']);
    // some of the padded strings were cut, right inside "[Redacted]" or after it
    expect(steps.some((e) => e.stage === 'pad' && e.action.includes('…'))).toBe(true);

    // OTel live: the span of the entity, its error, its events, the trace's meta
    const span = spans.find((s) => s.attributes['stepmark.entity.id'] === session);
    expect(span?.status.message).toBe('rejected token [Redacted]');
    expect(span?.attributes['stepmark.entity.kind']).toBe('kind [Redacted]');
    expect(span?.attributes['stepmark.entity.meta.auth']).toBe('Bearer [Redacted]');
    expect(span?.attributes['stepmark.trace.meta.copied']).toBe('x-stepmark was [Redacted]');
    expect(span?.events.map((e) => e.name)).toContain('action [Redacted]');

    // diagnostics_channel: the span's error (message and stack) and the events
    expect(published.some((m) => m.startsWith('error ') && m.includes('rejected token [Redacted]'))).toBe(
      true,
    );
    expect(published.some((m) => m.startsWith('event ') && m.includes('"action":"checked [Redacted]"'))).toBe(
      true,
    );
  });
});
