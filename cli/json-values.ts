// Splits a stream of text into its top-level JSON values without holding more than one of them:
// one trace (JSON), a JSON array of traces (each element is a value; the array may span any
// number of lines), NDJSON (one value per line) or values simply written one after another.
// Only the structure is read here (brackets, strings, escapes); each value's text is handed out
// for the caller to parse, or to skip unparsed when it cannot be of interest.

export interface JsonText {
  /** The value's text, exactly as in the input. */
  text: string;
  /** Line (1-based) where the value starts. */
  line: number;
  /** Column (1-based, in UTF-16 units) where the value starts on that line. */
  column: number;
}

export class JsonStructureError extends Error {
  override name = 'JsonStructureError';
}

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

const isSpace = (c: number) => c === 32 || c === LF || c === 13 || c === 9;

/**
 * Yields the top-level values of `chunks`; the elements of a top-level array are yielded one by
 * one. Throws {@link JsonStructureError} (with a line) on a bracket that closes nothing, a stray
 * comma, or input that ends inside a value.
 */
export async function* jsonValues(chunks: AsyncIterable<string>): AsyncGenerator<JsonText> {
  let line = 1;
  // Characters read before the current line (over all chunks), to tell a value's column.
  let read = 0;
  let lineStart = 0;
  // Depth of brackets; `base` is 1 inside a top-level array (its elements are the values), else 0.
  let depth = 0;
  let base = 0;
  let inString = false;
  let escaped = false;
  // The value being read: where it started in the current chunk (-1: none), its text from
  // earlier chunks, the line it started on, and whether it is a bare scalar (number, true…).
  let start = -1;
  let carry = '';
  let startLine = 0;
  let startColumn = 0;
  let scalar = false;
  let first = true;

  for await (let chunk of chunks) {
    if (first && chunk !== '') {
      first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const out: JsonText[] = [];
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (c === LF) {
        line++;
        lineStart = read + i + 1;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (depth === base && start >= 0 && !scalar) {
            // a top-level string value ends here
            out.push({ text: carry + chunk.slice(start, i + 1), line: startLine, column: startColumn });
            carry = '';
            start = -1;
          }
        }
        continue;
      }
      if (start >= 0 && scalar) {
        // A bare scalar ends at whitespace, a comma or a closing bracket (read again below).
        if (isSpace(c) || c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE) {
          out.push({ text: carry + chunk.slice(start, i), line: startLine, column: startColumn });
          carry = '';
          start = -1;
          scalar = false;
        } else continue;
      }
      if (start < 0) {
        // Between values.
        if (isSpace(c)) continue;
        if (c === COMMA) {
          if (base === 1) continue;
          throw new JsonStructureError(`unexpected "," at line ${line}`);
        }
        if (c === OPEN_BRACKET && depth === 0) {
          base = depth = 1;
          continue;
        }
        if (c === CLOSE_BRACKET && base === 1 && depth === 1) {
          base = depth = 0;
          continue;
        }
        if (c === CLOSE_BRACE || c === CLOSE_BRACKET)
          throw new JsonStructureError(`unexpected "${String.fromCharCode(c)}" at line ${line}`);
        start = i;
        startLine = line;
        startColumn = read + i - lineStart + 1;
        if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === QUOTE) inString = true;
        else scalar = true;
        continue;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === base) {
          out.push({ text: carry + chunk.slice(start, i + 1), line: startLine, column: startColumn });
          carry = '';
          start = -1;
        }
      }
    }
    // A value still open continues at index 0 of the next chunk.
    if (start >= 0) {
      carry += chunk.slice(start);
      start = 0;
    }
    read += n;
    yield* out;
  }
  if (scalar && carry !== '') {
    yield { text: carry, line: startLine, column: startColumn };
    return;
  }
  if (carry !== '' || depth !== 0) {
    throw new JsonStructureError(
      carry !== ''
        ? `unexpected end of input: the value starting at line ${startLine} is not closed`
        : 'unexpected end of input: a "[" is not closed',
    );
  }
}
