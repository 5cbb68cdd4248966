/**
 * Recorded strings made safe for a terminal. A trace holds text from the program and from what it
 * handled (a header, a file name): printed as is, a newline would split one field over two lines
 * and an escape sequence would command the terminal. Every character a terminal acts on, or that
 * moves text, is written as a visible escape instead.
 */

/**
 * C0 controls (newline included), DEL, C1 controls (U+0080–U+009F: U+009B is a one-character
 * CSI), the Arabic letter mark, LRM/RLM, the line and paragraph separators, and the bidirectional
 * embeddings, overrides and isolates. Built from escapes so this file holds no control character.
 */
const UNSAFE = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';
const PLAIN = new RegExp(`[${UNSAFE}]`, 'g');
const QUOTED = new RegExp(`[${UNSAFE}"\\\\]`, 'g');
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code < 0x80
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` as one printable field: no line break, no escape sequence, no reordering (`\n`, `\x1b`,
 * `\u009b`, `\u202e` are written out). `quoted`: the text goes between double quotes, so `"` and
 * `\` are escaped too, as in JSON.
 */
export function escapeForTerminal(text: string, quoted = false): string {
  return text.replace(quoted ? QUOTED : PLAIN, escapeChar);
}
