/**
 * Where the frame puts each part of an instrumented function's body (docs/ABI.md, "Frames").
 * Every plugin describes the statements of a body with {@link BodyStatement}, calls
 * {@link planBody}, and applies the resulting {@link BodyPlan} to its own AST; the rule lives
 * only here, so the plugins cannot place things differently.
 *
 * The shape is
 *
 *   <prologue; in a derived constructor, everything up to its first top-level super()>
 *   <function declarations that this code refers to>                  (plan.functionLevel)
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
 * Code before `super()` in a derived constructor runs before the frame and outside the `try`:
 * a declaration it refers to stays a declaration at function level, where it is visible.
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
  | { readonly kind: 'other' };

/**
 * Identifiers that the statements `[0, end)` of a body refer to (asked for only when a derived
 * constructor has code before its `super()`, `end` being the frame's start); a superset is fine.
 */
export type PrefixNames = (end: number) => Iterable<string>;

/** Where each part of a body goes. Indices are into the described statements. */
export interface BodyPlan {
  /** Statements `[0, frameAt)` stay before the frame's `const`. */
  readonly frameAt: number;
  /** Function declarations (indices ≥ frameAt) kept at function level, right before the frame's `const`. */
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
  let frameAt = 0;
  while (frameAt < statements.length && statements[frameAt]!.kind === 'directive') frameAt++;
  // A derived constructor without a top-level super() is wrapped whole.
  const superAt = derivedConstructor
    ? statements.findIndex((s, i) => i >= frameAt && s.kind === 'super-call')
    : -1;
  if (superAt >= 0) frameAt = superAt + 1;
  if (superAt >= 0 || !derivedConstructor) {
    while (frameAt < statements.length && statements[frameAt]!.kind === 'parameter-property') frameAt++;
  }
  let prefix: Set<string> | undefined;
  const functionLevel: number[] = [];
  const asVar: number[] = [];
  for (let i = frameAt; i < statements.length; i++) {
    const s = statements[i]!;
    if (s.kind !== 'function') continue;
    if (superAt > 0 && prefix === undefined) prefix = new Set(prefixNames(frameAt));
    if (prefix?.has(s.name)) functionLevel.push(i);
    else asVar.push(i);
  }
  let removed: number[] | undefined;
  if (asVar.length) {
    const names = new Set(asVar.map((i) => (statements[i] as { name: string }).name));
    for (let i = frameAt; i < statements.length; i++) {
      const s = statements[i]!;
      if (s.kind === 'overload' && names.has(s.name)) (removed ??= []).push(i);
    }
  }
  return {
    frameAt,
    functionLevel: functionLevel.length ? functionLevel : NONE,
    asVar: asVar.length ? asVar : NONE,
    removed: removed ?? NONE,
  };
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
