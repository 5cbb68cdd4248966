/**
 * Strip mode (`strip: true`, docs/STRIP.md) on oxc's AST: no frames, explicit calls removed,
 * arguments with side effects kept, the stepmark import dropped when nothing uses it any more.
 * Which expressions count as free of side effects and what replaces each call is decided in
 * `instrument/strip.ts`; here only oxc's node shapes are read and magic-string edits made.
 */
import type MagicString from 'magic-string';
import { SCOPE_FACTORY } from '../../instrument/constants.js';
import {
  type ExpressionShape,
  isPure,
  NOOP_HANDLE_BINDING,
  noopHandleDeclaration,
  returnsHandle,
  STRIPPED_RECORDING_CALLS,
  strippedCall,
} from '../../instrument/strip.js';
import type { Analysis, ApiBinding } from './analyze.js';
import { apiNameOf, collectApiBindings, unwrap } from './analyze.js';
import type { Node } from './ast.js';
import { isScopeNode } from './scopes.js';

/** What the strip pass did (for `debug`). */
export interface StripResult {
  /** Explicit calls removed. */
  readonly removed: number;
  /** The stepmark import/require was removed. */
  readonly importDropped: boolean;
  /** Names bound to the stepmark import that are still used (the import then stays). */
  readonly stillUsed: readonly string[];
}

/** oxc's view of an expression for the shared purity rule. */
function shapeOf(node: Node): ExpressionShape<Node> {
  switch (node.type) {
    case 'Literal':
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
      return (node.elements as (Node | null)[]).some((e) => e?.type === 'SpreadElement')
        ? { type: 'effects' }
        : { type: 'parts', parts: (node.elements as (Node | null)[]).filter((e): e is Node => e !== null) };
    case 'ObjectExpression': {
      const parts: Node[] = [];
      for (const p of node.properties as Node[]) {
        // methods, getters and setters define functions: pure like function expressions
        if (p.type !== 'Property' || p.computed) return { type: 'effects' };
        parts.push(p.value);
      }
      return { type: 'parts', parts };
    }
    default:
      return { type: 'effects' };
  }
}

/**
 * Applies strip mode to a parsed file: `analysis.calls` (the explicit calls the analysis found
 * bound to the stepmark import) plus `record`/`recordEntity`/`track` calls are replaced, unused
 * `const s = scope(kind)` declarations and then the unused stepmark import are removed.
 */
export function emitStrip(
  ms: MagicString,
  program: Node,
  analysis: Analysis,
  importSource: string,
  visitorKeys: Readonly<Record<string, readonly string[]>>,
): StripResult {
  const bindings = new Map<string, ApiBinding[]>();
  collectApiBindings(program, importSource, bindings);
  /** Calls to remove → whether their value is an exit handle. */
  const removals = new Map<Node, boolean>();
  for (const c of analysis.calls) removals.set(c.call, returnsHandle(c.abiMethod));
  const bindingDecls = new Set<Node>();
  for (const list of bindings.values()) for (const b of list) bindingDecls.add(b.decl);

  /** Identifier references by name, outside removed code. */
  const refs = new Map<string, Node[]>();
  const scopeDecls: { declarator: Node; declaration: Node; removable: boolean }[] = [];
  const removed: { call: Node; statement: boolean; kept: Node[]; handle: boolean }[] = [];
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
        const api = apiNameOf(node.callee, scopes.toReversed(), bindings);
        if (api !== undefined && STRIPPED_RECORDING_CALLS.has(api)) handle = false;
      }
      if (handle !== undefined) {
        const parent = ancestors[ancestors.length - 1];
        const args = node.arguments as Node[];
        const kept = args.filter((a) => a.type === 'SpreadElement' || !isPure(a, shapeOf));
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
      const parent = ancestors[ancestors.length - 1];
      const d = node.declarations as Node[];
      for (const declarator of d) {
        const init = unwrap(declarator.init);
        if (
          declarator.id.type === 'Identifier' &&
          init?.type === 'CallExpression' &&
          apiNameOf(init.callee, scopes.toReversed(), bindings) === SCOPE_FACTORY
        ) {
          scopeDecls.push({
            declarator,
            declaration: node,
            removable:
              d.length === 1 &&
              parent?.type !== 'ExportNamedDeclaration' &&
              (init.arguments as Node[]).every((a) => a.type !== 'SpreadElement' && isPure(a, shapeOf)),
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

  // Scope objects used only through removed calls go too (their `scope` reference with them).
  const inRemoved = (id: Node): boolean => {
    for (const r of removed) {
      if (
        id.start >= r.call.start &&
        id.end <= r.call.end &&
        !r.kept.some((k) => id.start >= k.start && id.end <= k.end)
      )
        return true;
    }
    return false;
  };
  const removedDecls: Node[] = [];
  for (const s of scopeDecls) {
    if (!s.removable) continue;
    const name = s.declarator.id.name as string;
    const uses = (refs.get(name) ?? []).filter((id) => id !== s.declarator.id && !inRemoved(id));
    if (uses.length === 0) removedDecls.push(s.declaration);
  }
  const inRemovedDecl = (id: Node): boolean =>
    removedDecls.some((d) => id.start >= d.start && id.end <= d.end);

  let needsHandle = false;
  for (const r of removed) {
    const text = strippedCall(
      r.handle,
      r.statement,
      r.kept.length,
      (i) => r.kept[i]!.type === 'SpreadElement',
    );
    if (r.handle && !r.statement) needsHandle = true;
    if (r.kept.length === 0) {
      ms.overwrite(r.call.start, r.call.end, text.whole);
      continue;
    }
    ms.overwrite(r.call.start, r.kept[0]!.start, text.before);
    for (let i = 0; i + 1 < r.kept.length; i++)
      ms.overwrite(r.kept[i]!.end, r.kept[i + 1]!.start, text.between(i));
    ms.overwrite(r.kept[r.kept.length - 1]!.end, r.call.end, text.after);
  }
  for (const d of removedDecls) ms.remove(d.start, d.end);

  // The import: dropped when none of its bindings is referenced any more.
  const stillUsed: string[] = [];
  for (const [name, list] of bindings) {
    const uses = (refs.get(name) ?? []).filter(
      (id) => !inRemoved(id) && !inRemovedDecl(id) && !isBindingId(id, list),
    );
    if (uses.length > 0) stillUsed.push(name);
  }
  let importDropped = false;
  if (stillUsed.length === 0) {
    for (const s of program.body as Node[]) {
      if (isStepmarkImport(s, importSource, bindingDecls)) {
        ms.remove(s.start, s.end);
        importDropped = true;
      }
    }
  }
  if (needsHandle) ms.prependRight(firstStatementOffset(program), noopHandleDeclaration());
  return { removed: removed.length, importDropped, stillUsed };
}

/** Children that are not references: import bindings, non-computed keys and member names. */
function skipChild(node: Node, key: string, child: Node, bindingDecls: Set<Node>): boolean {
  switch (node.type) {
    case 'MemberExpression':
      return key === 'property' && !node.computed;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
    case 'AccessorProperty':
      return key === 'key' && !node.computed && !(node.type === 'Property' && node.shorthand);
    case 'VariableDeclarator':
      // `const { step } = require("stepmark")`, `const sm = require(...)`: the bindings themselves
      return key === 'id' && (bindingDecls.has(node) || child.type === 'Identifier');
    case 'TSImportEqualsDeclaration':
      return key === 'id';
    default:
      return false;
  }
}

function isBindingId(id: Node, list: readonly ApiBinding[]): boolean {
  return list.some((b) => b.decl.type === 'TSImportEqualsDeclaration' && b.decl.id === id);
}

/** A top-level statement that only binds the stepmark import (ESM import, `require`, TS `import =`). */
function isStepmarkImport(s: Node, importSource: string, bindingDecls: Set<Node>): boolean {
  if (s.type === 'ImportDeclaration') return s.importKind !== 'type' && s.source.value === importSource;
  if (s.type === 'TSImportEqualsDeclaration') return bindingDecls.has(s);
  if (s.type === 'VariableDeclaration') return (s.declarations as Node[]).every((d) => bindingDecls.has(d));
  return false;
}

/** After the directive prologue (the no-op handle goes there). */
function firstStatementOffset(program: Node): number {
  const body = program.body as Node[];
  let i = 0;
  while (i < body.length && body[i]!.type === 'ExpressionStatement' && body[i]!.directive != null) i++;
  return i < body.length ? body[i]!.start : program.end;
}

export { NOOP_HANDLE_BINDING };
