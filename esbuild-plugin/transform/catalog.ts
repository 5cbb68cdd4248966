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
import type { Analysis } from './analyze.js';
import type { Node } from './ast.js';

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
export function catalogOf(analysis: Analysis, relativePath: string, lines: LineIndex): FileCatalog {
  const catalog = new FileCatalog(relativePath);
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
