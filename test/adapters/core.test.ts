// The framework-neutral core, unit by unit (it is not a public entry: imported from source).
import { describe, expect, it } from 'vitest';
import {
  AdapterCore,
  encodeTraceHeader,
  matchesSecret,
  StepmarkConfigError,
} from '../../adapters/core/index.js';
import { requestHeader } from '../../adapters/core/node.js';
import { randomRequestId } from '../../adapters/core/options.js';
import { DEFAULT_REDACT } from '../../runtime/index.js';
import type { Trace } from './helpers.js';

const trace = (meta: Record<string, unknown> = {}, events = 0): Trace =>
  ({
    meta: { request_id: 'r1', ...meta },
    entities: {},
    events: Array.from({ length: events }, (_, i) => ({
      stage: 's',
      action: `a${i}`,
      timestamp: '2026-01-01T00:00:00.000Z',
    })),
    spans: [],
    dropped: 0,
  }) as Trace;

describe('requestHeader (node adapters read the raw list, so req.headers is never built for them)', () => {
  it('matches names in any case and joins repeated values as Node does for unknown headers', () => {
    const req = {
      rawHeaders: ['Host', 'x', 'X-StepMark', 'one', 'x-request-id', 'r1', 'x-stepmark', 'two'],
      get headers(): Record<string, string> {
        throw new Error('req.headers was built');
      },
    };
    expect(requestHeader(req, 'x-stepmark')).toBe('one, two');
    expect(requestHeader(req, 'x-request-id')).toBe('r1');
    expect(requestHeader(req, 'x-request')).toBeUndefined();
    // Without a raw list (an unusual request object): the parsed headers.
    expect(requestHeader({ headers: { 'x-stepmark': ['a', 'b'] } }, 'x-stepmark')).toBe('a, b');
  });
});

describe('encodeTraceHeader', () => {
  it('escapes everything outside printable ASCII and parses back unchanged', () => {
    const t = trace({ s: 'é ✓ 注文 \u007f \ud800 \n\t\u0000 "q" \\ 😀' });
    const value = encodeTraceHeader(t, 8192);
    expect(value).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(value)).toEqual(JSON.parse(JSON.stringify(t)));
  });

  it('caps at the limit in bytes, counting escapes, and says so in a short marker', () => {
    const t = trace({}, 50);
    const exact = JSON.stringify(t).length;
    expect(encodeTraceHeader(t, exact)).toBe(JSON.stringify(t));
    const marker = JSON.parse(encodeTraceHeader(t, exact - 1));
    expect(marker).toEqual({ truncated: true, bytes: exact, limit: exact - 1, request_id: 'r1' });
    // a 3-byte escape per character is counted, not the 1 UTF-16 unit
    const wide = trace({ s: '✓'.repeat(100) });
    const escapedLength = JSON.stringify(wide).length + 100 * 5;
    expect(encodeTraceHeader(wide, escapedLength)).toHaveLength(escapedLength);
    expect(JSON.parse(encodeTraceHeader(wide, escapedLength - 1)).truncated).toBe(true);
  });

  it('turns an unserialisable trace into the marker instead of throwing', () => {
    const t = trace();
    (t.meta as Record<string, unknown>).big = 1n;
    expect(JSON.parse(encodeTraceHeader(t, 8192))).toMatchObject({ truncated: true, bytes: -1 });
  });
});

describe('matchesSecret', () => {
  const secret = 'abcdefghijklmnop';
  it('accepts exactly the secret, one of several', () => {
    expect(matchesSecret(secret, [secret])).toBe(true);
    expect(matchesSecret(secret, ['x'.repeat(16), secret])).toBe(true);
  });
  it('rejects prefixes, extensions, near misses and the empty string', () => {
    for (const guess of ['', 'abcdefghijklmno', `${secret}q`, 'abcdefghijklmnoq', 'Abcdefghijklmnop']) {
      expect(matchesSecret(guess, [secret])).toBe(false);
    }
  });
  it('compares a repeated pattern of the right length correctly', () => {
    expect(matchesSecret('abab', ['ab'])).toBe(false);
    expect(matchesSecret('ab', ['abab'])).toBe(false);
  });
});

describe('randomRequestId (the default request id)', () => {
  it('is a version 4 UUID, different every time, across refills of its random pool', () => {
    const ids = Array.from({ length: 5000 }, () => randomRequestId());
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // every hex digit shows up in every free position (the bytes are random, not a counter)
    for (const at of [0, 7, 15, 20, 35]) expect(new Set(ids.map((id) => id[at])).size).toBe(16);
  });
});

describe('AdapterCore', () => {
  const traits = { entry: 'stepmark/test', query: true, maxHeaderBytes: 8192 };
  type Req = { headers: Record<string, string>; query?: Record<string, string> };
  const access = {
    header: (r: Req, n: string) => r.headers[n],
    query: (r: Req, n: string) => r.query?.[n],
  };

  it('checks header, then query, then predicate; an empty header does not trigger', () => {
    const core = new AdapterCore<Req>({ query: 'sm', trigger: (r) => r.headers.x === 'y' }, traits, access);
    expect(core.check({ headers: {} })).toBeUndefined();
    expect(core.check({ headers: { 'x-stepmark': '' } })).toBeUndefined();
    expect(core.check({ headers: { 'x-stepmark': 'v' } })).toBe('header');
    expect(core.check({ headers: {}, query: { sm: '' } })).toBe('other');
    expect(core.check({ headers: { x: 'y' } })).toBe('other');
  });

  it('with a secret, lets the header start a trace only when it carries the secret', () => {
    const secret = 's'.repeat(16);
    const core = new AdapterCore<Req>({ secret: ['r'.repeat(16), secret], query: 'sm' }, traits, access);
    expect(core.check({ headers: { 'x-stepmark': secret } })).toBe('secret');
    expect(core.check({ headers: { 'x-stepmark': '1' } })).toBeUndefined();
    expect(core.check({ headers: { 'x-stepmark': `${secret}s` } })).toBeUndefined();
    // query and trigger still start one, without the secret's authority
    expect(core.check({ headers: { 'x-stepmark': '1' }, query: { sm: '' } })).toBe('other');
  });

  it('reports a throwing predicate and does not trace', () => {
    const seen: unknown[] = [];
    const core = new AdapterCore<Req>(
      {
        trigger: () => {
          throw new Error('pred');
        },
        onError: (e, source) => seen.push([source, (e as Error).message]),
      },
      traits,
      access,
    );
    expect(core.check({ headers: {} })).toBeUndefined();
    expect(seen).toEqual([['trigger', 'pred']]);
  });

  it('authorises by secret or by callback, never without exposure configured', async () => {
    const secret = 's'.repeat(16);
    const core = new AdapterCore<Req>(
      { secret, authorize: (r) => r.headers.admin === '1', responseHeader: true },
      traits,
      access,
    );
    expect(core.authorize({ headers: {} }, 'secret')).toBe(true);
    expect(core.authorize({ headers: { admin: '1' } }, 'other')).toBe(true);
    expect(core.authorize({ headers: {} }, 'other')).toBe(false);
    const off = new AdapterCore<Req>({ secret }, traits, access);
    expect(off.authorize({ headers: {} }, 'secret')).toBe(false);
    const failing = new AdapterCore<Req>(
      { authorize: () => Promise.reject(new Error('db down')), responseHeader: true, onError: () => {} },
      traits,
      access,
    );
    await expect(failing.authorize({ headers: {} }, 'header')).resolves.toBe(false);
  });

  it('takes a safe request id from the header, else generates one', () => {
    const core = new AdapterCore<Req>({ generateRequestId: () => 'gen' }, traits, access);
    expect(core.requestId({ headers: { 'x-request-id': 'abc-1' } })).toBe('abc-1');
    expect(core.requestId({ headers: { 'x-request-id': 'bad id\n' } })).toBe('gen');
    expect(core.requestId({ headers: { 'x-request-id': 'x'.repeat(200) } })).toBe('gen');
  });

  it('merges trace meta: static, per-request, then the adapter’s own', () => {
    const core = new AdapterCore<Req>(
      {
        onFinish: () => {},
        meta: () => ({ tenant: 't1', method: 'spoofed' }),
        traceOptions: { meta: { service: 'shop' }, maxEvents: 5 },
      },
      traits,
      access,
    );
    const start = core.begin({ headers: { 'x-request-id': 'r9' } }, { method: 'GET', path: '/p' }, false);
    expect(start?.options).toMatchObject({ maxEvents: 5 });
    expect(start?.meta).toEqual({
      service: 'shop',
      tenant: 't1',
      request_id: 'r9',
      method: 'GET',
      path: '/p',
    });
  });

  it('adds the trigger header to the redacted meta keys, unless redaction is off', () => {
    const begin = (traceOptions?: Record<string, unknown>) =>
      new AdapterCore<Req>({ header: 'X-Trace-Me', onFinish: () => {}, traceOptions }, traits, access).begin(
        { headers: {} },
        { method: 'GET', path: '/' },
        false,
      )?.options.redact;
    expect(begin()).toEqual([...DEFAULT_REDACT, 'x-trace-me']);
    expect(begin({ redact: ['ssn'] })).toEqual(['ssn', 'x-trace-me']);
    expect(begin({ redact: false })).toBe(false);
  });

  it('reports a meta callback that returns no object, and keeps the adapter meta', () => {
    const seen: unknown[] = [];
    const core = new AdapterCore<Req>(
      { onFinish: () => {}, meta: () => 'oops' as never, onError: (_e, source) => seen.push(source) },
      traits,
      access,
    );
    const start = core.begin({ headers: {} }, { method: 'GET', path: '/' }, false);
    expect(Object.keys(start?.meta ?? {}).sort()).toEqual(['method', 'path', 'request_id']);
    expect(seen).toEqual(['meta']);
  });

  it('does not call a valid traceOptions.onEnd at start-up', () => {
    let calls = 0;
    new AdapterCore<Req>({ traceOptions: { maxEvents: 10, onEnd: () => calls++ } }, traits, access);
    expect(calls).toBe(0);
  });

  it('validates options with typed errors naming the option', () => {
    const make = (o: Record<string, unknown>) => () => new AdapterCore<Req>(o as never, traits, access);
    const cases: Array<[Record<string, unknown>, string, string | undefined]> = [
      [{ nope: 1 }, 'ERR_STEPMARK_UNKNOWN_OPTION', 'nope'],
      [{ header: false }, 'ERR_STEPMARK_NO_TRIGGER', 'header'],
      [{ responseHeader: 'x-out' }, 'ERR_STEPMARK_UNAUTHORISED_EXPOSURE', 'responseHeader'],
      [{ secret: ['s'.repeat(16), 'short'] }, 'ERR_STEPMARK_INVALID_OPTION', 'secret'],
      [{ secret: 's'.repeat(16), header: false, query: 'q' }, 'ERR_STEPMARK_INVALID_OPTION', 'secret'],
      [{ secret: `${'s'.repeat(16)} ` }, 'ERR_STEPMARK_INVALID_OPTION', 'secret'],
      [{ onFinish: 'log' }, 'ERR_STEPMARK_INVALID_OPTION', 'onFinish'],
      [{ maxHeaderBytes: 1.5 }, 'ERR_STEPMARK_INVALID_OPTION', 'maxHeaderBytes'],
      [{ traceOptions: 3 }, 'ERR_STEPMARK_INVALID_OPTION', 'traceOptions'],
      [{ requestIdHeader: 'a b' }, 'ERR_STEPMARK_INVALID_OPTION', 'requestIdHeader'],
      // judged by the runtime itself, at start-up
      [{ traceOptions: { maxEvents: -1 } }, 'ERR_STEPMARK_INVALID_OPTION', 'traceOptions'],
      [{ traceOptions: { onEnd: 'log' } }, 'ERR_STEPMARK_INVALID_OPTION', 'traceOptions'],
      // a typo in traceOptions, which stepmark.run itself would ignore
      [{ traceOptions: { maxEvent: 10 } }, 'ERR_STEPMARK_UNKNOWN_OPTION', 'traceOptions.maxEvent'],
      [{ record: { add: 'no' } }, 'ERR_STEPMARK_INVALID_OPTION', 'record'],
    ];
    for (const [options, code, option] of cases) {
      let error: unknown;
      try {
        make(options)();
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(StepmarkConfigError);
      expect(error).toMatchObject({ code, option });
    }
    // `record` alone is enough to trace (every request), and an untriggered request is never exposed
    const recording = make({ header: false, record: { add() {} } })();
    expect(recording.records).toBe(true);
    expect(recording.expose({ headers: {} } as never, undefined)).toBe(false);
    // the secret itself never appears in a message
    try {
      make({ secret: 'hunter2' })();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('hunter2');
    }
  });
});
