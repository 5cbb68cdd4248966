import { errorForTerminal } from '../../runtime/render.js';
import { KNOWN_OPTIONS } from '../../runtime/trace.js';
import type { Meta, Trace, TraceOptions } from '../../runtime/types.js';
import { invalidOption, StepmarkConfigError } from './errors.js';

/** Where an error reported to `onError` came from. */
export type AdapterErrorSource =
  /** `onFinish` threw or its promise rejected. */
  | 'onFinish'
  /** `authorize` threw or its promise rejected (the request is then treated as not authorised). */
  | 'authorize'
  /** The `trigger` predicate threw (the request is then not traced). */
  | 'trigger'
  /** The `meta` callback threw (the trace then carries only the adapter's own meta). */
  | 'meta'
  /** The trace could not be put into the response (the response itself is sent as usual). */
  | 'expose'
  /** `stepmark.run` refused to start the trace (the request is then served untraced). */
  | 'trace'
  /** The `record` recorder refused the trace. */
  | 'record'
  /** `generateRequestId` threw or returned something other than a non-empty string (a random id is used). */
  | 'requestId';

/**
 * Where `record` sends every request's trace: a flight recorder from `stepmark/recorder`, or
 * anything with an `add(trace)` method.
 */
export interface TraceRecorder {
  add(trace: Trace): void;
}

/**
 * Options shared by every stepmark adapter (`stepmark/http`, `/fastify`, `/koa`, `/hono`,
 * `/grpc`). `Req` is what the framework calls a request: `IncomingMessage` for node:http and
 * Express, `FastifyRequest`, the Koa `Context`, the Hono `Context`, a {@link GrpcRequest}.
 */
export interface StepmarkAdapterOptions<Req> {
  /**
   * Request header (gRPC: metadata key) whose presence starts a trace; `false` turns header
   * triggering off. When `secret` is set, the same header carries the secret, and starts a trace
   * only when it does. Its name is added to the redacted meta keys of every trace.
   * @default 'x-stepmark'
   */
  header?: string | false;
  /**
   * Query parameter whose presence starts a trace, e.g. `'stepmark'` for `?stepmark=1`. The
   * query string never carries the secret: URLs end up in logs. Not available for gRPC.
   * @default false
   */
  query?: string | false;
  /** Starts a trace when it returns true (checked after `header` and `query`). */
  trigger?: (req: Req) => boolean;
  /**
   * Header (metadata key) that carries the caller's request id; without one a random UUID is
   * generated. `false`: always generate.
   * @default 'x-request-id'
   */
  requestIdHeader?: string | false;
  /** Makes a request id when the request has none. @default a random version 4 UUID (from `crypto.getRandomValues`) */
  generateRequestId?: () => string;
  /** Extra trace metadata computed from the request (tenant, user id…). */
  meta?: (req: Req) => Meta;
  /**
   * Called once per traced request after the response has finished (or the client went away,
   * then `trace.meta.aborted` is true), whether or not the trace was exposed. A throw or a
   * rejection goes to `onError`, never to the server.
   */
  onFinish?: (trace: Trace, req: Req) => unknown;
  /**
   * Receives every error from the adapter's callbacks, once each. Its own errors are dropped.
   * @default logs with console.error
   */
  onError?: (error: unknown, source: AdapterErrorSource) => void;
  /**
   * Puts the trace into this response header (gRPC: trailing metadata key) of authorised
   * requests; `true` means `'x-stepmark-trace'`. Requires `secret` or `authorize`.
   * @default false
   */
  responseHeader?: boolean | string;
  /**
   * Secret (or several, for rotation) that the trigger header must carry to start a trace and
   * to see it exposed; compared in constant time, and redacted from every trace wherever the
   * application copies it. At least 16 visible ASCII characters.
   */
  secret?: string | readonly string[];
  /** Decides per request whether the trace may be exposed (either this or `secret` suffices). */
  authorize?: (req: Req) => boolean | Promise<boolean>;
  /**
   * Largest header value, in bytes; a larger trace is replaced by a short JSON marker
   * `{"truncated":true,…}` (the full trace still goes to `onFinish`).
   * @default 8192 (gRPC: 4096)
   */
  maxHeaderBytes?: number;
  /** Options for each request's trace (`maxEvents`, `redact`, `clock`, `onEnd`…); `meta` is merged. */
  traceOptions?: TraceOptions;
  /**
   * Traces every request, triggered or not, and adds its trace to this recorder (a
   * `flightRecorder()` from `stepmark/recorder`) when the request has finished. Exposure does
   * not change: only a triggered, authorised request gets its trace back.
   */
  record?: TraceRecorder;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions<Req> {
  header: string | undefined;
  query: string | undefined;
  trigger: ((req: Req) => boolean) | undefined;
  requestIdHeader: string | undefined;
  generateRequestId: () => string;
  meta: ((req: Req) => Meta) | undefined;
  onFinish: ((trace: Trace, req: Req) => unknown) | undefined;
  onError: (error: unknown, source: AdapterErrorSource) => void;
  responseHeader: string | undefined;
  secrets: readonly string[];
  authorize: ((req: Req) => boolean | Promise<boolean>) | undefined;
  maxHeaderBytes: number;
  traceOptions: TraceOptions;
  record: TraceRecorder | undefined;
}

export interface AdapterTraits {
  /** Name used in error messages, e.g. `'stepmark/http'`. */
  entry: string;
  /** Whether a query string exists (not for gRPC). */
  query: boolean;
  /** Default for `maxHeaderBytes`. */
  maxHeaderBytes: number;
  /** Header names are gRPC metadata keys (lower-case `0-9 a-z _ . -`, not `grpc-…`, not `…-bin`). */
  metadata?: boolean;
}

const KNOWN = new Set([
  'header',
  'query',
  'trigger',
  'requestIdHeader',
  'generateRequestId',
  'meta',
  'onFinish',
  'onError',
  'responseHeader',
  'secret',
  'authorize',
  'maxHeaderBytes',
  'traceOptions',
  'record',
]);

/** RFC 9110 token: what a header field name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METADATA_KEY = /^[0-9a-z_.-]+$/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const MIN_SECRET = 16;
const MIN_HEADER_BYTES = 256;

export const defaultOnError = (error: unknown, source: AdapterErrorSource): void => {
  // escaped: the application's error can quote the request (a header, a path)
  console.error(`[stepmark] ${source} failed: ${errorForTerminal(error)}`);
};

type RandomFill = (bytes: Uint8Array) => unknown;

/** Random bytes for request ids, drawn from the platform's CSPRNG 256 ids at a time. */
const idBytes = new Uint8Array(16 * 256);
let idAt = idBytes.length;
/** The character codes of one id, reused: the id is made as one flat string. */
const idCodes: number[] = new Array(36).fill(45); // '-' where the dashes go
const HEX_DIGITS = '0123456789abcdef';

/**
 * A random version 4 UUID (RFC 9562), from Web Crypto's `getRandomValues` (Node, Bun, Deno,
 * browsers, workers). Made here rather than by `crypto.randomUUID`, which builds each id from
 * pieces: ~590 bytes of garbage and over a microsecond per request, against ~60 bytes here.
 * Without Web Crypto, a time-and-Math.random id (unique enough for tracing, not a UUID).
 */
export const randomRequestId = (): string => {
  if (idAt + 16 > idBytes.length) {
    const c = (globalThis as { crypto?: { getRandomValues?: RandomFill } }).crypto;
    if (typeof c?.getRandomValues !== 'function')
      return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
    c.getRandomValues(idBytes);
    idAt = 0;
  }
  let j = 0;
  for (let i = 0; i < 16; i++) {
    let b = idBytes[idAt + i]!;
    // the version (4) in byte 6, the variant (binary 10) in byte 8
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    if (j === 8 || j === 13 || j === 18 || j === 23) j++;
    idCodes[j++] = HEX_DIGITS.charCodeAt(b >> 4);
    idCodes[j++] = HEX_DIGITS.charCodeAt(b & 15);
  }
  idAt += 16;
  return String.fromCharCode.apply(null, idCodes);
};

/** Checks `options` once, at start-up, and applies defaults. Throws {@link StepmarkConfigError}. */
export function resolveOptions<Req>(
  input: StepmarkAdapterOptions<Req> | undefined,
  traits: AdapterTraits,
): ResolvedOptions<Req> {
  const where = traits.entry;
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object') {
    throw invalidOption(where, 'options', `must be an object, got ${describe(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key) || (key === 'query' && !traits.query)) {
      const hint = key === 'query' && !traits.query ? ' (gRPC has no query string)' : '';
      throw new StepmarkConfigError(
        'ERR_STEPMARK_UNKNOWN_OPTION',
        `${where}: unknown option ${JSON.stringify(key)}${hint}. Known options: ${[...KNOWN]
          .filter((k) => k !== 'query' || traits.query)
          .join(', ')}.`,
        key,
      );
    }
  }
  const o = input as Record<string, unknown>;
  const name = (option: string, fallback: string | undefined, whenTrue?: string) =>
    headerName(where, option, o[option], fallback, whenTrue, traits.metadata === true);
  const header = name('header', 'x-stepmark');
  const query = traits.query ? queryName(where, o.query) : undefined;
  const trigger = fn(where, 'trigger', o.trigger) as ResolvedOptions<Req>['trigger'];
  const record = o.record as TraceRecorder | undefined;
  if (record !== undefined && (record === null || typeof record.add !== 'function')) {
    throw invalidOption(
      where,
      'record',
      'must be a recorder (flightRecorder() from stepmark/recorder, or an object with add(trace))',
    );
  }
  if (header === undefined && query === undefined && trigger === undefined && record === undefined) {
    throw new StepmarkConfigError(
      'ERR_STEPMARK_NO_TRIGGER',
      `${where}: \`header\` is false and neither \`query\`, \`trigger\` nor \`record\` is set, so no request could ever be traced. Set one of them.`,
      'header',
    );
  }
  const responseHeader = name('responseHeader', undefined, 'x-stepmark-trace');
  const secrets = secretList(where, o.secret);
  const authorize = fn(where, 'authorize', o.authorize) as ResolvedOptions<Req>['authorize'];
  if (responseHeader !== undefined && secrets.length === 0 && authorize === undefined) {
    throw new StepmarkConfigError(
      'ERR_STEPMARK_UNAUTHORISED_EXPOSURE',
      `${where}: \`responseHeader\` needs \`secret\` or \`authorize\`. A trace shows the internal business logic of a request; ` +
        'returning it to anyone who sends the trigger header leaks it in production. Set `secret` (the trigger header must then ' +
        'carry it) or `authorize(req)` (use `authorize: () => true` only where every caller may see traces, e.g. local development).',
      'responseHeader',
    );
  }
  if (secrets.length > 0 && header === undefined) {
    throw invalidOption(where, 'secret', 'is carried by the trigger header, but `header` is false');
  }
  let maxHeaderBytes = traits.maxHeaderBytes;
  if (o.maxHeaderBytes !== undefined) {
    const n = o.maxHeaderBytes;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < MIN_HEADER_BYTES) {
      throw invalidOption(
        where,
        'maxHeaderBytes',
        `must be an integer >= ${MIN_HEADER_BYTES}, got ${describe(n)}`,
      );
    }
    maxHeaderBytes = n;
  }
  let traceOptions: TraceOptions = {};
  if (o.traceOptions !== undefined) {
    if (typeof o.traceOptions !== 'object' || o.traceOptions === null) {
      throw invalidOption(where, 'traceOptions', `must be an object, got ${describe(o.traceOptions)}`);
    }
    traceOptions = o.traceOptions as TraceOptions;
    // at start-up, as every other option: `stepmark.run` would refuse them on every request
    for (const key of Object.keys(traceOptions)) {
      if (!Object.hasOwn(KNOWN_OPTIONS, key)) {
        throw new StepmarkConfigError(
          'ERR_STEPMARK_UNKNOWN_OPTION',
          `${where}: unknown option ${JSON.stringify(key)} in \`traceOptions\`. Known options: ${Object.keys(KNOWN_OPTIONS).join(', ')}.`,
          `traceOptions.${key}`,
        );
      }
    }
  }
  return {
    header,
    query,
    trigger,
    requestIdHeader: name('requestIdHeader', 'x-request-id'),
    generateRequestId:
      (fn(where, 'generateRequestId', o.generateRequestId) as () => string) ?? randomRequestId,
    meta: fn(where, 'meta', o.meta) as ResolvedOptions<Req>['meta'],
    onFinish: fn(where, 'onFinish', o.onFinish) as ResolvedOptions<Req>['onFinish'],
    onError: (fn(where, 'onError', o.onError) as ResolvedOptions<Req>['onError']) ?? defaultOnError,
    responseHeader,
    secrets,
    authorize,
    maxHeaderBytes,
    traceOptions,
    record,
  };
}

function headerName(
  where: string,
  option: string,
  value: unknown,
  fallback: string | undefined,
  whenTrue: string | undefined,
  metadata: boolean,
): string | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  if (value === true && whenTrue !== undefined) return whenTrue;
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw invalidOption(
      where,
      option,
      `must be a header name (letters, digits, -), or false; got ${describe(value)}`,
    );
  }
  const lower = value.toLowerCase();
  if (metadata && (!METADATA_KEY.test(lower) || lower.startsWith('grpc-') || lower.endsWith('-bin'))) {
    throw invalidOption(
      where,
      option,
      `must be a gRPC metadata key (0-9 a-z _ . -, not grpc-…, not …-bin), or false; got ${describe(value)}`,
    );
  }
  return lower;
}

function queryName(where: string, value: unknown): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw invalidOption(where, 'query', `must be a parameter name or false, got ${describe(value)}`);
  }
  return value;
}

function fn(where: string, option: string, value: unknown): Function | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw invalidOption(where, option, `must be a function, got ${describe(value)}`);
  return value;
}

function secretList(where: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidOption(
      where,
      'secret',
      `must be a string or a non-empty array of strings, got ${describe(value)}`,
    );
  }
  for (const s of list) {
    if (typeof s !== 'string' || s.length < MIN_SECRET || !VISIBLE_ASCII.test(s)) {
      throw invalidOption(
        where,
        'secret',
        `must be at least ${MIN_SECRET} visible ASCII characters (it travels in a header and must resist guessing)`,
      );
    }
  }
  return Object.freeze([...list]);
}

/** A value as an error message shows it: `null`, `undefined`, a string quoted, `number 42`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
