/**
 * The stage catalog of one file (docs/CATALOG.md) from the analysis of an ESTree-shaped AST
 * (oxc's or Babel's, ./ast.ts); the format and the rules are in ../catalog.ts.
 */
import { type ActionShape, FileCatalog } from '../catalog.js';
import type { LineColumn } from '../locations.js';
import type { Analysis } from './analyze.js';
import { apiNameOf, collectApiBindings } from './api.js';
import type { Node, VisitorKeys } from './ast.js';
import { isTransparent, stringValue } from './ast.js';
import { isScopeNode } from './scopes.js';

/** What finding `record()` sites needs besides the analysis. */
export interface CatalogSource {
  readonly program: Node;
  readonly importSource: string;
  readonly visitorKeys: VisitorKeys;
  /** Line and column of an offset; `node` is what starts there (for hosts without the source text). */
  locate(offset: number, node: Node): LineColumn;
}

/** The ESTree view of an action expression, for the shared rule. */
export function describeAction(node: Node): ActionShape<Node> {
  const value = stringValue(node);
  if (value !== undefined) return { type: 'string', value };
  switch (node.type) {
    case 'TemplateLiteral':
      return node.expressions.length === 0 && typeof node.quasis[0]?.value.cooked === 'string'
        ? { type: 'string', value: node.quasis[0].value.cooked }
        : OTHER;
    case 'ConditionalExpression':
      return { type: 'branches', parts: [node.consequent, node.alternate] };
    case 'LogicalExpression':
      return { type: 'branches', parts: [node.left, node.right] };
    default:
      return isTransparent(node) ? { type: 'branches', parts: [node.expression] } : OTHER;
  }
}

const OTHER: ActionShape<Node> = { type: 'other' };
const isSpread = (a: Node): boolean => a.type === 'SpreadElement';

/** The catalog entries of one analysed file. */
export function catalogOf(analysis: Analysis, relativePath: string, source: CatalogSource): FileCatalog {
  const catalog = new FileCatalog(relativePath);
  addRecordSites(catalog, source);
  for (const frame of analysis.frames) {
    const { line, column } = source.locate(frame.start, frame.key ?? frame.fn);
    // methods, accessors and constructors are located at their key, other functions at themselves
    catalog.addFunction(frame.spec.name, frame.key !== undefined, line, column);
  }
  for (const site of analysis.calls) {
    const { line, column } = source.locate(site.call.start, site.call);
    catalog.addCall(site.name, site.abiMethod, site.call.arguments, isSpread, describeAction, line, column);
  }
  return catalog;
}

/** `record()`/`recordEntity()` calls bound to the stepmark import (the analysis does not collect them: they are not rewritten). */
function addRecordSites(catalog: FileCatalog, source: CatalogSource): void {
  const bindings = collectApiBindings(source.program, source.importSource);
  if (bindings.size === 0) return;
  const scopes: Node[] = [];
  const visit = (node: Node): void => {
    if (node.type === 'CallExpression') {
      const api = apiNameOf(node.callee, scopes.slice().reverse(), bindings);
      if (api === 'record' || api === 'recordEntity') {
        const { line, column } = source.locate(node.start, node);
        catalog.addRecord(api, node.arguments as Node[], isSpread, describeAction, line, column);
      }
    }
    const scoped = isScopeNode(node);
    if (scoped) scopes.push(node);
    for (const key of source.visitorKeys[node.type] ?? []) {
      const child = node[key];
      if (Array.isArray(child)) {
        for (const c of child)
          if (c !== null && typeof c === 'object' && typeof c.type === 'string') visit(c);
      } else if (child !== null && typeof child === 'object' && typeof child.type === 'string') {
        visit(child);
      }
    }
    if (scoped) scopes.pop();
  };
  visit(source.program);
}
