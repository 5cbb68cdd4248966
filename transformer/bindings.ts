import type * as TS from 'typescript';
import {
  isRewrittenCall,
  isRewrittenScopeMethod,
  REWRITTEN_CALLS,
  REWRITTEN_SCOPE_METHODS,
  SCOPE_FACTORY,
} from '../instrument/constants.js';
import { skipOuter } from './naming.js';

/**
 * Module-level bindings of the stepmark API in one file: named imports (`import { step as s }`),
 * namespaces (`import * as sm`, default import, `import sm = require`, `const sm = require`),
 * destructured `require`, and `const x = scope(kind)` results.
 */
export class StepmarkBindings {
  /** local name → API name (`s` → `step`). */
  readonly named = new Map<string, string>();
  /** local names that hold the whole API object. */
  readonly namespaces = new Set<string>();
  /** local names holding a `scope(kind)` result. */
  readonly scopes = new Set<string>();

  constructor(
    private readonly ts: typeof TS,
    private readonly source: string,
  ) {}

  get empty(): boolean {
    return this.named.size === 0 && this.namespaces.size === 0;
  }

  /** Collects the bindings declared by one top-level statement. */
  collect(statement: TS.Statement): void {
    const ts = this.ts;
    if (ts.isImportDeclaration(statement)) {
      if (!this.isSource(statement.moduleSpecifier)) return;
      const clause = statement.importClause;
      if (!clause || clause.isTypeOnly) return;
      if (clause.name) this.namespaces.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) this.namespaces.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const spec of bindings.elements) {
          if (spec.isTypeOnly) continue;
          const imported = (spec.propertyName ?? spec.name).text;
          if (imported === 'default') this.namespaces.add(spec.name.text);
          else this.named.set(spec.name.text, imported);
        }
      }
      return;
    }
    if (ts.isImportEqualsDeclaration(statement)) {
      const ref = statement.moduleReference;
      if (!statement.isTypeOnly && ts.isExternalModuleReference(ref) && this.isSource(ref.expression)) {
        this.namespaces.add(statement.name.text);
      }
      return;
    }
    if (ts.isVariableStatement(statement)) {
      const isConst = (statement.declarationList.flags & ts.NodeFlags.Const) !== 0;
      for (const decl of statement.declarationList.declarations) this.collectDeclaration(decl, isConst);
    }
  }

  private collectDeclaration(decl: TS.VariableDeclaration, isConst: boolean): void {
    const ts = this.ts;
    const init = decl.initializer && skipOuter(ts, decl.initializer);
    if (!init) return;
    // const sm = require('stepmark') / const { step, enter: e } = require('stepmark')
    if (this.isRequire(init)) {
      if (ts.isIdentifier(decl.name)) this.namespaces.add(decl.name.text);
      else if (ts.isObjectBindingPattern(decl.name)) {
        for (const el of decl.name.elements) {
          if (el.dotDotDotToken || !ts.isIdentifier(el.name)) continue;
          const key = el.propertyName ?? el.name;
          if (ts.isIdentifier(key) || ts.isStringLiteral(key)) this.named.set(el.name.text, key.text);
        }
      }
      return;
    }
    if (!ts.isIdentifier(decl.name)) return;
    // const step = require('stepmark').step
    if (ts.isPropertyAccessExpression(init) && this.isRequire(skipOuter(ts, init.expression))) {
      this.named.set(decl.name.text, init.name.text);
      return;
    }
    // const s = scope('order') — only `const`, so the binding cannot change under us.
    if (isConst && ts.isCallExpression(init) && this.apiName(init.expression) === SCOPE_FACTORY) {
      this.scopes.add(decl.name.text);
    }
  }

  private isSource(node: TS.Node): boolean {
    return this.ts.isStringLiteral(node) && node.text === this.source;
  }

  private isRequire(node: TS.Expression): boolean {
    const ts = this.ts;
    return (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'require' &&
      node.arguments.length === 1 &&
      this.isSource(node.arguments[0]!)
    );
  }

  /** The API name `callee` refers to (`step`, `sm.step`), ignoring whether it is shadowed. */
  apiName(callee: TS.Expression): string | undefined {
    const ts = this.ts;
    callee = skipOuter(ts, callee);
    if (ts.isIdentifier(callee)) return this.named.get(callee.text);
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)) {
      if (this.namespaces.has(callee.expression.text)) return callee.name.text;
    }
    return undefined;
  }

  /** The API name `call` calls (`step` for `step()`, `sm.step()`), or undefined when it is none or shadowed by a local declaration. */
  calledApi(call: TS.CallExpression): string | undefined {
    const ts = this.ts;
    const api = this.apiName(call.expression);
    if (api === undefined) return undefined;
    const callee = skipOuter(ts, call.expression);
    const local = ts.isPropertyAccessExpression(callee) ? callee.expression : callee;
    return ts.isIdentifier(local) && isShadowed(ts, call, local.text) ? undefined : api;
  }

  /**
   * Whether `name`, used at `use`, is a `const name = scope(kind)` result: declared at the module
   * level, or in a block around `use` (a function body, a `switch`, a namespace), as the ESTree
   * plugins resolve it.
   */
  isScopeObject(use: TS.Node, name: string): boolean {
    const ts = this.ts;
    const node = declaringScope(ts, use, name);
    if (!node) return this.scopes.has(name);
    const statements = ts.isCaseBlock(node)
      ? node.clauses.flatMap((c) => c.statements)
      : ts.isBlock(node) || ts.isModuleBlock(node)
        ? node.statements
        : [];
    for (const s of statements) {
      if (!ts.isVariableStatement(s) || !(s.declarationList.flags & ts.NodeFlags.Const)) continue;
      for (const d of s.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || d.name.text !== name) continue;
        const init = d.initializer && skipOuter(ts, d.initializer);
        return init !== undefined && ts.isCallExpression(init) && this.calledApi(init) === SCOPE_FACTORY;
      }
    }
    return false;
  }

  /**
   * How to rewrite `call`, or undefined when it is not a stepmark call (or its binding is
   * shadowed by a local declaration between the call and the module scope).
   */
  match(call: TS.CallExpression): { method: string; scope?: TS.Identifier } | undefined {
    const ts = this.ts;
    const callee = skipOuter(ts, call.expression);
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)) {
      const obj = callee.expression;
      const member = callee.name.text;
      if (isRewrittenScopeMethod(member) && this.isScopeObject(call, obj.text)) {
        return { method: REWRITTEN_SCOPE_METHODS[member], scope: obj };
      }
    }
    const api = this.calledApi(call);
    return api !== undefined && isRewrittenCall(api) ? { method: REWRITTEN_CALLS[api] } : undefined;
  }
}

const declaredCache = new WeakMap<TS.Node, Set<string>>();

/** Whether a declaration of `name` in a scope between `use` and the module scope hides the import. */
export function isShadowed(ts: typeof TS, use: TS.Node, name: string): boolean {
  return declaringScope(ts, use, name) !== undefined;
}

/** The innermost node between `use` and the module scope that declares `name` for `use` (undefined: the module's). */
function declaringScope(ts: typeof TS, use: TS.Node, name: string): TS.Node | undefined {
  for (let node = ts.getOriginalNode(use).parent; node && !ts.isSourceFile(node); node = node.parent) {
    let names = declaredCache.get(node);
    if (!names) {
      names = declaredIn(ts, node);
      declaredCache.set(node, names);
    }
    if (names.has(name)) return node;
  }
  return undefined;
}

/** Names a scope-creating node declares for code inside it (empty for other nodes). */
function declaredIn(ts: typeof TS, node: TS.Node): Set<string> {
  const names = new Set<string>();
  const addBinding = (b: TS.BindingName): void => {
    if (ts.isIdentifier(b)) names.add(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) addBinding(el.name);
  };
  const addLexical = (statements: readonly TS.Statement[]): void => {
    for (const s of statements) {
      if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && s.name) {
        names.add(s.name.text);
      } else if (ts.isVariableStatement(s) && s.declarationList.flags & ts.NodeFlags.BlockScoped) {
        for (const d of s.declarationList.declarations) addBinding(d.name);
      }
    }
  };
  // `var` declarations anywhere in a function body (not in nested functions) are function-scoped.
  const addVars = (n: TS.Node): void => {
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) return;
    if (ts.isVariableDeclarationList(n) && !(n.flags & ts.NodeFlags.BlockScoped)) {
      for (const d of n.declarations) addBinding(d.name);
    }
    ts.forEachChild(n, addVars);
  };
  if (ts.isFunctionLike(node)) {
    for (const p of node.parameters) addBinding(p.name);
    if ((ts.isFunctionExpression(node) || ts.isClassExpression(node)) && node.name) names.add(node.name.text);
    const body = (node as TS.FunctionLikeDeclaration).body;
    if (body && ts.isBlock(body)) {
      addLexical(body.statements);
      ts.forEachChild(body, addVars);
    }
  } else if (ts.isClassLike(node)) {
    if (node.name) names.add(node.name.text);
  } else if (ts.isBlock(node) || ts.isModuleBlock(node)) {
    addLexical(node.statements);
  } else if (ts.isCaseBlock(node)) {
    for (const clause of node.clauses) addLexical(clause.statements);
  } else if (ts.isCatchClause(node)) {
    if (node.variableDeclaration) addBinding(node.variableDeclaration.name);
  } else if (ts.isForStatement(node) || ts.isForInStatement(node) || ts.isForOfStatement(node)) {
    const init = node.initializer;
    if (init && ts.isVariableDeclarationList(init) && init.flags & ts.NodeFlags.BlockScoped) {
      for (const d of init.declarations) addBinding(d.name);
    }
  }
  return names;
}
