/**
 * Strip mode (`strip: true`, docs/STRIP.md) on Babel's AST: applies the plan of
 * instrument/estree/strip.ts (shared with the esbuild plugin), with the replacement shapes of
 * instrument/strip.ts.
 */
import type { types as t } from '@babel/core';
import type { Node } from '../instrument/estree/ast.js';
import type { StripPlan } from '../instrument/estree/strip.js';
import { NOOP_HANDLE_BINDING } from '../instrument/strip.js';
import { replaceInPlace } from './frame.js';

type Types = typeof t;

/** Replaces the planned calls, removes the planned declarations and imports, declares the no-op handle when used. */
export function applyStrip(t: Types, program: t.Program, plan: StripPlan): void {
  for (const r of plan.calls) {
    const kept = r.kept.map((a) =>
      a.type === 'SpreadElement'
        ? t.arrayExpression([a as unknown as t.SpreadElement])
        : (a as unknown as t.Expression),
    );
    let out: t.Expression;
    if (r.handle && !r.statement) {
      const h = t.identifier(NOOP_HANDLE_BINDING);
      out = kept.length === 0 ? h : t.sequenceExpression([...kept, h]);
    } else {
      const value =
        kept.length === 0 ? t.numericLiteral(0) : kept.length === 1 ? kept[0]! : t.sequenceExpression(kept);
      out = t.unaryExpression('void', value);
    }
    replaceInPlace(r.call, out);
  }
  for (const { declaration, parent } of plan.declarations) removeChild(parent, declaration);
  for (const s of plan.imports) removeChild(program as unknown as Node, s);
  // directives live in `program.directives`, so the body's start is after the prologue
  if (plan.needsHandle) program.body.unshift(noopHandle(t));
}

/** Removes a statement from the list holding it (a file, block or `switch` case: `body` or `consequent`). */
function removeChild(parent: Node, child: Node): void {
  const list = (parent.type === 'SwitchCase' ? parent.consequent : parent.body) as Node[];
  const i = list.indexOf(child);
  if (i >= 0) list.splice(i, 1);
}

/** The same no-op exit handle as instrument/strip.ts's text, built with Babel's builders. */
function noopHandle(t: Types): t.Statement {
  const h = () => t.identifier('h');
  const assign = (target: t.LVal) => t.expressionStatement(t.assignmentExpression('=', target as never, h()));
  const dispose = () => t.memberExpression(t.identifier('Symbol'), t.identifier('dispose'));
  const body = t.blockStatement([
    t.variableDeclaration('const', [
      t.variableDeclarator(h(), t.arrowFunctionExpression([], t.blockStatement([]))),
    ]),
    assign(t.memberExpression(h(), t.identifier('exit'))),
    assign(t.memberExpression(h(), t.identifier('fail'))),
    t.ifStatement(
      t.binaryExpression('===', t.unaryExpression('typeof', dispose()), t.stringLiteral('symbol')),
      assign(t.memberExpression(h(), dispose(), true)),
    ),
    t.returnStatement(
      t.callExpression(t.memberExpression(t.identifier('Object'), t.identifier('freeze')), [h()]),
    ),
  ]);
  const iife = t.callExpression(t.arrowFunctionExpression([], body), []);
  return t.variableDeclaration('const', [t.variableDeclarator(t.identifier(NOOP_HANDLE_BINDING), iife)]);
}
