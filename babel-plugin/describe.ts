/**
 * Describes Babel nodes to the shared naming rules (instrument/naming.ts): which binding a
 * function, class or object literal has, and what its keys are. No naming decision is made here.
 */
import type { NodePath, types as t } from '@babel/core';
import {
  type Binding,
  classInitializerName,
  className,
  type FunctionDescription,
  functionName,
  type KeyDescription,
  MODULE_SCOPE_NAME,
  objectName,
  type TargetSegment,
} from '../instrument/index.js';

type Node = t.Node;

/** Wrappers that do not change what an expression is bound to (docs/NAMING.md). */
const TRANSPARENT = new Set([
  'ParenthesizedExpression',
  'TSAsExpression',
  'TSSatisfiesExpression',
  'TSNonNullExpression',
  'TSTypeAssertion',
  'TypeCastExpression',
]);

/** `path` itself, or the outermost transparent wrapper around it (`(f as F)!` → the `!`). */
export function outermostWrapper(path: NodePath): NodePath {
  let p = path;
  while (p.parentPath && TRANSPARENT.has(p.parentPath.node.type)) p = p.parentPath;
  return p;
}

/** Function nodes that can carry a body. */
export type FunctionPath = NodePath<
  | t.FunctionDeclaration
  | t.FunctionExpression
  | t.ArrowFunctionExpression
  | t.ObjectMethod
  | t.ClassMethod
  | t.ClassPrivateMethod
>;

/** Caches names per file: a function's name is needed for its frame and for each call inside it. */
export class Namer {
  private readonly names = new WeakMap<Node, string>();
  private readonly classNames = new WeakMap<Node, string>();
  private readonly objectNames = new WeakMap<Node, string | undefined>();

  constructor(private readonly code: string) {}

  /** The name of a function (docs/NAMING.md). */
  nameOf(path: FunctionPath): string {
    let name = this.names.get(path.node);
    if (name === undefined) {
      name = functionName(this.describe(path));
      this.names.set(path.node, name);
    }
    return name;
  }

  /** The host-neutral description of a function. */
  describe(path: FunctionPath): FunctionDescription {
    const node = path.node;
    if (node.type === 'ClassMethod' || node.type === 'ClassPrivateMethod') {
      const role =
        node.kind === 'constructor'
          ? 'constructor'
          : node.kind === 'get'
            ? 'get'
            : node.kind === 'set'
              ? 'set'
              : 'method';
      const classPath = path.parentPath.parentPath as NodePath<t.Class>;
      return {
        binding: {
          type: 'member',
          container: this.classNameOf(classPath),
          key: this.keyOf(node.key, node.computed),
          role,
        },
      };
    }
    if (node.type === 'ObjectMethod') {
      const role = node.kind === 'get' ? 'get' : node.kind === 'set' ? 'set' : 'method';
      const objectPath = path.parentPath as NodePath<t.ObjectExpression>;
      return {
        binding: {
          type: 'member',
          container: this.objectNameOf(objectPath),
          key: this.keyOf(node.key, node.computed),
          role,
        },
      };
    }
    const ownName = node.type !== 'ArrowFunctionExpression' && node.id ? node.id.name : undefined;
    if (node.type === 'FunctionDeclaration') {
      return {
        ownName,
        binding: path.parentPath.isExportDefaultDeclaration() ? { type: 'default-export' } : { type: 'none' },
      };
    }
    const binding = this.bindingOf(path);
    return binding.type === 'none' && ownName === undefined
      ? { binding, enclosing: this.enclosingName(path) }
      : { ownName, binding };
  }

  /**
   * The name explicit calls and anonymous functions at `path` belong to: the enclosing
   * function's name, a class initializer's name, or `<module>`.
   */
  enclosingName(path: NodePath): string {
    let child: NodePath = path;
    for (let p = path.parentPath; p; child = p, p = p.parentPath) {
      if (p.isFunction() && !p.isTSDeclareFunction?.()) {
        // Computed keys of methods are evaluated outside the method.
        if ((p.isClassMethod() || p.isClassPrivateMethod() || p.isObjectMethod()) && child.key === 'key')
          continue;
        return this.nameOf(p as FunctionPath);
      }
      if (p.isStaticBlock())
        return classInitializerName(this.classNameOf(p.parentPath.parentPath as NodePath<t.Class>), true);
      if (
        (p.isClassProperty() || p.isClassPrivateProperty() || p.isClassAccessorProperty()) &&
        child.key === 'value'
      ) {
        return classInitializerName(
          this.classNameOf(p.parentPath.parentPath as NodePath<t.Class>),
          p.node.static === true,
        );
      }
    }
    return MODULE_SCOPE_NAME;
  }

  /** What an expression (function, class or object literal) is bound to. */
  bindingOf(exprPath: NodePath): Binding {
    const p = outermostWrapper(exprPath);
    const parent = p.parentPath;
    if (!parent) return { type: 'none' };
    const pn = parent.node;
    switch (pn.type) {
      case 'VariableDeclarator':
        return p.key === 'init' && pn.id.type === 'Identifier'
          ? { type: 'variable', name: pn.id.name }
          : { type: 'none' };
      case 'AssignmentExpression':
        if (p.key !== 'right' || !['=', '||=', '&&=', '??='].includes(pn.operator)) return { type: 'none' };
        if (pn.left.type === 'Identifier') return { type: 'variable', name: pn.left.name };
        if (
          pn.operator === '=' &&
          (pn.left.type === 'MemberExpression' || pn.left.type === 'OptionalMemberExpression')
        ) {
          const target = this.targetOf(pn.left, parent);
          return target ? { type: 'assignment', target } : { type: 'none' };
        }
        return { type: 'none' };
      case 'AssignmentPattern':
        return p.key === 'right' && pn.left.type === 'Identifier'
          ? { type: 'variable', name: pn.left.name }
          : { type: 'none' };
      case 'ObjectProperty':
        if (p.key !== 'value') return { type: 'none' };
        // `{ a = () => {} } = o` in a pattern is a destructuring default, handled as AssignmentPattern.
        return {
          type: 'member',
          container: this.objectNameOf(parent.parentPath as NodePath<t.ObjectExpression>),
          key: this.keyOf(pn.key, pn.computed),
          role: 'value',
        };
      case 'ClassProperty':
      case 'ClassPrivateProperty':
      case 'ClassAccessorProperty':
        if (p.key !== 'value') return { type: 'none' };
        return {
          type: 'member',
          container: this.classNameOf(parent.parentPath!.parentPath as NodePath<t.Class>),
          key: this.keyOf(pn.key, (pn as t.ClassProperty).computed ?? false),
          role: 'value',
        };
      case 'ExportDefaultDeclaration':
        return { type: 'default-export' };
      default:
        return { type: 'none' };
    }
  }

  /** The name of a class (container of its members). */
  classNameOf(classPath: NodePath<t.Class>): string {
    let name = this.classNames.get(classPath.node);
    if (name === undefined) {
      const node = classPath.node;
      const binding: Binding =
        node.type === 'ClassDeclaration'
          ? classPath.parentPath?.isExportDefaultDeclaration()
            ? { type: 'default-export' }
            : { type: 'none' }
          : this.bindingOf(classPath);
      name = className(node.id?.name, binding);
      this.classNames.set(node, name);
    }
    return name;
  }

  /** The container name of an object literal's members, or undefined when it is bound to nothing. */
  objectNameOf(objectPath: NodePath<t.ObjectExpression>): string | undefined {
    if (this.objectNames.has(objectPath.node)) return this.objectNames.get(objectPath.node);
    const name = objectName(this.bindingOf(objectPath));
    this.objectNames.set(objectPath.node, name);
    return name;
  }

  /** A property key as the naming rules describe it. */
  keyOf(key: Node, computed: boolean): KeyDescription {
    switch (key.type) {
      case 'Identifier':
        if (!computed) return { type: 'identifier', name: key.name };
        break;
      case 'PrivateName':
        return { type: 'private', name: key.id.name };
      case 'StringLiteral':
        return { type: 'string', value: key.value };
      case 'NumericLiteral':
        return { type: 'number', value: key.value };
      case 'BigIntLiteral':
        return { type: 'bigint', value: String(BigInt((key as { value: string | bigint }).value)) };
      case 'TemplateLiteral':
        if (key.expressions.length === 0 && key.quasis[0]?.value.cooked != null) {
          return { type: 'string', value: key.quasis[0].value.cooked };
        }
        break;
    }
    return { type: 'computed', text: this.sourceOf(key) };
  }

  /** Segments of an assignment target `a.b.c`, or undefined when its root is not a name or `this`. */
  private targetOf(node: Node, at: NodePath): TargetSegment[] | undefined {
    if (node.type === 'Identifier') return [{ type: 'identifier', name: node.name }];
    if (node.type === 'ThisExpression') return [{ type: 'this', className: this.thisClassName(at) }];
    if (node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression') {
      const object = this.targetOf(node.object, at);
      if (!object) return undefined;
      const property = node.property;
      if (property.type === 'PrivateName') return [...object, { type: 'private', name: property.id.name }];
      object.push(this.keyOf(property, node.computed));
      return object;
    }
    return undefined;
  }

  /** The class whose instance `this` is at `path` (inside a method, constructor or field initializer), if any. */
  private thisClassName(path: NodePath): string | undefined {
    for (let p: NodePath | null = path; p; p = p.parentPath) {
      if (p.isArrowFunctionExpression()) continue;
      if (p.isClassMethod() || p.isClassPrivateMethod()) {
        return p.node.static ? undefined : this.classNameOf(p.parentPath.parentPath as NodePath<t.Class>);
      }
      if (p.isClassProperty() || p.isClassPrivateProperty()) {
        return p.node.static ? undefined : this.classNameOf(p.parentPath.parentPath as NodePath<t.Class>);
      }
      if (p.isFunction() || p.isProgram()) return undefined;
    }
    return undefined;
  }

  private sourceOf(node: Node): string {
    if (node.start != null && node.end != null) return this.code.slice(node.start, node.end);
    return node.type;
  }
}
