/**
 * Finds `@stepmark` comments in a TypeScript source file and attaches each to the declaration it
 * precedes. Parsing and the rules of what a directive means live in instrument/directives.ts;
 * this file only knows where TypeScript keeps comments (in the trivia before a node's first token).
 */
import type * as TS from 'typescript';
import {
  combineDirectives,
  type Directive,
  isFileDirective,
  misplacedDirectiveError,
  parseComment,
} from '../instrument/directives.js';
import { mergeDirectives } from '../instrument/sites.js';

/** The directives of one file. */
export interface FileDirectives {
  /** A plain `@stepmark` before the first statement marks the whole file. */
  readonly file: boolean;
  /** The combined directive attached to a declaration node. */
  readonly attached: ReadonlyMap<TS.Node, Directive>;
}

const NONE: FileDirectives = { file: false, attached: new Map() };

/**
 * Reads every `@stepmark` directive of the file. Throws StepmarkDirectiveError (with the offset)
 * for a malformed directive or one that attaches to nothing.
 */
export function readDirectives(ts: typeof TS, sourceFile: TS.SourceFile): FileDirectives {
  const text = sourceFile.text;
  if (!text.includes('@stepmark')) return NONE;
  const parsed = new Map<number, Directive[]>(); // comment start → its directives
  const consumed = new Set<number>(); // comment starts that attached to something (or mark the file)
  const attached = new Map<TS.Node, Directive>();

  const commentsAt = (pos: number): TS.CommentRange[] => {
    // Every comment in the trivia at `pos`, also those on the previous token's line.
    const seen = new Set<number>();
    const out: TS.CommentRange[] = [];
    for (const r of [
      ...(ts.getTrailingCommentRanges(text, pos) ?? []),
      ...(ts.getLeadingCommentRanges(text, pos) ?? []),
    ]) {
      if (!seen.has(r.pos)) {
        seen.add(r.pos);
        out.push(r);
      }
    }
    return out;
  };
  const directivesIn = (range: TS.CommentRange): Directive[] => {
    let found = parsed.get(range.pos);
    if (!found) {
      found = parseComment(text.slice(range.pos, range.end), range.pos);
      parsed.set(range.pos, found);
    }
    return found;
  };
  const attach = (node: TS.Node, positions: readonly number[], skipFileMarks = false): void => {
    const list: Directive[] = [];
    for (const pos of positions) {
      for (const range of commentsAt(pos)) {
        if (consumed.has(range.pos) && skipFileMarks) continue;
        const found = directivesIn(range);
        if (found.length === 0) continue;
        consumed.add(range.pos);
        list.push(...found);
      }
    }
    const combined = combineDirectives(list);
    if (!combined) return;
    // A directive before an overload signature belongs to the implementation that follows it.
    const target = isSignature(ts, node) ? implementationOf(ts, node) : node;
    if (!target) throw misplacedDirectiveError(combined);
    attached.set(target, mergeDirectives(attached.get(target), combined)!);
  };

  // File directives: plain `@stepmark` before the first statement (prologue strings may come first).
  let file = false;
  const statements = sourceFile.statements;
  let first = 0;
  while (first < statements.length && isPrologue(ts, statements[first]!)) first++;
  const head = statements.length === 0 ? [sourceFile.endOfFileToken.pos] : [];
  for (let i = 0; i <= first && i < statements.length; i++) head.push(statements[i]!.pos);
  for (const pos of head) {
    for (const range of commentsAt(pos)) {
      const found = directivesIn(range);
      const fileMarks = found.filter(isFileDirective);
      if (fileMarks.length > 0 && fileMarks.length === found.length) {
        file = true;
        consumed.add(range.pos);
      }
    }
  }

  // Only subtrees whose text holds a directive can have one attached: the walk skips the rest.
  const occurrences = directiveOffsets(text);
  const visit = (node: TS.Node): void => {
    if (!containsAny(occurrences, node.pos, node.end)) return;
    if (isAttachable(ts, node)) attach(node, anchors(ts, node), true);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sourceFile, visit);

  // Every directive comment must have attached to something.
  for (const range of directiveComments(ts, sourceFile)) {
    if (consumed.has(range.pos)) continue;
    const [directive] = directivesIn(range);
    if (directive) throw misplacedDirectiveError(directive);
  }
  return { file, attached };
}

/** A function or method declaration without a body: an overload signature (or an abstract method). */
function isSignature(ts: typeof TS, node: TS.Node): node is TS.FunctionDeclaration | TS.MethodDeclaration {
  return (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && !node.body;
}

/** The declaration with a body that follows the signature `node` among its siblings, by name (`static` apart). */
function implementationOf(
  ts: typeof TS,
  node: TS.FunctionDeclaration | TS.MethodDeclaration,
): TS.Node | undefined {
  const key = (n: TS.Node): string | undefined => {
    if (!(ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) || !n.name || !ts.isIdentifier(n.name))
      return undefined;
    const isStatic = ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
    return `${isStatic ? 'static ' : ''}${n.name.text}`;
  };
  const parent = node.parent as { statements?: readonly TS.Node[]; members?: readonly TS.Node[] };
  const siblings = parent.statements ?? parent.members;
  const name = key(node);
  if (!siblings || name === undefined) return undefined;
  for (let i = siblings.indexOf(node) + 1; i < siblings.length; i++) {
    const sibling = siblings[i] as TS.FunctionDeclaration | TS.MethodDeclaration;
    if (key(sibling) === name && sibling.body) return sibling;
  }
  return undefined;
}

/** Offsets of every `@stepmark` in the text, ascending. */
function directiveOffsets(text: string): number[] {
  const out: number[] = [];
  for (let at = text.indexOf('@stepmark'); at !== -1; at = text.indexOf('@stepmark', at + 1)) out.push(at);
  return out;
}

/** Whether a sorted list has a value in [from, to). */
function containsAny(sorted: readonly number[], from: number, to: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! < to;
}

function isPrologue(ts: typeof TS, s: TS.Statement): boolean {
  return ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression);
}

/** Declarations a directive may precede (docs/NAMING.md §3). */
function isAttachable(ts: typeof TS, node: TS.Node): boolean {
  switch (node.kind) {
    case ts.SyntaxKind.FunctionDeclaration:
    case ts.SyntaxKind.FunctionExpression:
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.GetAccessor:
    case ts.SyntaxKind.SetAccessor:
    case ts.SyntaxKind.Constructor:
    case ts.SyntaxKind.PropertyDeclaration:
    case ts.SyntaxKind.PropertyAssignment:
    case ts.SyntaxKind.ClassDeclaration:
    case ts.SyntaxKind.ClassExpression:
    case ts.SyntaxKind.ObjectLiteralExpression:
    case ts.SyntaxKind.VariableStatement:
    case ts.SyntaxKind.VariableDeclaration:
    case ts.SyntaxKind.ExportAssignment:
      return true;
    case ts.SyntaxKind.ExpressionStatement: {
      // `exports.f = function () {}` and the like: an assignment statement binds a name.
      const e = (node as TS.ExpressionStatement).expression;
      return ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken;
    }
    default:
      return false;
  }
}

/** Where comments attached to `node` may sit: before it, and after each decorator or modifier. */
function anchors(ts: typeof TS, node: TS.Node): number[] {
  const out = [node.pos];
  const mods =
    ts.canHaveModifiers(node) || ts.canHaveDecorators(node)
      ? (node as { modifiers?: TS.NodeArray<TS.ModifierLike> }).modifiers
      : undefined;
  if (mods) for (const m of mods) out.push(m.end);
  return out;
}

/**
 * Every comment of the file that contains `@stepmark`. TypeScript keeps no list of comments, so
 * each occurrence of the text is located in the tree: inside a token (a string, template or JSX
 * text, a `@stepmark` decorator) it is not a comment; otherwise it is in the trivia between two
 * tokens, which is scanned from the end of the previous token.
 */
function directiveComments(ts: typeof TS, sourceFile: TS.SourceFile): TS.CommentRange[] {
  const text = sourceFile.text;
  const out: TS.CommentRange[] = [];
  let from = 0;
  for (let at = text.indexOf('@stepmark', from); at !== -1; at = text.indexOf('@stepmark', from)) {
    const range = commentContaining(ts, sourceFile, at);
    if (range) {
      out.push(range);
      from = range.end;
    } else {
      from = at + 1;
    }
  }
  return out;
}

function commentContaining(
  ts: typeof TS,
  sourceFile: TS.SourceFile,
  at: number,
): TS.CommentRange | undefined {
  let node: TS.Node = sourceFile;
  // Descend to the innermost node whose range (trivia included) holds `at`.
  for (;;) {
    let next: TS.Node | undefined;
    let previousEnd = node === sourceFile ? 0 : node.getStart(sourceFile);
    ts.forEachChild(node, (child) => {
      if (next) return;
      if (child.end <= at) {
        previousEnd = Math.max(previousEnd, child.end);
        return;
      }
      if (child.pos <= at) next = child;
    });
    if (!next) return scanForComment(ts, sourceFile, previousEnd, at);
    const child: TS.Node = next;
    const start = child.getStart(sourceFile);
    if (at < start) return scanForComment(ts, sourceFile, child.pos, at); // leading trivia of `child`
    // Inside a string, template, regular expression or JSX text, or the `@` of a decorator.
    if (child.kind >= ts.SyntaxKind.FirstLiteralToken && child.kind <= ts.SyntaxKind.LastTemplateToken)
      return undefined;
    if (ts.isDecorator(child) && at === start) return undefined;
    node = child;
  }
}

/** The comment containing `at`, scanning tokens and trivia from `from` (a token boundary). */
function scanForComment(
  ts: typeof TS,
  sourceFile: TS.SourceFile,
  from: number,
  at: number,
): TS.CommentRange | undefined {
  const scanner = ts.createScanner(
    sourceFile.languageVersion,
    false,
    sourceFile.languageVariant,
    sourceFile.text,
    undefined,
    from,
  );
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    const start = scanner.getTokenFullStart();
    const end = scanner.getTokenEnd();
    if (start > at) return undefined;
    if (end > at) {
      if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) {
        return { pos: start, end, kind };
      }
      return undefined;
    }
  }
  return undefined;
}
