/**
 * Writes what the shared analysis (instrument/estree/analyze.ts) found into Babel's AST, in place:
 * the frame of each instrumented function (docs/ABI.md "Frames"),
 *
 *   const __smf = __stepmark.enter("Name", "path:line:col");   // `, 1` (FRAME_ASYNC) for a plain async function
 *   try { <body, each `return v` as `return __smf.x(v)`> __smf.exit(); } catch (__sme) { throw __smf.t(__sme); }
 *
 * (generators: `catch (__sme) { __smf.fail(__sme); throw __sme; } finally { __smf.exit(); }`), the
 * suspension wrappers around its `await` / `yield`, and the rewritten explicit calls. Every
 * edit keeps the identity of the node it changes, so it also works on a tree other plugins of the
 * pass have transformed since the analysis. Inserted nodes get the location of the body's braces
 * so that, with `retainLines`, they stay on the lines of the `{` and `}` and every user statement
 * keeps its line even when source maps are not chained.
 */
import type { types as t } from '@babel/core';
import { ABI, CAUGHT_BINDING, FRAME_BINDING, RUNTIME_BINDING } from '../instrument/constants.js';
import type { CallSite } from '../instrument/estree/analyze.js';
import type { Node } from '../instrument/estree/ast.js';
import { planStatements } from '../instrument/estree/layout.js';
import { type EnterArgument, enterCall, type FrameSpec } from '../instrument/sites.js';

/** Functions with a body, as Babel has them. */
type FunctionNode =
  | t.FunctionDeclaration
  | t.FunctionExpression
  | t.ArrowFunctionExpression
  | t.ObjectMethod
  | t.ClassMethod
  | t.ClassPrivateMethod;

/**
 * Rewrites a function's body into the frame shape. `derived`: the function is a derived-class
 * constructor (the frame opens after its top-level `super()`). `afterTypeScript`: written at the
 * end of a pass that compiled TypeScript, whose parameter properties (`this.x = x;` right after
 * `super()`, or first) stay before the frame, where they are when TypeScript runs later.
 */
export function emitFrame(
  fn: Node,
  spec: FrameSpec,
  location: string | undefined,
  derived: boolean,
  afterTypeScript: boolean,
): void {
  const node = fn as unknown as FunctionNode;
  const byReturns = spec.ending === 'returns';
  if (node.body.type !== 'BlockStatement') {
    ensureBlockBody(node);
    if (byReturns) wrapReturn((node.body as unknown as t.BlockStatement).body[0] as unknown as Node);
  }
  const body = node.body as t.BlockStatement;
  const statements = body.body;
  const plan = planStatements(
    statements as unknown as Node[],
    derived,
    afterTypeScript && node.type === 'ClassMethod' && node.kind === 'constructor',
  );
  const placed = new Set([...plan.functionLevel, ...plan.asVar, ...plan.removed]);
  const wrapped: t.Statement[] = plan.asVar.map((i) => functionAsVar(statements[i] as t.FunctionDeclaration));
  for (let i = plan.frameAt; i < statements.length; i++) {
    if (!placed.has(i)) wrapped.push(statements[i]!);
  }

  const open = frameAt(body, 'start');
  const close = frameAt(body, 'end');
  const { method, args } = enterCall(spec, location);
  const declaration = withLoc(b.constDecl(FRAME_BINDING, b.call(runtime(method), args.map(argument))), open);
  // `return`s close the span (wrapped with the other edits) and so does the end of the block;
  // generators close it in `finally`.
  if (byReturns) wrapped.push(withLoc(b.expr(frameCall(ABI.exit, [])), close));
  const handler = byReturns
    ? b.block([b.throwStatement(frameCall(ABI.failWith, [b.id(CAUGHT_BINDING)]))])
    : b.block([b.expr(frameCall(ABI.fail, [b.id(CAUGHT_BINDING)])), b.throwStatement(b.id(CAUGHT_BINDING))]);
  const tryStatement = withLoc(
    b.tryStatement(
      withLoc(b.block(wrapped), open),
      withLoc(b.catchClause(CAUGHT_BINDING, handler), close),
      byReturns ? null : withLoc(b.block([b.expr(frameCall(ABI.exit, []))]), close),
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

const runtime = (method: string) => b.member(b.id(RUNTIME_BINDING), method);

function argument(a: EnterArgument): t.Expression {
  switch (a.type) {
    case 'string':
      return b.str(a.value);
    case 'number':
      return b.num(a.value);
    case 'undefined':
      return b.void0();
    case 'null':
      return { type: 'NullLiteral' } as t.NullLiteral;
    case 'entity':
      return b.and(b.call(runtime(ABI.on), []), entityRead(a.entity.segments));
  }
}

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

/** Expression-bodied arrow: `x => e` becomes `x => { return e; }` (the frame goes around the return). */
function ensureBlockBody(node: FunctionNode): void {
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
 * Wraps one `await` / `yield` of an instrumented function in place: `await e` →
 * `__smf.r(await __smf.s(e))`, `yield` → `__smf.r(yield __smf.s())`. The node itself becomes the
 * `r()` call, wherever it sits by now. `for await` loops are not `AwaitExpression`s: left alone.
 */
export function wrapSuspension(node: Node): void {
  const n = node as unknown as t.AwaitExpression | t.YieldExpression;
  const inner = {
    ...n,
    argument: frameCall(ABI.suspend, n.argument ? [n.argument] : []),
    extra: undefined,
    leadingComments: null,
    trailingComments: null,
    innerComments: null,
  };
  replaceInPlace(node, frameCall(ABI.resume, [inner]));
}

/** `return v` → `return __smf.x(v)`, `return` → `return __smf.x()`, in place. */
export function wrapReturn(node: Node): void {
  const n = node as unknown as t.ReturnStatement;
  n.argument = withLoc(frameCall(ABI.exitWith, n.argument ? [n.argument] : []), n.argument ?? n);
}

/** Starts every `catch` and `finally` of the given `try` statements with `__smf.r();` (a suspension that throws never reaches its `r()`). */
export function resumeInHandlers(trys: Iterable<Node>): void {
  for (const tryNode of trys as Iterable<t.TryStatement>) {
    for (const block of [tryNode.handler?.body, tryNode.finalizer]) {
      if (block) block.body.unshift(withLoc(b.expr(frameCall(ABI.resume, [])), block));
    }
  }
}

/** An explicit call with the enclosing function's name: `step(a)` → `__stepmark.step("Name", a)`. */
export function rewriteCall(site: CallSite): void {
  const call = site.call as unknown as t.CallExpression;
  const name = b.str(site.name);
  call.callee = runtime(site.abiMethod);
  call.arguments = site.scopeObject
    ? [b.id(site.scopeObject.name), name, ...call.arguments]
    : [name, ...call.arguments];
}

/**
 * Turns `node` into `replacement`, keeping the object (and its location and comments): it stays
 * wherever other plugins have moved it since it was found.
 */
export function replaceInPlace(node: Node, replacement: t.Node): void {
  const n = node as unknown as Record<string, unknown>;
  for (const key of Object.keys(n)) {
    if (!KEPT_FIELDS.has(key)) delete n[key];
  }
  Object.assign(n, replacement);
}

const KEPT_FIELDS = new Set([
  'start',
  'end',
  'loc',
  'range',
  'leadingComments',
  'trailingComments',
  'innerComments',
]);

function frameCall(method: string, args: t.Expression[]): t.CallExpression {
  return b.call(b.member(b.id(FRAME_BINDING), method), args);
}

/**
 * Node builders for the emitted code, without `@babel/types`' field validation: a frame is about
 * thirty nodes of fixed, known shapes, built for every instrumented function, and the checks cost
 * more than the building (bench `babel`). Same fields as the checked builders of Babel 7 and 8.
 */
export const b = {
  id: (name: string): t.Identifier => ({ type: 'Identifier', name }) as t.Identifier,
  str: (value: string): t.StringLiteral => ({ type: 'StringLiteral', value }) as t.StringLiteral,
  num: (value: number): t.NumericLiteral => ({ type: 'NumericLiteral', value }) as t.NumericLiteral,
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
