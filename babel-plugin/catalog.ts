/**
 * The stage catalog (docs/CATALOG.md) on Babel's AST: how an action expression reads, where a
 * site is. The format and the rules are in instrument/catalog.ts, shared with the other plugins.
 */
import type { NodePath, types as t } from '@babel/core';
import type { ActionShape, FileCatalog } from '../instrument/catalog.js';
import { parseLocation } from '../runtime/location.js';
import type { CallRewriter } from './calls.js';

function describeAction(node: t.Node): ActionShape<t.Node> {
  switch (node.type) {
    case 'StringLiteral':
      return { type: 'string', value: node.value };
    case 'TemplateLiteral':
      return node.expressions.length === 0 && typeof node.quasis[0]?.value.cooked === 'string'
        ? { type: 'string', value: node.quasis[0].value.cooked }
        : { type: 'other' };
    case 'ConditionalExpression':
      return { type: 'branches', parts: [node.consequent, node.alternate] };
    case 'LogicalExpression':
      return { type: 'branches', parts: [node.left, node.right] };
    case 'ParenthesizedExpression':
    case 'TSAsExpression':
    case 'TSSatisfiesExpression':
    case 'TSNonNullExpression':
    case 'TSTypeAssertion':
      return { type: 'branches', parts: [node.expression] };
    default:
      return { type: 'other' };
  }
}

/** Line and 1-based column of a `path:line:col` location string (as the plugin formatted it). */
export function positionOf(location: string): { line: number; column: number } {
  const at = parseLocation(location);
  return { line: at?.line ?? 0, column: at?.column ?? 0 };
}

/** Methods, accessors and constructors (located at their key). */
export function isMethodSyntax(node: t.Node): boolean {
  return node.type === 'ClassMethod' || node.type === 'ClassPrivateMethod' || node.type === 'ObjectMethod';
}

/**
 * Adds an explicit call to the catalog: `abiMethod` is what it is (or would be) rewritten to,
 * `args` its arguments as the user wrote them, `loc` the call's position.
 */
export function addCallSite(
  catalog: FileCatalog,
  loc: t.SourceLocation | null | undefined,
  abiMethod: string,
  args: readonly t.Node[],
  name: string,
): void {
  if (!loc) return;
  const isSpread = (a: t.Node) => a.type === 'SpreadElement';
  catalog.addCall(name, abiMethod, args, isSpread, describeAction, loc.start.line, loc.start.column + 1);
}

/** A `record()`/`recordEntity()` call bound to the stepmark import (not rewritten, but cataloged by its literal stage). */
export function addRecordSite(
  catalog: FileCatalog,
  path: NodePath<t.CallExpression>,
  rewriter: CallRewriter,
): void {
  const api = rewriter.apiCall(path);
  const loc = path.node.loc;
  if (!api || api.onScope || !loc) return;
  catalog.addRecord(
    api.api,
    path.node.arguments as t.Node[],
    (a) => a.type === 'SpreadElement',
    describeAction,
    loc.start.line,
    loc.start.column + 1,
  );
}
