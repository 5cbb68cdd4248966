// A minimal Server-Sent Events reader for tests (what a browser's EventSource does, minus
// reconnection), over real HTTP with fetch.
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** Resolves with the next `n` events (waits for them), excluding comments. */
  take(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Every raw chunk of text received so far (comments included). */
  readonly raw: string;
  close(): void;
}

export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const queue: SseEvent[] = [];
  let raw = '';
  let buffer = '';
  let wake: (() => void) | undefined;
  let ended = false;
  const decoder = new TextDecoder();
  const reader = res.body?.getReader();
  (async () => {
    try {
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        raw += text;
        buffer += text;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const ev: SseEvent = { event: 'message', data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') ev.id = value;
            else if (field === 'event') ev.event = value;
            else if (field === 'data') {
              ev.data = hasData ? `${ev.data}\n${value}` : value;
              hasData = true;
            }
          }
          if (hasData) queue.push(ev);
          end = buffer.indexOf('\n\n');
        }
        wake?.();
      }
    } catch {
      // aborted
    } finally {
      ended = true;
      wake?.();
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    get raw() {
      return raw;
    },
    async take(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length < n) {
        if (ended) throw new Error(`stream ended after ${queue.length} of ${n} events`);
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`timed out waiting for ${n} events, got ${queue.length}: ${raw.slice(-500)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      return queue.splice(0, n);
    },
    close() {
      abort.abort();
    },
  };
}
