/**
 * Describes TypeScript AST nodes to the shared naming rules (instrument/naming.ts,
 * docs/NAMING.md). Nothing is named here: this file only reads the TS AST.
 */
import type * as TS from 'typescript';
import {
  assignmentBinds,
  type Binding,
  className,
  type FunctionDescription,
  type KeyDescription,
  type MemberRole,
  objectName,
  type TargetSegment,
} from '../instrument/naming.js';

export type FunctionWithBody = TS.FunctionLikeDeclaration & { readonly body: TS.ConciseBody };

/** A node whose value is bound somewhere: a function or arrow expression, a class or object literal. */
type BoundValue = TS.Expression | TS.ClassDeclaration;

/** Parentheses, `as`, `satisfies`, `!`, `<T>expr`: wrappers that change neither what an expression is bound to nor what it refers to. */
export type TransparentWrapper =
  | TS.ParenthesizedExpression
  | TS.AsExpression
  | TS.SatisfiesExpression
  | TS.NonNullExpression
  | TS.TypeAssertion;

export function isTransparent(ts: typeof TS, node: TS.Node): node is TransparentWrapper {
  return (
    ts.isParenthesizedExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isSatisfiesExpression(node) ||
    ts.isNonNullExpression(node) ||
    ts.isTypeAssertionExpression(node)
  );
}

/** An expression without the transparent wrappers around it. */
export function skipOuter(ts: typeof TS, node: TS.Expression): TS.Expression {
  while (isTransparent(ts, node)) node = node.expression;
  return node;
}

/** The outermost transparent wrapper around `node` (the node itself when unwrapped). */
export function outermost(ts: typeof TS, node: TS.Node): TS.Node {
  while (node.parent && isTransparent(ts, node.parent)) node = node.parent;
  return node;
}

/** Facts the TS AST gives about a property key. */
export function describeKey(ts: typeof TS, name: TS.PropertyName, sourceFile: TS.SourceFile): KeyDescription {
  if (ts.isIdentifier(name)) return { type: 'identifier', name: name.text };
  if (ts.isPrivateIdentifier(name)) return { type: 'private', name: name.text.slice(1) };
  if (ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name))
    return { type: 'string', value: name.text };
  if (ts.isNumericLiteral(name)) return { type: 'number', value: Number(name.text) };
  if (ts.isBigIntLiteral(name)) return { type: 'bigint', value: BigInt(name.text.slice(0, -1)).toString() };
  if (ts.isComputedPropertyName(name)) {
    const e = name.expression;
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e))
      return { type: 'string', value: e.text };
    if (ts.isNumericLiteral(e)) return { type: 'number', value: Number(e.text) };
    return { type: 'computed', text: e.getText(sourceFile) };
  }
  return { type: 'computed', text: (name as TS.Node).getText(sourceFile) };
}

/** The role and key of a class or object member function. */
function memberRole(ts: typeof TS, node: TS.Node): MemberRole {
  if (ts.isGetAccessorDeclaration(node)) return 'get';
  if (ts.isSetAccessorDeclaration(node)) return 'set';
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return 'method';
}

/**
 * Describes the binding of a value (function/arrow expression, class, object literal) from its
 * parent, skipping transparent wrappers.
 */
export function bindingOf(ts: typeof TS, value: BoundValue, sourceFile: TS.SourceFile): Binding {
  const outer = outermost(ts, value);
  const parent = outer.parent;
  if (!parent) return { type: 'none' };
  if (ts.isClassDeclaration(value)) {
    return hasDefaultModifier(ts, value) ? { type: 'default-export' } : { type: 'none' };
  }
  if (ts.isVariableDeclaration(parent) && parent.initializer === outer && ts.isIdentifier(parent.name)) {
    return { type: 'variable', name: parent.name.text };
  }
  if (
    (ts.isBindingElement(parent) || ts.isParameter(parent)) &&
    parent.initializer === outer &&
    ts.isIdentifier(parent.name)
  ) {
    return { type: 'variable', name: parent.name.text };
  }
  if (ts.isBinaryExpression(parent) && parent.right === outer) {
    const operator = ts.tokenToString(parent.operatorToken.kind) ?? '';
    const left = skipOuter(ts, parent.left);
    if (ts.isIdentifier(left)) {
      return assignmentBinds(operator, 'identifier')
        ? { type: 'variable', name: left.text }
        : { type: 'none' };
    }
    const target = assignmentBinds(operator, 'member') ? assignmentTarget(ts, left, sourceFile) : undefined;
    return target ? { type: 'assignment', target } : { type: 'none' };
  }
  if (ts.isPropertyAssignment(parent) && parent.initializer === outer) {
    return {
      type: 'member',
      container: objectNameOf(ts, parent.parent, sourceFile),
      key: describeKey(ts, parent.name, sourceFile),
      role: 'value',
    };
  }
  if (ts.isPropertyDeclaration(parent) && parent.initializer === outer && ts.isClassLike(parent.parent)) {
    return {
      type: 'member',
      container: classNameOf(ts, parent.parent, sourceFile),
      key: describeKey(ts, parent.name, sourceFile),
      role: 'value',
    };
  }
  if (ts.isExportAssignment(parent) && !parent.isExportEquals) return { type: 'default-export' };
  return { type: 'none' };
}

/** `a.b.c`, `Foo.prototype.bar`, `this.x`, `o[k]` as target segments, root first. */
function assignmentTarget(
  ts: typeof TS,
  node: TS.Expression,
  sourceFile: TS.SourceFile,
): TargetSegment[] | undefined {
  const segments: TargetSegment[] = [];
  let current = node;
  for (;;) {
    current = skipOuter(ts, current);
    if (ts.isPropertyAccessExpression(current)) {
      const n = current.name;
      segments.unshift(
        ts.isPrivateIdentifier(n)
          ? { type: 'private', name: n.text.slice(1) }
          : { type: 'identifier', name: n.text },
      );
      current = current.expression;
    } else if (ts.isElementAccessExpression(current)) {
      const arg = skipOuter(ts, current.argumentExpression);
      if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) {
        segments.unshift({ type: 'string', value: arg.text });
      } else if (ts.isNumericLiteral(arg)) {
        segments.unshift({ type: 'number', value: Number(arg.text) });
      } else {
        segments.unshift({ type: 'computed', text: arg.getText(sourceFile) });
      }
      current = current.expression;
    } else if (ts.isIdentifier(current)) {
      segments.unshift({ type: 'identifier', name: current.text });
      return segments;
    } else if (current.kind === ts.SyntaxKind.ThisKeyword) {
      const cls = thisClass(ts, current);
      segments.unshift(
        cls ? { type: 'this', className: classNameOf(ts, cls, sourceFile) } : { type: 'this' },
      );
      return segments;
    } else {
      return undefined;
    }
  }
}

/** The class whose instance (or constructor) `this` is at `node`, looking through arrows. */
function thisClass(ts: typeof TS, node: TS.Node): TS.ClassLikeDeclaration | undefined {
  for (let n = node.parent; n; n = n.parent) {
    if (ts.isArrowFunction(n)) continue;
    if (
      (ts.isMethodDeclaration(n) ||
        ts.isConstructorDeclaration(n) ||
        ts.isGetAccessorDeclaration(n) ||
        ts.isSetAccessorDeclaration(n) ||
        ts.isPropertyDeclaration(n) ||
        ts.isClassStaticBlockDeclaration(n)) &&
      ts.isClassLike(n.parent)
    ) {
      return n.parent;
    }
    if (ts.isFunctionLike(n) || ts.isSourceFile(n) || ts.isClassLike(n)) return undefined;
  }
  return undefined;
}

function hasDefaultModifier(ts: typeof TS, node: TS.Node): boolean {
  return hasModifier(ts, node, ts.SyntaxKind.DefaultKeyword);
}

export function hasModifier(ts: typeof TS, node: TS.Node, kind: TS.SyntaxKind): boolean {
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return !!mods?.some((m) => m.kind === kind);
}

/** The name of a class, as a container of its members. */
export function classNameOf(ts: typeof TS, cls: TS.ClassLikeDeclaration, sourceFile: TS.SourceFile): string {
  let name = containerNames.get(cls);
  if (name == null) {
    name = className(cls.name?.text, bindingOf(ts, cls as BoundValue, sourceFile));
    containerNames.set(cls, name);
  }
  return name;
}

/** Container names, computed once per class or object literal (every member asks). */
const containerNames = new WeakMap<TS.Node, string | null>();

/** The name of an object literal as the container of its members, or undefined when unbound. */
function objectNameOf(
  ts: typeof TS,
  obj: TS.ObjectLiteralExpression,
  sourceFile: TS.SourceFile,
): string | undefined {
  let name = containerNames.get(obj);
  if (name === undefined) {
    name = objectName(bindingOf(ts, obj, sourceFile)) ?? null;
    containerNames.set(obj, name);
  }
  return name ?? undefined;
}

/**
 * Describes a function with a body for {@link functionName}. `enclosing` is the name of the
 * nearest enclosing function or class initializer (undefined at module level).
 */
export function describeFunction(
  ts: typeof TS,
  node: FunctionWithBody,
  sourceFile: TS.SourceFile,
  enclosing: string | undefined,
): FunctionDescription {
  if (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isConstructorDeclaration(node)
  ) {
    const owner = node.parent;
    const container = ts.isClassLike(owner)
      ? classNameOf(ts, owner, sourceFile)
      : ts.isObjectLiteralExpression(owner)
        ? objectNameOf(ts, owner, sourceFile)
        : undefined;
    const key: KeyDescription =
      ts.isConstructorDeclaration(node) || !node.name
        ? { type: 'identifier', name: 'constructor' }
        : describeKey(ts, node.name, sourceFile);
    return { binding: { type: 'member', container, key, role: memberRole(ts, node) }, enclosing };
  }
  if (ts.isFunctionDeclaration(node)) {
    return {
      ownName: node.name?.text,
      binding: hasDefaultModifier(ts, node) ? { type: 'default-export' } : { type: 'none' },
      enclosing,
    };
  }
  const ownName = ts.isFunctionExpression(node) ? node.name?.text : undefined;
  return { ownName, binding: bindingOf(ts, node as TS.Expression, sourceFile), enclosing };
}
