// Who may open the live endpoint. It shows internal business logic (entity ids, meta,
// error messages), so it is protected exactly like trace exposure in the HTTP adapters: a
// shared secret compared in constant time, or an `authorize(req)` callback. Uses only Web
// Crypto so the same code runs on Node, Bun, Deno and edge runtimes.
import { StepmarkConfigError } from '../adapters/core/errors.js';
import { reportOnce } from '../runtime/report.js';

export type Authorize<R> = (req: R) => boolean | Promise<boolean>;

export interface ProtectOptions<R> {
  /**
   * Shared secret (or several, for rotation), at least 16 visible ASCII characters: sent as
   * `Authorization: Bearer <secret>`, or once as `?token=<secret>` (traded for a cookie).
   */
  secret?: string | readonly string[];
  /** Decides per request; return true to let it in. Either this or `secret` suffices. */
  authorize?: Authorize<R>;
}

export interface Protection<R> {
  secrets: readonly string[];
  authorize: Authorize<R> | undefined;
}

export const COOKIE = 'stepmark_live';
const MIN_SECRET = 16;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const WHERE = 'stepmark/live';

function invalid(option: string, why: string): StepmarkConfigError {
  return new StepmarkConfigError(
    'ERR_STEPMARK_INVALID_OPTION',
    `${WHERE}: option \`${option}\` ${why}`,
    option,
  );
}

/**
 * Checks the protection options at start-up, with the HTTP adapters' rules for trace
 * exposure. While the endpoint is disabled nothing is required, but what is given must be valid.
 */
export function resolveProtection<R>(options: ProtectOptions<R>, enabled: boolean): Protection<R> {
  const { secret, authorize } = options;
  const secrets: readonly unknown[] | undefined =
    secret === undefined
      ? []
      : typeof secret === 'string'
        ? [secret]
        : Array.isArray(secret)
          ? secret
          : undefined;
  if (secrets === undefined || (secret !== undefined && secrets.length === 0)) {
    throw invalid('secret', 'must be a string or a non-empty array of strings.');
  }
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET || !VISIBLE_ASCII.test(s)) {
      throw invalid(
        'secret',
        `must be at least ${MIN_SECRET} visible ASCII characters (it guards a page that shows internal business ` +
          'logic and must resist guessing); generate one with `openssl rand -hex 24`.',
      );
    }
  }
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw invalid('authorize', 'must be a function (req) => boolean | Promise<boolean>.');
  }
  if (enabled && secrets.length === 0 && authorize === undefined) {
    throw new StepmarkConfigError(
      'ERR_STEPMARK_UNAUTHORISED_EXPOSURE',
      `${WHERE}: the live endpoint is enabled but not protected. It shows internal business logic ` +
        '(entity ids, their meta, error messages) to whoever opens it, so it needs `secret` (sent as ' +
        '`Authorization: Bearer <secret>`, or once as `?token=<secret>` in the browser) or `authorize(req)` ' +
        '(return true to let a request in; `authorize: () => true` opens it to everyone, e.g. on a developer machine).',
      'secret',
    );
  }
  return { secrets: Object.freeze([...(secrets as string[])]), authorize };
}

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Compares two strings in time that does not depend on where they differ or on the
 * expected one's length: both are hashed to 32 bytes first, then every byte is compared.
 */
export async function constantTimeEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const sessions = new Map<string, Promise<string>>();

/** The cookie value for a secret: derived from it, so the cookie never carries the secret. */
export function sessionValue(secret: string): Promise<string> {
  let value = sessions.get(secret);
  if (value === undefined) {
    value = sha256(`stepmark-live-session\0${secret}`).then((bytes) => {
      let hex = '';
      for (const b of bytes) hex += b.toString(16).padStart(2, '0');
      return hex;
    });
    sessions.set(secret, value);
  }
  return value;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^\s*Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

export type Verdict = { ok: false } | { ok: true; cookie?: string };

/**
 * Checks one request. A correct `?token=` lets it in and says which session cookie to set.
 * An `authorize` that throws or rejects counts as "no".
 */
export async function check<R>(
  protection: Protection<R>,
  raw: R,
  credentials: { authorization?: string; cookie?: string; token?: string | null },
): Promise<Verdict> {
  const presented = bearer(credentials.authorization);
  const cookie = readCookie(credentials.cookie, COOKIE);
  const token = credentials.token || undefined;
  for (const secret of protection.secrets) {
    if (presented !== undefined && (await constantTimeEqual(presented, secret))) return { ok: true };
    if (cookie !== undefined && (await constantTimeEqual(cookie, await sessionValue(secret))))
      return { ok: true };
    if (token !== undefined && (await constantTimeEqual(token, secret))) {
      return { ok: true, cookie: await sessionValue(secret) };
    }
  }
  if (protection.authorize !== undefined) {
    try {
      if ((await protection.authorize(raw)) === true) return { ok: true };
    } catch (e) {
      // refused, and said once: an authorize that always throws would otherwise lock everyone out silently
      reportOnce(
        'STEPMARK_LIVE_AUTHORIZE_FAILED',
        "the live endpoint's authorize threw (the request was refused)",
        e,
      );
      return { ok: false };
    }
  }
  return { ok: false };
}
