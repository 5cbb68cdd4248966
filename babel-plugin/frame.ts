/**
 * Emits the frame of an instrumented function (docs/ABI.md "Frames") with Babel's builders:
 *
 *   const __smf = __stepmark.enter("Name", "path:line:col");   // `, 1` (FRAME_ASYNC) for a plain async function
 *   try { <body> } catch (__sme) { __smf.fail(__sme); throw __sme; } finally { __smf.exit(); }
 *
 * plus the suspension wrappers around `await` / `yield` of that function. Inserted nodes get
 * the location of the body's braces so that, with `retainLines`, they stay on the lines of the
 * `{` and `}` and every user statement keeps its line even when source maps are not chained.
 */
import type { NodePath, types as t } from '@babel/core';
import {
  ABI,
  CAUGHT_BINDING,
  FRAME_BINDING,
  type MarkDirective,
  RUNTIME_BINDING,
} from '../instrument/index.js';
import type { FunctionPath } from './describe.js';

type Types = typeof t;

/** What to write into one frame. */
export interface FrameSpec {
  readonly name: string;
  /** `"path:line:col"`, or undefined for `void 0`. */
  readonly location: string | undefined;
  /** From `@stepmark entity=… kind=…`. */
  readonly entity?: MarkDirective['entity'];
  readonly kind?: string;
  /** `frameFlags(...)` of the function: appended as the last argument of `enter`/`enterEntity` when set. */
  readonly flags?: number | undefined;
}

/**
 * Whether a body already holds the idempotence marker `const __smf = __stepmark.…` at its top
 * level: first for most functions, after `super()` in derived constructors.
 */
export function isInstrumented(body: t.BlockStatement): boolean {
  return body.body.some((s) => {
    if (s.type !== 'VariableDeclaration' || s.kind !== 'const') return false;
    const d = s.declarations[0];
    return (
      d?.id.type === 'Identifier' &&
      d.id.name === FRAME_BINDING &&
      d.init?.type === 'CallExpression' &&
      d.init.callee.type === 'MemberExpression' &&
      d.init.callee.object.type === 'Identifier' &&
      d.init.callee.object.name === RUNTIME_BINDING
    );
  });
}

/** Whether `path` is the constructor of a class with an `extends` clause. */
export function isDerivedConstructor(path: FunctionPath): boolean {
  const node = path.node;
  if (node.type !== 'ClassMethod' || node.kind !== 'constructor') return false;
  const cls = path.parentPath.parentPath?.node as t.Class | undefined;
  return cls?.superClass != null;
}

/**
 * Index just after the first top-level `super(...)` expression statement of a derived-class
 * constructor's body (the frame opens there), or 0 when there is none.
 */
export function superEnd(body: t.BlockStatement): number {
  const i = body.body.findIndex(
    (s) =>
      s.type === 'ExpressionStatement' &&
      s.expression.type === 'CallExpression' &&
      s.expression.callee.type === 'Super',
  );
  return i + 1;
}

/**
 * Rewrites a function's body into the frame shape, in place (the function node keeps its
 * identity, so this also works on a node that other plugins have visited since). `derived`:
 * the function is a derived-class constructor (the frame opens after its top-level `super()`).
 */
export function emitFrame(
  t: Types,
  node: FunctionPath['node'],
  spec: FrameSpec,
  derived: boolean,
  afterTypeScript: boolean,
): void {
  ensureBlockBody(t, node);
  const body = node.body as t.BlockStatement;
  let start = derived ? superEnd(body) : 0;
  // Written after TypeScript compiled parameter properties into `this.x = x;` right after
  // `super()` (or first): they stay before the frame, where they are when TypeScript runs later.
  if (
    afterTypeScript &&
    node.type === 'ClassMethod' &&
    node.kind === 'constructor' &&
    (start > 0 || !derived)
  ) {
    while (start < body.body.length && isParameterPropertyAssignment(body.body[start]!)) start++;
  }
  const before = body.body.slice(0, start);
  const inner = body.body.slice(start);
  // Function declarations are hoisted: keep them at function level so `var` redeclarations and
  // calls from code before `super()` keep working (in a `try` block they would be lexical).
  const hoisted = inner.filter((s) => s.type === 'FunctionDeclaration');
  const wrapped = hoisted.length ? inner.filter((s) => s.type !== 'FunctionDeclaration') : inner;

  const open = frameAt(body, 'start');
  const close = frameAt(body, 'end');
  const smf = () => t.identifier(FRAME_BINDING);
  const runtime = (method: string) => t.memberExpression(t.identifier(RUNTIME_BINDING), t.identifier(method));
  const loc =
    spec.location === undefined
      ? t.unaryExpression('void', t.numericLiteral(0))
      : t.stringLiteral(spec.location);
  const flags = spec.flags === undefined ? [] : [t.numericLiteral(spec.flags)];
  const enter = spec.entity
    ? t.callExpression(runtime(ABI.enterEntity), [
        t.stringLiteral(spec.name),
        loc,
        spec.kind === undefined ? t.nullLiteral() : t.stringLiteral(spec.kind),
        t.logicalExpression('&&', t.callExpression(runtime(ABI.on), []), entityRead(t, spec.entity.segments)),
        ...flags,
      ])
    : t.callExpression(runtime(ABI.enter), [t.stringLiteral(spec.name), loc, ...flags]);
  const declaration = withLoc(t.variableDeclaration('const', [t.variableDeclarator(smf(), enter)]), open);
  const caught = () => t.identifier(CAUGHT_BINDING);
  const tryStatement = withLoc(
    t.tryStatement(
      withLoc(t.blockStatement(wrapped), open),
      withLoc(
        t.catchClause(
          caught(),
          t.blockStatement([
            t.expressionStatement(
              t.callExpression(t.memberExpression(smf(), t.identifier(ABI.fail)), [caught()]),
            ),
            t.throwStatement(caught()),
          ]),
        ),
        close,
      ),
      withLoc(
        t.blockStatement([
          t.expressionStatement(t.callExpression(t.memberExpression(smf(), t.identifier(ABI.exit)), [])),
        ]),
        close,
      ),
    ),
    open,
  );
  // Function declarations are hoisted wherever they stand at function level: after the marker
  // (so it stays the first statement) and outside the `try` block.
  body.body = [...before, declaration, ...hoisted, tryStatement];
}

/**
 * `this.name = name;` without a source location: what TypeScript compiles a parameter property
 * into (user code always has a location).
 */
function isParameterPropertyAssignment(s: t.Statement): boolean {
  if (s.loc || s.type !== 'ExpressionStatement' || s.expression.type !== 'AssignmentExpression') return false;
  const { left, right, operator } = s.expression;
  return (
    operator === '=' &&
    left.type === 'MemberExpression' &&
    left.object.type === 'ThisExpression' &&
    !left.computed &&
    left.property.type === 'Identifier' &&
    right.type === 'Identifier' &&
    right.name === left.property.name
  );
}

/** Expression-bodied arrow: `x => e` becomes `x => { return e; }` (the frame goes around the return). */
export function ensureBlockBody(t: Types, node: FunctionPath['node']): void {
  if (node.body.type === 'BlockStatement') return;
  const expr = node.body;
  node.body = withLoc(t.blockStatement([withLoc(t.returnStatement(expr), expr)]), expr);
  (node as t.ArrowFunctionExpression).expression = false;
}

/** `order?.id` from `["order", "id"]`. Never `arguments`: parameters are read by name. */
function entityRead(t: Types, segments: readonly string[]): t.Expression {
  let expr: t.Expression = segments[0] === 'this' ? t.thisExpression() : t.identifier(segments[0]!);
  for (const s of segments.slice(1)) expr = t.optionalMemberExpression(expr, t.identifier(s), false, true);
  return expr;
}

/**
 * Wraps one `await` / `yield` of an instrumented function (called for each as the traversal
 * leaves it, inner ones first): `await e` → `__smf.r(await __smf.s(e))`,
 * `yield` → `__smf.r(yield __smf.s())`. `for await` loops are not `AwaitExpression`s: left alone.
 *
 * When a suspension throws (a rejected `await`, `generator.throw()` at a `yield`), the `r()`
 * around it never runs; so the `try` statements whose block contains it are collected in
 * `trys`, and {@link resumeInHandlers} starts their `catch` and `finally` with `__smf.r();`.
 */
export function wrapSuspension(
  t: Types,
  path: NodePath<t.AwaitExpression | t.YieldExpression>,
  fn: t.Node,
  trys: Set<t.TryStatement>,
): void {
  let child: NodePath = path;
  for (let q: NodePath | null = path.parentPath; q && q.node !== fn; child = q, q = q.parentPath) {
    const n = q.node as t.Node;
    if (n.type === 'TryStatement' && child.key === 'block') trys.add(n);
  }
  const node = path.node;
  node.argument = frameCall(t, ABI.suspend, node.argument ? [node.argument] : []);
  // Replace in place, without requeueing: the traversal has already been through this node.
  (path.container as unknown as Record<string | number, t.Node>)[path.key as string | number] = withLoc(
    frameCall(t, ABI.resume, [node]),
    node,
  );
}

/** Starts every `catch` and `finally` of the given `try` statements with `__smf.r();`. */
export function resumeInHandlers(t: Types, trys: Iterable<t.TryStatement>): void {
  for (const tryNode of trys) {
    for (const block of [tryNode.handler?.body, tryNode.finalizer]) {
      if (block) block.body.unshift(withLoc(t.expressionStatement(frameCall(t, ABI.resume, [])), block));
    }
  }
}

function frameCall(t: Types, method: string, args: t.Expression[]): t.CallExpression {
  return t.callExpression(t.memberExpression(t.identifier(FRAME_BINDING), t.identifier(method)), args);
}

/** A zero-width location at the start or end of a node (for inserted code). */
function frameAt(node: t.Node, edge: 'start' | 'end'): t.Node {
  const at = node.loc?.[edge];
  return {
    loc: at ? { start: at, end: at, filename: node.loc!.filename, identifierName: undefined } : null,
  } as t.Node;
}

function withLoc<N extends t.Node>(node: N, from: t.Node): N {
  if (from.loc) node.loc = from.loc;
  return node;
}
