/**
 * Strip mode (`strip: true`, docs/STRIP.md) on an ESTree-shaped AST (oxc's or Babel's, ./ast.ts):
 * which calls go, what of them stays, and which declarations and imports go with them. The rules
 * (what counts as free of side effects, which calls are removed, what replaces them) are in
 * ../strip.ts; the esbuild plugin applies the plan as text edits, the Babel plugin to its AST.
 */
import { SCOPE_FACTORY } from '../constants.js';
import {
  type ExpressionShape,
  isPure,
  returnsHandle,
  type ScopeDeclaration,
  STRIPPED_RECORDING_CALLS,
  unusedDeclarations,
} from '../strip.js';
import type { Analysis } from './analyze.js';
import { apiNameOf, collectApiBindings } from './api.js';
import type { Node, VisitorKeys } from './ast.js';
import { isTransparent, stringValue, unwrap } from './ast.js';
import { isScopeNode } from './scopes.js';

/** The ESTree view of an expression for the shared purity rule. */
export function expressionShape(node: Node): ExpressionShape<Node> {
  switch (node.type) {
    case 'Literal':
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
      return PURE;
    case 'TemplateLiteral':
      return node.expressions.length === 0 ? PURE : EFFECTS;
    case 'ConditionalExpression':
      return { type: 'parts', parts: [node.test, node.consequent, node.alternate] };
    case 'LogicalExpression':
      return { type: 'parts', parts: [node.left, node.right] };
    case 'UnaryExpression':
      return node.operator === '!' || node.operator === 'void' || node.operator === 'typeof'
        ? { type: 'parts', parts: [node.argument] }
        : EFFECTS;
    case 'ArrayExpression':
      return (node.elements as (Node | null)[]).some((e) => e?.type === 'SpreadElement')
        ? EFFECTS
        : { type: 'parts', parts: (node.elements as (Node | null)[]).filter((e): e is Node => e !== null) };
    case 'ObjectExpression': {
      const parts: Node[] = [];
      for (const p of node.properties as Node[]) {
        // methods, getters and setters define functions: pure like function expressions
        if (p.type === 'ObjectMethod' && !p.computed) continue;
        if ((p.type !== 'Property' && p.type !== 'ObjectProperty') || p.computed) return EFFECTS;
        parts.push(p.value);
      }
      return { type: 'parts', parts };
    }
    default:
      return isTransparent(node) ? { type: 'parts', parts: [node.expression] } : EFFECTS;
  }
}

const PURE: ExpressionShape<Node> = { type: 'pure' };
const EFFECTS: ExpressionShape<Node> = { type: 'effects' };

/** A call strip mode removes. */
export interface StrippedCall {
  readonly call: Node;
  /** The call is a whole expression statement. */
  readonly statement: boolean;
  /** The arguments that may have side effects, evaluated in their place (in order). */
  readonly kept: readonly Node[];
  /** Its value is an exit handle (`enter` forms): where used, it becomes the no-op handle. */
  readonly handle: boolean;
}

/** What strip mode does to one file. */
export interface StripPlan {
  /** Calls to replace, outermost first (what stays of a call is planned like any code). */
  readonly calls: readonly StrippedCall[];
  /** `const s = scope(kind)` statements whose `s` only removed calls used, with the node holding each. */
  readonly declarations: readonly { readonly declaration: Node; readonly parent: Node }[];
  /** Top-level statements that only bind the stepmark import, when none of its bindings is used any more. */
  readonly imports: readonly Node[];
  /** Whether a removed call's value was used as an exit handle (the file then declares the no-op handle). */
  readonly needsHandle: boolean;
  /** Names bound to the stepmark import that are still used (the import then stays). */
  readonly stillUsed: readonly string[];
}

/**
 * Plans strip mode for a parsed file: `analysis.calls` (the explicit calls bound to the stepmark
 * import) plus `record`/`recordEntity`/`track` calls are removed, unused `const s = scope(kind)`
 * declarations and then the unused stepmark import go.
 */
export function planStrip(
  program: Node,
  analysis: Analysis,
  importSource: string,
  visitorKeys: VisitorKeys,
): StripPlan {
  const bindings = collectApiBindings(program, importSource);
  /** Calls to remove → whether their value is an exit handle. */
  const removals = new Map<Node, boolean>();
  for (const c of analysis.calls) removals.set(c.call, returnsHandle(c.abiMethod));
  const bindingDecls = new Set<Node>();
  for (const list of bindings.values()) for (const b of list) bindingDecls.add(b.decl);

  /** Identifier references by name, outside removed code. */
  const refs = new Map<string, Node[]>();
  const scopeDecls: ScopeDeclaration<{ declaration: Node; parent: Node }>[] = [];
  const removed: StrippedCall[] = [];
  const scopes: Node[] = [];
  const ancestors: Node[] = [];

  const addRef = (id: Node): void => {
    const list = refs.get(id.name);
    if (list) list.push(id);
    else refs.set(id.name, [id]);
  };

  const visit = (node: Node): void => {
    if (node.type === 'ImportDeclaration') return;
    if (node.type === 'Identifier') {
      addRef(node);
      return;
    }
    if (node.type === 'CallExpression' && bindings.size > 0) {
      let handle = removals.get(node);
      if (handle === undefined) {
        const api = apiNameOf(node.callee, scopes.slice().reverse(), bindings);
        if (api !== undefined && STRIPPED_RECORDING_CALLS.has(api)) handle = false;
      }
      if (handle !== undefined) {
        const parent = ancestors[ancestors.length - 1];
        const args = node.arguments as Node[];
        const kept = args.filter((a) => a.type === 'SpreadElement' || !isPure(a, expressionShape));
        removed.push({
          call: node,
          statement: parent?.type === 'ExpressionStatement' && parent.expression === node,
          kept,
          handle,
        });
        // what stays of the call (arguments with side effects) is walked like any code: calls in
        // it are stripped too (their edits fall inside the kept ranges, never on the gaps around them)
        ancestors.push(node);
        for (const a of kept) visit(a);
        ancestors.pop();
        return;
      }
    }
    if (node.type === 'VariableDeclaration') {
      const parent = ancestors[ancestors.length - 1]!;
      const d = node.declarations as Node[];
      for (const declarator of d) {
        const init = unwrap(declarator.init);
        if (
          declarator.id.type === 'Identifier' &&
          init?.type === 'CallExpression' &&
          apiNameOf(init.callee, scopes.slice().reverse(), bindings) === SCOPE_FACTORY
        ) {
          scopeDecls.push({
            name: declarator.id.name,
            declaration: { declaration: node, parent },
            removable:
              d.length === 1 &&
              STATEMENT_LISTS.has(parent.type) &&
              (init.arguments as Node[]).every(
                (a) => a.type !== 'SpreadElement' && isPure(a, expressionShape),
              ),
          });
        }
      }
    }
    const scoped = isScopeNode(node);
    if (scoped) scopes.push(node);
    ancestors.push(node);
    for (const key of visitorKeys[node.type] ?? []) {
      const child = node[key];
      if (child === null || child === undefined) continue;
      if (skipChild(node, key, child, bindingDecls)) continue;
      if (Array.isArray(child)) {
        for (const c of child)
          if (c !== null && typeof c === 'object' && typeof c.type === 'string') visit(c);
      } else if (typeof child.type === 'string') {
        visit(child);
      }
    }
    ancestors.pop();
    if (scoped) scopes.pop();
  };
  visit(program);

  // Identifiers in removed calls were not walked (only the arguments kept): `refs` holds the uses left.
  const { declarations, stillUsed } = unusedDeclarations(
    scopeDecls,
    bindings.keys(),
    (name) => refs.get(name) ?? NO_REFS,
    (id, { declaration: d }) => id.start >= d.start && id.end <= d.end,
  );
  const imports =
    stillUsed.length === 0
      ? (program.body as Node[]).filter((s) => isStepmarkImport(s, importSource, bindingDecls))
      : [];
  return {
    calls: removed,
    declarations,
    imports,
    needsHandle: removed.some((r) => r.handle && !r.statement),
    stillUsed,
  };
}

/** Children that are not references: import bindings, non-computed keys and member names. */
function skipChild(node: Node, key: string, child: Node, bindingDecls: Set<Node>): boolean {
  switch (node.type) {
    case 'MemberExpression':
    case 'OptionalMemberExpression':
      return key === 'property' && !node.computed;
    case 'Property':
    case 'ObjectProperty':
    case 'ObjectMethod':
    case 'MethodDefinition':
    case 'ClassMethod':
    case 'ClassPrivateMethod':
    case 'PropertyDefinition':
    case 'AccessorProperty':
    case 'ClassProperty':
    case 'ClassPrivateProperty':
    case 'ClassAccessorProperty':
      return key === 'key' && !node.computed && !node.shorthand;
    case 'VariableDeclarator':
      // `const { step } = require("stepmark")`, `const sm = require(...)`: the bindings themselves
      return key === 'id' && (bindingDecls.has(node) || child.type === 'Identifier');
    case 'TSImportEqualsDeclaration':
      return key === 'id';
    default:
      return false;
  }
}

const NO_REFS: readonly Node[] = [];

/** Nodes holding a list of statements, where a declaration can go without leaving a hole (not `export`, a loop head or a lone `if` body). */
const STATEMENT_LISTS: ReadonlySet<string> = new Set([
  'Program',
  'BlockStatement',
  'StaticBlock',
  'SwitchCase',
  'TSModuleBlock',
]);

/** A top-level statement that only binds the stepmark import (ESM import, `require`, TS `import =`). */
function isStepmarkImport(s: Node, importSource: string, bindingDecls: Set<Node>): boolean {
  if (s.type === 'ImportDeclaration')
    return s.importKind !== 'type' && stringValue(s.source) === importSource;
  if (s.type === 'TSImportEqualsDeclaration') return bindingDecls.has(s);
  if (s.type === 'VariableDeclaration') return (s.declarations as Node[]).every((d) => bindingDecls.has(d));
  return false;
}
