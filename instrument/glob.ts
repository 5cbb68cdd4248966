/**
 * A small glob matcher for the `include` / `exclude` options, so the shared core has no
 * dependency. Supported: `**` (any number of directories), `*` and `?` (within one path
 * segment), `{a,b}` alternatives, `[abc]` / `[a-z]` / `[!a]` classes. A pattern without `/`
 * matches the file's base name at any depth (`*.service.ts` is `**` + `/*.service.ts`). Paths and
 * patterns use `/`; relative patterns are matched against the path relative to the project root.
 */

const cache = new Map<string, RegExp>();

/** Compiles one glob pattern to an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let p = pattern.replace(/\\/g, '/');
  if (p.startsWith('./')) p = p.slice(2);
  if (!p.includes('/')) p = `**/${p}`;
  re = new RegExp(`^${translate(p)}$`);
  cache.set(pattern, re);
  return re;
}

function translate(p: string): string {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        // `**/` matches zero or more whole directories; a trailing `**` matches everything below.
        const atSegmentStart = i === 0 || p[i - 1] === '/';
        i++;
        if (atSegmentStart && p[i + 1] === '/') {
          out += '(?:[^/]+/)*';
          i++;
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '{') {
      braceDepth++;
      out += '(?:';
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (c === ',' && braceDepth > 0) {
      out += '|';
    } else if (c === '[') {
      const close = p.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
      } else {
        let body = p.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else {
      out += /[.+^$()|\\\]]/.test(c) ? `\\${c}` : c;
    }
  }
  return out;
}

/** Whether `path` (POSIX separators) matches any of `patterns`. */
export function matchesAnyGlob(path: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) if (globToRegExp(pattern).test(path)) return true;
  return false;
}
