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
  type BodyStatement,
  CAUGHT_BINDING,
  estreeIdentifierNames,
  FRAME_BINDING,
  frameEnding,
  type MarkDirective,
  planBody,
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
  const byReturns =
    frameEnding({ async: node.async === true, generator: node.generator === true }) === 'returns';
  if (node.body.type !== 'BlockStatement') {
    ensureBlockBody(t, node);
    if (byReturns) wrapReturn((node.body as unknown as t.BlockStatement).body[0] as t.ReturnStatement);
  }
  const body = node.body as t.BlockStatement;
  const statements = body.body;
  // Written after TypeScript compiled parameter properties into `this.x = x;` right after
  // `super()` (or first): they stay before the frame, where they are when TypeScript runs later.
  const compiledConstructor = afterTypeScript && node.type === 'ClassMethod' && node.kind === 'constructor';
  const plan = planBody(
    statements.map((s) => describeStatement(s, compiledConstructor)),
    derived,
    (end) => estreeIdentifierNames(statements.slice(0, end) as never),
  );
  const placed = new Set([...plan.functionLevel, ...plan.asVar, ...plan.removed]);
  const wrapped: t.Statement[] = plan.asVar.map((i) => functionAsVar(statements[i] as t.FunctionDeclaration));
  for (let i = plan.frameAt; i < statements.length; i++) {
    if (!placed.has(i)) wrapped.push(statements[i]!);
  }

  const open = frameAt(body, 'start');
  const close = frameAt(body, 'end');
  const runtime = (method: string) => b.member(b.id(RUNTIME_BINDING), method);
  const loc = spec.location === undefined ? b.void0() : b.str(spec.location);
  const flags = spec.flags === undefined ? [] : [b.num(spec.flags)];
  const enter = spec.entity
    ? b.call(runtime(ABI.enterEntity), [
        b.str(spec.name),
        loc,
        spec.kind === undefined ? b.nul() : b.str(spec.kind),
        b.and(b.call(runtime(ABI.on), []), entityRead(spec.entity.segments)),
        ...flags,
      ])
    : b.call(runtime(ABI.enter), [b.str(spec.name), loc, ...flags]);
  const declaration = withLoc(b.constDecl(FRAME_BINDING, enter), open);
  const frame = (method: string, args: t.Expression[]) => b.call(b.member(b.id(FRAME_BINDING), method), args);
  // docs/ABI.md "Frames": `return`s close the span (wrapped as the traversal met them) and so
  // does the end of the block; generators close it in `finally`.
  if (byReturns) wrapped.push(withLoc(b.expr(frame(ABI.exit, [])), close));
  const handler = byReturns
    ? b.block([b.throwStatement(frame(ABI.failWith, [b.id(CAUGHT_BINDING)]))])
    : b.block([b.expr(frame(ABI.fail, [b.id(CAUGHT_BINDING)])), b.throwStatement(b.id(CAUGHT_BINDING))]);
  const tryStatement = withLoc(
    b.tryStatement(
      withLoc(b.block(wrapped), open),
      withLoc(b.catchClause(CAUGHT_BINDING, handler), close),
      byReturns ? null : withLoc(b.block([b.expr(frame(ABI.exit, []))]), close),
    ),
    open,
  );
  body.body = [
    ...statements.slice(0, plan.frameAt),
    ...plan.functionLevel.map((i) => statements[i]!),
    declaration,
    tryStatement,
  ];
}

/** A statement of a body as the layout rule (instrument/layout.ts) sees it. */
function describeStatement(s: t.Statement, constructorAfterTypeScript: boolean): BodyStatement {
  if (s.type === 'FunctionDeclaration') return s.id ? { kind: 'function', name: s.id.name } : OTHER;
  if (s.type === 'TSDeclareFunction')
    return s.id && !s.declare ? { kind: 'overload', name: s.id.name } : OTHER;
  if (
    s.type === 'ExpressionStatement' &&
    s.expression.type === 'CallExpression' &&
    s.expression.callee.type === 'Super'
  )
    return SUPER_CALL;
  if (constructorAfterTypeScript && isParameterPropertyAssignment(s)) return PARAMETER_PROPERTY;
  return OTHER;
}

const OTHER: BodyStatement = { kind: 'other' };
const SUPER_CALL: BodyStatement = { kind: 'super-call' };
const PARAMETER_PROPERTY: BodyStatement = { kind: 'parameter-property' };

/** `function g() {}` → `var g = function () {};` (why: instrument/layout.ts). */
function functionAsVar(fn: t.FunctionDeclaration): t.VariableDeclaration {
  const expression = { ...fn, type: 'FunctionExpression', id: null } as unknown as t.FunctionExpression;
  const declarator = {
    type: 'VariableDeclarator',
    id: withLoc(b.id(fn.id!.name), fn.id!),
    init: expression,
  } as t.VariableDeclarator;
  return withLoc(
    { type: 'VariableDeclaration', kind: 'var', declarations: [declarator] } as t.VariableDeclaration,
    fn,
  );
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
export function ensureBlockBody(_t: Types, node: FunctionPath['node']): void {
  if (node.body.type === 'BlockStatement') return;
  const expr = node.body;
  node.body = withLoc(b.block([withLoc(b.returnStatement(expr), expr)]), expr);
  (node as t.ArrowFunctionExpression).expression = false;
}

/** `order?.id` from `["order", "id"]`. Never `arguments`: parameters are read by name. */
function entityRead(segments: readonly string[]): t.Expression {
  let expr: t.Expression =
    segments[0] === 'this' ? ({ type: 'ThisExpression' } as t.ThisExpression) : b.id(segments[0]!);
  for (const s of segments.slice(1)) expr = b.optionalMember(expr, s);
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

/** `return v` → `return __smf.x(v)`, `return` → `return __smf.x()` (in place). */
export function wrapReturn(node: t.ReturnStatement): void {
  node.argument = withLoc(
    b.call(b.member(b.id(FRAME_BINDING), ABI.exitWith), node.argument ? [node.argument] : []),
    node.argument ?? node,
  );
}

/** Starts every `catch` and `finally` of the given `try` statements with `__smf.r();`. */
export function resumeInHandlers(t: Types, trys: Iterable<t.TryStatement>): void {
  for (const tryNode of trys) {
    for (const block of [tryNode.handler?.body, tryNode.finalizer]) {
      if (block) block.body.unshift(withLoc(b.expr(frameCall(t, ABI.resume, [])), block));
    }
  }
}

function frameCall(_t: Types, method: string, args: t.Expression[]): t.CallExpression {
  return b.call(b.member(b.id(FRAME_BINDING), method), args);
}

/**
 * Node builders for the frame code, without `@babel/types`' field validation: a frame is about
 * thirty nodes of fixed, known shapes, built for every instrumented function, and the checks cost
 * more than the building (bench `babel`). Same fields as the checked builders of Babel 7 and 8.
 */
const b = {
  id: (name: string): t.Identifier => ({ type: 'Identifier', name }) as t.Identifier,
  str: (value: string): t.StringLiteral => ({ type: 'StringLiteral', value }) as t.StringLiteral,
  num: (value: number): t.NumericLiteral => ({ type: 'NumericLiteral', value }) as t.NumericLiteral,
  nul: (): t.NullLiteral => ({ type: 'NullLiteral' }) as t.NullLiteral,
  void0: (): t.UnaryExpression =>
    ({ type: 'UnaryExpression', operator: 'void', argument: b.num(0), prefix: true }) as t.UnaryExpression,
  member: (object: t.Expression, property: string): t.MemberExpression =>
    ({ type: 'MemberExpression', object, property: b.id(property), computed: false }) as t.MemberExpression,
  optionalMember: (object: t.Expression, property: string): t.OptionalMemberExpression =>
    ({
      type: 'OptionalMemberExpression',
      object,
      property: b.id(property),
      computed: false,
      optional: true,
    }) as t.OptionalMemberExpression,
  call: (callee: t.Expression, args: t.Expression[]): t.CallExpression =>
    ({ type: 'CallExpression', callee, arguments: args }) as t.CallExpression,
  and: (left: t.Expression, right: t.Expression): t.LogicalExpression =>
    ({ type: 'LogicalExpression', operator: '&&', left, right }) as t.LogicalExpression,
  expr: (expression: t.Expression): t.ExpressionStatement =>
    ({ type: 'ExpressionStatement', expression }) as t.ExpressionStatement,
  block: (body: t.Statement[]): t.BlockStatement =>
    ({ type: 'BlockStatement', body, directives: [] }) as unknown as t.BlockStatement,
  constDecl: (name: string, init: t.Expression): t.VariableDeclaration =>
    ({
      type: 'VariableDeclaration',
      kind: 'const',
      declarations: [{ type: 'VariableDeclarator', id: b.id(name), init }],
    }) as t.VariableDeclaration,
  tryStatement: (
    block: t.BlockStatement,
    handler: t.CatchClause,
    finalizer: t.BlockStatement | null,
  ): t.TryStatement => ({ type: 'TryStatement', block, handler, finalizer }) as t.TryStatement,
  catchClause: (param: string, body: t.BlockStatement): t.CatchClause =>
    ({ type: 'CatchClause', param: b.id(param), body }) as t.CatchClause,
  throwStatement: (argument: t.Expression): t.ThrowStatement =>
    ({ type: 'ThrowStatement', argument }) as t.ThrowStatement,
  returnStatement: (argument: t.Expression): t.ReturnStatement =>
    ({ type: 'ReturnStatement', argument }) as t.ReturnStatement,
};

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
