/**
 * Finds `@stepmark` comment directives in a parser's comment list (oxc's or Babel's) and indexes
 * each by the offset of the code it directly precedes; the analysis (./analyze.ts) claims them for
 * the declarations that start there. Parsing and the rules about what a directive means are in
 * ../directives.ts.
 */
import type { Directive } from '../directives.js';
import { combineDirectives, isFileDirective, misplacedDirectiveError, parseComment } from '../directives.js';
import type { Comment } from './ast.js';

interface Attached {
  readonly directive: Directive;
  /** Offset of the first code character after the comment (and any comments right after it). */
  readonly at: number;
  used: boolean;
}

export class DirectiveIndex {
  private readonly attached: Attached[];
  /** Whether a plain `// @stepmark` before the first statement marks the whole file. */
  readonly fileMarked: boolean;

  private constructor(attached: Attached[], fileMarked: boolean) {
    this.attached = attached;
    this.fileMarked = fileMarked;
  }

  /**
   * Indexes the directive comments of a file. `firstStatement` is the offset of the file's own
   * first statement (a plain `@stepmark` before it marks the file). Without the source text
   * (Babel's `transformFromAst` without code), `codeAfter` gives the offset of the code a comment
   * precedes. Throws StepmarkDirectiveError for a malformed directive.
   */
  static build(
    source: string,
    comments: readonly Comment[],
    firstStatement: number,
    codeAfter?: (comment: Comment) => number,
  ): DirectiveIndex {
    const attached: Attached[] = [];
    let fileMarked = false;
    for (let c = 0; c < comments.length; c++) {
      const comment = comments[c]!;
      if (!comment.value.includes('@stepmark')) continue;
      const found = parseComment(commentText(source, comment), comment.start);
      if (found.length === 0) continue;
      let at: number | undefined;
      for (const directive of found) {
        if (comment.end <= firstStatement && isFileDirective(directive)) {
          fileMarked = true;
          continue;
        }
        at ??= source ? nextCode(source, comments, c) : (codeAfter?.(comment) ?? comment.end);
        attached.push({ directive, at, used: false });
      }
    }
    return new DirectiveIndex(attached, fileMarked);
  }

  /** Whether the file has directives that must attach to something. */
  get isEmpty(): boolean {
    return this.attached.length === 0;
  }

  /**
   * The directive (combined, when several) whose comment directly precedes code starting
   * between `from` and `to` (inclusive), marking it as used.
   */
  claim(from: number, to: number): Directive | undefined {
    let found: Directive[] | undefined;
    for (const a of this.attached) {
      if (a.at >= from && a.at <= to) {
        a.used = true;
        (found ??= []).push(a.directive);
      }
    }
    return found && combineDirectives(found);
  }

  /** Throws for the first directive that precedes nothing it can apply to. */
  assertAllUsed(): void {
    for (const a of this.attached) if (!a.used) throw misplacedDirectiveError(a.directive);
  }
}

/** A comment's full text, delimiters included: from the source, or rebuilt from its value. */
function commentText(source: string, comment: Comment): string {
  if (source) return source.slice(comment.start, comment.end);
  return comment.type === 'Line' || comment.type === 'CommentLine'
    ? `//${comment.value}`
    : `/*${comment.value}*/`;
}

/** Offset of the first character after comment `c` that is neither whitespace nor another comment. */
function nextCode(source: string, comments: readonly Comment[], c: number): number {
  let pos = comments[c]!.end;
  let next = c + 1;
  for (;;) {
    while (pos < source.length && isSpace(source.charCodeAt(pos))) pos++;
    if (next < comments.length && comments[next]!.start === pos) {
      pos = comments[next]!.end;
      next++;
      continue;
    }
    return pos;
  }
}

function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/.test(String.fromCharCode(c));
}
