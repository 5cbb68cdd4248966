/**
 * Just enough scope analysis of an ESTree-shaped AST (./ast.ts) to tell whether an identifier
 * refers to a given declaration.
 *
 * Explicit `step()`/`enter()` calls are rewritten only when their callee is bound to the
 * stepmark import; a parameter or local that shadows that name must be left alone. The walker
 * records, for each candidate reference, the chain of scope nodes around it (innermost first);
 * this module computes each scope's declared names lazily and caches them, so files without
 * candidates pay nothing and files with a few candidates only analyse the scopes on their chains.
 */
import { isFunction, type Node } from './ast.js';

/** Declared names of one scope: name → the node that declares it. */
type Declarations = Map<string, Node>;

const cache = new WeakMap<Node, Declarations>();

/** Node types that open a scope for the purposes of name resolution. */
export function isScopeNode(node: Node): boolean {
  if (isFunction(node)) return true;
  switch (node.type) {
    case 'Program':
    case 'BlockStatement':
    case 'StaticBlock':
    case 'ForStatement':
    case 'ForInStatement':
    case 'ForOfStatement':
    case 'SwitchStatement':
    case 'CatchClause':
    case 'ClassDeclaration':
    case 'ClassExpression':
    case 'TSModuleBlock':
      return true;
    default:
      return false;
  }
}

/**
 * The declaration `name` resolves to from a reference whose enclosing scopes are `chain`
 * (innermost first), or `undefined` when it is not declared in any of them (a global).
 */
export function resolve(name: string, chain: readonly Node[]): Node | undefined {
  for (const scope of chain) {
    const decl = declarationsOf(scope).get(name);
    if (decl) return decl;
  }
  return undefined;
}

function declarationsOf(scope: Node): Declarations {
  let decls = cache.get(scope);
  if (!decls) {
    decls = new Map();
    collect(scope, decls);
    cache.set(scope, decls);
  }
  return decls;
}

function collect(scope: Node, out: Declarations): void {
  switch (scope.type) {
    case 'Program':
    case 'TSModuleBlock':
      for (const s of scope.body) declareStatement(s, out, true);
      break;
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'ClassMethod':
    case 'ClassPrivateMethod':
    case 'ObjectMethod': {
      // A named function expression can refer to itself; a declaration's id lives in the outer scope.
      if (scope.type === 'FunctionExpression' && scope.id) out.set(scope.id.name, scope);
      for (const p of scope.params)
        declarePattern(p.type === 'TSParameterProperty' ? p.parameter : p, p, out);
      if (scope.body && scope.body.type === 'BlockStatement') {
        for (const s of scope.body.body) declareStatement(s, out, true);
      }
      break;
    }
    case 'BlockStatement':
    case 'StaticBlock':
      for (const s of scope.body) declareStatement(s, out, false);
      break;
    case 'ForStatement':
      if (scope.init && scope.init.type === 'VariableDeclaration' && scope.init.kind !== 'var') {
        for (const d of scope.init.declarations) declarePattern(d.id, d, out);
      }
      break;
    case 'ForInStatement':
    case 'ForOfStatement':
      if (scope.left.type === 'VariableDeclaration' && scope.left.kind !== 'var') {
        for (const d of scope.left.declarations) declarePattern(d.id, d, out);
      }
      break;
    case 'SwitchStatement':
      for (const c of scope.cases) for (const s of c.consequent) declareStatement(s, out, false);
      break;
    case 'CatchClause':
      if (scope.param) declarePattern(scope.param, scope, out);
      break;
    case 'ClassDeclaration':
    case 'ClassExpression':
      if (scope.id) out.set(scope.id.name, scope);
      break;
  }
}

/**
 * Declarations a statement contributes to the scope it sits in directly. `functionScope` is true
 * for a function body or the program: then `var` declarations nested in blocks are hoisted here.
 */
function declareStatement(s: Node, out: Declarations, functionScope: boolean): void {
  switch (s.type) {
    case 'VariableDeclaration':
      if (s.kind === 'var' && !functionScope) return; // hoisted to the function: found from there
      for (const d of s.declarations) declarePattern(d.id, d, out);
      return;
    case 'FunctionDeclaration':
    case 'ClassDeclaration':
    case 'TSEnumDeclaration':
    case 'TSModuleDeclaration':
      if (s.id && s.id.type === 'Identifier') out.set(s.id.name, s);
      return;
    case 'ImportDeclaration':
      for (const spec of s.specifiers) out.set(spec.local.name, spec);
      return;
    case 'TSImportEqualsDeclaration':
      out.set(s.id.name, s);
      return;
    case 'ExportNamedDeclaration':
    case 'ExportDefaultDeclaration':
      if (s.declaration) declareStatement(s.declaration, out, functionScope);
      return;
  }
  if (functionScope) hoistVars(s, out);
}

/** `var` declarations nested in blocks, loops, `if`, `try` … of a function body (not in nested functions). */
function hoistVars(s: Node, out: Declarations): void {
  switch (s.type) {
    case 'VariableDeclaration':
      if (s.kind === 'var') for (const d of s.declarations) declarePattern(d.id, d, out);
      return;
    case 'BlockStatement':
    case 'StaticBlock':
      for (const x of s.body) hoistVars(x, out);
      return;
    case 'IfStatement':
      hoistVars(s.consequent, out);
      if (s.alternate) hoistVars(s.alternate, out);
      return;
    case 'ForStatement':
      if (s.init) hoistVars(s.init, out);
      hoistVars(s.body, out);
      return;
    case 'ForInStatement':
    case 'ForOfStatement':
      hoistVars(s.left, out);
      hoistVars(s.body, out);
      return;
    case 'WhileStatement':
    case 'DoWhileStatement':
    case 'LabeledStatement':
    case 'WithStatement':
      hoistVars(s.body, out);
      return;
    case 'TryStatement':
      hoistVars(s.block, out);
      if (s.handler) hoistVars(s.handler.body, out);
      if (s.finalizer) hoistVars(s.finalizer, out);
      return;
    case 'SwitchStatement':
      for (const c of s.cases) for (const x of c.consequent) hoistVars(x, out);
      return;
  }
}

function declarePattern(p: Node | null, decl: Node, out: Declarations): void {
  if (!p) return;
  switch (p.type) {
    case 'Identifier':
      out.set(p.name, decl);
      return;
    case 'AssignmentPattern':
      declarePattern(p.left, decl, out);
      return;
    case 'RestElement':
      declarePattern(p.argument, decl, out);
      return;
    case 'ArrayPattern':
      for (const e of p.elements) declarePattern(e, decl, out);
      return;
    case 'ObjectPattern':
      for (const prop of p.properties)
        declarePattern(prop.type === 'RestElement' ? prop : prop.value, decl, out);
      return;
  }
}
