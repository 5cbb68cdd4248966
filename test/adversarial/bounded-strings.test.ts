// Every string a trace records — entity id, kind, stage, action, span name, location, meta key and
// value, error message, trace meta — is at most `maxStringLength` (1,024) characters, visibly
// marked when cut, and the kept part is a copy: a 1 MB original is freed, not held by its slice.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  captureSync,
  enterEntity,
  record,
  recordEntity,
  run,
  scope,
  step,
  type Trace,
  type TraceOptions,
  track,
} from 'stepmark';
import { v1 } from 'stepmark/runtime';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** Every string of a trace (keys included), with where it was found. */
function allStrings(v: unknown, path = '$', out: [string, string][] = []): [string, string][] {
  if (typeof v === 'string') out.push([path, v]);
  else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) allStrings(v[i], `${path}[${i}]`, out);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push([`${path} key`, k]);
      allStrings(x, `${path}.${k}`, out);
    }
  }
  return out;
}

/** A trace that records `s` in every place a string can be recorded. */
function recordEverywhere(s: string, options?: TraceOptions): Trace {
  const things = scope(s);
  return captureSync(
    () => {
      track(s, { [s]: s, nested: { [s]: [s] } }, { kind: s });
      recordEntity(s, s, s, { v: s, err: new Error(s) });
      record(s, s, { v: s });
      things.track(`${s}2`);
      const user = v1.enterUser(s, { v: s });
      const frame = v1.enter(s, s);
      frame.fail(new Error(s));
      frame.exit();
      user.fail(s);
      user();
      const entitySpan = enterEntity(`${s}3`);
      step(s);
      entitySpan();
    },
    { meta: { [s]: s }, ...options },
  ).trace;
}

describe('recorded strings are at most maxStringLength characters', () => {
  const long = 'é'.repeat(2_000) + 'x'.repeat(1_000_000);

  it('1 MB strings everywhere: each recorded string is at most 1,024 characters and marked as cut', () => {
    const trace = recordEverywhere(long);
    const strings = allStrings(trace);
    const tooLong = strings.filter(([, s]) => s.length > 1_024).map(([p, s]) => `${p}: ${s.length}`);
    expect(tooLong).toEqual([]);
    const cut = strings.filter(([, s]) => s.startsWith('éé'));
    // id, kind, stage, action, span name, location, meta keys and values, error messages, trace meta
    expect(cut.length).toBeGreaterThanOrEqual(20);
    for (const [path, s] of cut) {
      expect(s, path).toMatch(/…\[\d+ more\]$/);
      expect(s.length, path).toBeGreaterThanOrEqual(1_000); // meta values: metaLimits.string
    }
    const span = trace.spans.find((x) => x.location !== undefined)!;
    for (const field of [span.name, span.location!, span.error!]) expect(field).toHaveLength(1_024);
    const [id] = Object.keys(trace.entities);
    expect(id).toHaveLength(1_024);
    expect(trace.entities[id!]!.kind).toHaveLength(1_024);
  });

  it('the mark says how much was cut, and never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(3_000); // 6,000 UTF-16 units
    const trace = captureSync(() => record(emoji, 'a'), { maxStringLength: 100 }).trace;
    const stage = trace.events[0]!.stage;
    expect(stage.length).toBeLessThanOrEqual(100);
    const kept = stage.slice(0, stage.indexOf('…'));
    expect(kept).toBe('😀'.repeat(kept.length / 2));
    expect(stage).toBe(`${kept}…[${6_000 - kept.length} more]`);
  });

  it('strings at the cap are kept whole; the cap is an option; meta string caps stay under it', () => {
    const exact = 'y'.repeat(1_024);
    expect(recordEverywhere(exact).events.find((e) => e.action === exact)?.stage).toBe(exact);
    const small = recordEverywhere(long, { maxStringLength: 64 });
    for (const [p, s] of allStrings(small)) expect(s.length, p).toBeLessThanOrEqual(64);
    // metaLimits.string is the meta values' own (smaller) cap, marker included
    const meta = captureSync(() => record('s', 'a', { v: 'z'.repeat(500) }), {
      metaLimits: { string: 100 },
    }).trace.events[0]!.meta!.v as string;
    expect(meta).toHaveLength(100);
    expect(meta).toMatch(/^z+…\[\d+ more\]$/);
    // and cannot raise it
    const raised = captureSync(() => record('s', 'a', { v: 'z'.repeat(5_000) }), {
      metaLimits: { string: 4_000 },
    }).trace.events[0]!.meta!.v as string;
    expect(raised).toHaveLength(1_024);
  });

  it.each([0, -5, 2.5, '100'])('maxStringLength: %s is refused with a TypeError naming the option', (bad) => {
    expect(() => run(() => {}, { maxStringLength: bad } as unknown as TraceOptions)).toThrow(
      /option `maxStringLength` must be/,
    );
  });
});

describe('memory held by cut strings', () => {
  it('200 traces that recorded 1 MB strings everywhere hold their cut copies, not the originals', () => {
    // A child process with --expose-gc measures the heap after a full GC (see the script).
    const out = execFileSync(process.execPath, ['--expose-gc', join(here, 'fixtures', 'string-memory.mjs')], {
      encoding: 'utf8',
      cwd: here,
    });
    const { retainedMB, traces, control } = JSON.parse(out.trim().split('\n').pop()!);
    expect(traces).toBe(200);
    // the control keeps V8 slices of the same strings: proves the measurement sees them
    expect(control).toBeGreaterThan(40);
    // 200 traces × ~14 cut strings × 2 KB ≈ 6 MB; the originals would be over 200 MB
    expect(retainedMB).toBeLessThan(24);
  });
});
