/**
 * Which bindings of an ESTree-shaped AST (./ast.ts) are the stepmark API: named, aliased, default
 * and namespace imports of the import source, TypeScript's `import sm = require(…)`,
 * `const sm = require(…)`, `const { step, enter: e } = require(…)`, `const step = require(…).step`
 * (with the global `require`), and which callee a call goes through.
 */
import { abiMethodOf, REWRITTEN_CALLS, REWRITTEN_SCOPE_METHODS, SCOPE_FACTORY } from '../constants.js';
import type { Node } from './ast.js';
import { isObjectMember, propertyName, stringValue, unwrap } from './ast.js';
import { resolve } from './scopes.js';

/** A stepmark binding in the file: an import specifier, `require` destructuring or namespace. */
export interface ApiBinding {
  /** The node that declares the local name (import specifier, declarator, import-equals). */
  readonly decl: Node;
  /** Exported name (`step`), or `*` for a namespace/default object (`sm.step`). */
  readonly imported: string;
}

/** The stepmark bindings of a file by local name (several declarations may share a name in different scopes). */
export type ApiBindings = Map<string, ApiBinding[]>;

function isSource(node: Node | null | undefined, importSource: string): boolean {
  return stringValue(node) === importSource;
}

/** `require("stepmark")` */
function isRequireOf(node: Node | null | undefined, importSource: string): boolean {
  return (
    !!node &&
    node.type === 'CallExpression' &&
    node.callee.type === 'Identifier' &&
    node.callee.name === 'require' &&
    node.arguments.length === 1 &&
    isSource(node.arguments[0], importSource)
  );
}

/** Top-level imports / requires of the import source. */
export function collectApiBindings(program: Node, importSource: string): ApiBindings {
  const out: ApiBindings = new Map();
  const add = adder(out);
  for (const s of program.body as Node[]) {
    if (s.type === 'ImportDeclaration') {
      if (s.importKind === 'type' || !isSource(s.source, importSource)) continue;
      for (const spec of s.specifiers as Node[]) {
        if (spec.type === 'ImportSpecifier') {
          if (spec.importKind === 'type') continue;
          const imported = spec.imported.type === 'Identifier' ? spec.imported.name : spec.imported.value;
          add(spec.local.name, { decl: spec, imported });
        } else {
          add(spec.local.name, { decl: spec, imported: '*' });
        }
      }
    } else if (s.type === 'TSImportEqualsDeclaration') {
      const ref = s.moduleReference;
      if (
        s.importKind !== 'type' &&
        ref.type === 'TSExternalModuleReference' &&
        isSource(ref.expression, importSource)
      ) {
        add(s.id.name, { decl: s, imported: '*' });
      }
    } else if (s.type === 'VariableDeclaration') {
      for (const d of s.declarations as Node[]) addRequireBindings(d, importSource, [program], add);
    }
  }
  return out;
}

/** Registers a stepmark binding under its local name. */
export type AddBinding = (local: string, binding: ApiBinding) => void;

export function adder(out: ApiBindings): AddBinding {
  return (local, binding) => {
    const list = out.get(local);
    if (list) list.push(binding);
    else out.set(local, [binding]);
  };
}

/**
 * `const sm = require(src)`, `const { step, enter: e } = require(src)`, `const step =
 * require(src).step`, with the global `require` (not one declared in `chain`).
 */
export function addRequireBindings(
  d: Node,
  importSource: string,
  chain: readonly Node[],
  add: AddBinding,
): void {
  const init = unwrap(d.init);
  if (!init) return;
  if (isRequireOf(init, importSource)) {
    if (resolve('require', chain) !== undefined) return;
    if (d.id.type === 'Identifier') add(d.id.name, { decl: d, imported: '*' });
    else if (d.id.type === 'ObjectPattern') {
      for (const p of d.id.properties as Node[]) {
        if (!isObjectMember(p)) continue;
        const key = !p.computed && p.key.type === 'Identifier' ? p.key.name : stringValue(p.key);
        const value = p.value.type === 'AssignmentPattern' ? p.value.left : p.value;
        if (value.type === 'Identifier' && key !== undefined) add(value.name, { decl: d, imported: key });
      }
    }
  } else if (
    init.type === 'MemberExpression' &&
    d.id.type === 'Identifier' &&
    isRequireOf(unwrap(init.object), importSource)
  ) {
    const prop = propertyName(init);
    if (prop !== undefined && resolve('require', chain) === undefined)
      add(d.id.name, { decl: d, imported: prop });
  }
}

/** Cheap syntactic pre-check before a call's scope chain is recorded. */
export function mayBeApiCall(callee: Node, bindings: ApiBindings): boolean {
  callee = unwrap(callee)!;
  if (callee.type === 'Identifier') return bindings.has(callee.name);
  if (callee.type !== 'MemberExpression') return false;
  const prop = propertyName(callee);
  return (
    prop !== undefined &&
    unwrap(callee.object)!.type === 'Identifier' &&
    (Object.hasOwn(REWRITTEN_CALLS, prop) ||
      Object.hasOwn(REWRITTEN_SCOPE_METHODS, prop) ||
      prop === SCOPE_FACTORY)
  );
}

/** The binding an identifier reference resolves to, when it is a stepmark binding. */
function apiBindingOf(name: string, chain: readonly Node[], bindings: ApiBindings): ApiBinding | undefined {
  const list = bindings.get(name);
  if (!list) return undefined;
  const decl = resolve(name, chain);
  return list.find((b) => b.decl === decl);
}

/**
 * The exported API name a callee refers to: `step` for `step`, `s` (alias), `sm.step`,
 * `sm.default.step`. `chain` holds the scopes around the call, innermost first.
 */
export function apiNameOf(callee: Node, chain: readonly Node[], bindings: ApiBindings): string | undefined {
  callee = unwrap(callee)!;
  if (callee.type === 'Identifier') {
    const b = apiBindingOf(callee.name, chain, bindings);
    return b && b.imported !== '*' ? b.imported : undefined;
  }
  const prop = callee.type === 'MemberExpression' ? propertyName(callee) : undefined;
  if (prop !== undefined) {
    const obj = unwrap(callee.object)!;
    if (obj.type !== 'Identifier') return undefined;
    const b = apiBindingOf(obj.name, chain, bindings);
    return b && (b.imported === '*' || b.imported === 'default') ? prop : undefined;
  }
  return undefined;
}

/** A call that may be an API call, with the scopes around it (innermost first) and its enclosing function's name. */
export interface CandidateCall {
  readonly call: Node;
  readonly chain: readonly Node[];
  readonly name: string;
}

/** `const s = scope(kind)` candidates: the declarator, its init call and the scopes around it. */
export interface CandidateScope {
  readonly declarator: Node;
  readonly call: Node;
  readonly chain: readonly Node[];
}

/** An explicit API call to rewrite. */
export interface CallSite {
  readonly call: Node;
  /** ABI method called instead (`step`, `enterUser`, `scopeStep`, …). */
  readonly abiMethod: string;
  /** Name of the enclosing function (or `<module>`). */
  readonly name: string;
  /** For `s.step(...)`/`s.enter(...)` on a scope object: the object identifier (`s`). */
  readonly scopeObject: Node | undefined;
}

/** The candidates that are calls of the stepmark API (`step()`, `sm.enter()`, `s.step()` on a `scope(kind)` result). */
export function resolveCalls(
  candidates: readonly CandidateCall[],
  scopeCandidates: readonly CandidateScope[],
  bindings: ApiBindings,
): CallSite[] {
  // Declarators `const s = scope(kind)` whose `scope` is ours.
  const scopeObjects = new Set<Node>();
  for (const c of scopeCandidates) {
    if (apiNameOf(c.call.callee, c.chain, bindings) === SCOPE_FACTORY) scopeObjects.add(c.declarator);
  }
  const calls: CallSite[] = [];
  for (const { call, chain, name } of candidates) {
    const api = apiNameOf(call.callee, chain, bindings);
    if (api !== undefined) {
      const abiMethod = abiMethodOf(api, false);
      if (abiMethod) calls.push({ call, abiMethod, name, scopeObject: undefined });
      continue;
    }
    const callee = unwrap(call.callee)!;
    const method = callee.type === 'MemberExpression' ? propertyName(callee) : undefined;
    const abiMethod = method === undefined ? undefined : abiMethodOf(method, true);
    if (scopeObjects.size > 0 && abiMethod !== undefined) {
      const obj = unwrap(callee.object)!;
      if (obj.type === 'Identifier') {
        const decl = resolve(obj.name, chain);
        if (decl && scopeObjects.has(decl)) calls.push({ call, abiMethod, name, scopeObject: obj });
      }
    }
  }
  return calls;
}
