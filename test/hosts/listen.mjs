// Serves a fetch handler (a Hono app's `fetch`) on the runtime's own server: Bun.serve,
// Deno.serve, or @hono/node-server on Node; on 127.0.0.1, port chosen by the system.

/** Starts serving `fetch`: `{ port, close }`. */
export async function listen(fetch) {
  if (globalThis.Bun) {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch });
    return { port: server.port, close: () => server.stop(true) };
  }
  if (globalThis.Deno) {
    const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, fetch);
    return { port: server.addr.port, close: () => server.shutdown() };
  }
  const { serve } = await import('@hono/node-server');
  const server = await new Promise((resolve) => {
    const s = serve({ hostname: '127.0.0.1', port: 0, fetch }, () => resolve(s));
  });
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
