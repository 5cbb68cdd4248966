/**
 * Strip mode (`strip: true`, docs/STRIP.md): the decisions every plugin shares, so that the
 * three hosts remove the same things and write the same replacement text.
 *
 * - No frames: functions are left exactly as written.
 * - Explicit calls bound to the stepmark import — `step`, `stepEntity`, `enter`, `enterEntity`,
 *   `s.step`, `s.enter` on a `scope(kind)` object, and `record`, `recordEntity`, `track` — are
 *   removed. Arguments that may have side effects (calls, assignments, property reads, …; see
 *   {@link isPure}) are still evaluated, in order: `step("x", audit())` becomes `void (audit())`.
 * - A call whose value is used is replaced by what the runtime returns when no trace is active:
 *   `undefined` for recording calls, a no-op exit handle for `enter` forms.
 * - `const s = scope(kind)` goes when `s` is used only by removed calls; the stepmark import goes
 *   when none of its bindings is used any more. Other API calls (`run`, `capture`, `collect`,
 *   `enabled`, …) are kept, and with them the import.
 */

/** Public API functions whose calls strip mode removes besides the rewritten ones; they return undefined. */
export const STRIPPED_RECORDING_CALLS: ReadonlySet<string> = new Set([
  'step',
  'stepEntity',
  'record',
  'recordEntity',
  'track',
]);

/** ABI methods (what explicit calls are rewritten to) whose value is an exit handle: `enter` forms. */
const HANDLE_METHODS: ReadonlySet<string> = new Set(['enterUser', 'enterEntityUser', 'scopeEnter']);

/** Whether a call rewritten to `abiMethod` returns an exit handle (then a used value becomes the no-op handle). */
export function returnsHandle(abiMethod: string): boolean {
  return HANDLE_METHODS.has(abiMethod);
}

/** Module-level binding of the no-op exit handle that replaces `enter()` values in strip mode. */
export const NOOP_HANDLE_BINDING = '__smx';

/**
 * The no-op exit handle (callable, `exit`, `fail`, `Symbol.dispose`), declared once per file
 * that needs it. Contains no reference to stepmark.
 */
export function noopHandleDeclaration(): string {
  return (
    `const ${NOOP_HANDLE_BINDING} = /*#__PURE__*/ (() => { const h = () => {}; h.exit = h; h.fail = h; ` +
    `if (typeof Symbol.dispose === "symbol") h[Symbol.dispose] = h; return Object.freeze(h); })();\n`
  );
}

/** A host's description of an expression, one level deep, for {@link isPure}. */
export type ExpressionShape<N> =
  /** evaluating it cannot have effects or throw: literals, identifiers, `this`, function expressions */
  | { readonly type: 'pure' }
  /** pure when all the parts are: parentheses, `?:`, `&&`/`||`/`??`, `!`/`void`/`typeof`, array and object literals of plain values */
  | { readonly type: 'parts'; readonly parts: readonly N[] }
  /** may call user code or throw: calls, `new`, property reads (getters, `null.x`), assignments, `await`, templates with substitutions (`toString`), arithmetic (`valueOf`), spreads (iterators), … */
  | { readonly type: 'effects' };

/**
 * Whether dropping an argument expression cannot change what the program does. Conservative: a
 * property read counts as an effect (a getter may run, `undefined.x` throws). Identifiers are
 * taken as pure (reading a declared binding has no effect; a TDZ or undeclared read would have
 * thrown in the original too, which strip mode does not reproduce).
 */
export function isPure<N>(node: N, shape: (node: N) => ExpressionShape<N>, depth = 0): boolean {
  if (depth > 64) return false;
  const s = shape(node);
  if (s.type === 'pure') return true;
  if (s.type === 'effects') return false;
  return s.parts.every((p) => isPure(p, shape, depth + 1));
}

/**
 * Replacement text for a removed call with `kept` arguments kept (in order). For hosts that edit
 * text: `whole` when nothing is kept; otherwise `before` + arg0 + `between(0)` + arg1 … + `after`
 * (spread arguments are wrapped in `[…]` so that their iteration still happens).
 *
 * In statement position: `void 0;` / `void (a, b);` (a statement starting with `void` is safe
 * after a line without semicolon, unlike one starting with `(`). Elsewhere, parenthesised:
 * `(void 0)`, `(void (a, b))`, and for the value of an `enter` form `__smx` / `(a, b, __smx)`.
 */
export function strippedCall(
  handle: boolean,
  statement: boolean,
  kept: number,
  isSpread: (index: number) => boolean,
): { whole: string; before: string; between: (i: number) => string; after: string } {
  const spread = (i: number) => i >= 0 && i < kept && isSpread(i);
  const open = (i: number) => (spread(i) ? '[' : '');
  const close = (i: number) => (spread(i) ? ']' : '');
  const between = (i: number) => `${close(i)}, ${open(i + 1)}`;
  if (handle && !statement) {
    return {
      whole: NOOP_HANDLE_BINDING,
      before: `(${open(0)}`,
      between,
      after: `${close(kept - 1)}, ${NOOP_HANDLE_BINDING})`,
    };
  }
  const [l, r] = statement ? ['', ''] : ['(', ')'];
  return {
    whole: `${l}void 0${r}`,
    before: `${l}void (${open(0)}`,
    between,
    after: `${close(kept - 1)})${r}`,
  };
}

/** A `const s = scope(kind)` statement (`D`: the host's node for it), for {@link unusedDeclarations}. */
export interface ScopeDeclaration<D> {
  readonly name: string;
  readonly declaration: D;
  /**
   * One declarator, in a list of statements (a file, block, namespace or `switch` case: not
   * exported, not a loop head or a lone `if` body), only pure arguments to `scope()`, at any
   * depth: it may go (else it stays whatever uses `s`).
   */
  readonly removable: boolean;
}

/**
 * What strip mode removes besides the calls: each removable `const s = scope(kind)` whose `s`
 * nothing uses any more, and the stepmark import when none of its bindings is used any more
 * (`stillUsed` is empty). `referencesTo(name)` are the references to a name left outside the
 * removed calls (declared names, property names and the import's own bindings are none);
 * `within(reference, declaration)` tells whether a reference sits in a declaration.
 */
export function unusedDeclarations<D, R>(
  scopeDeclarations: readonly ScopeDeclaration<D>[],
  bindingNames: Iterable<string>,
  referencesTo: (name: string) => readonly R[],
  within: (reference: R, declaration: D) => boolean,
): { readonly declarations: readonly D[]; readonly stillUsed: readonly string[] } {
  const declarations: D[] = [];
  for (const s of scopeDeclarations) {
    if (s.removable && referencesTo(s.name).every((r) => within(r, s.declaration)))
      declarations.push(s.declaration);
  }
  const stillUsed: string[] = [];
  for (const name of bindingNames) {
    if (referencesTo(name).some((r) => !declarations.some((d) => within(r, d)))) stillUsed.push(name);
  }
  return { declarations, stillUsed };
}
