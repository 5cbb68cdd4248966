import * as grpc from '@grpc/grpc-js';
import * as stepmark from 'stepmark';
import { StepmarkConfigError, stepmarkInterceptor } from 'stepmark/grpc';
import { flightRecorder } from 'stepmark/recorder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay, eventsOf, FinishLog, placeOrder, SECRET, type Trace } from './helpers.js';

// A service without .proto files: JSON messages.
const json = {
  requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()),
  responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()),
};
const service = {
  place: { path: '/shop.Orders/Place', requestStream: false, responseStream: false, ...json },
  watch: { path: '/shop.Orders/Watch', requestStream: false, responseStream: true, ...json },
  crash: { path: '/shop.Orders/Crash', requestStream: false, responseStream: false, ...json },
} satisfies grpc.ServiceDefinition;
const OrdersClient = grpc.makeGenericClientConstructor(service, 'Orders');

type Req = { id: string; n?: number; fail?: boolean; chunks?: number };

const handlers: grpc.UntypedServiceImplementation = {
  place(call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const { id, n, fail } = call.request;
    placeOrder(id, n ?? 0).then((result) => {
      if (fail) {
        stepmark.record('fail', 'precondition');
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'not today' });
      } else callback(null, result);
    }, callback);
  },
  crash() {
    stepmark.record('crash', 'throwing');
    throw new Error('handler bug');
  },
  async watch(call: grpc.ServerWritableStream<Req, unknown>) {
    const { id, chunks = 3 } = call.request;
    for (let i = 0; i < chunks && !call.cancelled; i++) {
      stepmark.recordEntity(`order_${id}`, 'watch', `update-${i}`);
      call.write({ i });
      await delay(10);
    }
    if (!call.cancelled) call.end();
  },
};

interface Started {
  client: InstanceType<typeof OrdersClient>;
  close(): Promise<void>;
}

async function start(options: Record<string, unknown>): Promise<Started> {
  const server = new grpc.Server({ interceptors: [stepmarkInterceptor(options)] });
  server.addService(service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new OrdersClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    client,
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.tryShutdown(() => resolve());
      }),
  };
}

interface UnaryResult {
  error: grpc.ServiceError | null;
  value: unknown;
  trailer: string | undefined;
}

function place(
  client: Started['client'],
  req: Req,
  md: Record<string, string>,
  method: 'place' | 'crash' = 'place',
): Promise<UnaryResult> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => {
    let error: grpc.ServiceError | null = null;
    let value: unknown;
    const call = client.makeUnaryRequest(
      service[method].path,
      service.place.requestSerialize,
      service.place.responseDeserialize,
      req,
      metadata,
      (e: grpc.ServiceError | null, v: unknown) => {
        error = e;
        value = v;
      },
    );
    call.on('status', (s: grpc.StatusObject) => {
      const t = s.metadata.get('x-stepmark-trace')[0];
      // the callback runs before 'status'; give it a turn
      setImmediate(() => resolve({ error, value, trailer: t === undefined ? undefined : String(t) }));
    });
  });
}

describe('stepmark/grpc: server interceptor over a real grpc-js server', () => {
  const log = new FinishLog();
  const errors: unknown[] = [];
  let s: Started;
  beforeAll(async () => {
    s = await start({
      secret: SECRET,
      responseHeader: true,
      // calls that ask for it by this key are traced without the secret's authority
      trigger: (req: { metadata: grpc.Metadata }) => req.metadata.get('x-trace-unexposed').length > 0,
      onFinish: log.onFinish,
      onError: (e: unknown) => errors.push(e),
    });
  });
  afterAll(() => s?.close());

  it('leaves an untriggered call alone', async () => {
    const r = await place(s.client, { id: 'u1' }, { 'x-request-id': 'g-untriggered' });
    expect(r.value).toEqual({ id: 'u1', traced: false });
    expect(r.trailer).toBeUndefined();
    await place(s.client, { id: 'u2' }, { 'x-stepmark': SECRET, 'x-request-id': 'g-after' });
    await log.byId('g-after');
    expect(log.traces.some((t) => t.meta.request_id === 'g-untriggered')).toBe(false);
  });

  it('does not trace a call whose trigger key lacks the secret', async () => {
    const r = await place(s.client, { id: 'g1' }, { 'x-stepmark': 'nope', 'x-request-id': 'g-wrong' });
    expect(r.value).toEqual({ id: 'g1', traced: false });
    expect(r.trailer).toBeUndefined();
  });

  it('records a call triggered without authority (predicate) for onFinish only, with call meta', async () => {
    const r = await place(s.client, { id: 'g2' }, { 'x-trace-unexposed': '1', 'x-request-id': 'g-unauth' });
    expect(r.value).toEqual({ id: 'g2', traced: true });
    expect(r.trailer).toBeUndefined();
    const trace = await log.byId('g-unauth');
    expect(trace.meta).toMatchObject({
      method: 'POST',
      path: '/shop.Orders/Place',
      route: '/shop.Orders/Place',
      status: 0,
    });
    expect(eventsOf(trace, 'order_g2')).toEqual(['validate:ok', 'charge:done']);
  });

  it('returns the trace in trailing metadata to an authorised call', async () => {
    const r = await place(s.client, { id: 'g3' }, { 'x-stepmark': SECRET, 'x-request-id': 'g-auth' });
    expect(r.trailer).toMatch(/^[\x20-\x7e]+$/);
    const exposed = JSON.parse(r.trailer!) as Trace;
    expect(exposed.meta.request_id).toBe('g-auth');
    expect(exposed.entities.order_g3.events[1].meta).toEqual({ note: 'naïve café ✓ 注文' });
    expect(exposed.entities.order_g3).toEqual((await log.byId('g-auth')).entities.order_g3);
  });

  it('keeps concurrent calls apart', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `gc${i}`);
    const results = await Promise.all(ids.map((id) => place(s.client, { id }, { 'x-stepmark': SECRET })));
    results.forEach((r, i) => {
      expect(Object.keys(JSON.parse(r.trailer!).entities)).toEqual([`order_${ids[i]}`]);
    });
  });

  it('carries an error status in the trace', async () => {
    const r = await place(
      s.client,
      { id: 'g4', fail: true },
      { 'x-stepmark': SECRET, 'x-request-id': 'g-fail' },
    );
    expect(r.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(JSON.parse(r.trailer!).meta.status).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await log.byId('g-fail')).events.map((e) => e.action)).toEqual(['precondition']);
  });

  it('survives a handler that throws: UNKNOWN status in the trace, server still serving', async () => {
    const r = await place(
      s.client,
      { id: 'x' },
      { 'x-stepmark': SECRET, 'x-request-id': 'g-crash' },
      'crash',
    );
    expect(r.error?.code).toBe(grpc.status.UNKNOWN);
    expect(JSON.parse(r.trailer!).meta).toMatchObject({
      status: grpc.status.UNKNOWN,
      route: '/shop.Orders/Crash',
    });
    expect((await log.byId('g-crash')).events.map((e) => e.action)).toEqual(['throwing']);
    expect((await place(s.client, { id: 'g7' }, {})).value).toEqual({ id: 'g7', traced: false });
  });

  it('traces a server stream to its end', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-stepmark', SECRET);
    metadata.set('x-request-id', 'g-stream');
    const call = s.client.makeServerStreamRequest(
      service.watch.path,
      service.watch.requestSerialize,
      service.watch.responseDeserialize,
      { id: 'w1', chunks: 3 },
      metadata,
    );
    const messages: unknown[] = [];
    call.on('data', (m: unknown) => messages.push(m));
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    expect(messages).toHaveLength(3);
    const exposed = JSON.parse(String(status.metadata.get('x-stepmark-trace')[0]));
    expect(eventsOf(exposed, 'order_w1')).toEqual(['watch:update-0', 'watch:update-1', 'watch:update-2']);
    expect((await log.byId('g-stream')).meta.status).toBe(0);
  });

  it('reports a call the client cancels, and keeps serving', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-stepmark', SECRET);
    metadata.set('x-request-id', 'g-cancel');
    const call = s.client.makeServerStreamRequest(
      service.watch.path,
      service.watch.requestSerialize,
      service.watch.responseDeserialize,
      { id: 'w2', chunks: 300 },
      metadata,
    );
    call.on('error', () => {});
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    const trace = await log.byId('g-cancel');
    expect(trace.meta.aborted).toBe(true);
    expect(trace.meta.status).toBeUndefined();
    expect(eventsOf(trace, 'order_w2').length).toBeLessThan(300);
    expect((await place(s.client, { id: 'g5' }, {})).value).toEqual({ id: 'g5', traced: false });
  });

  it('replaces an over-size trace by a truncation marker (4096 bytes by default)', async () => {
    const r = await place(s.client, { id: 'g6', n: 200 }, { 'x-stepmark': SECRET, 'x-request-id': 'g-big' });
    expect(JSON.parse(r.trailer!)).toMatchObject({ truncated: true, limit: 4096, request_id: 'g-big' });
    expect(eventsOf(await log.byId('g-big'), 'order_g6')).toHaveLength(202);
  });

  it('reported no adapter errors along the way', () => {
    expect(errors).toEqual([]);
  });
});

describe('stepmark/grpc: record (every call into a flight recorder)', () => {
  it('records untriggered calls, not exposed; a server failure is an error, a refusal is not', async () => {
    const recorder = flightRecorder({ keep: { errors: true } });
    const server = await start({ record: recorder, secret: SECRET, responseHeader: true });
    const recorded = async (requestId: string): Promise<Trace> => {
      for (let i = 0; i < 500; i++) {
        const [found] = recorder.find({ requestId });
        if (found) return found as Trace;
        await delay(5);
      }
      throw new Error(`${requestId} was never recorded`);
    };
    try {
      const r = await place(server.client, { id: 'r1' }, { 'x-request-id': 'grec-1' });
      expect(r.value).toEqual({ id: 'r1', traced: true });
      expect(r.trailer).toBeUndefined();
      expect(eventsOf(await recorded('grec-1'), 'order_r1')).toEqual(['validate:ok', 'charge:done']);
      const authorised = await place(
        server.client,
        { id: 'r2' },
        { 'x-stepmark': SECRET, 'x-request-id': 'grec-2' },
      );
      expect(JSON.parse(authorised.trailer!).entities.order_r2).toBeDefined();
      await place(server.client, { id: 'r3', fail: true }, { 'x-request-id': 'grec-refused' });
      await place(server.client, { id: 'x' }, { 'x-request-id': 'grec-crash' }, 'crash');
      expect((await recorded('grec-refused')).meta.status).toBe(grpc.status.FAILED_PRECONDITION);
      expect((await recorded('grec-crash')).meta.status).toBe(grpc.status.UNKNOWN);
      expect(recorder.find({ error: true }).map((t) => t.meta.request_id)).toEqual(['grec-crash']);
      expect(recorder.stats()).toMatchObject({ traces: 4, kept: 1 });
    } finally {
      await server.close();
    }
  });
});

describe('stepmark/grpc options', () => {
  it('has no query option, and refuses unauthorised exposure', () => {
    expect(() => stepmarkInterceptor({ query: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_STEPMARK_UNKNOWN_OPTION', option: 'query' }),
    );
    expect(() => stepmarkInterceptor({ responseHeader: true })).toThrow(StepmarkConfigError);
    for (const key of ['x-trace-bin', 'grpc-trace', 'X!trace']) {
      expect(() => stepmarkInterceptor({ responseHeader: key, authorize: () => true })).toThrow(
        expect.objectContaining({ code: 'ERR_STEPMARK_INVALID_OPTION', option: 'responseHeader' }),
      );
    }
  });

  it('authorises asynchronously from metadata', async () => {
    const server = await start({
      authorize: async (req: { metadata: grpc.Metadata }) => {
        await delay(5);
        return req.metadata.get('authorization')[0] === 'Bearer admin';
      },
      responseHeader: true,
    });
    try {
      const yes = await place(
        server.client,
        { id: 'a1' },
        { 'x-stepmark': '1', authorization: 'Bearer admin' },
      );
      expect(JSON.parse(yes.trailer!).entities.order_a1).toBeDefined();
      const no = await place(
        server.client,
        { id: 'a2' },
        { 'x-stepmark': '1', authorization: 'Bearer guest' },
      );
      expect(no.trailer).toBeUndefined();
      expect(no.value).toEqual({ id: 'a2', traced: false }); // nobody could read it: not recorded
    } finally {
      await server.close();
    }
  });
});
