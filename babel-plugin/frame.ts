/**
 * Emits the frame of an instrumented function (docs/ABI.md "Frames") with Babel's builders:
 *
 *   const __smf = __stepmark.enter("Name", "path:line:col");
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

/**
 * Index just after the first top-level `super(...)` expression statement of a derived-class
 * constructor (the frame opens there), or 0 when there is none or this is not a derived constructor.
 */
export function frameStart(path: FunctionPath, body: t.BlockStatement): number {
  const node = path.node;
  if (node.type !== 'ClassMethod' || node.kind !== 'constructor') return 0;
  const cls = path.parentPath.parentPath?.node as t.Class | undefined;
  if (!cls?.superClass) return 0;
  const i = body.body.findIndex(
    (s) =>
      s.type === 'ExpressionStatement' &&
      s.expression.type === 'CallExpression' &&
      s.expression.callee.type === 'Super',
  );
  return i + 1;
}

/** Rewrites `path`'s body into the frame shape. The function must have a body. */
export function emitFrame(t: Types, path: FunctionPath, spec: FrameSpec): void {
  const node = path.node;
  ensureBlockBody(t, path);
  const body = node.body as t.BlockStatement;
  const start = frameStart(path, body);
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
  const enter = spec.entity
    ? t.callExpression(runtime(ABI.enterEntity), [
        t.stringLiteral(spec.name),
        loc,
        spec.kind === undefined ? t.nullLiteral() : t.stringLiteral(spec.kind),
        t.logicalExpression('&&', t.callExpression(runtime(ABI.on), []), entityRead(t, spec.entity.segments)),
      ])
    : t.callExpression(runtime(ABI.enter), [t.stringLiteral(spec.name), loc]);
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

/** Expression-bodied arrow: `x => e` becomes `x => { return e; }` (the frame goes around the return). */
export function ensureBlockBody(t: Types, path: FunctionPath): void {
  const node = path.node;
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
 * Wraps each `await` / `yield` that belongs to the function (not to nested functions):
 * `await e` → `__smf.r(await __smf.s(e))`. `for await` loops are left alone.
 *
 * When a suspension throws (a rejected `await`, `generator.throw()` at a `yield`), the `r()`
 * around it never runs; so every `catch` and `finally` of a `try` whose block suspends starts
 * with `__smf.r();` to make the span current again before the user's handler runs.
 */
export function wrapSuspensions(t: Types, path: FunctionPath): void {
  const node = path.node;
  if (!node.async && !node.generator) return;
  ensureBlockBody(t, path);
  const done = new WeakSet<t.Node>();
  const trys = new Set<t.TryStatement>();
  const frameCall = (method: string, args: t.Expression[]) =>
    t.callExpression(t.memberExpression(t.identifier(FRAME_BINDING), t.identifier(method)), args);
  const noteTrys = (p: NodePath) => {
    let child: NodePath = p;
    for (let q = p.parentPath; q && q.node !== node; child = q, q = q.parentPath) {
      if (q.isTryStatement() && child.key === 'block') trys.add(q.node);
    }
  };
  path.get('body').traverse({
    Function(p) {
      p.skip();
    },
    AwaitExpression(p: NodePath<t.AwaitExpression>) {
      if (done.has(p.node)) return;
      done.add(p.node);
      noteTrys(p);
      p.node.argument = frameCall(ABI.suspend, [p.node.argument]);
      p.replaceWith(withLoc(frameCall(ABI.resume, [p.node]), p.node));
    },
    YieldExpression(p: NodePath<t.YieldExpression>) {
      if (done.has(p.node)) return;
      done.add(p.node);
      noteTrys(p);
      p.node.argument = frameCall(ABI.suspend, p.node.argument ? [p.node.argument] : []);
      p.replaceWith(withLoc(frameCall(ABI.resume, [p.node]), p.node));
    },
  });
  for (const tryNode of trys) {
    for (const block of [tryNode.handler?.body, tryNode.finalizer]) {
      if (block) block.body.unshift(withLoc(t.expressionStatement(frameCall(ABI.resume, [])), block));
    }
  }
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
