/**
 * Finds the `@stepmark` comment directives of one file and attaches them to the declarations
 * they precede (rules: docs/NAMING.md §3; parsing: instrument/directives.ts). Every directive
 * must be used: one that attaches to nothing is reported as an error, never ignored.
 */
import type { NodePath, types as t } from '@babel/core';
import {
  combineDirectives,
  type Directive,
  isFileDirective,
  mayContainDirective,
  misplacedDirectiveError,
  parseComment,
  RUNTIME_BINDING,
} from '../instrument/index.js';

type Node = t.Node;

/** Node types a directive can attach to. */
const ATTACHABLE_LIST = [
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
  'ClassDeclaration',
  'ClassExpression',
  'ObjectExpression',
  'VariableDeclaration',
  'ExportNamedDeclaration',
  'ExportDefaultDeclaration',
  'ExpressionStatement',
  'ClassMethod',
  'ClassPrivateMethod',
  'ClassProperty',
  'ClassPrivateProperty',
  'ClassAccessorProperty',
  'TSDeclareMethod',
  'TSDeclareFunction',
  'ObjectMethod',
  'ObjectProperty',
];
const ATTACHABLE = new Set(ATTACHABLE_LIST);

/** The attachable node types other than functions, as one Babel visitor key (`A|B|…`). */
export const ATTACHABLE_TYPES = ATTACHABLE_LIST.filter(
  (type) => !/Function|Method/.test(type) || type.startsWith('TSDeclare'),
).join('|');

/** The directives of one file. */
export class FileDirectives {
  /** Whether the file starts with a plain `// @stepmark`. */
  readonly fileMarked: boolean;
  /** Parsed directives by comment start offset, not yet attached. */
  private readonly pending = new Map<number, Directive[]>();
  /** Directives attached to nodes. */
  private readonly attached = new WeakMap<Node, Directive>();
  /** Attached directives no function has consulted yet (one on `const x = 1` applies to nothing). */
  private readonly unused = new Set<Directive>();

  /**
   * @throws StepmarkDirectiveError for a malformed directive
   */
  constructor(program: t.Program, comments: readonly t.Comment[] | undefined, code: string) {
    let fileMarked = false;
    // A second pass sees our runtime binding (and maybe helpers other plugins put before it):
    // the file's own first statement is the one after it.
    const binding = program.body.findIndex(isRuntimeBinding);
    const firstStatement = program.body[binding + 1];
    const firstStart = firstStatement?.start ?? Number.POSITIVE_INFINITY;
    for (const comment of comments ?? []) {
      if (!mayContainDirective(comment.value) || comment.start == null || comment.end == null) continue;
      // transformFromAst may come without the source text: rebuild the comment from its value.
      const text = code
        ? code.slice(comment.start, comment.end)
        : comment.type === 'CommentLine'
          ? `//${comment.value}`
          : `/*${comment.value}*/`;
      const found = parseComment(text, comment.start);
      if (found.length === 0) continue;
      if (comment.end <= firstStart && found.every(isFileDirective)) {
        fileMarked = true;
        continue;
      }
      this.pending.set(comment.start, found);
    }
    this.fileMarked = fileMarked;
  }

  /** Whether any directive still waits to be attached (cheap check before visiting nodes). */
  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /**
   * Attaches the directives in the leading comments of `path` (and of a class member's key,
   * which is where comments written after decorators end up) to its node.
   * @throws StepmarkDirectiveError for contradicting directives
   */
  visit(path: NodePath): void {
    const node = path.node;
    if (!ATTACHABLE.has(node.type)) return;
    const found: Directive[] = [];
    this.take(node.leadingComments, found);
    const key = (node as { key?: Node }).key;
    if (key && node.type !== 'ObjectProperty') this.take(key.leadingComments, found);
    if (found.length === 0) return;
    const directive = combineDirectives(found)!;
    const declaration = node.type === 'ExportNamedDeclaration' ? node.declaration : node;
    if (declaration?.type === 'TSDeclareFunction' || declaration?.type === 'TSDeclareMethod') {
      // An overload signature: the directive belongs to the implementation that follows.
      const target = implementationOf(path, declaration);
      if (!target) throw misplacedDirectiveError(directive);
      const earlier = this.attached.get(target);
      if (earlier) this.unused.delete(earlier);
      this.attach(target, combineDirectives(earlier ? [earlier, directive] : [directive])!);
      return;
    }
    if (node.type === 'ExpressionStatement' && node.expression.type !== 'AssignmentExpression') {
      throw misplacedDirectiveError(directive);
    }
    this.attach(node, directive);
  }

  private attach(node: Node, directive: Directive): void {
    this.attached.set(node, directive);
    this.unused.add(directive);
  }

  /** The directive attached to a node, if any, without recording a use. */
  peek(node: Node): Directive | undefined {
    return this.attached.get(node);
  }

  /** The directive attached to a node, if any (and records that it was used). */
  get(node: Node): Directive | undefined {
    const d = this.attached.get(node);
    if (d) this.unused.delete(d);
    return d;
  }

  /** Throws for the first directive that attached to nothing or applied to no function. */
  assertAllUsed(): void {
    for (const list of this.pending.values()) throw misplacedDirectiveError(list[0]!);
    for (const d of this.unused) throw misplacedDirectiveError(d);
  }

  private take(comments: readonly t.Comment[] | null | undefined, into: Directive[]): void {
    if (!comments) return;
    for (const c of comments) {
      if (c.start == null) continue;
      const list = this.pending.get(c.start);
      if (!list) continue;
      this.pending.delete(c.start);
      into.push(...list);
    }
  }
}

/** The implementation (node with a body) following an overload signature, matched by name. */
function implementationOf(path: NodePath, node: t.TSDeclareFunction | t.TSDeclareMethod): Node | undefined {
  const name = nameOfDeclaration(node);
  if (name === undefined || typeof path.key !== 'number' || !Array.isArray(path.container)) return undefined;
  const siblings = path.container as Node[];
  for (let i = path.key + 1; i < siblings.length; i++) {
    let sibling = siblings[i]!;
    if (sibling.type === 'ExportNamedDeclaration' && sibling.declaration) sibling = sibling.declaration;
    if (nameOfDeclaration(sibling) !== name) continue;
    if (sibling.type === 'FunctionDeclaration' || sibling.type === 'ClassMethod') return sibling;
  }
  return undefined;
}

function nameOfDeclaration(node: Node): string | undefined {
  if (node.type === 'TSDeclareFunction' || node.type === 'FunctionDeclaration') return node.id?.name;
  if (node.type === 'TSDeclareMethod' || node.type === 'ClassMethod') {
    return node.key.type === 'Identifier' && !node.computed
      ? `${node.static ? 'static ' : ''}${node.key.name}`
      : undefined;
  }
  return undefined;
}

/** Whether a statement is the runtime binding a previous pass added (`import { v1 as __stepmark }` / `const __stepmark = …`). */
export function isRuntimeBinding(s: Node): boolean {
  if (s.type === 'ImportDeclaration') {
    return s.specifiers.length === 1 && s.specifiers[0]!.local.name === RUNTIME_BINDING;
  }
  return (
    s.type === 'VariableDeclaration' &&
    s.declarations.length === 1 &&
    s.declarations[0]!.id.type === 'Identifier' &&
    s.declarations[0]!.id.name === RUNTIME_BINDING
  );
}
