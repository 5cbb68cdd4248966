import type * as TS from 'typescript';
import { StepmarkDirectiveError } from '../instrument/errors.js';

/** A `@stepmark` comment found before a node. */
export interface Directive {
  readonly ignore: boolean;
  readonly entity?: readonly string[];
  readonly kind?: string;
  /** Offset of the comment in the file (for diagnostics). */
  readonly pos: number;
}

/** The `@stepmark…` directives in the comments that lead `node`'s text. */
export function leadingDirectives(ts: typeof TS, text: string, pos: number): Directive[] {
  const out: Directive[] = [];
  for (const range of ts.getLeadingCommentRanges(text, pos) ?? []) {
    const d = parseComment(text.slice(range.pos, range.end), range.pos);
    if (d) out.push(d);
  }
  return out;
}

// Placeholder parser until the shared one lands.
function parseComment(comment: string, pos: number): Directive | undefined {
  const body = comment.startsWith('//') ? comment.slice(2) : comment.slice(2, -2).replace(/^\*+/, '');
  const m = /^\s*@stepmark(-ignore)?(?![\w-])(.*)$/s.exec(body.replace(/\n\s*\*/g, ' '));
  if (!m) return undefined;
  if (m[1]) return { ignore: true, pos };
  let entity: string[] | undefined;
  let kind: string | undefined;
  for (const part of m[2]!.trim().split(/\s+/).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k === 'entity' && v) entity = v.split('.');
    else if (k === 'kind' && v) kind = v;
    else
      throw new StepmarkDirectiveError(
        'STEPMARK_INVALID_DIRECTIVE',
        `unknown directive option "${part}"`,
        pos,
        comment.length,
      );
  }
  return { ignore: false, entity, kind, pos };
}
