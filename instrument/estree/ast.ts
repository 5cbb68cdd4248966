/**
 * The ESTree-shaped ASTs that the shared analysis reads: oxc-parser's (ESTree / TS-ESTree, for the
 * esbuild and Vite plugins and the load-time hooks) and Babel's. Nodes are plain objects with
 * `type`, `start`, `end` (UTF-16 offsets into the source) and per-type fields; only the fields named
 * in the code are read, so a structural type is enough and no parser's typings are needed.
 *
 * The two ASTs share most shapes. Where they differ, the helpers here read both:
 * - literals: ESTree's `Literal` / Babel's `StringLiteral`, `NumericLiteral`, `BigIntLiteral`, …;
 * - object members: ESTree's `Property` (`method`, `kind`) / Babel's `ObjectProperty`, `ObjectMethod`;
 * - class members: ESTree's `MethodDefinition` holding a `FunctionExpression`, `PropertyDefinition`,
 *   `AccessorProperty` / Babel's `ClassMethod`, `ClassPrivateMethod` (member and function in one
 *   node), `ClassProperty`, `ClassPrivateProperty`, `ClassAccessorProperty`;
 * - private names: `PrivateIdentifier { name }` / `PrivateName { id }`;
 * - directive prologues: ESTree's `ExpressionStatement` with `directive` / Babel's `directives`,
 *   which are not statements.
 */
import { ABI_CHECK_FUNCTION, isRuntimeSpecifier, RUNTIME_BINDING } from '../constants.js';
import type { KeyDescription } from '../naming.js';
import { computedKeyText } from '../naming.js';

export interface Node {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [field: string]: any;
}

/** A comment: oxc's `Line`/`Block`, Babel's `CommentLine`/`CommentBlock`; `value` without delimiters. */
export interface Comment {
  readonly type: string;
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** The parser's table of child keys per node type (oxc-parser's `visitorKeys`, Babel's `VISITOR_KEYS`). */
export type VisitorKeys = Readonly<Record<string, readonly string[]>>;

/** Function nodes that may have a body to wrap. */
export function isFunction(node: Node): boolean {
  switch (node.type) {
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'ClassMethod':
    case 'ClassPrivateMethod':
    case 'ObjectMethod':
      return true;
    default:
      return false;
  }
}

/** Babel's method nodes: the function and the class or object member in one node. */
export function isMethodFunction(node: Node): boolean {
  const t = node.type;
  return t === 'ClassMethod' || t === 'ClassPrivateMethod' || t === 'ObjectMethod';
}

/** A class member whose `value` is a field initializer. */
export function isClassField(node: Node): boolean {
  switch (node.type) {
    case 'PropertyDefinition':
    case 'AccessorProperty':
    case 'TSAbstractPropertyDefinition':
    case 'ClassProperty':
    case 'ClassPrivateProperty':
    case 'ClassAccessorProperty':
      return true;
    default:
      return false;
  }
}

/** An object literal member: ESTree's `Property`, Babel's `ObjectProperty` and `ObjectMethod`. */
export function isObjectMember(node: Node): boolean {
  const t = node.type;
  return t === 'Property' || t === 'ObjectProperty' || t === 'ObjectMethod';
}

/** The value of a string literal (`Literal` or `StringLiteral`), else undefined. */
export function stringValue(node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  if (node.type === 'StringLiteral') return node.value;
  return node.type === 'Literal' && typeof node.value === 'string' ? node.value : undefined;
}

/**
 * Expression wrappers that change neither what an expression is bound to nor what it refers to:
 * parentheses and TypeScript's `as`, `satisfies`, `!`, `<T>expr` (Flow's `(x: T)` in Babel).
 */
export function isTransparent(node: Node): boolean {
  switch (node.type) {
    case 'ParenthesizedExpression':
    case 'TSAsExpression':
    case 'TSSatisfiesExpression':
    case 'TSNonNullExpression':
    case 'TSTypeAssertion':
    case 'TypeCastExpression':
      return true;
    default:
      return false;
  }
}

/** `node` without the transparent wrappers around it. */
export function unwrap(node: Node | null | undefined): Node | null | undefined {
  while (node && isTransparent(node)) node = node.expression;
  return node;
}

/** `o.name` or `o["name"]`: the property name, or undefined for other computed members. */
export function propertyName(member: Node): string | undefined {
  const p = member.property as Node;
  if (!member.computed) return p.type === 'Identifier' ? p.name : undefined;
  return stringValue(p);
}

/** The name of a private member key (`#x` → `x`): `PrivateIdentifier` or Babel's `PrivateName`. */
function privateName(key: Node): string | undefined {
  if (key.type === 'PrivateIdentifier') return key.name;
  return key.type === 'PrivateName' ? key.id.name : undefined;
}

/** A member's key as the naming rules describe it. `source` may be empty (Babel without the text). */
export function keyOf(member: Node, source: string): KeyDescription {
  return keyDescription(member.key as Node, member.computed === true, source);
}

/**
 * A property key (of a member, or of a member expression: `a.b`, `a['b']`, `a.#b`) as the naming
 * rules describe it.
 */
export function keyDescription(key: Node, computed: boolean, source: string): KeyDescription {
  const hash = privateName(key);
  if (hash !== undefined) return { type: 'private', name: hash };
  if (!computed && key.type === 'Identifier') return { type: 'identifier', name: key.name };
  switch (key.type) {
    case 'Literal':
      if (typeof key.bigint === 'string') return { type: 'bigint', value: key.bigint };
      if (typeof key.value === 'string') return { type: 'string', value: key.value };
      if (typeof key.value === 'number') return { type: 'number', value: key.value };
      break;
    case 'StringLiteral':
      return { type: 'string', value: key.value };
    case 'NumericLiteral':
      return { type: 'number', value: key.value };
    case 'BigIntLiteral':
      return { type: 'bigint', value: String(BigInt(key.value)) };
    case 'TemplateLiteral':
      if (key.expressions.length === 0 && key.quasis.length === 1) {
        const cooked = key.quasis[0].value.cooked;
        if (typeof cooked === 'string') return { type: 'string', value: cooked };
      }
      break;
  }
  return { type: 'computed', text: sourceText(key, source) };
}

/** The source text of a node (whitespace and comments removed, as computed keys are written), or its type without the text. */
function sourceText(node: Node, source: string): string {
  return source && node.start != null ? computedKeyText(source.slice(node.start, node.end)) : node.type;
}

/** Whether a statement belongs to a directive prologue (`"use strict";`; ESTree only, Babel keeps them apart). */
export function isDirective(statement: Node): boolean {
  return statement.type === 'ExpressionStatement' && statement.directive != null;
}

/** Index of the first statement after the directive prologue. */
export function prologueEnd(program: Node): number {
  const body = program.body as Node[];
  let i = 0;
  while (i < body.length && isDirective(body[i]!)) i++;
  return i;
}

/** Index of the runtime binding a stepmark plugin added in an earlier pass, or -1. */
export function runtimeBindingIndex(program: Node): number {
  const body = program.body as Node[];
  for (let i = 0; i < body.length; i++) if (isRuntimeBinding(body[i]!)) return i;
  return -1;
}

/**
 * Offset of the file's own first statement (a plain `@stepmark` before it marks the file): after
 * the directive prologue, the helpers TypeScript writes above a file's own code (see
 * isCompilerPreamble) and, in code a stepmark plugin already instrumented, after the runtime
 * binding it added (and any helpers other plugins put before that); the program's end when there is none.
 */
export function firstStatementOffset(program: Node): number {
  const body = program.body as Node[];
  let i = Math.max(runtimeBindingIndex(program) + 1, prologueEnd(program));
  while (i < body.length && isCompilerPreamble(body[i]!)) i++;
  return i < body.length ? body[i]!.start : program.end;
}

/**
 * Whether a statement is one TypeScript emits above the file's leading comments in its output
 * (so above a `// @stepmark` that headed the source): an emit helper
 * (`var __decorate = (this && this.__decorate) || function …`) or the declaration of its
 * temporaries (`var OrderService_1;`, `var _a, _b;`).
 */
function isCompilerPreamble(s: Node): boolean {
  const unparenthesized = (n: Node): Node => (n.type === 'ParenthesizedExpression' ? n.expression : n);
  if (s.type !== 'VariableDeclaration' || s.kind !== 'var') return false;
  return (s.declarations as Node[]).every((d) => {
    if (d.id.type !== 'Identifier') return false;
    const name: string = d.id.name;
    if (!d.init) return /^_[a-z]$|^[A-Za-z$][\w$]*_\d+$/.test(name);
    // (this && this.__name) || …
    const own =
      d.init.type === 'LogicalExpression' && d.init.operator === '||'
        ? unparenthesized(d.init.left)
        : undefined;
    return (
      name.startsWith('__') &&
      own?.type === 'LogicalExpression' &&
      own.left.type === 'ThisExpression' &&
      own.right.type === 'MemberExpression' &&
      own.right.object.type === 'ThisExpression' &&
      own.right.property.type === 'Identifier' &&
      own.right.property.name === name
    );
  });
}

/**
 * Whether a statement is the runtime binding a stepmark plugin added
 * (`import { v2 as __stepmark } from "…/runtime"`, `const __stepmark = require("…/runtime").abi(2)`),
 * not a variable of the user's that has its name (a reserved-name error).
 */
export function isRuntimeBinding(s: Node): boolean {
  if (s.type === 'ImportDeclaration') {
    return (
      s.specifiers.length === 1 &&
      s.specifiers[0].local.name === RUNTIME_BINDING &&
      isRuntimeSpecifier(s.source.value)
    );
  }
  if (s.type !== 'VariableDeclaration' || s.declarations.length !== 1) return false;
  const d = s.declarations[0];
  const init = d.init;
  const callee = init?.type === 'CallExpression' ? init.callee : undefined;
  const required = callee?.type === 'MemberExpression' ? callee.object : undefined;
  return (
    d.id.type === 'Identifier' &&
    d.id.name === RUNTIME_BINDING &&
    callee?.property?.name === ABI_CHECK_FUNCTION &&
    required?.type === 'CallExpression' &&
    required.callee.type === 'Identifier' &&
    required.callee.name === 'require' &&
    isRuntimeSpecifier(required.arguments[0]?.value)
  );
}
