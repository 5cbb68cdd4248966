import type * as TS from 'typescript';
import { skipOuter } from './bindings.js';

/**
 * What the TypeScript AST says about a function that naming and selection need: the host-neutral
 * facts (how it is bound, what class or object it belongs to). The shared core turns them into a
 * name and an eligibility decision.
 */
export interface FunctionFacts {
  readonly kind:
    | 'declaration'
    | 'method'
    | 'constructor'
    | 'getter'
    | 'setter'
    | 'field' // function/arrow in a class field initializer
    | 'property' // function/arrow as an object literal property value
    | 'variable' // function/arrow assigned to a variable
    | 'default' // `export default` function/arrow
    | 'callback'; // anything else: argument, IIFE, returned, …
  /** Own or bound name: `foo`, `method`, `#priv`; undefined when anonymous or computed. */
  readonly key: string | undefined;
  /** Whether the key is computed (`[expr]`). */
  readonly computed: boolean;
  /** Class or object literal variable the function belongs to, when it is a member. */
  readonly container: string | undefined;
  readonly isStatic: boolean;
  /** The node whose leading comments may carry a function-level directive. */
  readonly anchor: TS.Node;
}

/** Skips parentheses and type assertions upwards: `(() => 1) as F` is bound like `() => 1`. */
function boundParent(ts: typeof TS, node: TS.Node): TS.Node {
  let parent = node.parent;
  while (
    parent &&
    (ts.isParenthesizedExpression(parent) ||
      ts.isAsExpression(parent) ||
      ts.isSatisfiesExpression(parent) ||
      ts.isNonNullExpression(parent) ||
      ts.isTypeAssertionExpression(parent))
  ) {
    node = parent;
    parent = parent.parent;
  }
  return parent;
}

/** Text of a property name, or undefined if computed with a non-literal expression. */
export function propertyKey(
  ts: typeof TS,
  name: TS.PropertyName | undefined,
): { key?: string; computed: boolean } {
  if (!name) return { computed: false };
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return { key: name.text, computed: false };
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) {
    return { key: name.text, computed: false };
  }
  if (ts.isComputedPropertyName(name)) {
    const e = skipOuter(ts, name.expression);
    if (ts.isStringLiteral(e) || ts.isNumericLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) {
      return { key: e.text, computed: true };
    }
    return { computed: true };
  }
  return { computed: false };
}

/** Name of the class a member belongs to: its own name or the variable it is assigned to. */
function className(ts: typeof TS, cls: TS.ClassLikeDeclaration): string | undefined {
  if (cls.name) return cls.name.text;
  if (ts.isClassDeclaration(cls) && hasModifier(ts, cls, ts.SyntaxKind.DefaultKeyword)) return 'default';
  return bindingName(ts, boundParent(ts, cls));
}

/** Name of the object literal a property belongs to: the variable or property it initialises. */
function objectName(ts: typeof TS, obj: TS.ObjectLiteralExpression): string | undefined {
  return bindingName(ts, boundParent(ts, obj));
}

/** The name `value` is bound to by its (type-assertion-skipped) parent, if any. */
function bindingName(ts: typeof TS, parent: TS.Node | undefined): string | undefined {
  if (!parent) return undefined;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return propertyKey(ts, parent.name).key;
  if (ts.isExportAssignment(parent) && !parent.isExportEquals) return 'default';
  return undefined;
}

export function hasModifier(ts: typeof TS, node: TS.Node, kind: TS.SyntaxKind): boolean {
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return !!mods?.some((m) => m.kind === kind);
}

/** Facts about a function-like node that has a body. */
export function describeFunction(ts: typeof TS, node: TS.FunctionLikeDeclaration): FunctionFacts {
  const plain = { computed: false, container: undefined, isStatic: false, anchor: node } as const;
  if (ts.isFunctionDeclaration(node)) {
    if (node.name) return { ...plain, kind: 'declaration', key: node.name.text };
    return { ...plain, kind: 'default', key: undefined };
  }
  if (ts.isConstructorDeclaration(node)) {
    return { ...plain, kind: 'constructor', key: 'constructor', container: className(ts, node.parent) };
  }
  if (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  ) {
    const { key, computed } = propertyKey(ts, node.name);
    const owner = node.parent;
    const container = ts.isClassLike(owner)
      ? className(ts, owner)
      : ts.isObjectLiteralExpression(owner)
        ? objectName(ts, owner)
        : undefined;
    const kind = ts.isMethodDeclaration(node)
      ? 'method'
      : ts.isGetAccessorDeclaration(node)
        ? 'getter'
        : 'setter';
    const isStatic = hasModifier(ts, node, ts.SyntaxKind.StaticKeyword);
    return { kind, key, computed, container, isStatic, anchor: node };
  }
  // Function and arrow expressions: named by what they are bound to.
  const own = ts.isFunctionExpression(node) && node.name ? node.name.text : undefined;
  const parent = boundParent(ts, node);
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name) && parent.initializer) {
    const list = parent.parent;
    // A directive before `const f = …` sits before the statement when f is its first declaration.
    const statement = list?.parent;
    const anchor =
      statement &&
      ts.isVariableStatement(statement) &&
      (list as TS.VariableDeclarationList).declarations[0] === parent
        ? statement
        : parent;
    return { ...plain, kind: 'variable', key: own ?? parent.name.text, anchor };
  }
  if (parent && ts.isPropertyDeclaration(parent) && parent.initializer) {
    const { key, computed } = propertyKey(ts, parent.name);
    const isStatic = hasModifier(ts, parent, ts.SyntaxKind.StaticKeyword);
    return {
      kind: 'field',
      key: own ?? key,
      computed,
      container: className(ts, parent.parent),
      isStatic,
      anchor: parent,
    };
  }
  if (parent && ts.isPropertyAssignment(parent)) {
    const { key, computed } = propertyKey(ts, parent.name);
    return {
      ...plain,
      kind: 'property',
      key: own ?? key,
      computed,
      container: objectName(ts, parent.parent),
      anchor: parent,
    };
  }
  if (parent && ts.isExportAssignment(parent) && !parent.isExportEquals) {
    return { ...plain, kind: 'default', key: own, anchor: parent };
  }
  return { ...plain, kind: 'callback', key: own };
}

/** Placeholder naming until the shared table lands (docs/NAMING.md). */
export function nameOf(facts: FunctionFacts): string {
  const key =
    facts.key ?? (facts.computed ? '[computed]' : facts.kind === 'default' ? 'default' : '<anonymous>');
  if (facts.kind === 'constructor') return `${facts.container ?? '<anonymous>'}.constructor`;
  if (facts.container !== undefined) return `${facts.container}.${key}`;
  return key;
}
