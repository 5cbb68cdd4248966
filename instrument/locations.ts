/**
 * Locations written into emitted code (`"path:line:col"`) and positions for error messages.
 * Lines and columns are 1-based; columns count UTF-16 code units (what Babel, TypeScript and V8
 * use). A host whose parser reports UTF-8 byte offsets (oxc) converts with {@link LineIndex.fromUtf8}.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A 1-based line and column. */
export interface LineColumn {
  readonly line: number;
  readonly column: number;
}

/** Converts offsets in one file's text to 1-based line/column. Line breaks are ECMAScript's: LF, CRLF, CR, U+2028, U+2029. */
export class LineIndex {
  /** Offset of the first character of each line. */
  private readonly starts: number[] = [0];
  private utf8: Uint32Array | undefined;

  constructor(readonly text: string) {
    const starts = this.starts;
    if (!text.includes('\r') && !text.includes('\u2028') && !text.includes('\u2029')) {
      // The usual text: `\n` breaks only, found by the engine's native search.
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
      return;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      } else if (c === 10 || c === 0x2028 || c === 0x2029) {
        starts.push(i + 1);
      }
    }
  }

  /** Line and column (both 1-based) of a UTF-16 offset. */
  locate(offset: number): LineColumn {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  }

  /** The text of a 1-based line, without its line break (for code frames and esbuild's `lineText`). */
  lineText(line: number): string {
    const start = this.starts[line - 1] ?? this.text.length;
    const next = this.starts[line];
    return this.text
      .slice(start, next === undefined ? undefined : next)
      .replace(/(\r\n|\r|\n|\u2028|\u2029)$/, '');
  }

  /** UTF-16 offset of a UTF-8 byte offset (for parsers that report byte offsets). */
  fromUtf8(byteOffset: number): number {
    if (!this.utf8) {
      // utf8[i] = byte offset of UTF-16 index i (with one extra entry for the end).
      const text = this.text;
      const table = new Uint32Array(text.length + 1);
      let bytes = 0;
      for (let i = 0; i < text.length; i++) {
        table[i] = bytes;
        const c = text.charCodeAt(i);
        if (c < 0x80) bytes += 1;
        else if (c < 0x800) bytes += 2;
        else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
          table[++i] = bytes + 2; // inside the 4-byte sequence: never a boundary
          bytes += 4;
        } else bytes += 3;
      }
      table[text.length] = bytes;
      this.utf8 = table;
    }
    const table = this.utf8;
    let lo = 0;
    let hi = table.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (table[mid]! <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/**
 * The path written into locations and matched by `include`/`exclude`: relative to `root`,
 * POSIX separators. A file outside `root` keeps its `../` segments; a file on another drive
 * (Windows) keeps its absolute path with `/` separators.
 */
export function projectRelativePath(filename: string, root: string): string {
  const abs = resolve(root, filename);
  const rel = relative(root, abs);
  const out = rel === '' || isAbsolute(rel) ? abs : rel;
  return sep === '/' ? out : out.split(sep).join('/');
}

/**
 * Formats a location string for `__stepmark.enter(name, location)`: `"src/order.ts:12:3"`.
 * `line` and `column` are 1-based.
 */
export function formatLocation(relativePath: string, line: number, column: number): string {
  return `${relativePath}:${line}:${column}`;
}

/**
 * Formats a position for an error message, `file:line:col`, with the file as given by the host
 * (usually the absolute path, so terminals make it clickable).
 */
export function formatPosition(filename: string, position: LineColumn): string {
  return `${filename}:${position.line}:${position.column}`;
}
