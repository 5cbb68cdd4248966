/**
 * Function names written into instrumented code, composed from a host-neutral description of
 * where a function sits. Every host (Babel, TypeScript, esbuild/oxc) describes its AST node with
 * {@link FunctionDescription} and calls {@link functionName}; the rules live only here. The table
 * of cases, and how each relates to what V8 shows in a stack trace, is docs/NAMING.md.
 */
import { MODULE_SCOPE_NAME } from './constants.js';

/** The name of a property key as V8 names a method defined with it (`Function.prototype.name`). */
export type KeyDescription =
  /** `foo() {}`, `foo: …`, `a.foo = …` */
  | { readonly type: 'identifier'; readonly name: string }
  /** `#foo() {}` — `name` without the `#` */
  | { readonly type: 'private'; readonly name: string }
  /** `'a-b'() {}` and a computed string key: `['a-b']() {}`, `` [`a-b`]() {} `` (no substitutions) */
  | { readonly type: 'string'; readonly value: string }
  /** `42() {}`, `0x10() {}`, `[1e3]() {}`: the numeric value (written as `String(value)`) */
  | { readonly type: 'number'; readonly value: number }
  /** `10n() {}`: decimal digits of the value */
  | { readonly type: 'bigint'; readonly value: string }
  /** `[expr]() {}` for any other expression: `text` is its source text (see {@link computedKeyText}) */
  | { readonly type: 'computed'; readonly text: string };

/** What a member function is for. */
export type MemberRole =
  /** a method (class or object literal, static or not) */
  | 'method'
  /** `get x() {}` */
  | 'get'
  /** `set x(v) {}` */
  | 'set'
  /** a class constructor */
  | 'constructor'
  /** a function or arrow as the value of a class field or object property: `x = () => {}`, `x: function () {}` */
  | 'value';

/** A segment of an assignment target `a.b.c = function () {}`. */
export type TargetSegment =
  | KeyDescription
  /** `this` as the root; `className` when it is the instance of a known class (inside its methods/constructor) */
  | { readonly type: 'this'; readonly className?: string };

/**
 * Where a function, class or object literal is bound. Hosts strip transparent wrappers first:
 * parentheses and TypeScript's `as`, `satisfies`, `!` and `<T>` assertions.
 */
export type Binding =
  /** `const x = …`, `let x = …`, `x = …` (identifier assignment), `{ x = … }` destructuring default, `(x = …) =>` parameter default */
  | { readonly type: 'variable'; readonly name: string }
  /** member of a class (`container` = class name) or object literal (`container` = the object's binding name, or undefined) */
  | {
      readonly type: 'member';
      readonly container: string | undefined;
      readonly key: KeyDescription;
      readonly role: MemberRole;
    }
  /** `a.b = …`, `Foo.prototype.bar = …`, `this.x = …`, `module.exports = …`: root first */
  | { readonly type: 'assignment'; readonly target: readonly TargetSegment[] }
  /** `export default …` (anonymous function, arrow, class or object literal) */
  | { readonly type: 'default-export' }
  /** none of the above: an argument (callback), an IIFE, a returned or conditional expression… */
  | { readonly type: 'none' };

/** A function (declaration, expression, arrow, method, accessor, constructor) as hosts describe it. */
export interface FunctionDescription {
  /** The function's own identifier (`function foo`, `function real() {}` in an expression). Wins over `binding`. */
  readonly ownName?: string;
  readonly binding: Binding;
  /**
   * Name of the nearest enclosing function (as {@link functionName} gave it), or of the class
   * initializer ({@link classInitializerName}); undefined at module level. Used for anonymous functions.
   */
  readonly enclosing?: string;
}

/** The marker used for anonymous functions: `outer.<anonymous>`. */
export const ANONYMOUS = '<anonymous>';

/** Name used for an anonymous class (a class expression bound to nothing). */
export const ANONYMOUS_CLASS = '<anonymous>';

/** Name for what V8 shows as `<computed>` in inferred names (non-literal computed assignment targets). */
export const COMPUTED = '<computed>';

/** The name a property key gives a method: `foo`, `#foo`, `a-b`, `42`, `[Symbol.iterator]`. */
export function keyName(key: KeyDescription): string {
  switch (key.type) {
    case 'identifier':
      return key.name;
    case 'private':
      return `#${key.name}`;
    case 'string':
      return key.value;
    case 'number':
      return String(key.value);
    case 'bigint':
      return key.value;
    case 'computed':
      return `[${computedKeyText(key.text)}]`;
  }
}

/**
 * Canonical text of a computed key expression, so hosts that print source differently agree:
 * whitespace and comments outside string literals are removed (`[ Symbol.iterator ]` → `Symbol.iterator`).
 */
export function computedKeyText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

/**
 * The name of what a binding binds (a function, class or object literal), or undefined when it is
 * bound to nothing. Getters and setters get `get `/`set ` before the key, like V8's function names.
 */
export function bindingName(binding: Binding): string | undefined {
  switch (binding.type) {
    case 'variable':
      return binding.name;
    case 'member': {
      const key = keyName(binding.key);
      const own = binding.role === 'get' ? `get ${key}` : binding.role === 'set' ? `set ${key}` : key;
      return binding.container === undefined ? own : `${binding.container}.${own}`;
    }
    case 'assignment':
      return assignmentName(binding.target);
    case 'default-export':
      return 'default';
    case 'none':
      return undefined;
  }
}

/**
 * Whether an assignment names the anonymous function (or class) on its right after its target:
 * `=` always; `||=`, `&&=`, `??=` only for an identifier target, where ECMAScript names the function
 * (`x ??= () => {}` is named `x`, as V8 shows).
 */
export function assignmentBinds(operator: string, target: 'identifier' | 'member'): boolean {
  if (operator === '=') return true;
  return target === 'identifier' && (operator === '||=' || operator === '&&=' || operator === '??=');
}

/**
 * The name of an assignment target, as V8 infers it: `prototype` segments are dropped
 * (`Foo.prototype.bar` → `Foo.bar`), a non-literal computed member is `<computed>`, `this` is the
 * class it belongs to (or dropped when unknown).
 */
export function assignmentName(target: readonly TargetSegment[]): string {
  const parts: string[] = [];
  for (const segment of target) {
    if (segment.type === 'this') {
      if (segment.className !== undefined) parts.push(segment.className);
    } else if (segment.type === 'identifier' && segment.name === 'prototype' && parts.length > 0) {
      // V8 drops `.prototype.` from inferred names.
    } else if (segment.type === 'computed') {
      parts.push(COMPUTED);
    } else {
      parts.push(keyName(segment));
    }
  }
  return parts.join('.');
}

/**
 * The name of a class: its own identifier, else what it is bound to (`const A = class {}` → `A`,
 * `export default class {}` → `default`), else `<anonymous>`. Used as the container of its members.
 */
export function className(ownName: string | undefined, binding: Binding): string {
  return ownName ?? bindingName(binding) ?? ANONYMOUS_CLASS;
}

/**
 * The container name of an object literal's members: what the object is bound to
 * (`const obj = {…}` → `obj`, nested `{ a: { … } }` in `obj` → `obj.a`), or undefined for an
 * unbound object literal (its members are then named by their key alone).
 */
export function objectName(binding: Binding): string | undefined {
  return bindingName(binding);
}

/**
 * The name of the code that runs class field initializers and static blocks, for explicit calls
 * and anonymous functions found there: `A.<instance_members_initializer>` for instance fields,
 * `A.<static_initializer>` for static fields and `static {}` blocks (V8's names).
 */
export function classInitializerName(classNameValue: string, isStatic: boolean): string {
  return `${classNameValue}.${isStatic ? '<static_initializer>' : '<instance_members_initializer>'}`;
}

/**
 * The name of an anonymous function inside `enclosing`: `outer.<anonymous>`, or `<anonymous>` at
 * module level. Anonymous functions nested in anonymous functions share the name.
 */
export function anonymousName(enclosing: string | undefined): string {
  if (enclosing === undefined || enclosing === MODULE_SCOPE_NAME) return ANONYMOUS;
  return enclosing.endsWith(ANONYMOUS) ? enclosing : `${enclosing}.${ANONYMOUS}`;
}

/**
 * The name written for a function: the span name of `enter` and the stage of explicit `step()`
 * calls inside it.
 *
 * @example
 * functionName({ ownName: 'validate', binding: { type: 'none' } }) // 'validate'
 * functionName({ binding: { type: 'member', container: 'OrderService', key: { type: 'identifier', name: 'score' }, role: 'method' } }) // 'OrderService.score'
 * functionName({ binding: { type: 'none' }, enclosing: 'OrderService.score' }) // 'OrderService.score.<anonymous>'
 */
export function functionName(fn: FunctionDescription): string {
  if (fn.ownName !== undefined && fn.binding.type !== 'member') return fn.ownName;
  if (fn.ownName !== undefined && fn.binding.type === 'member' && fn.binding.role === 'value') {
    // `{ x: function real() {} }`: V8 names the function `real`; keep the container.
    return fn.binding.container === undefined ? fn.ownName : `${fn.binding.container}.${fn.ownName}`;
  }
  return bindingName(fn.binding) ?? anonymousName(fn.enclosing);
}

/** Why a function is not eligible, or `undefined` when it is. */
export type Ineligibility = 'accessor' | 'callback';

/**
 * Whether a function is instrumented when its file (or class/object) is marked. Getters and
 * setters need the `getters` option, anonymous functions (callbacks, IIFEs) the `callbacks`
 * option. A function-level `@stepmark` directive instruments its function regardless.
 */
export function ineligibility(
  fn: FunctionDescription,
  options: { readonly getters: boolean; readonly callbacks: boolean },
): Ineligibility | undefined {
  const b = fn.binding;
  if (b.type === 'member' && (b.role === 'get' || b.role === 'set'))
    return options.getters ? undefined : 'accessor';
  if (b.type === 'none' && fn.ownName === undefined) return options.callbacks ? undefined : 'callback';
  return undefined;
}
