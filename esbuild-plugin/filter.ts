/**
 * The `onLoad` filters. esbuild matches them in Go before calling into JavaScript, so a file the
 * filter rejects costs nothing. Go's regular expressions have no lookahead, so "not under
 * `node_modules`" is spelled out as "every directory segment differs from `node_modules`" (a
 * regular language, so a plain regular expression exists): dependency files never cross into
 * JavaScript unless `include` asks for them.
 */

/** Extensions the plugin handles. */
const EXTENSION = String.raw`\.(?:[cm]?[jt]s|[jt]sx)$`;

/** Any JavaScript/TypeScript source file. */
export const SOURCE_FILTER = new RegExp(EXTENSION);

export const SEP = String.raw`[/\\]`;
export const CHAR = String.raw`[^/\\]`;

interface CharNode {
  end: boolean;
  next: Map<string, CharNode>;
}

/**
 * A non-empty path segment (no separators) that is none of `names`, over a trie of the names: at
 * each prefix, either the segment ends there (when the prefix is not a name), or the next
 * character leaves the trie (then anything), or it follows an edge.
 */
export function segmentNotIn(names: readonly string[]): string {
  const root: CharNode = { end: false, next: new Map() };
  for (const name of names) {
    let n = root;
    for (const c of name) {
      let child = n.next.get(c);
      if (!child) n.next.set(c, (child = { end: false, next: new Map() }));
      n = child;
    }
    n.end = true;
  }
  const alternatives = (n: CharNode, depth: number): string => {
    const parts: string[] = [];
    if (depth > 0 && !n.end) parts.push('');
    const edges = [...n.next.keys()];
    parts.push(`[^/\\\\${edges.map(escapeClass).join('')}]${CHAR}*`);
    for (const [c, child] of n.next) parts.push(`${escapeRegExp(c)}(?:${alternatives(child, depth + 1)})`);
    return parts.join('|');
  };
  return `(?:${alternatives(root, 0)})`;
}

export function escapeRegExp(s: string): string {
  // the common case, one letter or digit of a file name (the trie escapes character by character)
  if (s.length === 1 && isWordChar(s.charCodeAt(0))) return s;
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function escapeClass(c: string): string {
  return c.length === 1 && isWordChar(c.charCodeAt(0)) ? c : /[\]\\^-]/.test(c) ? `\\${c}` : c;
}

/** ASCII letters, digits and `_`: never special in a regular expression or a character class. */
function isWordChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}

/** A source file with no `node_modules` directory in its path. */
export const PROJECT_SOURCE_FILTER = new RegExp(
  `^(?:${segmentNotIn(['node_modules'])}?${SEP})*${CHAR}*${EXTENSION}`,
);
