// Shared pieces of the adapter tests: the business logic every test app runs, a raw HTTP client
// over loopback, and a recorder for onFinish calls.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as stepmark from 'stepmark';

export type Trace = NonNullable<ReturnType<typeof stepmark.collect>>;

export const SECRET = 'test-secret-0123456789abcdef';
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Records an order's way through several awaits; reports whether a trace was active. */
export async function placeOrder(id: string, extraEvents = 0): Promise<{ id: string; traced: boolean }> {
  const entity = `order_${id}`;
  stepmark.track(entity, { id }, { kind: 'order' });
  await delay(2 + Math.random() * 5);
  stepmark.recordEntity(entity, 'validate', 'ok');
  await delay(2 + Math.random() * 5);
  for (let i = 0; i < extraEvents; i++)
    stepmark.recordEntity(entity, 'bulk', `item-${i}`, { i, pad: 'x'.repeat(20) });
  stepmark.recordEntity(entity, 'charge', 'done', { note: 'naïve café ✓ 注文' });
  return { id, traced: stepmark.enabled() };
}

export function failOrder(): never {
  stepmark.record('fail', 'about-to-throw');
  throw new Error('boom');
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive: servers close promptly). */
export function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads the first body chunk, then destroys the connection mid-response. */
export function abortAfterFirstChunk(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
    req.end();
  });
}

export function portOf(address: string | AddressInfo | null): number {
  if (address === null || typeof address === 'string') throw new Error(`not a TCP address: ${address}`);
  return address.port;
}

/** Collects onFinish calls; `next()` waits for the next one (with a timeout that fails the test). */
export class FinishLog {
  readonly traces: Trace[] = [];
  readonly requests: unknown[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly onFinish = (trace: Trace, req: unknown): void => {
    this.traces.push(trace);
    this.requests.push(req);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.traces.length >= w.count) w.resolve();
      return this.traces.length < w.count;
    });
  };

  /** Waits until `count` traces have arrived in total. */
  async waitFor(count: number, ms = 5000): Promise<Trace[]> {
    if (this.traces.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`timed out waiting for ${count} onFinish calls (have ${this.traces.length})`)),
          ms,
        );
        this.#waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    return this.traces;
  }

  /** The trace whose request id is `id` (waits for it). */
  async byId(id: string, ms = 5000): Promise<Trace> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.traces.find((t) => t.meta.request_id === id);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no onFinish trace with request_id ${id}`);
      await delay(5);
    }
  }
}

export function eventsOf(trace: Trace, entity: string): string[] {
  return (trace.entities[entity]?.events ?? []).map((e) => `${e.stage}:${e.action}`);
}

/** Listens on an ephemeral loopback port; close() also drops idle keep-alive connections. */
export async function listen(
  server: import('node:http').Server,
): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: portOf(server.address()),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
