/**
 * Strip mode (`strip: true`, docs/STRIP.md) on Babel's AST: the rules and replacement shapes of
 * instrument/strip.ts (shared with the other plugins); Babel's scope tracker tells which
 * bindings are still referenced once the calls are gone.
 */
import type { NodePath, types as t } from '@babel/core';
import { REWRITTEN_CALLS, REWRITTEN_SCOPE_METHODS, SCOPE_FACTORY } from '../instrument/constants.js';
import {
  type ExpressionShape,
  isPure,
  NOOP_HANDLE_BINDING,
  returnsHandle,
  STRIPPED_RECORDING_CALLS,
} from '../instrument/strip.js';
import type { CallRewriter } from './calls.js';

type Types = typeof t;

/** Babel's view of an expression for the shared purity rule. */
function shapeOf(node: t.Node): ExpressionShape<t.Node> {
  switch (node.type) {
    case 'StringLiteral':
    case 'NumericLiteral':
    case 'BigIntLiteral':
    case 'BooleanLiteral':
    case 'NullLiteral':
    case 'RegExpLiteral':
    case 'Identifier':
    case 'ThisExpression':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
      return { type: 'pure' };
    case 'TemplateLiteral':
      return node.expressions.length === 0 ? { type: 'pure' } : { type: 'effects' };
    case 'ParenthesizedExpression':
    case 'TSAsExpression':
    case 'TSSatisfiesExpression':
    case 'TSNonNullExpression':
    case 'TSTypeAssertion':
      return { type: 'parts', parts: [node.expression] };
    case 'ConditionalExpression':
      return { type: 'parts', parts: [node.test, node.consequent, node.alternate] };
    case 'LogicalExpression':
      return { type: 'parts', parts: [node.left, node.right] };
    case 'UnaryExpression':
      return node.operator === '!' || node.operator === 'void' || node.operator === 'typeof'
        ? { type: 'parts', parts: [node.argument] }
        : { type: 'effects' };
    case 'ArrayExpression':
      return node.elements.some((e) => e?.type === 'SpreadElement')
        ? { type: 'effects' }
        : { type: 'parts', parts: node.elements.filter((e): e is t.Expression => e !== null) };
    case 'ObjectExpression': {
      const parts: t.Node[] = [];
      for (const p of node.properties) {
        if (p.type === 'ObjectMethod' && !p.computed) continue;
        if (p.type !== 'ObjectProperty' || p.computed) return { type: 'effects' };
        parts.push(p.value);
      }
      return { type: 'parts', parts };
    }
    default:
      return { type: 'effects' };
  }
}

export class BabelStripper {
  removed = 0;
  private needsHandle = false;

  constructor(
    private readonly t: Types,
    private readonly rewriter: CallRewriter,
  ) {}

  /**
   * The ABI method a call would be rewritten to (for the catalog), or undefined. Removes the call
   * when it is a stepmark call strip mode removes.
   */
  call(path: NodePath<t.CallExpression>): { abiMethod: string | undefined; args: t.Node[] } | undefined {
    const api = this.rewriter.apiCall(path);
    if (api === undefined) return undefined;
    const abiMethod = api.onScope
      ? (REWRITTEN_SCOPE_METHODS as Record<string, string>)[api.api]
      : (REWRITTEN_CALLS as Record<string, string>)[api.api];
    if (abiMethod === undefined && (api.onScope || !STRIPPED_RECORDING_CALLS.has(api.api))) return undefined;
    const t = this.t;
    const args = path.node.arguments as t.Node[];
    const kept = args
      .filter((a) => a.type === 'SpreadElement' || !isPure(a, shapeOf))
      .map((a) => (a.type === 'SpreadElement' ? t.arrayExpression([a]) : (a as t.Expression)));
    const statement = path.parentPath.isExpressionStatement();
    let out: t.Expression;
    if (abiMethod !== undefined && returnsHandle(abiMethod) && !statement) {
      this.needsHandle = true;
      const h = t.identifier(NOOP_HANDLE_BINDING);
      out = kept.length === 0 ? h : t.sequenceExpression([...kept, h]);
    } else {
      const value =
        kept.length === 0 ? t.numericLiteral(0) : kept.length === 1 ? kept[0]! : t.sequenceExpression(kept);
      out = t.unaryExpression('void', value);
    }
    this.removed++;
    path.replaceWith(out);
    return { abiMethod, args };
  }

  /**
   * After the traversal: removes `const s = scope(kind)` whose `s` is no longer used, then the
   * stepmark imports / requires none of whose bindings is used, and declares the no-op handle.
   */
  finish(program: NodePath<t.Program>): void {
    program.scope.crawl();
    const scopeDecls: NodePath<t.VariableDeclarator>[] = [];
    const importDecls: NodePath<t.ImportDeclaration>[] = [];
    const requireDecls: NodePath<t.VariableDeclarator>[] = [];
    for (const s of program.get('body')) {
      if (s.isImportDeclaration()) {
        if (s.node.importKind !== 'type' && this.rewriter.isSource(s.node.source.value)) importDecls.push(s);
      } else if (s.isVariableDeclaration()) {
        for (const d of s.get('declarations')) {
          const init = d.get('init');
          if (this.rewriter.isRequireDeclarator(d)) requireDecls.push(d);
          else if (
            d.node.id.type === 'Identifier' &&
            init.isCallExpression() &&
            this.rewriter.apiCall(init)?.api === SCOPE_FACTORY &&
            init.node.arguments.every((a) => a.type !== 'SpreadElement' && isPure(a, shapeOf)) &&
            !s.parentPath.isExportNamedDeclaration()
          ) {
            scopeDecls.push(d);
          }
        }
      }
    }
    let removedScope = false;
    for (const d of scopeDecls) {
      const binding = d.scope.getBinding((d.node.id as t.Identifier).name);
      if (binding && !binding.referenced) {
        d.remove();
        removedScope = true;
      }
    }
    if (removedScope) program.scope.crawl();
    const unused = (names: string[]) => names.every((n) => !program.scope.getBinding(n)?.referenced);
    const used = [
      ...importDecls.flatMap((d) => d.node.specifiers.map((s) => s.local.name)),
      ...requireDecls.flatMap((d) => Object.keys(this.t.getBindingIdentifiers(d.node.id))),
    ];
    if (unused(used)) {
      for (const d of importDecls) d.remove();
      for (const d of requireDecls) d.remove();
    }
    if (this.needsHandle) {
      // directives live in `program.node.directives`, so the body's start is after the prologue
      program.node.body.unshift(noopHandle(this.t));
    }
  }
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
