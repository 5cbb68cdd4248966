// The pieces as a user wires them: the stepmark/http adapter reads the incoming traceparent through
// its `meta` option, the handler calls out with injectTraceContext, and the finished trace goes to
// an NDJSON sink. Real node:http servers on loopback.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Trace } from 'stepmark';
import { stepmarkListener } from 'stepmark/http';
import { parseTraceparent, traceContextMeta, tracedFetch } from 'stepmark/otel';
import { ndjsonSink } from 'stepmark/sinks';
import { afterAll, beforeAll, expect, it } from 'vitest';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepmark-adapter-'));
const file = path.join(dir, 'traces.ndjson');
const sink = ndjsonSink(file);
const seenByDownstream: (string | undefined)[] = [];

const downstream = http.createServer((req, res) => {
  seenByDownstream.push(req.headers.traceparent as string | undefined);
  res.end('ok');
});
let downstreamUrl = '';
const finished: Trace[] = [];
const app = http.createServer(
  stepmarkListener(
    async (_req, res) => {
      await (await tracedFetch(downstreamUrl)).text();
      res.end('done');
    },
    {
      trigger: () => true,
      meta: (req) => ({ ...traceContextMeta(req.headers) }),
      onFinish: (trace) => {
        finished.push(trace);
        sink.write(trace);
      },
      onError: (e) => {
        throw e;
      },
    },
  ),
);
const listen = (s: http.Server) =>
  new Promise<string>((r) =>
    s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );
let appUrl = '';
beforeAll(async () => {
  downstreamUrl = await listen(downstream);
  appUrl = await listen(app);
});
afterAll(async () => {
  await Promise.all([app, downstream].map((s) => new Promise((r) => s.close(r))));
  await sink.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('incoming traceparent → trace meta (adapter `meta` option) → outgoing traceparent → NDJSON sink', async () => {
  const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const res = await fetch(appUrl, { headers: { traceparent: incoming } });
  expect(await res.text()).toBe('done');
  for (let i = 0; i < 200 && finished.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(finished[0]!.meta).toMatchObject({
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    parent_span_id: 'b7ad6b7169203331',
    trace_flags: '01',
  });
  expect(parseTraceparent(seenByDownstream[0])?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  await sink.flush();
  const lines = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(1);
  expect(lines[0].meta.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
});
