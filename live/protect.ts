// Who may open the live endpoint. It shows internal business logic (entity ids, meta,
// error messages), so it is protected exactly like trace exposure in the HTTP adapters: a
// shared secret compared in constant time, or an `authorize(req)` callback. Uses only Web
// Crypto so the same code runs on Node, Bun, Deno and edge runtimes.

export type Authorize<R> = (req: R) => boolean | Promise<boolean>;

export interface ProtectOptions<R> {
  /** Shared secret: `Authorization: Bearer <secret>`, or once `?token=<secret>` (sets a cookie). */
  secret?: string;
  /** Decides per request; return true to let it in. Either this or `secret` must pass. */
  authorize?: Authorize<R>;
}

export const COOKIE = 'stepmark_live';
const MIN_SECRET = 16;

/** Throws the start-up error for an enabled endpoint without protection (or a weak secret). */
export function assertProtected<R>(options: ProtectOptions<R>): void {
  const { secret, authorize } = options;
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < MIN_SECRET)) {
    throw new TypeError(
      `stepmark/live: \`secret\` must be a string of at least ${MIN_SECRET} characters (it guards a page that shows ` +
        'internal business logic); generate one with `openssl rand -hex 24`.',
    );
  }
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new TypeError('stepmark/live: `authorize` must be a function (req) => boolean | Promise<boolean>.');
  }
  if (secret === undefined && authorize === undefined) {
    throw new Error(
      'stepmark/live: the live endpoint is enabled but not protected. It shows internal business logic ' +
        '(entity ids, their meta, error messages) to whoever opens it, so it needs `secret` (sent as ' +
        '`Authorization: Bearer <secret>`, or once as `?token=<secret>` in the browser) or `authorize(req)` ' +
        '(return true to let a request in; `authorize: () => true` opens it to everyone, e.g. on a developer machine).',
    );
  }
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

/** The cookie value for a secret: derived from it, so the cookie never carries the secret. */
export async function sessionValue(secret: string): Promise<string> {
  const bytes = await sha256(`stepmark-live-session\0${secret}`);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
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

export type Verdict = 'ok' | 'token' | 'denied';

/**
 * Checks one request. `token` means it carried a correct `?token=`: let it in and set the
 * session cookie. An `authorize` that throws or rejects counts as "no".
 */
export async function check<R>(
  options: ProtectOptions<R>,
  raw: R,
  credentials: { authorization?: string; cookie?: string; token?: string | null },
): Promise<Verdict> {
  const { secret, authorize } = options;
  if (secret !== undefined) {
    const presented = bearer(credentials.authorization);
    if (presented !== undefined && (await constantTimeEqual(presented, secret))) return 'ok';
    const cookie = readCookie(credentials.cookie, COOKIE);
    if (cookie !== undefined && (await constantTimeEqual(cookie, await sessionValue(secret)))) return 'ok';
    if (credentials.token && (await constantTimeEqual(credentials.token, secret))) return 'token';
  }
  if (authorize !== undefined) {
    try {
      if ((await authorize(raw)) === true) return 'ok';
    } catch {
      return 'denied';
    }
  }
  return 'denied';
}
