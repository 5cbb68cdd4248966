/**
 * Comment directives, parsed in one place for every host:
 *
 *   // @stepmark                                  file (before the first statement) or function marker
 *   /** @stepmark entity=order.id kind=order *\/   function marker with an entity-scoped span
 *   // @stepmark-ignore                           excludes the function (or class / object) it precedes
 *
 * A directive is `@stepmark…` as the first word of a line of a comment (after `//`, `/*`, `*`),
 * so prose that mentions @stepmark mid-sentence is not a directive. Anything else spelled
 * `@stepmark…` and any unknown option is a {@link StepmarkDirectiveError} with the offset of the
 * offending text, so each host reports `file:line:col`.
 */
import { StepmarkDirectiveError } from './errors.js';

/** The parameter path of an `entity=` option, e.g. `order.id` → `["order", "id"]`. */
export interface EntityPath {
  /** As written (normalised: no spaces, `?.` written as `.`). */
  readonly text: string;
  /** Root first: a parameter name (or `this`), then property names. */
  readonly segments: readonly string[];
}

/** A `@stepmark` marker. */
export interface MarkDirective {
  readonly type: 'mark';
  /** `entity=` option: the span is entity-scoped with this parameter path's value. */
  readonly entity?: EntityPath;
  /** `kind=` option: the entity kind (needs `entity=`). */
  readonly kind?: string;
  /** Offset of `@stepmark` in the file. */
  readonly offset: number;
  /** Length of the whole directive text (token and options). */
  readonly length: number;
}

/** A `@stepmark-ignore` marker. */
export interface IgnoreDirective {
  readonly type: 'ignore';
  readonly offset: number;
  readonly length: number;
}

/** A parsed comment directive. */
export type Directive = MarkDirective | IgnoreDirective;

/** The directive names that exist; anything else spelled `@stepmark…` is an error. */
export const DIRECTIVE_NAMES = ['@stepmark', '@stepmark-ignore'] as const;

/** The options a `@stepmark` directive takes. */
export const DIRECTIVE_OPTIONS = ['entity', 'kind'] as const;

const TOKEN = /@stepmark[\w$-]*/g;
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Cheap pre-check: whether a comment's text can hold a directive at all. */
export function mayContainDirective(commentText: string): boolean {
  return commentText.includes('@stepmark');
}

/**
 * Parses the directives in one comment.
 *
 * @param commentText the comment's full source text including its delimiters (`// …`, `/* … *\/`)
 * @param offset where the comment starts in the file (offsets in results and errors are absolute)
 * @returns the directives found, in order (usually zero or one)
 * @throws StepmarkDirectiveError for an unknown directive, an unknown or duplicate option, a bad value
 */
export function parseComment(commentText: string, offset = 0): Directive[] {
  if (!mayContainDirective(commentText)) return [];
  const block = commentText.startsWith('/*');
  const bodyEnd = block && commentText.endsWith('*/') ? commentText.length - 2 : commentText.length;
  const found: Directive[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(commentText); m !== null; m = TOKEN.exec(commentText)) {
    const start = m.index;
    if (start >= bodyEnd) break;
    const lineStart = lastLineBreak(commentText, start);
    // Only delimiters and whitespace may precede the directive on its line.
    if (!/^[\s/*]*$/.test(commentText.slice(lineStart, start))) continue;
    const name = m[0];
    let lineEnd = nextLineBreak(commentText, start);
    if (lineEnd > bodyEnd) lineEnd = bodyEnd;
    const abs = offset + start;
    if (name === '@stepmark-ignore') {
      const rest = commentText.slice(start + name.length, lineEnd);
      const extra = rest.search(/\S/);
      if (extra !== -1) {
        throw new StepmarkDirectiveError(
          'ERR_STEPMARK_INVALID_DIRECTIVE',
          `@stepmark-ignore takes no options, found ${JSON.stringify(rest.trim())}`,
          abs + name.length + extra,
          rest.trim().length,
        );
      }
      found.push({ type: 'ignore', offset: abs, length: name.length });
    } else if (name === '@stepmark') {
      const options = parseOptions(commentText, start + name.length, lineEnd, offset);
      found.push({ type: 'mark', ...options, offset: abs, length: trimEnd(commentText, lineEnd) - start });
    } else {
      throw new StepmarkDirectiveError(
        'ERR_STEPMARK_INVALID_DIRECTIVE',
        `Unknown directive ${name}; known directives are ${DIRECTIVE_NAMES.join(' and ')}`,
        abs,
        name.length,
      );
    }
    TOKEN.lastIndex = lineEnd;
  }
  return found;
}

function parseOptions(
  text: string,
  from: number,
  to: number,
  offset: number,
): { entity?: EntityPath; kind?: string } {
  const result: { entity?: EntityPath; kind?: string } = {};
  let kindAt = -1;
  let i = from;
  if (i < to && !/\s/.test(text[i]!)) {
    // `@stepmark(...)`, `@stepmark:x`: not a separate word.
    throw new StepmarkDirectiveError(
      'ERR_STEPMARK_INVALID_DIRECTIVE',
      `Unknown directive ${JSON.stringify(text.slice(i - '@stepmark'.length, to).split(/\s/)[0])}`,
      offset + i - '@stepmark'.length,
    );
  }
  while (i < to) {
    while (i < to && /\s/.test(text[i]!)) i++;
    if (i >= to) break;
    const keyStart = i;
    while (i < to && /[\w$-]/.test(text[i]!)) i++;
    const key = text.slice(keyStart, i);
    if (text[i] !== '=' || key === '') {
      let end = i;
      while (end < to && !/\s/.test(text[end]!)) end++;
      const word = text.slice(keyStart, Math.max(end, keyStart + 1));
      throw new StepmarkDirectiveError(
        'ERR_STEPMARK_INVALID_DIRECTIVE',
        `Unexpected ${JSON.stringify(word)} in @stepmark directive; options are written key=value (${DIRECTIVE_OPTIONS.join(', ')})`,
        offset + keyStart,
        word.length,
      );
    }
    if (!(DIRECTIVE_OPTIONS as readonly string[]).includes(key)) {
      throw new StepmarkDirectiveError(
        'ERR_STEPMARK_INVALID_DIRECTIVE',
        `Unknown @stepmark option ${JSON.stringify(key)}; known options are ${DIRECTIVE_OPTIONS.join(', ')}`,
        offset + keyStart,
        key.length,
      );
    }
    if (result[key as 'entity' | 'kind'] !== undefined) {
      throw new StepmarkDirectiveError(
        'ERR_STEPMARK_INVALID_DIRECTIVE',
        `Duplicate @stepmark option ${JSON.stringify(key)}`,
        offset + keyStart,
        key.length,
      );
    }
    i++; // '='
    const valueStart = i;
    let value: string;
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      const close = text.indexOf(quote, i + 1);
      if (close === -1 || close >= to) {
        throw new StepmarkDirectiveError(
          'ERR_STEPMARK_INVALID_DIRECTIVE',
          `Unterminated quoted value for @stepmark option ${JSON.stringify(key)}`,
          offset + valueStart,
        );
      }
      value = text.slice(i + 1, close);
      i = close + 1;
    } else {
      while (i < to && !/\s/.test(text[i]!)) i++;
      value = text.slice(valueStart, i);
    }
    if (value === '') {
      throw new StepmarkDirectiveError(
        'ERR_STEPMARK_INVALID_DIRECTIVE',
        `Empty value for @stepmark option ${JSON.stringify(key)}`,
        offset + valueStart,
      );
    }
    if (key === 'entity') {
      result.entity = parseEntityPath(value, offset + valueStart);
    } else {
      result.kind = value;
      kindAt = keyStart;
    }
  }
  if (result.kind !== undefined && result.entity === undefined) {
    throw new StepmarkDirectiveError(
      'ERR_STEPMARK_INVALID_DIRECTIVE',
      '@stepmark option "kind" needs "entity" (kind=… names the kind of the entity given by entity=…)',
      offset + kindAt,
      4,
    );
  }
  return result;
}

/**
 * Parses an `entity=` value: a parameter name (or `this`) followed by `.property` segments;
 * `?.` is accepted and means the same (emitted code always uses optional chaining).
 */
export function parseEntityPath(value: string, offset = 0): EntityPath {
  const segments = value.split(/\??\./);
  const bad = segments.findIndex((s, i) => !IDENT.test(s) || (i > 0 && s === 'this'));
  if (bad !== -1 || value.endsWith('.') || value.startsWith('?')) {
    throw new StepmarkDirectiveError(
      'ERR_STEPMARK_INVALID_DIRECTIVE',
      `Invalid entity path ${JSON.stringify(value)}: write a parameter name followed by property names, e.g. entity=order.id`,
      offset,
      value.length,
    );
  }
  return { text: segments.join('.'), segments };
}

/**
 * Checks that an entity path starts at something the function can read: one of its parameter
 * bindings (including names bound by destructuring), or `this` (not in arrow functions at
 * class-field or module level, where `this` is not the instance… so `this` is allowed for
 * methods, constructors and non-arrow functions only).
 *
 * @param parameterNames every name the function's parameter list binds
 * @param allowThis whether `this` refers to the function's own receiver (false for arrows)
 * @throws StepmarkDirectiveError at the directive's offset when the root is not bound
 */
export function checkEntityRoot(
  directive: MarkDirective,
  parameterNames: readonly string[],
  allowThis: boolean,
): void {
  const root = directive.entity?.segments[0];
  if (root === undefined) return;
  if (root === 'this' ? allowThis : parameterNames.includes(root)) return;
  const what =
    root === 'this'
      ? 'entity=this… is only allowed on methods, constructors and non-arrow functions'
      : `entity=${directive.entity!.text} does not start with a parameter of this function` +
        (parameterNames.length ? ` (parameters: ${parameterNames.join(', ')})` : ' (it has no parameters)');
  throw new StepmarkDirectiveError(
    'ERR_STEPMARK_INVALID_DIRECTIVE',
    what,
    directive.offset,
    directive.length,
  );
}

/**
 * The optional chain that reads an entity path, as source text: `["order", "id"]` → `order?.id`
 * (for hosts that emit text; AST hosts build the same chain from `segments`).
 */
export function entityAccessText(entity: EntityPath): string {
  return entity.segments.join('?.');
}

/**
 * Combines all directives attached to one node (from one or several comments) into one.
 * Two plain `@stepmark` are one; `@stepmark` together with `@stepmark-ignore`, or two
 * `@stepmark` with options, is an error at the second one.
 */
export function combineDirectives(directives: readonly Directive[]): Directive | undefined {
  let result: Directive | undefined;
  for (const d of directives) {
    if (!result) {
      result = d;
      continue;
    }
    if (result.type !== d.type) {
      throw new StepmarkDirectiveError(
        'ERR_STEPMARK_INVALID_DIRECTIVE',
        '@stepmark and @stepmark-ignore on the same declaration contradict each other',
        d.offset,
        d.length,
      );
    }
    if (d.type === 'mark' && hasOptions(d)) {
      if (hasOptions(result as MarkDirective)) {
        throw new StepmarkDirectiveError(
          'ERR_STEPMARK_INVALID_DIRECTIVE',
          'Only one @stepmark directive with options is allowed per declaration',
          d.offset,
          d.length,
        );
      }
      result = d;
    }
  }
  return result;
}

/** Whether a mark carries options (`entity=`/`kind=`). */
export function hasOptions(d: MarkDirective): boolean {
  return d.entity !== undefined || d.kind !== undefined;
}

/**
 * Whether a directive found before the first statement of a file marks the whole file: a plain
 * `@stepmark`. One with options, and `@stepmark-ignore`, apply to that first statement instead.
 */
export function isFileDirective(d: Directive): boolean {
  return d.type === 'mark' && !hasOptions(d);
}

/** Error for a directive that precedes nothing it can apply to (hosts call it with the directive). */
export function misplacedDirectiveError(d: Directive): StepmarkDirectiveError {
  const name = d.type === 'mark' ? '@stepmark' : '@stepmark-ignore';
  return new StepmarkDirectiveError(
    'ERR_STEPMARK_MISPLACED_DIRECTIVE',
    `${name} must directly precede a function, a method, a class, an object literal, or a declaration ` +
      'whose value is one of them (or, as a plain // @stepmark, the first statement of the file)',
    d.offset,
    d.length,
  );
}

function lastLineBreak(text: string, before: number): number {
  for (let i = before - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0x2028 || c === 0x2029) return i + 1;
  }
  return 0;
}

function nextLineBreak(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0x2028 || c === 0x2029) return i;
  }
  return text.length;
}

function trimEnd(text: string, end: number): number {
  while (end > 0 && /[\s*]/.test(text[end - 1]!)) end--;
  return end;
}
