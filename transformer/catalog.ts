/**
 * The stage catalog (docs/CATALOG.md) on TypeScript's AST: which node kinds count as method
 * syntax, and how an action expression reads. The format and the rules are in
 * instrument/catalog.ts, shared with the other plugins.
 */
import type * as TS from 'typescript';
import type { ActionShape, FileCatalog } from '../instrument/catalog.js';
import type { StepmarkBindings } from './bindings.js';
import { isTransparent } from './naming.js';

/** Methods, accessors and constructors (located at their key): `method`/`getter`/`setter`/`constructor` sites. */
export function isMethodSyntax(ts: typeof TS, node: TS.Node): boolean {
  return (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isConstructorDeclaration(node)
  );
}

function describeAction(ts: typeof TS): (node: TS.Expression) => ActionShape<TS.Expression> {
  return (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
      return { type: 'string', value: node.text };
    if (ts.isConditionalExpression(node)) return { type: 'branches', parts: [node.whenTrue, node.whenFalse] };
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      if (
        op === ts.SyntaxKind.BarBarToken ||
        op === ts.SyntaxKind.QuestionQuestionToken ||
        op === ts.SyntaxKind.AmpersandAmpersandToken
      ) {
        return { type: 'branches', parts: [node.left, node.right] };
      }
      return { type: 'other' };
    }
    return isTransparent(ts, node) ? { type: 'branches', parts: [node.expression] } : { type: 'other' };
  };
}

/** Adds a rewritten explicit call (`abiMethod` is what it was rewritten to) to the file's catalog. */
export function addCallSite(
  ts: typeof TS,
  catalog: FileCatalog,
  sourceFile: TS.SourceFile,
  call: TS.CallExpression,
  abiMethod: string,
  name: string,
): void {
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(call.getStart(sourceFile));
  const isSpread = (a: TS.Expression) => ts.isSpreadElement(a);
  catalog.addCall(name, abiMethod, call.arguments, isSpread, describeAction(ts), line + 1, character + 1);
}

/** A `record()`/`recordEntity()` call bound to the stepmark import (not rewritten, but cataloged by its literal stage). */
export function addRecordSite(
  ts: typeof TS,
  catalog: FileCatalog,
  sourceFile: TS.SourceFile,
  call: TS.CallExpression,
  bindings: StepmarkBindings,
): void {
  const api = bindings.calledApi(call);
  if (api !== 'record' && api !== 'recordEntity') return;
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(call.getStart(sourceFile));
  catalog.addRecord(
    api,
    call.arguments,
    (a) => ts.isSpreadElement(a),
    describeAction(ts),
    line + 1,
    character + 1,
  );
}
