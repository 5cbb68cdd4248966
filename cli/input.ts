// Reading traces from a file: one JSON trace, a JSON array of traces, or NDJSON (one trace
// per line); an input larger than one string can be is NDJSON read line by line. Every problem
// becomes one line naming where it is, never a stack trace.
import { constants } from 'node:buffer';
import { fstatSync, readSync } from 'node:fs';
import { oneLine } from '../runtime/render.js';
import { completeTrace, traceProblem } from '../runtime/shape.js';
import type { Trace } from '../runtime/types.js';

export { completeTrace, oneLine, traceProblem };

export class InputError extends Error {
  override name = 'InputError';
}

/** Line and column (both 1-based) of a character offset. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

/**
 * Where `JSON.parse(text)` fails: the offset of the first character that is not valid JSON there
 * (`text.length` when the text ends too early), or undefined for valid JSON. The engine's message
 * does not always say (Node 20's "Unexpected token" messages never do), so it is found here.
 * Iterative: nesting depth costs no stack.
 */
export function jsonErrorOffset(text: string): number | undefined {
  const n = text.length;
  let i = 0;
  const open: number[] = []; // 91 '[' or 123 '{' per enclosing container
  const space = () => {
    for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
  };
  const string = (): boolean => {
    i++; // the opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 92) {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u') {
          i += 2;
          for (let k = 0; k < 4; k++, i++) if (!isHex(text.charCodeAt(i))) return false;
        } else {
          i++;
          return false;
        }
      } else i++;
    }
    return false;
  };
  const key = (): boolean => {
    space();
    if (text.charCodeAt(i) !== 34 || !string()) return false;
    space();
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    return true;
  };
  const digits = (): boolean => {
    const from = i;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i));
    return i > from;
  };
  const number = (): boolean => {
    if (text.charCodeAt(i) === 45) i++;
    if (text.charCodeAt(i) === 48) i++;
    else if (!digits()) return false;
    if (text.charCodeAt(i) === 46) {
      i++;
      if (!digits()) return false;
    }
    const e = text.charCodeAt(i);
    if (e === 101 || e === 69) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 43 || sign === 45) i++;
      if (!digits()) return false;
    }
    return true;
  };
  for (;;) {
    // a value
    space();
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) {
      i++;
      space();
      // `}` and `]` are two code points after `{` and `[`
      if (text.charCodeAt(i) === c + 2) i++;
      else {
        open.push(c);
        if (c === 123 && !key()) return i;
        continue;
      }
    } else if (c === 34) {
      if (!string()) return i;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      if (!number()) return i;
    } else {
      // true, false or null; else the first character that breaks one (`tru}` fails at `}`)
      const word = c === 116 ? 'true' : c === 102 ? 'false' : c === 110 ? 'null' : '';
      let k = 0;
      while (k < word.length && text.charCodeAt(i + k) === word.charCodeAt(k)) k++;
      i += k;
      if (k === 0 || k < word.length) return i;
    }
    // after a value: close containers, or a comma and the next value
    for (;;) {
      space();
      const top = open[open.length - 1];
      if (top === undefined) return i < n ? i : undefined;
      const d = text.charCodeAt(i);
      if (d === 44) {
        i++;
        if (top === 123 && !key()) return i;
        break;
      }
      if (d !== top + 2) return i;
      i++;
      open.pop();
    }
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * Where `JSON.parse(text)` failed with `error` (line and column in `text`, when they can be told)
 * and why, in one line.
 */
function parseFailure(text: string, error: unknown): { at?: { line: number; column: number }; why: string } {
  const message = error instanceof Error ? error.message : String(error);
  const stated = /at position (\d+)/.exec(message);
  const offset = jsonErrorOffset(text) ?? (stated ? Number(stated[1]) : undefined);
  const why = oneLine(message.replace(/ in JSON at position \d+.*$/s, ''));
  return offset === undefined ? { why } : { at: position(text, offset), why };
}

function jsonProblem(text: string, error: unknown): string {
  const { at, why } = parseFailure(text, error);
  return `not valid JSON${at ? ` at line ${at.line}, column ${at.column}` : ''} (${why})`;
}

/**
 * Why `JSON.parse(text)` failed with `error`, for a value that starts at `line`:`column` of its
 * input: "line 7: not valid JSON at column 12 (…)", the line and column being the input's.
 */
export function valueProblem(text: string, error: unknown, line: number, column: number): string {
  const { at, why } = parseFailure(text, error);
  if (at === undefined) return `line ${line}: not valid JSON (${why})`;
  const col = at.line === 1 ? column + at.column - 1 : at.column;
  return `line ${line + at.line - 1}: not valid JSON at column ${col} (${why})`;
}

function asTraces(value: unknown, where: (i: number) => string): Trace[] {
  const list = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && value.length === 0) throw new InputError('an empty array: no traces');
  return list.map((item, i) => {
    const problem = traceProblem(item);
    if (problem) throw new InputError(`${where(i)}${problem}`);
    return completeTrace(item as Record<string, unknown>);
  });
}

/** Parses a file's text into traces. Throws {@link InputError} with a one-line message. */
export function parseTraces(text: string): Trace[] {
  const content = text.replace(/^\uFEFF/, '');
  if (!content.trim()) throw new InputError('empty input: no traces');
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = JSON.parse(content);
  } catch (error) {
    wholeError = error;
  }
  if (wholeError === undefined) {
    return asTraces(whole, (i) => (Array.isArray(whole) ? `item ${i + 1}: ` : ''));
  }
  // NDJSON when the first non-empty line is a JSON value by itself; otherwise the document
  // is one broken JSON value and the whole-document error is the useful one.
  const lines = content.split(/\r?\n/);
  const firstLine = lines.findIndex((l) => l.trim() !== '');
  let firstOk = false;
  try {
    JSON.parse(lines[firstLine]!);
    firstOk = lines.slice(firstLine + 1).some((l) => l.trim() !== '');
  } catch {}
  if (!firstOk) throw new InputError(jsonProblem(content, wholeError));
  const traces: Trace[] = [];
  for (let i = firstLine; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    traces.push(...lineTraces(line, i + 1));
  }
  return traces;
}

/** The traces of NDJSON line number `n`. */
function lineTraces(line: string, n: number, hint = ''): Trace[] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new InputError(`${valueProblem(line, error, n, 1)}${hint}`);
  }
  return asTraces(value, () => `line ${n}: `);
}

/** Bytes of an input: a file, or a pipe (`size` undefined). */
export interface TraceSource {
  /** Bytes in all, when known (a regular file). */
  readonly size: number | undefined;
  /** Fills the start of `buffer`; returns how many bytes it put there, 0 at the end. */
  read(buffer: Buffer): number;
}

/** A file descriptor as a {@link TraceSource}. */
export function fdSource(fd: number): TraceSource {
  const stat = fstatSync(fd);
  return {
    size: stat.isFile() ? stat.size : undefined,
    read: (buffer) => readSync(fd, buffer, 0, buffer.length, null),
  };
}

/**
 * An input as traces: `whole` when it fits in one string (one JSON document, an array of traces,
 * or NDJSON, as {@link parseTraces} reads them), `lines` when it is larger than that: then it is
 * NDJSON, read and parsed one line at a time as `traces` is iterated, so its size is not limited.
 */
export type TraceInput = { kind: 'whole'; traces: Trace[] } | { kind: 'lines'; traces: Iterable<Trace> };

/** The longest input read as one string: what the engine allows (about 512 MiB). */
export const WHOLE_LIMIT = constants.MAX_STRING_LENGTH;
const CHUNK = 1 << 20;

/**
 * Reads an input: at most `wholeLimit` bytes (default {@link WHOLE_LIMIT}) before it decides; a
 * regular file known to be larger goes line by line from its start. Throws {@link InputError}.
 */
export function openTraces(source: TraceSource, options: { wholeLimit?: number } = {}): TraceInput {
  const limit = options.wholeLimit ?? WHOLE_LIMIT;
  const head: Buffer[] = [];
  if (source.size === undefined || source.size <= limit) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1));
    let total = 0;
    for (;;) {
      const n = source.read(chunk);
      if (n === 0) return { kind: 'whole', traces: parseTraces(Buffer.concat(head, total).toString('utf8')) };
      head.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (total > limit) break;
    }
  }
  return { kind: 'lines', traces: ndjson(head, source) };
}

function* ndjson(head: Buffer[], source: TraceSource): Generator<Trace> {
  let seen = false;
  for (const { text, n } of lines(head, source)) {
    const line = n === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (!line.trim()) continue;
    const hint = seen ? '' : ' (an input this large is read as NDJSON: one trace per line)';
    seen = true;
    yield* lineTraces(line, n, hint);
  }
  if (!seen) throw new InputError('empty input: no traces');
}

function tooLong(n: number): never {
  throw new InputError(`line ${n}: longer than ${WHOLE_LIMIT} bytes, too long to read`);
}

/** The lines of `head` then of the rest of `source`, decoded one at a time (line ends: LF, CRLF). */
function* lines(head: Buffer[], source: TraceSource): Generator<{ text: string; n: number }> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  function* pieces(): Generator<Buffer> {
    // `head` is handed out and let go piece by piece
    for (let piece = head.shift(); piece !== undefined; piece = head.shift()) yield piece;
    for (let got = source.read(chunk); got > 0; got = source.read(chunk)) yield chunk.subarray(0, got);
  }
  let n = 0;
  let partial: Buffer[] = [];
  let partialBytes = 0;
  const decode = (last: Buffer): { text: string; n: number } => {
    if (partialBytes + last.length > WHOLE_LIMIT) tooLong(n + 1);
    const bytes = partial.length === 0 ? last : Buffer.concat([...partial, last]);
    partial = [];
    partialBytes = 0;
    const text = bytes.toString('utf8');
    return { text: text.endsWith('\r') ? text.slice(0, -1) : text, n: ++n };
  };
  for (const piece of pieces()) {
    let start = 0;
    for (let nl = piece.indexOf(10); nl >= 0; nl = piece.indexOf(10, start)) {
      yield decode(piece.subarray(start, nl));
      start = nl + 1;
    }
    if (start < piece.length) {
      partial.push(Buffer.from(piece.subarray(start)));
      partialBytes += piece.length - start;
      if (partialBytes > WHOLE_LIMIT) tooLong(n + 1);
    }
  }
  if (partialBytes > 0) yield decode(Buffer.alloc(0));
}

/**
 * Keeps the traces with an entity that matches `text` and, in each, only the matching
 * entities. The same syntax as the viewer's filter: `order_4` (in the id or the kind),
 * `id:order_4` (in the id), `kind:order` (exactly this kind). Case-insensitive.
 */
export function filterTraces<E extends { trace: Trace }>(list: readonly E[], text: string): E[] {
  const m = /^\s*(id|kind)\s*:\s*(.*)$/i.exec(text);
  const field = m ? m[1]!.toLowerCase() : 'any';
  const term = (m ? m[2]! : text).trim().toLowerCase();
  const matches = (id: string, kind: string | undefined): boolean => {
    const k = (kind ?? '').toLowerCase();
    const i = id.toLowerCase();
    if (field === 'kind') return k === term;
    if (field === 'id') return i.includes(term);
    return i.includes(term) || k.includes(term);
  };
  const out: E[] = [];
  for (const entry of list) {
    const entities = Object.fromEntries(
      Object.entries(entry.trace.entities).filter(([id, e]) => matches(e.entity_id ?? id, e.kind)),
    );
    if (Object.keys(entities).length > 0) out.push({ ...entry, trace: { ...entry.trace, entities } });
  }
  return out;
}
