// Server-Sent Events framing of a bus subscription, shared by the node:http and the
// web-standard forms of the endpoint. Pull-based: the next item is read only when the
// transport has taken the previous one, so a slow client holds one item at most, and the
// bus (not an unbounded socket buffer) decides what it loses.
import type { Delivery, LiveBus, LiveItem, LiveKind } from './bus.js';

const serialised = new WeakMap<LiveItem, string>();

function frame(item: LiveItem): string {
  let text = serialised.get(item);
  if (text === undefined) {
    let json: string | undefined;
    try {
      json = JSON.stringify(item.data);
    } catch (error) {
      json = JSON.stringify({
        error: `stepmark/live: item ${item.seq} is not serialisable: ${String(error)}`,
      });
    }
    // JSON.stringify never emits a raw CR or LF, so the payload is one `data:` line.
    text = `id: ${item.id}\nevent: ${item.kind}\ndata: ${json ?? 'null'}\n\n`;
    serialised.set(item, text);
  }
  return text;
}

function encode(delivery: Delivery): string {
  const lost = delivery.lost > 0 ? `event: lost\ndata: {"count":${delivery.lost}}\n\n` : '';
  return lost + frame(delivery.item);
}

export interface StreamOptions {
  since?: string | null;
  kinds?: readonly LiveKind[];
  heartbeatMs: number;
  signal: AbortSignal;
}

const PING = Symbol('ping');
const BURST_CHARS = 64 * 1024;

/** The SSE text chunks of one client: a greeting, then items as they come, with heartbeats. */
export async function* sseChunks(
  bus: LiveBus,
  options: StreamOptions,
): AsyncGenerator<string, void, undefined> {
  const sub = bus.subscribe({ since: options.since, kinds: options.kinds, signal: options.signal });
  try {
    // `retry` makes browsers reconnect quickly; the hello tells the page which process it sees.
    yield `retry: 2000\nevent: hello\ndata: ${JSON.stringify({ epoch: bus.epoch, head: bus.head, capacity: bus.capacity })}\n\n`;
    let next = sub.next();
    while (!sub.cancelled) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ping = new Promise<typeof PING>((resolve) => {
        timer = setTimeout(resolve, options.heartbeatMs, PING);
      });
      const got = await Promise.race([next, ping]);
      clearTimeout(timer);
      if (got === PING) {
        yield ': ping\n\n';
        continue;
      }
      if (got.done) return;
      // Send what is already waiting in one chunk (fewer writes in bursts), up to a size
      // that keeps a slow client's share of memory small.
      let chunk = encode(got.value);
      while (chunk.length < BURST_CHARS) {
        const more = sub.poll();
        if (!more) break;
        chunk += encode(more);
      }
      yield chunk;
      next = sub.next();
    }
  } finally {
    sub.cancel();
  }
}
