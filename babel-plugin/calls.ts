/**
 * Rewrites explicit calls of the stepmark API (docs/ABI.md "Explicit calls") to pass the
 * enclosing function's name, so no stack trace is parsed at run time. Only callees bound to the
 * `importSource` package are touched: named, aliased, namespace and default imports,
 * `const { step } = require(…)`, `const sm = require(…)`, `const step = require(…).step`,
 * and `.step` / `.enter` on a `const s = scope(kind)` made from such a binding.
 */
import type { NodePath, types as t } from '@babel/core';
import {
  isRewrittenCall,
  isRewrittenScopeMethod,
  REWRITTEN_CALLS,
  REWRITTEN_SCOPE_METHODS,
  RUNTIME_BINDING,
  SCOPE_FACTORY,
} from '../instrument/index.js';

type Types = typeof t;
type Node = t.Node;

/** What a local binding refers to in the stepmark API. */
type ApiRef =
  /** the module namespace (or default export / `require` result) */
  | { type: 'namespace' }
  /** one exported function */
  | { type: 'export'; name: string }
  /** the result of `scope(kind)` */
  | { type: 'scope' };

/** Resolves callees to the stepmark API and rewrites the calls, for one file. */
export class CallRewriter {
  private readonly cache = new WeakMap<object, ApiRef | null>();

  constructor(
    private readonly t: Types,
    private readonly importSource: string,
  ) {}

  /** Cheap pre-check per file: rewriting is only possible if the file mentions the package. */
  static mayRewrite(code: string, importSource: string): boolean {
    return code.includes(importSource);
  }

  /**
   * Rewrites `path` if its callee is bound to the stepmark API. `nameFor` is called only then.
   * @returns whether the call was rewritten
   */
  rewrite(path: NodePath<t.CallExpression>, nameFor: () => string): boolean {
    const t = this.t;
    const node = path.node;
    const callee = node.callee;
    let method: string | undefined;
    let scopeObject: t.Identifier | undefined;
    if (callee.type === 'Identifier') {
      const ref = this.refOf(path, callee.name);
      if (ref?.type === 'export' && isRewrittenCall(ref.name)) method = REWRITTEN_CALLS[ref.name];
    } else if (callee.type === 'MemberExpression' && callee.object.type === 'Identifier') {
      const prop = propertyName(callee);
      if (prop === undefined) return false;
      const ref = this.refOf(path, callee.object.name);
      if (ref?.type === 'namespace' && isRewrittenCall(prop)) method = REWRITTEN_CALLS[prop];
      else if (ref?.type === 'scope' && isRewrittenScopeMethod(prop)) {
        method = REWRITTEN_SCOPE_METHODS[prop];
        scopeObject = callee.object;
      }
    }
    if (method === undefined) return false;
    const name = t.stringLiteral(nameFor());
    node.callee = t.memberExpression(t.identifier(RUNTIME_BINDING), t.identifier(method));
    node.arguments = scopeObject
      ? [t.identifier(scopeObject.name), name, ...node.arguments]
      : [name, ...node.arguments];
    return true;
  }

  /**
   * The stepmark API a call is bound to, without rewriting it: `{ api: "step" }` for `step()`,
   * `sm.step()`, an alias; `{ api: "step", onScope: true }` for `s.step()` on a `scope(kind)`
   * result. Used by strip mode, which removes more calls than are rewritten (`record`, `track`).
   */
  apiCall(path: NodePath<t.CallExpression>): { api: string; onScope: boolean } | undefined {
    const callee = unwrap(path.node.callee);
    if (callee?.type === 'Identifier') {
      const ref = this.refOf(path, callee.name);
      return ref?.type === 'export' ? { api: ref.name, onScope: false } : undefined;
    }
    if (callee?.type === 'MemberExpression' && callee.object.type === 'Identifier') {
      const prop = propertyName(callee);
      if (prop === undefined) return undefined;
      const ref = this.refOf(path, callee.object.name);
      if (ref?.type === 'namespace') return { api: prop, onScope: false };
      if (ref?.type === 'scope') return { api: prop, onScope: true };
    }
    return undefined;
  }

  /** Whether a module specifier is the import source. */
  isSource(specifier: string): boolean {
    return specifier === this.importSource;
  }

  /** `const sm = require(src)`, `const { step } = require(src)`, `const step = require(src).step`. */
  isRequireDeclarator(d: NodePath<t.VariableDeclarator>): boolean {
    const init = unwrap(d.node.init);
    return (
      this.isRequire(d, init) || (init?.type === 'MemberExpression' && this.isRequire(d, unwrap(init.object)))
    );
  }

  /** What the binding `name` visible at `path` refers to, if it is part of the stepmark API. */
  private refOf(path: NodePath, name: string): ApiRef | null {
    const binding = path.scope.getBinding(name);
    if (!binding) return null;
    let ref = this.cache.get(binding);
    if (ref === undefined) {
      ref = this.resolve(binding);
      this.cache.set(binding, ref);
    }
    return ref;
  }

  private resolve(binding: { path: NodePath; constant: boolean; kind: string }): ApiRef | null {
    const bp = binding.path;
    const node = bp.node;
    if (binding.kind === 'module') {
      const decl = bp.parentPath?.node;
      if (decl?.type !== 'ImportDeclaration' || decl.source.value !== this.importSource) return null;
      if (decl.importKind === 'type' || (node as t.ImportSpecifier).importKind === 'type') return null;
      if (node.type === 'ImportSpecifier') return { type: 'export', name: importedName(node.imported) };
      return { type: 'namespace' }; // default or namespace import
    }
    if (!binding.constant || node.type !== 'VariableDeclarator') return null;
    const init = unwrap(node.init);
    if (!init) return null;
    if (node.id.type === 'Identifier') {
      // const sm = require('stepmark')
      if (this.isRequire(bp, init)) return { type: 'namespace' };
      // const step = require('stepmark').step
      if (init.type === 'MemberExpression' && this.isRequire(bp, unwrap(init.object))) {
        const prop = propertyName(init);
        return prop === undefined ? null : { type: 'export', name: prop };
      }
      // const s = scope(kind) / sm.scope(kind)
      if (init.type === 'CallExpression' && this.isScopeFactory(bp, init.callee)) return { type: 'scope' };
      return null;
    }
    if (node.id.type === 'ObjectPattern' && this.isRequire(bp, init)) {
      // const { step, enter: e } = require('stepmark'): find which key binds this name
      const local = (binding as unknown as { identifier: t.Identifier }).identifier.name;
      for (const p of node.id.properties) {
        if (p.type !== 'ObjectProperty' || p.computed) continue;
        const value = p.value.type === 'AssignmentPattern' ? p.value.left : p.value;
        if (value.type === 'Identifier' && value.name === local) {
          const key =
            p.key.type === 'Identifier'
              ? p.key.name
              : p.key.type === 'StringLiteral'
                ? p.key.value
                : undefined;
          return key === undefined ? null : { type: 'export', name: key };
        }
      }
    }
    return null;
  }

  /** `require("<importSource>")` with the global `require`. */
  private isRequire(at: NodePath, node: Node | null | undefined): boolean {
    return (
      node?.type === 'CallExpression' &&
      node.callee.type === 'Identifier' &&
      node.callee.name === 'require' &&
      !at.scope.getBinding('require') &&
      node.arguments.length === 1 &&
      node.arguments[0]!.type === 'StringLiteral' &&
      node.arguments[0].value === this.importSource
    );
  }

  private isScopeFactory(at: NodePath, callee: Node): boolean {
    if (callee.type === 'Identifier') {
      const ref = this.refOf(at, callee.name);
      return ref?.type === 'export' && ref.name === SCOPE_FACTORY;
    }
    if (callee.type === 'MemberExpression' && callee.object.type === 'Identifier') {
      return (
        propertyName(callee) === SCOPE_FACTORY && this.refOf(at, callee.object.name)?.type === 'namespace'
      );
    }
    return false;
  }
}

function importedName(imported: t.Identifier | t.StringLiteral): string {
  return imported.type === 'Identifier' ? imported.name : imported.value;
}

/** `o.name` or `o["name"]`. */
function propertyName(member: t.MemberExpression): string | undefined {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'StringLiteral') return member.property.value;
  return undefined;
}

function unwrap(node: Node | null | undefined): Node | null | undefined {
  while (
    node &&
    (node.type === 'TSAsExpression' ||
      node.type === 'TSSatisfiesExpression' ||
      node.type === 'TSNonNullExpression' ||
      node.type === 'ParenthesizedExpression')
  ) {
    node = node.expression;
  }
  return node;
}
