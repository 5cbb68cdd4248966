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

const SEP = String.raw`[/\\]`;
const CHAR = String.raw`[^/\\]`;

/** A path segment that is not exactly `node_modules`. */
function segmentOtherThan(word: string): string {
  const n = word.length;
  const alternatives = [`${CHAR}{0,${n - 1}}`, `${CHAR}{${n + 1},}`];
  for (let i = 0; i < n; i++) {
    // Same length, first difference at position i.
    const rest = n - i - 1;
    alternatives.push(
      `${escapeRegExp(word.slice(0, i))}[^/\\\\${escapeRegExp(word[i]!)}]${rest ? `${CHAR}{${rest}}` : ''}`,
    );
  }
  return `(?:${alternatives.join('|')})`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** A source file with no `node_modules` directory in its path. */
export const PROJECT_SOURCE_FILTER = new RegExp(
  `^(?:${segmentOtherThan('node_modules')}${SEP})*${CHAR}*${EXTENSION}`,
);
