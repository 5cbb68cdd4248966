import type { Trace } from '../../runtime/types.js';

// Everything outside printable ASCII: DEL and all non-ASCII code units (lone surrogates included).
const NON_ASCII = /[\u007f-\uffff]/g;
const escapeUnit = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * The trace as a header value: JSON with every non-ASCII character written as a `\uXXXX`
 * escape, so the value is printable ASCII (valid in any HTTP/1, HTTP/2 or gRPC header) and
 * `JSON.parse(value)` gives the trace back unchanged. A value longer than `limit` bytes is
 * replaced by a short marker `{"truncated":true,"bytes":N,"limit":L,"request_id":…}`.
 */
export function encodeTraceHeader(trace: Trace, limit: number): string {
  let json: string;
  try {
    json = JSON.stringify(trace);
  } catch {
    // The runtime promises JSON-safe traces; a hostile toJSON somewhere must still not break the response.
    return truncationMarker(trace, -1, limit);
  }
  // Escaping only lengthens the text, so an over-long JSON is over the cap without scanning it.
  if (json.length > limit) return truncationMarker(trace, json.length, limit);
  const ascii = json.replace(NON_ASCII, escapeUnit);
  return ascii.length > limit ? truncationMarker(trace, ascii.length, limit) : ascii;
}

function truncationMarker(trace: Trace, bytes: number, limit: number): string {
  const id = trace.meta?.request_id;
  const marker: Record<string, unknown> = { truncated: true, bytes, limit };
  if (typeof id === 'string') marker.request_id = id.replace(NON_ASCII, '?').slice(0, 128);
  return JSON.stringify(marker);
}
