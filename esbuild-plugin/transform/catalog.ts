/**
 * The stage catalog of one file (docs/CATALOG.md) from the analysis: the oxc side of
 * `instrument/catalog.ts`, which decides the format; here only oxc's node shapes are read.
 */
import {
  type ActionShape,
  callSiteShapeOfAbi,
  FileCatalog,
  literalActions,
} from '../../instrument/catalog.js';
import type { LineIndex } from '../../instrument/locations.js';
import type { Analysis, ApiBinding } from './analyze.js';
import { apiNameOf, collectApiBindings } from './analyze.js';
import type { Node } from './ast.js';
import { isScopeNode } from './scopes.js';

/** What finding `record()` sites needs besides the analysis. */
export interface CatalogSource {
  readonly program: Node;
  readonly importSource: string;
  readonly visitorKeys: Readonly<Record<string, readonly string[]>>;
}

/** oxc's view of an action expression, for {@link literalActions}. */
export function describeAction(node: Node): ActionShape<Node> {
  switch (node.type) {
    case 'Literal':
      return typeof node.value === 'string' ? { type: 'string', value: node.value } : { type: 'other' };
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

/** The catalog entries of one analysed file. */
export function catalogOf(
  analysis: Analysis,
  relativePath: string,
  lines: LineIndex,
  source: CatalogSource,
): FileCatalog {
  const catalog = new FileCatalog(relativePath);
  addRecordSites(catalog, source, lines);
  for (const frame of analysis.frames) {
    const { line, column } = lines.locate(frame.start);
    // methods, accessors and constructors are located at their key, other functions at themselves
    catalog.addFunction(frame.name, frame.start !== frame.fn.start, line, column);
  }
  for (const site of analysis.calls) {
    const shape = callSiteShapeOfAbi(site.abiMethod);
    if (shape === undefined) continue;
    const { line, column } = lines.locate(site.call.start);
    let actions: { actions: string[]; dynamic: boolean } | undefined;
    if (shape.actionIndex !== undefined) {
      const args = site.call.arguments as Node[];
      // a spread before or at the action's position hides which argument it is
      const spread = args.slice(0, shape.actionIndex + 1).some((a) => a.type === 'SpreadElement');
      actions = literalActions(spread ? undefined : args[shape.actionIndex], describeAction);
    }
    catalog.addCall(site.name, shape, line, column, actions);
  }
  return catalog;
}

/** `record()`/`recordEntity()` calls bound to the stepmark import (the analysis does not collect them: they are not rewritten). */
function addRecordSites(catalog: FileCatalog, source: CatalogSource, lines: LineIndex): void {
  const bindings = new Map<string, ApiBinding[]>();
  collectApiBindings(source.program, source.importSource, bindings);
  if (bindings.size === 0) return;
  const scopes: Node[] = [];
  const visit = (node: Node): void => {
    if (node.type === 'CallExpression') {
      const api = apiNameOf(node.callee, scopes.toReversed(), bindings);
      if (api === 'record' || api === 'recordEntity') {
        const { line, column } = lines.locate(node.start);
        catalog.addRecord(
          api,
          node.arguments as Node[],
          (a) => a.type === 'SpreadElement',
          describeAction,
          line,
          column,
        );
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
