// The framework-neutral part of every adapter: option checking, the trigger check, the
// authorisation decision, trace metadata, the response-header encoding and the onFinish call.
// Web-standard APIs only (stepmark/hono runs on Bun, Deno and edge runtimes); the Node-only
// helpers live in ./node.ts.
import { run } from '../../runtime/index.js';
import { oneLine } from '../../runtime/render.js';
import { reportOnce } from '../../runtime/report.js';
import { DEFAULT_REDACT, describeError } from '../../runtime/snapshot.js';
import { compactOf, type RecorderTrace } from '../../runtime/trace.js';
import type { JsonValue, Meta, Trace, TraceOptions } from '../../runtime/types.js';
import { encodeTraceHeader } from './encode.js';
import { StepmarkConfigError } from './errors.js';
import {
  type AdapterErrorSource,
  type AdapterTraits,
  describe,
  type ResolvedOptions,
  randomRequestId,
  resolveOptions,
  type StepmarkAdapterOptions,
} from './options.js';

export { encodeTraceHeader } from './encode.js';
export { StepmarkConfigError, type StepmarkConfigErrorCode } from './errors.js';
export type { AdapterErrorSource, StepmarkAdapterOptions, TraceRecorder } from './options.js';

/** How an adapter reads its framework's request. */
export interface RequestAccess<Req> {
  /** A header (lower-case name) as one string, or undefined when absent. */
  header(req: Req, name: string): string | undefined;
  /** A query parameter, or undefined when absent (never called when `query` is off). */
  query?(req: Req, name: string): string | undefined;
}

/**
 * What started a trace: the trigger header carrying the secret, the trigger header when no secret
 * is configured, or `query` / `trigger`.
 */
export type TriggeredBy = 'secret' | 'header' | 'other';

/** What the adapter knows about the request when the trace starts. */
export interface RequestFacts {
  method: string;
  /** Path without the query string. */
  path: string;
}

/** What the adapter knows when the trace is collected (for the header, and at the end). */
export interface ResponseFacts {
  /** HTTP status (gRPC: status code); undefined when no response was sent. */
  status?: number | undefined;
  /** The framework's route pattern, e.g. `/orders/:id`. */
  route?: string | undefined;
  /** The client went away before the response finished. */
  aborted?: boolean;
  /** The server failed the call, where the status alone does not say so (gRPC INTERNAL…). */
  failed?: boolean;
}

/** The per-request decision made once a request is triggered. */
export interface TraceStart {
  /** Whether the trace may go into the response. */
  expose: boolean;
  /** Options for `stepmark.run`: the adapter's own, shared by every request. */
  options: TraceOptions;
  /** The trace's meta (instead of `options.meta`): the options' meta, `meta(req)`, the adapter's. */
  meta: Meta;
  /** `performance.now()` when the request was seen. */
  started: number;
}

const NOT_TRIGGERED = undefined;
const noop = (): void => {};
// A request id is copied into traces and headers: keep it short and printable.
const SAFE_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The shared core of one adapter instance. Created once (at start-up: options are checked
 * here), then asked per request.
 */
export class AdapterCore<Req> {
  readonly options: ResolvedOptions<Req>;
  /** Lower-case name of the exposure header, or undefined when exposure is off. */
  readonly responseHeader: string | undefined;
  /** Every request is traced (`record`), triggered or not. */
  readonly records: boolean;
  readonly #access: RequestAccess<Req>;
  // A trace nobody can read (not exposed, no onFinish, no onEnd, no recorder) is not worth recording.
  readonly #consumed: boolean;

  constructor(
    options: StepmarkAdapterOptions<Req> | undefined,
    traits: AdapterTraits,
    access: RequestAccess<Req>,
  ) {
    const resolved = resolveOptions(options, traits);
    checkTraceOptions(resolved.traceOptions, traits.entry);
    this.options = { ...resolved, traceOptions: requestTraceOptions(resolved) };
    this.responseHeader = this.options.responseHeader;
    this.#access = access;
    this.records = this.options.record !== undefined;
    this.#consumed =
      this.records || resolved.onFinish !== undefined || resolved.traceOptions.onEnd !== undefined;
  }

  /**
   * The only work an untriggered request pays for. Returns undefined when the request is not
   * triggered, else what triggered it. With a `secret`, the trigger header starts a trace only
   * when it carries the secret; `query` and `trigger` may still start one.
   */
  check(req: Req): TriggeredBy | undefined {
    const o = this.options;
    if (o.header !== undefined) {
      const value = this.#access.header(req, o.header);
      if (value !== undefined && value !== '') {
        if (o.secrets.length === 0) return 'header';
        if (matchesSecret(value, o.secrets)) return 'secret';
      }
    }
    if (o.query !== undefined && this.#access.query) {
      if (this.#access.query(req, o.query) !== undefined) return 'other';
    }
    if (o.trigger !== undefined) {
      try {
        if (o.trigger(req) === true) return 'other';
      } catch (error) {
        this.report(error, 'trigger');
      }
    }
    return NOT_TRIGGERED;
  }

  /**
   * Whether the request may see its trace: never when it was not triggered (`by` undefined:
   * traced only because of `record`), else as {@link authorize} decides.
   */
  expose(req: Req, by: TriggeredBy | undefined): boolean | Promise<boolean> {
    return by === undefined ? false : this.authorize(req, by);
  }

  /**
   * Whether a triggered request may see its trace: the secret suffices, else `authorize` decides.
   * Never throws: a failing `authorize` is reported and counts as "no". A promise when
   * `authorize` is asynchronous.
   */
  authorize(req: Req, by: TriggeredBy): boolean | Promise<boolean> {
    if (this.responseHeader === undefined) return false;
    if (by === 'secret') return true;
    const o = this.options;
    if (o.authorize === undefined) return false;
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = o.authorize(req);
    } catch (error) {
      this.report(error, 'authorize');
      return false;
    }
    if (verdict === true) return true;
    if (
      verdict !== null &&
      typeof verdict === 'object' &&
      typeof (verdict as Promise<boolean>).then === 'function'
    ) {
      return Promise.resolve(verdict).then(
        (v) => v === true,
        (error: unknown) => {
          this.report(error, 'authorize');
          return false;
        },
      );
    }
    return false;
  }

  /**
   * Decides how a triggered request is traced: undefined when the trace would reach nobody
   * (not exposed, and neither `onFinish` nor `traceOptions.onEnd`), so nothing is recorded.
   */
  begin(req: Req, facts: RequestFacts, expose: boolean): TraceStart | undefined {
    if (!expose && !this.#consumed) return undefined;
    const o = this.options;
    let meta: Meta | undefined;
    if (o.meta !== undefined) {
      try {
        const extra = o.meta(req);
        if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) meta = extra;
        else if (extra !== undefined)
          throw new TypeError(`meta(req) must return an object, got ${typeof extra}`);
      } catch (error) {
        this.report(error, 'meta');
      }
    }
    const base = o.traceOptions.meta;
    return {
      expose,
      started: performance.now(),
      options: o.traceOptions,
      meta: {
        ...base,
        ...meta,
        request_id: this.requestId(req),
        method: facts.method,
        path: facts.path,
      },
    };
  }

  requestId(req: Req): string {
    const o = this.options;
    if (o.requestIdHeader !== undefined) {
      const given = this.#access.header(req, o.requestIdHeader);
      if (given !== undefined && SAFE_ID.test(given)) return given;
    }
    // a broken generator must not break the request: it gets a random id, and onError is told
    try {
      const id: unknown = o.generateRequestId();
      if (typeof id === 'string' && id !== '') return id;
      const why = `generateRequestId() must return a non-empty string, got ${describe(id)}`;
      this.report(new TypeError(why), 'requestId');
    } catch (error) {
      this.report(error, 'requestId');
    }
    return randomRequestId();
  }

  /** Adds what is known about the response to a trace's meta (in place). */
  complete(meta: Record<string, JsonValue>, start: TraceStart, facts: ResponseFacts): void {
    if (facts.route !== undefined) meta.route = facts.route;
    if (facts.status !== undefined) meta.status = facts.status;
    meta.duration_ms = Math.round((performance.now() - start.started) * 1000) / 1000;
    if (facts.aborted) meta.aborted = true;
  }

  /**
   * Just before a request's trace ends (inside it): the response facts go into the trace's own
   * meta, so every consumer of the ended trace (`record`, `onFinish`, `traceOptions.onEnd`) sees them.
   */
  conclude(trace: RecorderTrace, start: TraceStart, facts: ResponseFacts): void {
    try {
      this.complete(trace.meta, start, facts);
      if (facts.failed) trace.failed = true;
    } catch (error) {
      this.report(error, 'onFinish');
    }
  }

  /**
   * The header value for a trace collected while the request runs (ASCII-safe, capped). The
   * secret is not in it: the trace replaced it as it recorded each string (`redactValues`).
   */
  encode(trace: Trace): string {
    return encodeTraceHeader(trace, this.options.maxHeaderBytes);
  }

  /**
   * Hands the ended trace to the recorder (`record`: a
   * flight recorder keeps it in its compact form, nothing is built), then, collected, to
   * `onFinish`; errors and rejections go to `onError`, once.
   */
  finish(trace: RecorderTrace, req: Req): void {
    const record = this.options.record;
    if (record !== undefined) {
      try {
        const compact = compactOf(record.add);
        if (compact !== undefined) compact(trace);
        else record.add(trace.toJSON());
      } catch (error) {
        this.report(error, 'record');
      }
    }
    const onFinish = this.options.onFinish;
    if (onFinish === undefined) return;
    let result: unknown;
    try {
      // `onFinish: recorder.add` takes the ended trace as `record` does: nothing is built for it
      const compact = compactOf(onFinish);
      if (compact !== undefined) {
        compact(trace);
        return;
      }
      result = onFinish(trace.toJSON(), req);
    } catch (error) {
      this.report(error, 'onFinish');
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as Promise<unknown>).then === 'function'
    ) {
      Promise.resolve(result).then(noop, (error: unknown) => this.report(error, 'onFinish'));
    }
  }

  report(error: unknown, source: AdapterErrorSource): void {
    try {
      this.options.onError(error, source);
    } catch (hookError) {
      // Nothing the error hook does may reach the server; its own failure is reported once, with
      // what it was told, so that a broken hook does not silence every later report.
      reportOnce(
        'STEPMARK_ON_ERROR_FAILED',
        `onError threw when told of a failure in ${source} (${oneLine(describeError(error), 120)})`,
        hookError,
      );
    }
  }
}

/**
 * `traceOptions` as every request's trace gets them: the trigger header is a redacted meta key
 * (unless `redact: false`), and the secrets are `redactValues` (whatever `redact` says), so the
 * trace replaces them in every string as it records it: live observers, the response header,
 * `onEnd`, `record` and `onFinish` never see them.
 */
function requestTraceOptions<Req>(o: ResolvedOptions<Req>): TraceOptions {
  const given = o.traceOptions;
  const out: TraceOptions = { ...given };
  if (o.header !== undefined && given.redact !== false) {
    // Frozen, like redactValues below: every request's trace then shares one compiled redaction
    // config (see snapshotConfig).
    out.redact = Object.freeze([...(given.redact ?? DEFAULT_REDACT), o.header]);
  }
  if (o.secrets.length > 0) out.redactValues = Object.freeze([...(given.redactValues ?? []), ...o.secrets]);
  return out;
}

/**
 * Lets the runtime judge `traceOptions` once at start-up (an empty trace, without `onEnd`), so a
 * bad value is a configuration error now rather than an untraced request later.
 */
function checkTraceOptions(traceOptions: TraceOptions, entry: string): void {
  if (Object.keys(traceOptions).length === 0) return;
  // A valid onEnd is left out (it would receive the empty trace); an invalid one stays to be refused.
  const onEnd = typeof traceOptions.onEnd === 'function' ? undefined : traceOptions.onEnd;
  try {
    run(() => undefined, { ...traceOptions, onEnd });
  } catch (error) {
    throw new StepmarkConfigError(
      'ERR_STEPMARK_INVALID_OPTION',
      `${entry}: option \`traceOptions\` was refused by stepmark.run: ${(error as Error)?.message ?? String(error)}`,
      'traceOptions',
    );
  }
}

/**
 * Constant-time comparison of the trigger header with every configured secret: the time taken
 * depends on the secrets' lengths only, never on how much of a guess was right, and all secrets
 * are always compared (no early exit that would tell which one is closer).
 */
export function matchesSecret(given: string, secrets: readonly string[]): boolean {
  let ok = 0;
  for (const secret of secrets) ok |= safeEqual(given, secret) ? 1 : 0;
  return ok === 1;
}

function safeEqual(given: string, secret: string): boolean {
  const n = given.length;
  let diff = n ^ secret.length;
  for (let i = 0; i < secret.length; i++) {
    // i % n keeps the loop length tied to the secret; for n = 0 charCodeAt(NaN) is NaN, and NaN ^ x = x.
    diff |= given.charCodeAt(i % n) ^ secret.charCodeAt(i);
  }
  return diff === 0;
}

/** Resolves `value` (boolean or promise) and calls `then`; synchronous when it can be. */
export function whenDecided<T>(value: boolean | Promise<boolean>, then: (v: boolean) => T): T | Promise<T> {
  return typeof value === 'boolean' ? then(value) : value.then(then);
}
