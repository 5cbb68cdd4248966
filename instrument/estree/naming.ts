/**
 * Describes, from an ESTree-shaped AST (oxc's or Babel's, ./ast.ts) around a node, where a
 * function, class or object literal is bound, in the host-neutral terms of the shared naming
 * rules (../naming.ts, docs/NAMING.md). The names themselves are composed there, never here.
 */
import type { Binding, MemberRole, TargetSegment } from '../naming.js';
import { assignmentBinds } from '../naming.js';
import type { Node } from './ast.js';
import { isClassField, isTransparent, keyDescription, keyOf } from './ast.js';

/** What the binding description needs to know about the code around the node. */
export interface BindingContext {
  /** The file's text (empty when the host has none: Babel's `transformFromAst` without code). */
  readonly source: string;
  /** Name of the class at `ancestors[index]` (the container of its members). */
  className(index: number): string;
  /** Container name of the members of the object literal at `ancestors[index]`, or undefined. */
  objectName(index: number): string | undefined;
  /** The class whose instance `this` is at the node, if known. */
  thisClass(): string | undefined;
}

/**
 * The parent of the node at `ancestors[index + 1]` (or of `node` when `index` is the last
 * ancestor), skipping transparent wrappers. Returns the parent, the child directly under it and
 * the parent's index.
 */
export function effectiveParent(
  node: Node,
  ancestors: readonly Node[],
  index: number,
): { parent: Node | undefined; child: Node; at: number } {
  let child = node;
  let i = index;
  while (i >= 0 && isTransparent(ancestors[i]!)) child = ancestors[i--]!;
  return { parent: ancestors[i], child, at: i };
}

/**
 * Where `node` (a function, class or object literal) is bound. `ancestors[index]` is its parent
 * (possibly a transparent wrapper). Babel's method nodes are described by {@link methodBinding}.
 */
export function bindingOf(
  node: Node,
  ancestors: readonly Node[],
  index: number,
  ctx: BindingContext,
): Binding {
  const { parent, child, at } = effectiveParent(node, ancestors, index);
  if (!parent) return NONE;
  switch (parent.type) {
    case 'VariableDeclarator':
      return parent.init === child && parent.id.type === 'Identifier'
        ? { type: 'variable', name: parent.id.name }
        : NONE;
    case 'AssignmentExpression': {
      if (parent.right !== child) return NONE;
      const left = parent.left as Node;
      if (left.type === 'Identifier') {
        return assignmentBinds(parent.operator, 'identifier') ? { type: 'variable', name: left.name } : NONE;
      }
      if (left.type === 'MemberExpression' && assignmentBinds(parent.operator, 'member')) {
        const target = targetOf(left, ctx);
        return target ? { type: 'assignment', target } : NONE;
      }
      return NONE;
    }
    case 'AssignmentPattern':
      return parent.right === child && parent.left.type === 'Identifier'
        ? { type: 'variable', name: parent.left.name }
        : NONE;
    case 'Property':
    case 'ObjectProperty': {
      // not in a pattern: `{ a = () => {} } = o` is a destructuring default (AssignmentPattern)
      const obj = ancestors[at - 1];
      if (parent.value !== child || obj?.type !== 'ObjectExpression') return NONE;
      return member(parent, ctx.objectName(at - 1), ctx.source);
    }
    case 'MethodDefinition':
    case 'TSAbstractMethodDefinition':
      return member(parent, ctx.className(at - 2), ctx.source);
    case 'ExportDefaultDeclaration':
      return { type: 'default-export' };
    default:
      // a class field's initializer: `x = () => {}`
      return isClassField(parent) && parent.value === child
        ? member(parent, ctx.className(at - 2), ctx.source)
        : NONE;
  }
}

/** The binding of a Babel method node (`ClassMethod`, `ClassPrivateMethod`, `ObjectMethod`) whose parent is `ancestors[index]`. */
export function methodBinding(node: Node, index: number, ctx: BindingContext): Binding {
  const container = node.type === 'ObjectMethod' ? ctx.objectName(index) : ctx.className(index - 1);
  return member(node, container, ctx.source);
}

/** A class or object member, named by its key, in its role from its `kind` and ESTree's `method` flag. */
function member(node: Node, container: string | undefined, source: string): Binding {
  return { type: 'member', container, key: keyOf(node, source), role: memberRole(node) };
}

/** What a member function is for: `constructor`, `get`, `set`, `method` (Babel and ESTree's `MethodDefinition`); ESTree's `Property` says `init` and `method`. */
function memberRole(member: Node): MemberRole {
  switch (member.kind) {
    case 'constructor':
      return 'constructor';
    case 'get':
      return 'get';
    case 'set':
      return 'set';
    case 'method':
      return 'method';
    default:
      return member.method === true ? 'method' : 'value';
  }
}

const NONE: Binding = { type: 'none' };

/** Segments of an assignment target `a.b.c`, root first, or undefined for unsupported roots. */
function targetOf(member: Node, ctx: BindingContext): TargetSegment[] | undefined {
  const segments: TargetSegment[] = [];
  let node: Node = member;
  while (node.type === 'MemberExpression') {
    segments.push(keyDescription(node.property, node.computed === true, ctx.source));
    node = node.object;
    while (isTransparent(node)) node = node.expression;
  }
  if (node.type === 'Identifier') segments.push({ type: 'identifier', name: node.name });
  else if (node.type === 'ThisExpression') {
    const cls = ctx.thisClass();
    segments.push(cls === undefined ? { type: 'this' } : { type: 'this', className: cls });
  } else return undefined;
  return segments.reverse();
}

/**
 * The location offset of a function under the shared rules (docs/NAMING.md §2): a method's (or
 * accessor's, constructor's) key — `[` of a computed key — else the function itself. `member` is
 * the member node of a method (Babel's method node is the function itself).
 */
export function locationOffset(fn: Node, member: Node | undefined, source: string): number {
  if (!member) return fn.start;
  if (!member.computed) return member.key.start;
  let i = member.key.start - 1;
  while (i > member.start && source[i] !== '[') i--;
  return i;
}
