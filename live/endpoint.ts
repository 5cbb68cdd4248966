// The live endpoint: `<path>` serves the viewer page, `<path>/events` streams the bus as
// Server-Sent Events (resuming after `Last-Event-ID`), `<path>/traces` returns the traces
// held as a JSON array, and with a flight recorder `<path>/find?entity=…` answers from it.
// One routing core, two faces: a node:http `(req, res, next?)`
// handler (Express, Connect, node:http; Fastify and Koa through their raw req/res) and a
// web-standard `fetch(request)` (Hono, Bun, Deno, workers).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StepmarkConfigError } from '../adapters/core/errors.js';
import type { FindQuery } from '../recorder/index.js';
import type { Trace } from '../runtime/types.js';
import { LiveBus, type LiveKind } from './bus.js';
import { COOKIE, check, type ProtectOptions, resolveProtection } from './protect.js';
import { sseChunks } from './sse.js';
import { randomNonce, viewerPage } from './viewer.js';

export type LiveRequest = IncomingMessage | Request;

/** What the endpoint needs of a flight recorder (`flightRecorder()` from `stepmark/recorder`). */
export interface SearchableRecorder {
  find(query?: FindQuery): Trace[];
}

export interface LiveEndpointOptions<T = unknown> extends ProtectOptions<LiveRequest> {
  /** Serve anything at all. Default false: the handler passes every request on (or 404s). */
  enabled?: boolean;
  /** The bus to stream. Default: a new bus (`endpoint.bus`) with the default capacity. */
  bus?: LiveBus<T>;
  /** Mount path. Default `/__stepmark`. */
  path?: string;
  /** Comment line sent when idle, so proxies keep the stream open. Default 15000 ms. */
  heartbeatMs?: number;
  /** What the stream carries. Default: everything the bus holds. */
  kinds?: readonly LiveKind[];
  /** Page title. Default "stepmark". */
  title?: string;
  /**
   * A flight recorder (`stepmark/recorder`): `<path>/traces` then serves its newest traces,
   * `<path>/find?entity=…` searches it, and the page's entity filter asks it for traces the page
   * never saw live. Protected like the rest of the endpoint.
   */
  recorder?: SearchableRecorder;
}

type Next = (error?: unknown) => unknown;

export interface LiveEndpoint<T = unknown> {
  /** node:http / Connect / Express handler. Resolves when the response is done (for a stream: when it closes). */
  (req: IncomingMessage, res: ServerResponse, next?: Next): Promise<void>;
  /** Web-standard form: answers every request (404 outside the path or when disabled). */
  fetch(request: Request): Promise<Response>;
  /** Whether this request is one the endpoint answers (enabled and under its path). */
  handles(req: LiveRequest | string): boolean;
  /** Feeds a finished trace to the bus; pass it as the HTTP middleware's `onFinish`. */
  readonly onFinish: (trace: T) => void;
  readonly bus: LiveBus<T>;
  readonly path: string;
  readonly enabled: boolean;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: string;
  /** Stream the bus from this id instead of sending a body. */
  stream?: { since: string | null };
}

const KNOWN = new Set([
  'enabled',
  'bus',
  'path',
  'secret',
  'authorize',
  'heartbeatMs',
  'kinds',
  'title',
  'recorder',
]);

// `/find` and `/traces` answer at most this many traces (a recorder can hold hundreds of MB).
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

function invalid(option: string, why: string): never {
  throw new StepmarkConfigError(
    'ERR_STEPMARK_INVALID_OPTION',
    `stepmark/live: option \`${option}\` ${why}.`,
    option,
  );
}

function normalisePath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    invalid('path', `must be a URL path starting with "/", got ${JSON.stringify(path)}`);
  }
  return path.replace(/\/+$/, '') || '/';
}

const DONE: Promise<void> = Promise.resolve();
/** Deno, whose Deno.serve warns when a handler reads `request.signal` (see `fetchForm`). */
const ON_DENO = typeof (globalThis as { Deno?: unknown }).Deno === 'object';

const BASE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function text(status: number, body: string, extra: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { ...BASE_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...extra },
    body,
  };
}

/**
 * Creates the live endpoint.
 *
 * @example
 * ```ts
 * import { createLiveEndpoint } from 'stepmark/live';
 * const live = createLiveEndpoint({ enabled: true, secret: process.env.STEPMARK_LIVE_SECRET });
 * app.use(live);                                   // Express / Connect
 * app.use(stepmarkMiddleware({ onFinish: live.onFinish })); // feed it finished traces (stepmark/http)
 * ```
 */
export function createLiveEndpoint<T = unknown>(options: LiveEndpointOptions<T> = {}): LiveEndpoint<T> {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new StepmarkConfigError(
        'ERR_STEPMARK_UNKNOWN_OPTION',
        `stepmark/live: unknown option ${JSON.stringify(key)}. Known options: ${[...KNOWN].join(', ')}.`,
        key,
      );
    }
  }
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean') {
    // `enabled: process.env.X` would be a string: refuse rather than guess which way it was meant.
    invalid('enabled', `must be true or false, got ${JSON.stringify(options.enabled)}`);
  }
  const enabled = options.enabled === true;
  const base = normalisePath(options.path ?? '/__stepmark');
  const bus = options.bus ?? new LiveBus<T>();
  if (!(bus instanceof LiveBus)) invalid('bus', 'must be a bus from createBus()');
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  if (typeof heartbeatMs !== 'number' || !(heartbeatMs >= 10))
    invalid('heartbeatMs', 'must be a number >= 10');
  const kinds = options.kinds;
  if (
    kinds !== undefined &&
    (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((k) => k !== 'trace' && k !== 'event'))
  ) {
    invalid('kinds', `must be a non-empty array of "trace" and "event", got ${JSON.stringify(kinds)}`);
  }
  if (options.title !== undefined && typeof options.title !== 'string') invalid('title', 'must be a string');
  const recorder = options.recorder;
  if (recorder !== undefined && (recorder === null || typeof recorder.find !== 'function'))
    invalid('recorder', 'must be a flight recorder (flightRecorder() from stepmark/recorder)');
  const protection = resolveProtection<LiveRequest>(options, enabled);

  /** The part of `pathname` below the mount path ('' for the page), or undefined if outside. */
  const below = (pathname: string): string | undefined => {
    if (pathname === base) return '';
    const prefix = base === '/' ? '/' : `${base}/`;
    return pathname.startsWith(prefix) ? pathname.slice(prefix.length - 1) : undefined;
  };

  async function route(
    raw: LiveRequest,
    method: string,
    url: URL,
    header: (name: string) => string | undefined,
    secure: boolean,
    rest: string,
    visiblePath: string,
  ): Promise<Reply> {
    if (method !== 'GET' && method !== 'HEAD')
      return text(405, 'Method Not Allowed\n', { allow: 'GET, HEAD' });
    const verdict = await check(protection, raw, {
      authorization: header('authorization'),
      cookie: header('cookie'),
      token: url.searchParams.get('token'),
    });
    if (!verdict.ok) {
      return text(
        401,
        'stepmark live view: not authorised. Send `Authorization: Bearer <secret>` or open this page once with ?token=<secret>.\n',
        protection.secrets.length > 0 ? { 'www-authenticate': 'Bearer realm="stepmark"' } : {},
      );
    }
    if (verdict.cookie !== undefined) {
      // Trade the token in the address bar for an HttpOnly cookie, then drop it from the URL
      // (so it does not linger in history, logs or a Referer).
      // Both the cookie path and the redirect are taken from the path the browser sees, which
      // differs from `base` when a framework mounted the endpoint under a prefix.
      url.searchParams.delete('token');
      const mount = visiblePath.endsWith(rest)
        ? visiblePath.slice(0, visiblePath.length - rest.length)
        : base;
      const cookie =
        `${COOKIE}=${verdict.cookie}; Path=${mount || '/'}; HttpOnly; SameSite=Strict` +
        (secure ? '; Secure' : '');
      const last = visiblePath.slice(visiblePath.lastIndexOf('/') + 1) || './';
      return {
        status: 303,
        headers: { ...BASE_HEADERS, location: last + url.search, 'set-cookie': cookie },
        body: '',
      };
    }
    if (rest === '' || rest === '/') {
      const nonce = randomNonce();
      return {
        status: 200,
        headers: {
          ...BASE_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy':
            `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          'x-frame-options': 'DENY',
        },
        body: viewerPage({ live: true, find: recorder !== undefined, nonce, title: options.title }),
      };
    }
    if (rest === '/events') {
      return {
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store, no-transform',
          'x-accel-buffering': 'no',
          'x-content-type-options': 'nosniff',
        },
        stream: { since: header('last-event-id') ?? url.searchParams.get('since') },
      };
    }
    if (rest === '/traces') {
      if (recorder === undefined) return json(bus.snapshot(['trace']).map((item) => item.data));
      // With a recorder: its newest `limit` traces, oldest first like the bus.
      const limit = limitOf(url.searchParams.get('limit'));
      if (typeof limit === 'string') return text(400, `${limit}\n`);
      return json(recorder.find({ limit }).reverse());
    }
    if (rest === '/find') {
      if (recorder === undefined)
        return text(404, 'Not Found: this live endpoint has no flight recorder (option `recorder`).\n');
      const query = findQuery(url.searchParams);
      if (typeof query === 'string') return text(400, `${query}\n`);
      try {
        return json(recorder.find(query));
      } catch (error) {
        return text(400, `${(error as Error)?.message ?? String(error)}\n`);
      }
    }
    return text(404, 'Not Found\n');
  }

  const pathnameOf = (req: LiveRequest | string): string =>
    parseUrl(typeof req === 'string' ? req : req instanceof Request ? req.url : nodeUrl(req))?.pathname ?? '';

  const handles = (req: LiveRequest | string): boolean => {
    if (!enabled) return false;
    if (below(pathnameOf(req)) !== undefined) return true;
    const original = typeof req === 'object' && !(req instanceof Request) ? originalUrl(req) : undefined;
    return original !== undefined && below(pathnameOf(original)) !== undefined;
  };

  const serveNode = async (req: IncomingMessage, res: ServerResponse, next?: Next): Promise<void> => {
    // Mounted under a prefix (Express `app.use('/admin', live)`) `req.url` is relative to it;
    // mounted at the endpoint's own path (`app.use('/__stepmark', live)`) only `originalUrl` has it.
    const original = originalUrl(req);
    let url = parseUrl(nodeUrl(req));
    let rest = url ? below(url.pathname) : undefined;
    if (rest === undefined && original !== undefined) {
      url = parseUrl(original);
      rest = url ? below(url.pathname) : undefined;
    }
    if (rest === undefined || url === undefined) return passOn(res, next);
    const secure =
      (req.socket as { encrypted?: boolean } | null)?.encrypted === true ||
      /^https\b/i.test(first(req.headers['x-forwarded-proto']) ?? '');
    const visible = parseUrl(original ?? nodeUrl(req))?.pathname ?? url.pathname;
    const reply = await route(
      req,
      req.method ?? 'GET',
      url,
      (name) => first(req.headers[name]),
      secure,
      rest,
      visible,
    );
    if (!reply.stream) {
      res.writeHead(reply.status, reply.headers);
      res.end(req.method === 'HEAD' ? undefined : reply.body);
      return;
    }
    res.writeHead(200, reply.headers);
    res.flushHeaders();
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    res.once('close', stop);
    req.once('close', stop);
    res.socket?.setNoDelay?.(true);
    try {
      for await (const chunk of sseChunks(bus as LiveBus, {
        since: reply.stream.since,
        kinds,
        heartbeatMs,
        signal: abort.signal,
      })) {
        if (abort.signal.aborted || res.destroyed) break;
        if (!res.write(chunk)) await drained(res, abort.signal);
      }
    } finally {
      res.off('close', stop);
      req.off('close', stop);
      if (!res.writableEnded) res.end();
    }
  };

  // The returned promise never rejects: plain node:http callers do not await it, and an
  // unhandled rejection would take the process down. Errors go to `next` when there is one.
  const node = (req: IncomingMessage, res: ServerResponse, next?: Next): Promise<void> => {
    // Every request of the app passes through here: a substring test settles almost all of
    // them (all of them while disabled), synchronously, without parsing a URL or allocating.
    const target = nodeUrl(req);
    if (!enabled || !(target.includes(base) || originalUrl(req)?.includes(base))) {
      passOn(res, next);
      return DONE;
    }
    return serveNode(req, res, next).catch((error: unknown) => {
      if (next) {
        next(error);
        return;
      }
      if (!res.headersSent) {
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end('stepmark live view: internal error\n');
      } else if (!res.writableEnded) res.destroy();
    });
  };

  const fetchForm = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const rest = enabled ? below(url.pathname) : undefined;
    if (rest === undefined) return new Response('Not Found\n', { status: 404, headers: BASE_HEADERS });
    const reply = await route(
      request,
      request.method,
      url,
      (name) => request.headers.get(name) ?? undefined,
      url.protocol === 'https:' || /^https\b/i.test(request.headers.get('x-forwarded-proto') ?? ''),
      rest,
      url.pathname,
    );
    if (!reply.stream) {
      return new Response(request.method === 'HEAD' ? null : (reply.body ?? null), {
        status: reply.status,
        headers: reply.headers,
      });
    }
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers: reply.headers });
    const abort = new AbortController();
    // A client that goes away cancels the body (below): @hono/node-server, Bun.serve and
    // Deno.serve all tell it so. The request's signal tells it too (also before the body is first
    // read, and on any host that would not cancel the body), but on Deno.serve merely reading
    // `request.signal` prints a deprecation warning on the user's terminal (there it aborts after
    // every successful response too), so on Deno the body's cancel alone ends the stream.
    if (!ON_DENO) request.signal?.addEventListener('abort', () => abort.abort(), { once: true });
    const chunks = sseChunks(bus as LiveBus, {
      since: reply.stream.since,
      kinds,
      heartbeatMs,
      signal: abort.signal,
    });
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(encoder.encode(value));
      },
      async cancel() {
        abort.abort();
        await chunks.return(undefined);
      },
    });
    return new Response(body, { status: 200, headers: reply.headers });
  };

  const endpoint = node as LiveEndpoint<T>;
  Object.defineProperties(endpoint, {
    fetch: { value: fetchForm, enumerable: true },
    handles: { value: handles, enumerable: true },
    onFinish: { value: (trace: T) => void bus.publish(trace), enumerable: true },
    bus: { value: bus, enumerable: true },
    path: { value: base, enumerable: true },
    enabled: { value: enabled, enumerable: true },
  });
  return endpoint;
}

function json(value: unknown): Reply {
  return {
    status: 200,
    headers: { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(value),
  };
}

/** `?limit=` as a number (default 100, at most 1000), or what is wrong with it. */
function limitOf(value: string | null): number | string {
  if (value === null || value === '') return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) return `limit must be a whole number >= 0, got ${JSON.stringify(value)}`;
  return Math.min(n, MAX_LIMIT);
}

/** The recorder query of `/find`'s parameters, or what is wrong with them. */
function findQuery(params: URLSearchParams): FindQuery | string {
  const query: FindQuery = {};
  for (const key of params.keys()) {
    if (
      !['entity', 'request_id', 'stage', 'action', 'error', 'since', 'until', 'limit', 'token'].includes(key)
    )
      return `unknown parameter ${JSON.stringify(key)} (known: entity, request_id, stage, action, error, since, until, limit)`;
    // `get` answers the first of several: `?entity=a&entity=b` would quietly search for a alone
    if (params.getAll(key).length > 1) return `parameter ${JSON.stringify(key)} is given more than once`;
    // `?request_id=${id}` with an empty id must not quietly become "every trace"
    if (params.get(key) === '' && key !== 'token') return `parameter ${JSON.stringify(key)} is empty`;
  }
  const entity = params.get('entity');
  const requestId = params.get('request_id');
  if (entity) query.entity = entity;
  if (requestId) query.requestId = requestId;
  for (const key of ['stage', 'action', 'since', 'until'] as const) {
    const v = params.get(key);
    if (v) query[key] = v;
  }
  const error = params.get('error');
  if (error !== null) {
    if (error !== 'true' && error !== 'false')
      return `error must be true or false, got ${JSON.stringify(error)}`;
    query.error = error === 'true';
  }
  const limit = limitOf(params.get('limit'));
  if (typeof limit === 'string') return limit;
  query.limit = limit;
  return query;
}

/** Not ours: the next handler's, or a 404 when there is none. */
function passOn(res: ServerResponse, next: Next | undefined): void {
  if (next) next();
  else if (!res.headersSent)
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
}

/** A request target as a URL; a malformed one is simply not ours (undefined), never a throw. */
function parseUrl(target: string): URL | undefined {
  try {
    return new URL(target, 'http://localhost');
  } catch {
    return undefined;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function nodeUrl(req: IncomingMessage): string {
  return req.url ?? '/';
}

function originalUrl(req: IncomingMessage): string | undefined {
  const o = (req as { originalUrl?: unknown }).originalUrl;
  return typeof o === 'string' && o !== req.url ? o : undefined;
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
