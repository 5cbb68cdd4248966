/**
 * Describes, from oxc's AST around a node, where a function, class or object literal is bound,
 * in the host-neutral terms of the shared naming rules (`instrument/naming.ts`,
 * docs/NAMING.md). The names themselves are composed there, never here.
 */
import type { Binding, KeyDescription, TargetSegment } from '../../instrument/naming.js';
import { computedKeyText } from '../../instrument/naming.js';
import type { Node } from './ast.js';

/** Expression wrappers that do not change what a function is bound to. */
export function isTransparent(node: Node): boolean {
  switch (node.type) {
    case 'ParenthesizedExpression':
    case 'TSAsExpression':
    case 'TSSatisfiesExpression':
    case 'TSNonNullExpression':
    case 'TSTypeAssertion':
      return true;
    default:
      return false;
  }
}

/** What the binding description needs to know about the code around the node. */
export interface BindingContext {
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
 * (possibly a transparent wrapper).
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
    case 'AssignmentExpression':
      if (parent.right !== child || parent.operator !== '=') return NONE;
      if (parent.left.type === 'Identifier') return { type: 'variable', name: parent.left.name };
      if (parent.left.type === 'MemberExpression') {
        const target = targetOf(parent.left, ctx);
        return target ? { type: 'assignment', target } : NONE;
      }
      return NONE;
    case 'AssignmentPattern':
      return parent.right === child && parent.left.type === 'Identifier'
        ? { type: 'variable', name: parent.left.name }
        : NONE;
    case 'Property': {
      const obj = ancestors[at - 1];
      if (parent.value !== child || !obj || obj.type !== 'ObjectExpression') return NONE;
      const role =
        parent.kind === 'get' ? 'get' : parent.kind === 'set' ? 'set' : parent.method ? 'method' : 'value';
      return { type: 'member', container: ctx.objectName(at - 1), key: keyOf(parent, ctx.source), role };
    }
    case 'MethodDefinition':
    case 'TSAbstractMethodDefinition': {
      const role =
        parent.kind === 'constructor'
          ? 'constructor'
          : parent.kind === 'get'
            ? 'get'
            : parent.kind === 'set'
              ? 'set'
              : 'method';
      return { type: 'member', container: ctx.className(at - 2), key: keyOf(parent, ctx.source), role };
    }
    case 'PropertyDefinition':
    case 'AccessorProperty':
    case 'TSAbstractPropertyDefinition':
      if (parent.value !== child) return NONE;
      return {
        type: 'member',
        container: ctx.className(at - 2),
        key: keyOf(parent, ctx.source),
        role: 'value',
      };
    case 'ExportDefaultDeclaration':
      return { type: 'default-export' };
    default:
      return NONE;
  }
}

const NONE: Binding = { type: 'none' };

/** A member's key as the naming rules describe it. */
export function keyOf(member: Node, source: string): KeyDescription {
  const key = member.key as Node;
  if (key.type === 'PrivateIdentifier') return { type: 'private', name: key.name };
  if (!member.computed && key.type === 'Identifier') return { type: 'identifier', name: key.name };
  const lit = literalKey(key);
  if (lit) return lit;
  return { type: 'computed', text: computedKeyText(source.slice(key.start, key.end)) };
}

function literalKey(key: Node): KeyDescription | undefined {
  if (key.type === 'Literal') {
    if (typeof key.bigint === 'string') return { type: 'bigint', value: key.bigint };
    if (typeof key.value === 'string') return { type: 'string', value: key.value };
    if (typeof key.value === 'number') return { type: 'number', value: key.value };
  }
  if (key.type === 'TemplateLiteral' && key.expressions.length === 0 && key.quasis.length === 1) {
    const cooked = key.quasis[0].value.cooked;
    if (typeof cooked === 'string') return { type: 'string', value: cooked };
  }
  return undefined;
}

/** Segments of an assignment target `a.b.c`, root first, or undefined for unsupported roots. */
function targetOf(member: Node, ctx: BindingContext): TargetSegment[] | undefined {
  const segments: TargetSegment[] = [];
  let node: Node = member;
  while (node.type === 'MemberExpression') {
    const p = node.property as Node;
    if (node.computed)
      segments.push(
        literalKey(p) ?? { type: 'computed', text: computedKeyText(ctx.source.slice(p.start, p.end)) },
      );
    else if (p.type === 'PrivateIdentifier') segments.push({ type: 'private', name: p.name });
    else segments.push({ type: 'identifier', name: p.name });
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
 * The location offset of a function under the shared rules: a method's (or accessor's,
 * constructor's) key — `[` of a computed key — else the function itself.
 */
export function locationOffset(fn: Node, member: Node | undefined, source: string): number {
  if (!member) return fn.start;
  if (!member.computed) return member.key.start;
  let i = member.key.start - 1;
  while (i > member.start && source[i] !== '[') i--;
  return i;
}
