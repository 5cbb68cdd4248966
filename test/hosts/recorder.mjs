// A flight recorder behind stepmark/hono on the runtime's own server (Bun.serve, Deno.serve, or
// @hono/node-server on Node): every request recorded, none exposed, the ring turned over several
// times, then found, dumped to a file and dumped on a signal. Prints one JSON line of what it saw,
// which must be the same on all three (test/hosts/hosts.test.ts). argv[2]: a folder for the dumps.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { recordEntity, track } from 'stepmark';
import { stepmarkMiddleware } from 'stepmark/hono';
import { flightRecorder } from 'stepmark/recorder';
import { listen } from './listen.mjs';

const dir = process.argv[2];
const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let dumped;
const recorder = flightRecorder({
  maxBytes: 64 * 1024,
  keep: { errors: true },
  dumpOn: { path: join(dir, 'signal-{pid}.ndjson'), signal: 'SIGUSR2', onDump: (r) => (dumped = r) },
});
const errors = [];

const app = new Hono();
app.use(
  stepmarkMiddleware({ record: recorder, onError: (error, source) => errors.push(`${source}: ${error}`) }),
);
app.get('/orders/:id', async (c) => {
  const n = Number(c.req.param('id'));
  const id = `order_${n}`;
  track(id, { n }, { kind: 'order' });
  await tick(1);
  recordEntity(id, 'validate', n % 7 === 0 ? 'rejected' : 'ok', { note: 'naïve café ✓', n });
  if (n === 13) throw new Error('payment provider down');
  return c.json({ id });
});
app.onError((_error, c) => c.json({ failed: true }, 500));

/** The parts of a found trace that do not change from run to run. */
const journey = (t, entity) => ({
  request_id: t.meta.request_id,
  status: t.meta.status,
  path: t.meta.path,
  events: t.entities[entity]?.events.map((e) => [e.stage, e.action, e.meta ?? null]),
});

/** The number in a request id (`req-12` → 12). */
const number = (requestId) => Number(String(requestId).slice('req-'.length));

/**
 * What can be said of the newest traces found, whatever order concurrent requests finished in:
 * how many, whether each passes `test`, and whether all came from the last batch of 50.
 */
const newestOf = (traces, test) => {
  const ids = traces.map((t) => number(t.meta.request_id));
  return {
    found: ids.length,
    distinct: new Set(ids).size,
    pass: ids.every(test),
    lastBatch: ids.every((n) => n >= 350),
  };
};

const server = await listen(app.fetch);
try {
  // 400 requests, 50 at a time: a 64 KiB ring holds fewer than a hundred
  for (let i = 0; i < 400; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        fetch(`http://127.0.0.1:${server.port}/orders/${i + k}`, {
          headers: { 'x-request-id': `req-${i + k}` },
        }).then((r) => r.text()),
      ),
    );
  }
  await tick(10);
  const stats = recorder.stats();
  const out = {
    // how many fit varies by a few bytes (a duration of a whole number of ms packs smaller)
    stats: {
      added: stats.added,
      kept: stats.kept,
      turnedOver: stats.traces > 60 && stats.traces < 150 && stats.evicted + stats.traces === stats.added,
      fits: stats.bytes <= stats.maxBytes,
    },
    // a recent order, and the failed one: long evicted from ordinary traffic, held by `keep`
    recent: recorder.find({ entity: 'order_392' }).map((t) => journey(t, 'order_392')),
    failed: recorder.find({ entity: 'order_13' }).map((t) => journey(t, 'order_13')),
    evicted: recorder.find({ entity: 'order_14' }).length,
    byRequest: recorder.find({ requestId: 'req-399' }).map((t) => journey(t, 'order_399')),
    rejected: newestOf(recorder.find({ action: 'rejected', limit: 3 }), (n) => n % 7 === 0),
    errors,
  };
  const file = join(dir, 'dump.ndjson');
  const written = await recorder.writeNdjson(file);
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).meta.request_id);
  out.dump = {
    everything: written === stats.traces && lines.length === written,
    // oldest first: the kept failure came long before everything else held
    first: lines[0],
    lastFromLastBatch: number(lines.at(-1)) >= 350,
  };
  process.kill(process.pid, 'SIGUSR2');
  for (let i = 0; i < 250 && dumped === undefined; i++) await tick(20);
  out.signal = dumped && {
    everything: dumped.traces === stats.traces,
    reason: dumped.reason,
    error: dumped.error?.message,
    lines: readFileSync(dumped.path, 'utf8').trim().split('\n').length === stats.traces,
  };
  console.log(JSON.stringify(out));
} finally {
  recorder.close();
  await server.close();
}
