/**
 * One walk over an oxc AST that finds what the emitter has to change:
 *
 * - frames: functions to wrap in `enter … try/catch/finally`, each with its name, location
 *   offset, entity directive and the `await`/`yield` expressions directly inside it;
 * - calls: explicit `step()`/`enter()`/… calls bound to the stepmark import (and `.step`/`.enter`
 *   on a `const s = scope(kind)`), each with the name of its enclosing function.
 *
 * Which functions are selected and what they are called is decided by the shared rules
 * (`instrument/`), through {@link Policy}; this file only knows oxc's AST shapes.
 */
import {
  FRAME_BINDING,
  frameEnding,
  frameFlags,
  MODULE_SCOPE_NAME,
  REWRITTEN_CALLS,
  REWRITTEN_SCOPE_METHODS,
  RUNTIME_BINDING,
  SCOPE_FACTORY,
} from '../../instrument/constants.js';
import type { Directive, MarkDirective } from '../../instrument/directives.js';
import { checkEntityRoot, misplacedDirectiveError } from '../../instrument/directives.js';
import type { Binding, FunctionDescription } from '../../instrument/naming.js';
import {
  classInitializerName,
  className,
  functionName,
  ineligibility,
  objectName,
} from '../../instrument/naming.js';
import type { FunctionNode, Node } from './ast.js';
import { isFunction } from './ast.js';
import type { DirectiveIndex } from './directives.js';
import type { BindingContext } from './naming.js';
import { bindingOf, effectiveParent, locationOffset } from './naming.js';
import { isScopeNode, resolve } from './scopes.js';

/** What the analysis needs from the options. */
export interface Policy {
  /** Every eligible function of the file is selected (file directive or `include`). */
  readonly wholeFile: boolean;
  readonly callbacks: boolean;
  readonly getters: boolean;
  /** Package whose API calls are rewritten (`"stepmark"`). */
  readonly importSource: string;
}

/** A function to wrap. */
export interface FrameSite {
  readonly fn: FunctionNode;
  readonly name: string;
  /** Offset the location points at (a method's key, else the function's start). */
  readonly start: number;
  /** `entity=` of the function's own `@stepmark` directive, if any. */
  readonly entity: MarkDirective | undefined;
  /** A derived class's constructor: the frame goes after the first top-level `super(...)` statement. */
  readonly derivedConstructor: boolean;
  /** `frameFlags(...)` of the function: appended as the last argument of `enter`/`enterEntity` when set. */
  readonly flags: number | undefined;
  /** `await` / `yield` expressions directly in this function (not in nested functions), outermost first. */
  readonly suspensions: Node[];
  /** `try` statements of this function whose block holds a suspension (their handlers resume the frame). */
  readonly resumeTrys: Set<Node>;
  /** How the frame closes its span (`frameEnding`): `'returns'` rewrites the `return` statements below. */
  readonly ending: 'returns' | 'finally';
  /** `return` statements directly in this function (not in nested functions), in source order. */
  readonly returns: Node[];
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

export interface Analysis {
  readonly frames: FrameSite[];
  readonly calls: CallSite[];
}

/** Keys of oxc's visitor table that only hold types; never walked. */
const TYPE_KEYS = new Set([
  'typeAnnotation',
  'returnType',
  'typeParameters',
  'typeArguments',
  'superTypeArguments',
  'implements',
]);

/** API functions whose calls are rewritten → the ABI method called instead. */
const API_CALLS: Readonly<Record<string, string>> = REWRITTEN_CALLS;
/** Methods of a `scope(kind)` object whose calls are rewritten → the ABI method. */
const SCOPE_METHODS: Readonly<Record<string, string>> = REWRITTEN_SCOPE_METHODS;

/** A stepmark binding in the file: an import specifier, `require` destructuring or namespace. */
export interface ApiBinding {
  /** The node that declares the local name (import specifier, declarator, import-equals). */
  readonly decl: Node;
  /** Exported name (`step`), or `*` for a namespace/default object (`sm.step`). */
  readonly imported: string;
}

/** A call that may be an API call; resolved against the bindings after the walk. */
interface CandidateCall {
  readonly call: Node;
  readonly chain: Node[];
  readonly name: string;
}

/** `const s = scope(kind)` candidates: the declarator, its init call and the scope chain at the call. */
interface CandidateScope {
  readonly declarator: Node;
  readonly call: Node;
  readonly chain: Node[];
}

/** A function, or the code that runs a class's field initializers / static blocks. */
interface Context {
  /** The name explicit calls and anonymous functions inside get. */
  readonly name: string;
  /** The frame when this is an instrumented function (suspension points are collected into it). */
  readonly frame: FrameSite | undefined;
  /** The class whose instance `this` is here, when known (methods, constructors, field initializers). */
  readonly thisClass: string | undefined;
}

/** Walks `program` once. `visitorKeys` is oxc-parser's table of child keys per node type. */
export function analyze(
  program: Node,
  source: string,
  directives: DirectiveIndex,
  policy: Policy,
  visitorKeys: Readonly<Record<string, readonly string[]>>,
  /** When given, receives the start offset of every run-time node (source map locations). */
  nodeStarts?: number[],
): Analysis {
  const frames: FrameSite[] = [];
  const bindings = new Map<string, ApiBinding[]>();
  collectApiBindings(program, policy.importSource, bindings);
  // A `require` of the import source inside a function binds the API there too.
  const nestedRequires = source.includes('require');
  const tracking = bindings.size > 0 || nestedRequires;
  const addBinding = adder(bindings);
  const withDirectives = !directives.isEmpty;
  const candidates: CandidateCall[] = [];
  const scopeCandidates: CandidateScope[] = [];
  const ancestors: Node[] = [];
  const scopes: Node[] = [];
  const contexts: Context[] = [];
  /** Directives attached to functions, classes and object literals. */
  const attached = new Map<Node, Directive>();
  /** How many enclosing nodes carry `@stepmark-ignore`. */
  let ignoredDepth = 0;
  /** The `@stepmark-ignore` directives of the enclosing nodes. */
  const ignores: Directive[] = [];
  /** Directives that applied to some function; one that applies to none is misplaced (`const x = 1`). */
  const used = new Set<Directive>();
  const containerNames = new Map<Node, string | undefined>();
  const keysOf = childKeys(visitorKeys);

  const top = (): Context | undefined => contexts[contexts.length - 1];

  const naming: BindingContext = {
    source,
    className: (index) => {
      const cls = ancestors[index]!;
      if (!containerNames.has(cls)) {
        const own = cls.id?.type === 'Identifier' ? (cls.id.name as string) : undefined;
        containerNames.set(
          cls,
          className(own, own === undefined ? bindingOf(cls, ancestors, index - 1, naming) : NO_BINDING),
        );
      }
      return containerNames.get(cls)!;
    },
    objectName: (index) => {
      const obj = ancestors[index]!;
      if (!containerNames.has(obj))
        containerNames.set(obj, objectName(bindingOf(obj, ancestors, index - 1, naming)));
      return containerNames.get(obj);
    },
    thisClass: () => top()?.thisClass,
  };

  /** Records directive `d` on `target` (a function, class or object literal), merged with one already there. */
  const attach = (target: Node | null | undefined, d: Directive | undefined): void => {
    if (!d || !target) return;
    const node = unwrap(target)!;
    attached.set(node, mergeDirectives(attached.get(node), d));
  };
  const claim = (from: number, to: number, target: Node | null | undefined): void => {
    attach(target, directives.claim(from, to));
  };

  /** Attaches directives that precede declarations to what they declare. */
  const attachDirectives = (node: Node): void => {
    const parent = ancestors[ancestors.length - 1];
    const exportStart =
      parent && (parent.type === 'ExportNamedDeclaration' || parent.type === 'ExportDefaultDeclaration')
        ? parent.start
        : node.start;
    switch (node.type) {
      case 'VariableDeclaration': {
        const d = directives.claim(Math.min(exportStart, node.start), node.start);
        for (const decl of node.declarations as Node[]) {
          attach(decl.init, d);
          attach(decl.init, directives.claim(decl.start, decl.start));
        }
        return;
      }
      case 'ExpressionStatement':
        // `/** @stepmark */ exports.handler = function () {}`
        if (node.expression.type === 'AssignmentExpression')
          claim(node.start, node.start, node.expression.right);
        return;
      case 'ExportDefaultDeclaration':
        claim(node.start, node.start, node.declaration);
        return;
      case 'FunctionDeclaration':
      case 'TSDeclareFunction':
        claim(Math.min(exportStart, node.start), node.start, node);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression': {
        const first = node.decorators?.length ? Math.min(node.decorators[0].start, exportStart) : exportStart;
        claim(Math.min(first, node.start), node.start, node);
        return;
      }
      case 'MethodDefinition':
      case 'PropertyDefinition':
      case 'AccessorProperty':
      case 'TSAbstractMethodDefinition':
      case 'TSAbstractPropertyDefinition':
      case 'TSAbstractAccessorProperty':
      case 'Property':
        claim(node.start, node.key.start, node.value);
        return;
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
      case 'ObjectExpression':
        claim(node.start, node.start, node);
        return;
    }
  };

  const visit = (node: Node): void => {
    const type = node.type;
    if (nodeStarts) nodeStarts.push(node.start);
    let ignoring = false;
    if (withDirectives) {
      attachDirectives(node);
      // `@stepmark-ignore` also excludes everything nested in what it is on.
      const d = attached.get(node);
      if (d?.type === 'ignore') {
        ignoring = true;
        ignoredDepth++;
        ignores.push(d);
      }
    }
    if (node.declare === true || type === 'TSDeclareFunction') {
      if (ignoring) {
        ignoredDepth--;
        ignores.pop();
      }
      return; // no body: nothing emitted
    }
    let context: Context | undefined;
    if (isFunction(node)) {
      context = enterFunction(node);
    } else if (type === 'AwaitExpression' || type === 'YieldExpression') {
      const frame = top()?.frame;
      if (frame) {
        frame.suspensions.push(node);
        noteTrys(frame);
      }
    } else if (type === 'ReturnStatement') {
      top()?.frame?.returns.push(node);
    } else if (type === 'StaticBlock') {
      context = initializerContext(ancestors.length - 2, true);
    } else if (tracking) {
      if (type === 'CallExpression') {
        if (mayBeApiCall(node.callee, bindings)) {
          candidates.push({ call: node, chain: scopes.toReversed(), name: currentName() });
        }
      } else if (type === 'VariableDeclarator' && node.init) {
        if (
          node.id.type === 'Identifier' &&
          node.init.type === 'CallExpression' &&
          mayBeApiCall(node.init.callee, bindings)
        ) {
          scopeCandidates.push({ declarator: node, call: node.init, chain: scopes.toReversed() });
        }
        if (nestedRequires && scopes.length > 1) {
          addRequireBindings(node, policy.importSource, scopes.toReversed(), addBinding);
        }
      }
    }
    if (context) contexts.push(context);
    const scoped = tracking && isScopeNode(node);
    if (scoped) scopes.push(node);
    ancestors.push(node);
    const keys = keysOf(type);
    const fieldValue = type === 'PropertyDefinition' || type === 'AccessorProperty' ? node.value : undefined;
    for (let i = 0; i < keys.length; i++) {
      const child = node[keys[i]!];
      if (child === null || child === undefined) continue;
      if (Array.isArray(child)) {
        for (let j = 0; j < child.length; j++) {
          const c = child[j];
          if (c !== null && typeof c === 'object' && typeof c.type === 'string') visit(c);
        }
      } else if (typeof child.type === 'string') {
        if (child === fieldValue) {
          // Field initializers run in their own (class-initializer) context.
          contexts.push(initializerContext(ancestors.length - 3, node.static === true));
          visit(child);
          contexts.pop();
        } else {
          visit(child);
        }
      }
    }
    ancestors.pop();
    if (scoped) scopes.pop();
    if (context) contexts.pop();
    if (ignoring) {
      ignoredDepth--;
      ignores.pop();
    }
  };

  /**
   * A suspension that throws (rejected `await`, `generator.throw()`) never reaches its `r()`: the
   * `catch`/`finally` of every `try` whose block holds it resume the frame first.
   */
  const noteTrys = (frame: FrameSite): void => {
    for (let i = ancestors.length - 1; i > 0 && ancestors[i] !== frame.fn; i--) {
      const a = ancestors[i - 1]!;
      if (a.type === 'TryStatement' && a.block === ancestors[i]) frame.resumeTrys.add(a);
    }
  };

  const currentName = (): string => top()?.name ?? MODULE_SCOPE_NAME;

  /** Context of the field initializers or static blocks of the class at `ancestors[classIndex]`. */
  const initializerContext = (classIndex: number, isStatic: boolean): Context => {
    const cls = naming.className(classIndex);
    return { name: classInitializerName(cls, isStatic), frame: undefined, thisClass: cls };
  };

  const enterFunction = (fn: FunctionNode): Context => {
    const parentIndex = ancestors.length - 1;
    const binding = bindingOf(fn, ancestors, parentIndex, naming);
    const ownName =
      fn.type !== 'ArrowFunctionExpression' && fn.id?.type === 'Identifier'
        ? (fn.id.name as string)
        : undefined;
    const outer = top();
    const description: FunctionDescription = { ownName, binding, enclosing: outer?.name };
    const name = functionName(description);
    const member =
      binding.type === 'member' && binding.role !== 'value'
        ? effectiveParent(fn, ancestors, parentIndex)
        : undefined;
    const thisClass =
      fn.type === 'ArrowFunctionExpression'
        ? outer?.thisClass
        : binding.type === 'member' && member && member.parent?.type !== 'Property'
          ? binding.container
          : undefined;

    let frame: FrameSite | undefined;
    if (fn.body) {
      const own = attached.get(fn);
      if (own) used.add(own);
      for (const d of ignores) used.add(d);
      const container =
        binding.type === 'member'
          ? containerDirective(member?.parent ?? effectiveParent(fn, ancestors, parentIndex).parent)
          : undefined;
      if (ignoredDepth === 0 && isSelected(description, own, container, policy) && !alreadyInstrumented(fn)) {
        const entity = own?.type === 'mark' && own.entity ? own : undefined;
        if (entity) checkEntityRoot(entity, parameterNames(fn), fn.type !== 'ArrowFunctionExpression');
        const cls =
          binding.type === 'member' && binding.role === 'constructor'
            ? ancestors[parentIndex - 2]
            : undefined;
        const kind = { async: fn.async === true, generator: fn.generator === true };
        frame = {
          fn,
          name,
          start: locationOffset(fn, member?.parent, source),
          entity,
          derivedConstructor: cls != null && cls.superClass != null,
          flags: frameFlags(kind),
          suspensions: [],
          resumeTrys: new Set(),
          ending: frameEnding(kind),
          returns: [],
        };
        frames.push(frame);
      }
    }
    return { name, frame, thisClass };
  };

  /** The directive on the class or object literal a member belongs to. */
  const containerDirective = (member: Node | undefined): Directive | undefined => {
    if (!member) return undefined;
    const i = ancestors.lastIndexOf(member);
    const container = member.type === 'Property' ? ancestors[i - 1] : ancestors[i - 2];
    const d = container ? attached.get(container) : undefined;
    if (d) used.add(d);
    return d;
  };

  visit(program);
  directives.assertAllUsed();
  for (const d of attached.values()) if (!used.has(d)) throw misplacedDirectiveError(d);
  return { frames, calls: tracking ? resolveCalls(candidates, scopeCandidates, bindings) : [] };
}

const NO_BINDING: Binding = { type: 'none' };

/** Two directives on one target (e.g. on a declaration and on its function): ignore wins, then options. */
function mergeDirectives(a: Directive | undefined, b: Directive): Directive {
  if (!a) return b;
  if (a.type === 'ignore' || b.type === 'ignore') return a.type === 'ignore' ? a : b;
  return a.type === 'mark' && (a.entity || a.kind) ? a : b;
}

/** Whether a function gets a frame: selected (file, container or own directive), eligible, not ignored. */
function isSelected(
  fn: FunctionDescription,
  own: Directive | undefined,
  container: Directive | undefined,
  policy: Policy,
): boolean {
  if (own?.type === 'ignore' || container?.type === 'ignore') return false;
  if (own?.type === 'mark') return true; // a function-level directive selects regardless of eligibility
  if (!policy.wholeFile && container?.type !== 'mark') return false;
  return ineligibility(fn, policy) === undefined;
}

/** Every name a function's parameter list binds (for `entity=` checks). */
function parameterNames(fn: FunctionNode): string[] {
  const names: string[] = [];
  const add = (p: Node | null): void => {
    if (!p) return;
    switch (p.type) {
      case 'Identifier':
        names.push(p.name);
        return;
      case 'TSParameterProperty':
        add(p.parameter);
        return;
      case 'AssignmentPattern':
        add(p.left);
        return;
      case 'RestElement':
        add(p.argument);
        return;
      case 'ArrayPattern':
        for (const e of p.elements) add(e);
        return;
      case 'ObjectPattern':
        for (const prop of p.properties) add(prop.type === 'RestElement' ? prop : prop.value);
        return;
    }
  };
  for (const p of fn.params) add(p);
  return names;
}

/**
 * The idempotence marker: a top-level statement of the body is `const __smf = __stepmark.…`.
 * Usually the first; hoisted function declarations and a derived constructor's `super()` may
 * come before it.
 */
function alreadyInstrumented(fn: FunctionNode): boolean {
  const body = fn.body;
  if (body?.type !== 'BlockStatement') return false;
  for (const s of body.body as Node[]) {
    if (s.type !== 'VariableDeclaration' || s.kind !== 'const') continue;
    const d = s.declarations[0];
    if (
      d?.id.type === 'Identifier' &&
      d.id.name === FRAME_BINDING &&
      d.init?.type === 'CallExpression' &&
      d.init.callee.type === 'MemberExpression' &&
      d.init.callee.object.type === 'Identifier' &&
      d.init.callee.object.name === RUNTIME_BINDING
    ) {
      return true;
    }
  }
  return false;
}

const childKeyTables = new WeakMap<object, Map<string, readonly string[]>>();
const NO_KEYS: readonly string[] = [];

/** Child keys per node type without the type-only keys; TS type nodes get none. Built once per key table. */
function childKeys(
  visitorKeys: Readonly<Record<string, readonly string[]>>,
): (type: string) => readonly string[] {
  let table = childKeyTables.get(visitorKeys);
  if (!table) {
    table = new Map();
    for (const [type, keys] of Object.entries(visitorKeys)) {
      table.set(type, isTypeOnlyNode(type) ? NO_KEYS : keys.filter((k) => !TYPE_KEYS.has(k)));
    }
    childKeyTables.set(visitorKeys, table);
  }
  const t = table;
  return (type) => t.get(type) ?? NO_KEYS;
}

/** TS nodes that hold no run-time code (the ones that do are listed). */
function isTypeOnlyNode(type: string): boolean {
  if (!type.startsWith('TS')) return false;
  switch (type) {
    case 'TSAsExpression':
    case 'TSSatisfiesExpression':
    case 'TSNonNullExpression':
    case 'TSTypeAssertion':
    case 'TSInstantiationExpression':
    case 'TSParameterProperty':
    case 'TSEnumDeclaration':
    case 'TSEnumBody':
    case 'TSEnumMember':
    case 'TSModuleDeclaration':
    case 'TSModuleBlock':
    case 'TSExportAssignment':
    case 'TSAbstractMethodDefinition':
    case 'TSAbstractPropertyDefinition':
    case 'TSAbstractAccessorProperty':
      return false;
    default:
      return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Bindings of the stepmark import

function isSource(node: Node | null | undefined, importSource: string): boolean {
  return !!node && node.type === 'Literal' && node.value === importSource;
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
export function collectApiBindings(
  program: Node,
  importSource: string,
  out: Map<string, ApiBinding[]>,
): void {
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
}

/** Registers a stepmark binding under its local name. */
type AddBinding = (local: string, binding: ApiBinding) => void;

function adder(out: Map<string, ApiBinding[]>): AddBinding {
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
function addRequireBindings(d: Node, importSource: string, chain: readonly Node[], add: AddBinding): void {
  const init = unwrap(d.init);
  if (!init) return;
  if (isRequireOf(init, importSource)) {
    if (resolve('require', chain) !== undefined) return;
    if (d.id.type === 'Identifier') add(d.id.name, { decl: d, imported: '*' });
    else if (d.id.type === 'ObjectPattern') {
      for (const p of d.id.properties as Node[]) {
        if (p.type !== 'Property') continue;
        const key = p.computed
          ? p.key.type === 'Literal'
            ? p.key.value
            : undefined
          : p.key.type === 'Identifier'
            ? p.key.name
            : p.key.value;
        const value = p.value.type === 'AssignmentPattern' ? p.value.left : p.value;
        if (value.type === 'Identifier' && typeof key === 'string')
          add(value.name, { decl: d, imported: key });
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

/** `o.name` or `o["name"]`: the property name, or undefined for other computed members. */
function propertyName(member: Node): string | undefined {
  const p = member.property as Node;
  if (!member.computed) return p.type === 'Identifier' ? p.name : undefined;
  return p.type === 'Literal' && typeof p.value === 'string' ? p.value : undefined;
}

export function unwrap(node: Node | null | undefined): Node | null | undefined {
  while (
    node &&
    (node.type === 'ParenthesizedExpression' ||
      node.type === 'TSAsExpression' ||
      node.type === 'TSNonNullExpression')
  ) {
    node = node.expression;
  }
  return node;
}

/** Cheap syntactic pre-check before a call's scope chain is recorded. */
function mayBeApiCall(callee: Node, bindings: Map<string, ApiBinding[]>): boolean {
  callee = unwrap(callee)!;
  if (callee.type === 'Identifier') return bindings.has(callee.name);
  if (callee.type !== 'MemberExpression') return false;
  const prop = propertyName(callee);
  return (
    prop !== undefined &&
    unwrap(callee.object)!.type === 'Identifier' &&
    (Object.hasOwn(API_CALLS, prop) || Object.hasOwn(SCOPE_METHODS, prop) || prop === SCOPE_FACTORY)
  );
}

/** The binding an identifier reference resolves to, when it is a stepmark binding. */
function apiBindingOf(
  name: string,
  chain: readonly Node[],
  bindings: Map<string, ApiBinding[]>,
): ApiBinding | undefined {
  const list = bindings.get(name);
  if (!list) return undefined;
  const decl = resolve(name, chain);
  return list.find((b) => b.decl === decl);
}

/** The exported API name a callee refers to: `step` for `step`, `s` (alias), `sm.step`, `sm.default.step`. */
export function apiNameOf(
  callee: Node,
  chain: readonly Node[],
  bindings: Map<string, ApiBinding[]>,
): string | undefined {
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

function resolveCalls(
  candidates: readonly CandidateCall[],
  scopeCandidates: readonly CandidateScope[],
  bindings: Map<string, ApiBinding[]>,
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
      const abiMethod = Object.hasOwn(API_CALLS, api) ? API_CALLS[api] : undefined;
      if (abiMethod) calls.push({ call, abiMethod, name, scopeObject: undefined });
      continue;
    }
    const callee = unwrap(call.callee)!;
    const method = callee.type === 'MemberExpression' ? propertyName(callee) : undefined;
    if (scopeObjects.size > 0 && method !== undefined && Object.hasOwn(SCOPE_METHODS, method)) {
      const obj = unwrap(callee.object)!;
      if (obj.type === 'Identifier') {
        const decl = resolve(obj.name, chain);
        if (decl && scopeObjects.has(decl)) {
          calls.push({ call, abiMethod: SCOPE_METHODS[method]!, name, scopeObject: obj });
        }
      }
    }
  }
  return calls;
}
