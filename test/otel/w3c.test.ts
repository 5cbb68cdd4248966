import {
  formatTraceparent,
  formatTracestate,
  getHeader,
  injectTraceContext,
  parseTraceparent,
  parseTracestate,
  randomSpanId,
  randomTraceId,
  traceContextMeta,
  w3cSpanId,
} from 'stepmark/otel';
import { describe, expect, it } from 'vitest';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('parses the spec example and round-trips', () => {
    const tp = parseTraceparent(`00-${TID}-${SID}-01`);
    expect(tp).toEqual({ version: '00', traceId: TID, parentId: SID, flags: 1 });
    expect(formatTraceparent({ traceId: TID, spanId: SID, flags: tp!.flags })).toBe(`00-${TID}-${SID}-01`);
    expect(formatTraceparent({ traceId: TID, spanId: SID, sampled: false })).toBe(`00-${TID}-${SID}-00`);
    expect(parseTraceparent(`  00-${TID}-${SID}-00 `)?.flags).toBe(0);
  });

  it.each([
    ['uppercase hex', `00-${TID.toUpperCase()}-${SID}-01`],
    ['zero trace id', `00-${'0'.repeat(32)}-${SID}-01`],
    ['zero span id', `00-${TID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TID}-${SID}-01`],
    ['extra field on version 00', `00-${TID}-${SID}-01-extra`],
    ['short trace id', `00-${TID.slice(1)}-${SID}-01`],
    ['garbage', 'hello'],
    ['empty', ''],
  ])('rejects %s', (_label, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('accepts a future version with extra fields (forward compatibility), rejects two headers', () => {
    expect(parseTraceparent(`01-${TID}-${SID}-01-whatever`)).toMatchObject({ version: '01', traceId: TID });
    expect(parseTraceparent([`00-${TID}-${SID}-01`])).toMatchObject({ traceId: TID });
    expect(parseTraceparent([`00-${TID}-${SID}-01`, `00-${TID}-${SID}-01`])).toBeUndefined();
  });

  it('formatTraceparent refuses invalid ids', () => {
    expect(() => formatTraceparent({ traceId: 'x', spanId: SID })).toThrow(TypeError);
    expect(() => formatTraceparent({ traceId: TID, spanId: '0'.repeat(16) })).toThrow(TypeError);
  });

  it('random ids are valid and distinct; derived span ids are stable', () => {
    expect(randomTraceId()).toMatch(/^[0-9a-f]{32}$/);
    expect(randomSpanId()).toMatch(/^[0-9a-f]{16}$/);
    expect(randomTraceId()).not.toBe(randomTraceId());
    expect(w3cSpanId(TID, '3')).toMatch(/^[0-9a-f]{16}$/);
    expect(w3cSpanId(TID, '3')).toBe(w3cSpanId(TID, '3'));
    expect(w3cSpanId(TID, '3')).not.toBe(w3cSpanId(TID, '4'));
    expect(w3cSpanId(TID, undefined)).not.toBe(w3cSpanId(TID, '1'));
  });
});

describe('tracestate', () => {
  it('parses members in order, trims whitespace, joins several headers, keeps the first duplicate', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE')).toEqual([
      ['rojo', '00f067aa0ba902b7'],
      ['congo', 't61rcWkgMzE'],
    ]);
    expect(parseTracestate(['a=1', 'b=2,a=3'])).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(parseTracestate('tenant@vendor=x,,')).toEqual([['tenant@vendor', 'x']]);
  });

  it('drops invalid members (bad key, = in value, empty key or value), caps at 32', () => {
    expect(parseTracestate('Upper=1,ok=2,bad=a=b,=v,e=,sp=x ')).toEqual([
      ['ok', '2'],
      ['sp', 'x'], // blanks around a list member are optional whitespace, not part of the value
    ]);
    const many = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',');
    expect(parseTracestate(many)).toHaveLength(32);
    expect(
      formatTracestate([
        ['a', '1'],
        ['B', 'x'],
        ['c', '2'],
      ]),
    ).toBe('a=1,c=2');
  });
});

describe('headers', () => {
  it('reads Node, Fetch and plain-object headers case-insensitively', () => {
    expect(getHeader({ traceparent: 'x' }, 'TraceParent')).toBe('x');
    expect(getHeader({ TraceParent: 'y' }, 'traceparent')).toBe('y');
    expect(getHeader(new Headers({ TRACEPARENT: 'z' }), 'traceparent')).toBe('z');
    expect(getHeader({ 'x-a': ['1', '2'] }, 'x-a')).toEqual(['1', '2']);
    expect(getHeader(undefined, 'traceparent')).toBeUndefined();
  });

  it('traceContextMeta turns an incoming request into trace meta, or undefined without a valid traceparent', () => {
    expect(traceContextMeta({ traceparent: `00-${TID}-${SID}-01`, tracestate: 'a=1, bad key=2' })).toEqual({
      trace_id: TID,
      parent_span_id: SID,
      trace_flags: '01',
      tracestate: 'a=1',
    });
    expect(traceContextMeta({ tracestate: 'a=1' })).toBeUndefined();
    expect(traceContextMeta(new Headers({ traceparent: 'bogus' }))).toBeUndefined();
  });

  it('injectTraceContext leaves headers alone when nothing is traced', () => {
    const h = { accept: 'json' };
    expect(injectTraceContext(h)).toEqual({ accept: 'json' });
    const f = new Headers();
    injectTraceContext(f);
    expect(f.has('traceparent')).toBe(false);
  });
});
