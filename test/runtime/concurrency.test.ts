// Hundreds of traces running interleaved in one process never see each other's events or spans.
import { EventEmitter, once } from 'node:events';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { capture, record, recordEntity, track } from 'stepmark';
import { v1 as __stepmark, FRAME_ASYNC } from 'stepmark/runtime';
import { describe, expect, it } from 'vitest';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// A deterministic pseudo-random sequence, so failures reproduce.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function stage(k: number, name: string, rand: () => number) {
  // even requests use frames flagged as plain async functions, odd ones the generic frames
  const __smf = __stepmark.enter(name, void 0, k % 2 === 0 ? FRAME_ASYNC : undefined);
  try {
    __smf.r(await __smf.s(sleep(Math.floor(rand() * 4))));
    __stepmark.stepEntity(name, `order_${k}`, 'done', { k });
    if (rand() < 0.5) __smf.r(await __smf.s(Promise.resolve()));
    return k;
  } catch (__sme) {
    __smf.fail(__sme);
    throw __sme;
  } finally {
    __smf.exit();
  }
}

async function workflow(k: number) {
  const rand = rng(k + 1);
  const __smf = __stepmark.enter('workflow', void 0, k % 2 === 0 ? FRAME_ASYNC : undefined);
  try {
    track(`order_${k}`, { k }, { kind: 'order' });
    // promises: concurrent branches
    __smf.r(
      await __smf.s(
        Promise.all([stage(k, 'validate', rand), stage(k, 'price', rand), stage(k, 'stock', rand)]),
      ),
    );
    // timers
    __smf.r(
      await __smf.s(
        new Promise<void>((resolve) =>
          setTimeout(
            () => {
              record('timer', 'fired', { k });
              resolve();
            },
            Math.floor(rand() * 3),
          ),
        ),
      ),
    );
    // an event emitter owned by this request, emitting from a timer and setImmediate
    const ee = new EventEmitter();
    ee.on('tick', (n: number) => record('emitter', 'tick', { k, n }));
    setTimeout(() => ee.emit('tick', 1), Math.floor(rand() * 3));
    setImmediate(() => ee.emit('tick', 2));
    setTimeout(() => ee.emit('end'), 4);
    __smf.r(await __smf.s(once(ee, 'end')));
    // streams: a pipeline whose transform records as chunks flow
    const chunks: string[] = [];
    __smf.r(
      await __smf.s(
        pipeline(
          Readable.from(['a', 'b', 'c']),
          new Transform({
            objectMode: true,
            transform(chunk, _enc, cb) {
              recordEntity(`order_${k}`, 'stream', 'chunk', { k, chunk });
              setTimeout(() => cb(null, String(chunk).toUpperCase()), Math.floor(rand() * 2));
            },
          }),
          new Writable({
            objectMode: true,
            write(chunk, _enc, cb) {
              chunks.push(chunk);
              record('sink', 'write', { k });
              cb();
            },
          }),
        ),
      ),
    );
    return chunks.join('');
  } catch (__sme) {
    __smf.fail(__sme);
    throw __sme;
  } finally {
    __smf.exit();
  }
}

describe('concurrent traces', () => {
  it('300 interleaved traces (promises, timers, emitters, streams) never mix', async () => {
    const N = 300;
    const results = await Promise.all(
      Array.from({ length: N }, (_, k) => capture(() => workflow(k), { meta: { k } })),
    );
    for (const [k, { result, trace }] of results.entries()) {
      expect(result).toBe('ABC');
      expect(trace.meta).toEqual({ k });
      // every event and entity belongs to this trace's request
      expect(Object.keys(trace.entities)).toEqual([`order_${k}`]);
      const all = [...trace.events, ...trace.entities[`order_${k}`]!.events];
      for (const ev of all) if (ev.meta && 'k' in ev.meta) expect(ev.meta.k).toBe(k);
      expect(trace.events.filter((e) => e.stage === 'timer')).toHaveLength(1);
      expect(trace.events.filter((e) => e.stage === 'emitter')).toHaveLength(2);
      expect(trace.events.filter((e) => e.stage === 'sink')).toHaveLength(3);
      expect(trace.entities[`order_${k}`]!.events.filter((e) => e.stage === 'stream')).toHaveLength(3);
      // spans: one workflow with three sibling stages, all finished
      const names = trace.spans.map((s) => `${s.parent_id ?? '-'}>${s.name}`).sort();
      expect(names).toEqual(['-' + '>workflow', '1>price', '1>stock', '1>validate']);
      expect(trace.spans.every((s) => s.status === 'ok')).toBe(true);
      const wf = trace.spans[0]!.span_id;
      for (const ev of trace.events.filter((e) => ['timer', 'emitter', 'sink'].includes(e.stage))) {
        expect(ev.span_id).toBe(wf);
      }
    }
  });
});
