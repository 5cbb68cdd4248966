/**
 * Where the frame puts each part of an instrumented function's body (docs/ABI.md, "Frames").
 * Every plugin describes the statements of a body with {@link BodyStatement}, calls
 * {@link planBody}, and applies the resulting {@link BodyPlan} to its own AST; the rule lives
 * only here, so the plugins cannot place things differently.
 *
 * The shape is
 *
 *   <prologue; in a derived constructor, everything up to its first top-level super()>
 *   <function declarations, when this code uses them>                  (plan.functionLevel)
 *   const __smf = __stepmark.enter(…);
 *   try {
 *     var g = function () {…};                                         (plan.asVar, in order)
 *     <every other statement, in order; each `return v` as `return __smf.x(v)`>
 *     __smf.exit();
 *   } catch (__sme) { throw __smf.t(__sme); }          (generators: a `finally` instead)
 *
 * A function declaration of the body becomes `var g = function () {…};` at the top of the `try`
 * block, because that is the one form that keeps every property of the declaration:
 * - it sees the body's `const`/`let`/`class` (they are in the `try` block too), with their
 *   temporal dead zone; moved out of the block, `function inner() { return K }` would no longer
 *   see `const K`;
 * - it is callable from the first statement of the body on (hoisting);
 * - its binding is function-scoped, like the declaration's: it may share its name with a `var`,
 *   a parameter (which it assigns, as `arguments` shows in sloppy mode), a second declaration, a
 *   catch parameter's `var`, or a declaration in a nested block (sloppy mode's Annex B). Left a
 *   declaration inside the block, it would be block-scoped: `var g; function g() {}` becomes a
 *   SyntaxError, two declarations of one name a SyntaxError in strict mode, and compilers that
 *   emulate block-level functions rename it (esbuild turns `{ function g() {} }` into
 *   `let g2 = function () {}; var g = g2` outside strict mode, so `g.name` becomes `"g2"`);
 * - `g.name` is `"g"` (an anonymous function assigned to `g` is named `g`), and inside it `g` is
 *   the shared binding, so `function init() { init = cached; }` still replaces itself.
 * Its source text changes (`Function.prototype.toString`), as the frame changes the body's anyway.
 *
 * TypeScript overload signatures of such a function (`function g(x: number): string;`) are
 * removed: they are types only, and a parser that checks declarations rejects them beside a `var`.
 *
 * Code up to `super()` in a derived constructor runs before the frame and outside the `try`
 * (`super()` stays a statement of the body itself: oxc, as Vite runs it, assigns TypeScript's
 * parameter properties right after such a `super()`, and at the start of the body otherwise,
 * before `super()`). When that code, the arguments of `super(…)` included, declares a nested
 * function or refers to one, every nested declaration stays a declaration at function level, where
 * that code can call it (and each declaration can call the others), and the frame opens after the
 * body's last `const`/`let`/`class` (and everything before it runs before the frame, as the code
 * before `super()` does): a declaration at function level sees those, and would not see them
 * inside the `try` block. The span then covers only the rest of the constructor.
 */

/** One statement directly in a function body, as the layout rule sees it. */
export type BodyStatement =
  /** a directive of the prologue (`"use strict"`), for hosts that keep them among the statements */
  | { readonly kind: 'directive' }
  /** `super(…);` as an expression statement */
  | { readonly kind: 'super-call' }
  /**
   * `this.x = x;` that a compiler wrote for a TypeScript parameter property right after `super()`
   * (or first): it stays before the frame, where the compiler puts it when it runs later.
   */
  | { readonly kind: 'parameter-property' }
  /** a function declaration with a body */
  | { readonly kind: 'function'; readonly name: string }
  /** a TypeScript overload signature (a function declaration without a body) */
  | { readonly kind: 'overload'; readonly name: string }
  /**
   * a declaration whose bindings are scoped to the block it is in: `const`, `let`, `using`,
   * `class` (TypeScript's `enum` and `namespace` too, which compilers may write as `let`)
   */
  | { readonly kind: 'lexical' }
  | { readonly kind: 'other' };

/**
 * Identifiers that the statements `[0, end)` of a body refer to (asked for only when a derived
 * constructor has function declarations after its top-level `super()`, `end` being the index
 * after that `super()`); a superset is fine.
 */
export type PrefixNames = (end: number) => Iterable<string>;

/** Where each part of a body goes. Indices are into the described statements. */
export interface BodyPlan {
  /** Statements `[0, frameAt)` stay before the frame's `const`. */
  readonly frameAt: number;
  /**
   * Function declarations (indices ≥ frameAt) kept declarations, moved to function level right
   * before the frame's `const`: all of them, or none.
   */
  readonly functionLevel: readonly number[];
  /** Function declarations turned into `var name = function … {…};` at the top of the `try` block, in order. */
  readonly asVar: readonly number[];
  /**
   * Overload signatures of those functions, removed: they are types only, and beside a `var` of
   * their name a parser that checks declarations (oxc, in Vite and rolldown) rejects them.
   */
  readonly removed: readonly number[];
}

const NONE: readonly number[] = [];

/**
 * The layout of one body. `derivedConstructor`: the function is the constructor of a class with
 * an `extends` clause (the frame opens after the first top-level `super(…)` statement, or at the
 * start when there is none). `prefixNames` is called at most once.
 */
export function planBody(
  statements: readonly BodyStatement[],
  derivedConstructor: boolean,
  prefixNames: PrefixNames,
): BodyPlan {
  let start = 0;
  while (start < statements.length && statements[start]!.kind === 'directive') start++;
  let frameAt = start;
  // A derived constructor without a top-level super() is wrapped whole.
  const superAt = derivedConstructor
    ? statements.findIndex((s, i) => i >= start && s.kind === 'super-call')
    : -1;
  if (superAt >= 0) frameAt = superAt + 1;
  if (superAt >= 0 || !derivedConstructor) {
    while (frameAt < statements.length && statements[frameAt]!.kind === 'parameter-property') frameAt++;
  }
  const declarationsBeforeFrame =
    superAt >= 0 && usesDeclarationsBefore(statements, start, superAt, prefixNames);
  if (declarationsBeforeFrame) {
    for (let i = frameAt; i < statements.length; i++) if (statements[i]!.kind === 'lexical') frameAt = i + 1;
  }
  const moved: number[] = [];
  for (let i = frameAt; i < statements.length; i++) if (statements[i]!.kind === 'function') moved.push(i);
  let removed: number[] | undefined;
  if (moved.length) {
    const names = new Set(moved.map((i) => (statements[i] as { name: string }).name));
    for (let i = frameAt; i < statements.length; i++) {
      const s = statements[i]!;
      if (s.kind === 'overload' && names.has(s.name)) (removed ??= []).push(i);
    }
  }
  const placed = moved.length ? moved : NONE;
  return {
    frameAt,
    functionLevel: declarationsBeforeFrame ? placed : NONE,
    asVar: declarationsBeforeFrame ? NONE : placed,
    removed: removed ?? NONE,
  };
}

/**
 * Whether the statements `[start, superAt]` of a derived constructor (its code up to and including
 * `super(…)`) declare a nested function or refer to one declared after them.
 */
function usesDeclarationsBefore(
  statements: readonly BodyStatement[],
  start: number,
  superAt: number,
  prefixNames: PrefixNames,
): boolean {
  for (let i = start; i < superAt; i++) if (statements[i]!.kind === 'function') return true;
  const later = new Set<string>();
  for (let i = superAt + 1; i < statements.length; i++) {
    const s = statements[i]!;
    if (s.kind === 'function') later.add(s.name);
  }
  if (later.size === 0) return false;
  for (const name of prefixNames(superAt + 1)) if (later.has(name)) return true;
  return false;
}

/** A node of an ESTree-shaped AST (Babel's and oxc's); hosts whose AST is not ESTree map their own. */
interface EstreeNode {
  readonly type: string;
  readonly [field: string]: any;
}

/** Every identifier name in the given nodes (a superset of what they refer to). */
export function estreeIdentifierNames(nodes: readonly EstreeNode[]): string[] {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object' || seen.has(n)) return;
    seen.add(n);
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    const node = n as EstreeNode;
    if (typeof node.type !== 'string') return;
    if (node.type === 'Identifier' || node.type === 'JSXIdentifier') out.push(node.name);
    for (const key in node) {
      if (key === 'loc' || key === 'range' || key === 'extra' || key.endsWith('Comments')) continue;
      walk(node[key]);
    }
  };
  for (const n of nodes) walk(n);
  return out;
}
