/**
 * Builds the code of docs/ABI.md with TypeScript's node factory: the runtime import, the frame
 * around a body, the suspension wrappers; what they say comes from the shared core.
 */
import type * as TS from 'typescript';
import {
  ABI,
  ABI_CHECK_FUNCTION,
  ABI_EXPORT,
  ABI_VERSION,
  CAUGHT_BINDING as CAUGHT,
  FRAME_BINDING as FRAME,
  RUNTIME_BINDING as RUNTIME,
} from '../instrument/constants.js';
import { type EnterArgument, enterCall, type FrameSpec } from '../instrument/sites.js';

/** Everything the builders need from the host compiler: its factory, and `ts` for its helpers. */
export interface Emit {
  readonly ts: typeof TS;
  readonly factory: TS.NodeFactory;
}

export const call = (e: Emit, target: string, method: string, args: readonly TS.Expression[]) =>
  e.factory.createCallExpression(
    e.factory.createPropertyAccessExpression(e.factory.createIdentifier(target), method),
    undefined,
    args,
  );

/**
 * `import { v1 as __stepmark } from "<source>/runtime"` or, for CommonJS output,
 * `const __stepmark = require("<source>/runtime").abi(1)`.
 */
export function runtimeImport(e: Emit, runtimeSource: string, commonJs: boolean): TS.Statement {
  const f = e.factory;
  if (!commonJs) {
    return f.createImportDeclaration(
      undefined,
      f.createImportClause(
        false,
        undefined,
        f.createNamedImports([
          f.createImportSpecifier(false, f.createIdentifier(ABI_EXPORT), f.createIdentifier(RUNTIME)),
        ]),
      ),
      f.createStringLiteral(runtimeSource),
    );
  }
  const required = f.createCallExpression(f.createIdentifier('require'), undefined, [
    f.createStringLiteral(runtimeSource),
  ]);
  const abi = f.createCallExpression(
    f.createPropertyAccessExpression(required, ABI_CHECK_FUNCTION),
    undefined,
    [f.createNumericLiteral(ABI_VERSION)],
  );
  return f.createVariableStatement(
    undefined,
    f.createVariableDeclarationList(
      [f.createVariableDeclaration(RUNTIME, undefined, undefined, abi)],
      e.ts.NodeFlags.Const,
    ),
  );
}

/**
 * The call that opens a frame (instrument/sites.ts): `__stepmark.enter("N", "loc")` or
 * `__stepmark.enterEntity("N", "loc", kind, __stepmark.on() && p?.a)`, with a last argument `1`
 * (FRAME_ASYNC) for a plain async function.
 */
export function enterCallExpression(e: Emit, spec: FrameSpec, location: string | undefined): TS.Expression {
  const { method, args } = enterCall(spec, location);
  return call(
    e,
    RUNTIME,
    method,
    args.map((a) => argument(e, a)),
  );
}

function argument(e: Emit, a: EnterArgument): TS.Expression {
  const f = e.factory;
  switch (a.type) {
    case 'string':
      return f.createStringLiteral(a.value);
    case 'number':
      return f.createNumericLiteral(a.value);
    case 'undefined':
      return f.createVoidZero();
    case 'null':
      return f.createNull();
    case 'entity': {
      const [root, ...rest] = a.entity.segments;
      let read: TS.Expression = root === 'this' ? f.createThis() : f.createIdentifier(root!);
      for (const segment of rest) {
        read = f.createPropertyAccessChain(read, f.createToken(e.ts.SyntaxKind.QuestionDotToken), segment);
      }
      return f.createLogicalAnd(call(e, RUNTIME, ABI.on, []), read);
    }
  }
}

/**
 * The frame around `statements` (a function body without its prologue, its `return`s wrapped):
 * `const __smf = <enter>; try { statements __smf.exit(); } catch (__sme) { throw __smf.t(__sme); }`,
 * or for generators `… catch (__sme) { __smf.fail(__sme); throw __sme; } finally { __smf.exit(); }`.
 * `at` is where the frame's own code maps to in the source map (the function's start), so a
 * breakpoint on the function's first line stops on `enter`.
 */
export function frameStatements(
  e: Emit,
  spec: FrameSpec,
  location: string | undefined,
  statements: readonly TS.Statement[],
  at: TS.SourceMapRange,
): TS.Statement[] {
  const f = e.factory;
  const declare = f.createVariableStatement(
    undefined,
    f.createVariableDeclarationList(
      [f.createVariableDeclaration(FRAME, undefined, undefined, enterCallExpression(e, spec, location))],
      e.ts.NodeFlags.Const,
    ),
  );
  e.ts.setSourceMapRange(declare, at);
  // The frame's own blocks print on one line each (the body keeps its lines): half the lines of
  // output, which TypeScript then writes and maps for every instrumented function.
  const oneLine = <T extends TS.Node>(node: T): T => e.ts.setEmitFlags(node, e.ts.EmitFlags.SingleLine);
  const caught = f.createIdentifier(CAUGHT);
  // docs/ABI.md "Frames": `return`s close the span (wrapped by the caller) and so does the end of
  // the block; generators close it in `finally`.
  const guarded =
    spec.ending === 'returns'
      ? f.createTryStatement(
          f.createBlock([...statements, f.createExpressionStatement(call(e, FRAME, ABI.exit, []))], true),
          f.createCatchClause(
            CAUGHT,
            oneLine(f.createBlock([f.createThrowStatement(call(e, FRAME, ABI.failWith, [caught]))])),
          ),
          undefined,
        )
      : f.createTryStatement(
          f.createBlock(statements, true),
          f.createCatchClause(
            CAUGHT,
            oneLine(
              f.createBlock([
                f.createExpressionStatement(call(e, FRAME, ABI.fail, [caught])),
                f.createThrowStatement(caught),
              ]),
            ),
          ),
          oneLine(f.createBlock([f.createExpressionStatement(call(e, FRAME, ABI.exit, []))])),
        );
  return [declare, guarded];
}

/** `await e` → `__smf.r(await __smf.s(e))`, `yield e` → `__smf.r(yield __smf.s(e))` (also `yield*`, bare `yield`). */
export function wrapSuspension(e: Emit, node: TS.AwaitExpression | TS.YieldExpression): TS.Expression {
  const f = e.factory;
  const operand = node.expression ? [node.expression] : [];
  const suspended = call(e, FRAME, ABI.suspend, operand);
  const inner = e.ts.isAwaitExpression(node)
    ? f.updateAwaitExpression(node, suspended)
    : f.updateYieldExpression(node, node.asteriskToken, suspended);
  const resumed = call(e, FRAME, ABI.resume, [inner]);
  e.ts.setSourceMapRange(resumed, node);
  return resumed;
}

/** `return v` → `return __smf.x(v)`, `return` → `return __smf.x()`. */
export function wrapReturn(e: Emit, node: TS.ReturnStatement): TS.Statement {
  const value = call(e, FRAME, ABI.exitWith, node.expression ? [node.expression] : []);
  if (node.expression) e.ts.setSourceMapRange(value, node.expression);
  return e.factory.updateReturnStatement(node, value);
}

/** True when `statement` is the idempotence marker `const __smf = __stepmark.…`. */
export function isFrameMarker(ts: typeof TS, statement: TS.Statement | undefined): boolean {
  if (!statement || !ts.isVariableStatement(statement)) return false;
  const [decl] = statement.declarationList.declarations;
  if (!decl || !ts.isIdentifier(decl.name) || decl.name.text !== FRAME) return false;
  const init = decl.initializer;
  return (
    !!init &&
    ts.isCallExpression(init) &&
    ts.isPropertyAccessExpression(init.expression) &&
    ts.isIdentifier(init.expression.expression) &&
    init.expression.expression.text === RUNTIME
  );
}
