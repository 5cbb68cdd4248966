/**
 * One walk over an ESTree-shaped AST (oxc's or Babel's, ./ast.ts) that finds what a plugin has to
 * change, decided by the shared rules:
 *
 * - frames: functions to wrap in `enter … try/catch`, each with its `enter` call (../sites.ts),
 *   location offset, the `await`/`yield` expressions and the `return`s directly inside it;
 * - calls: explicit `step()`/`enter()`/… calls bound to the stepmark import (and `.step`/`.enter`
 *   on a `const s = scope(kind)`), each with the name of its enclosing function.
 *
 * The esbuild and Vite plugins and the load-time hooks apply the result as text edits, the Babel
 * plugin to its AST. Every node is visited once, without allocating per node (the esbuild plugin's
 * hot path: bench `esbuild`).
 */
import {
  ABI,
  FRAME_BINDING,
  frameEnding,
  isReservedName,
  MODULE_SCOPE_NAME,
  RUNTIME_BINDING,
} from '../constants.js';
import type { Directive } from '../directives.js';
import { misplacedDirectiveError } from '../directives.js';
import { reservedNameError } from '../errors.js';
import type { Binding, FunctionDescription } from '../naming.js';
import { classInitializerName, className, functionName, objectName } from '../naming.js';
import { type FrameSpec, frameSpec, mergeDirectives, type SkipReason, selectFunction } from '../sites.js';
import {
  type ApiBindings,
  adder,
  addRequireBindings,
  type CallSite,
  type CandidateCall,
  type CandidateScope,
  collectApiBindings,
  mayBeApiCall,
  resolveCalls,
} from './api.js';
import type { Node, VisitorKeys } from './ast.js';
import {
  isClassField,
  isFunction,
  isMethodFunction,
  isObjectMember,
  runtimeBindingIndex,
  unwrap,
} from './ast.js';
import type { DirectiveIndex } from './directives.js';
import { isSuperCall, planStatements } from './layout.js';
import type { BindingContext } from './naming.js';
import { bindingOf, effectiveParent, locationOffset, methodBinding } from './naming.js';
import { isScopeNode } from './scopes.js';

export type { CallSite } from './api.js';

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
  readonly fn: Node;
  /** What its `enter` call says. */
  spec: FrameSpec;
  /** Offset the location points at (a method's key, `[` of a computed one, else the function's start). */
  readonly start: number;
  /** The key of a method, accessor or constructor (method syntax: located at its key, cataloged as a member). */
  readonly key: Node | undefined;
  /** A derived class's constructor: the frame goes after the first top-level `super(...)` statement. */
  readonly derivedConstructor: boolean;
  /** `await` / `yield` expressions directly in this function (not in nested functions), outermost first. */
  readonly suspensions: Node[];
  /** `try` statements of this function whose block holds a suspension (their handlers resume the frame). */
  readonly resumeTrys: Set<Node>;
  /**
   * `return` statements directly in this function that close its span (`spec.ending` is
   * `'returns'`), in source order: none before the frame opens (code before `super()`).
   */
  readonly returns: Node[];
}

export interface Analysis {
  readonly frames: FrameSite[];
  readonly calls: CallSite[];
  /** Functions with a body that get no frame, by reason (for the `debug` option). */
  readonly skipped: Partial<Record<SkipReason, number>>;
  /**
   * Whether the file has a decorator or an `accessor` class member: what a decorators transform
   * rewrites (without them, such a transform leaves the file as it is).
   */
  readonly decorated: boolean;
}

/** Keys of a visitor table that only hold types (oxc's and Babel's names); never walked. */
const TYPE_KEYS = new Set([
  'typeAnnotation',
  'returnType',
  'typeParameters',
  'typeArguments',
  'superTypeArguments',
  'superTypeParameters',
  'implements',
  'predicate',
]);

/** A function, or the code that runs a class's field initializers / static blocks. */
interface Context {
  /** The name explicit calls and anonymous functions inside get. */
  readonly name: string;
  /** The frame when this is an instrumented function (suspension points are collected into it). */
  readonly frame: FrameSite | undefined;
  /** The class whose instance `this` is here, when known (methods, constructors, field initializers). */
  readonly thisClass: string | undefined;
}

/**
 * Walks `program` once. `source` is the file's text (Babel may have none: then computed keys are
 * named by their node type). `nodeStarts`, when given, receives the start offset of every
 * run-time node (source map locations).
 *
 * @throws StepmarkDirectiveError for a directive that applies to no function, or an `entity=` path
 *   the function cannot read
 */
export function analyze(
  program: Node,
  source: string,
  directives: DirectiveIndex,
  policy: Policy,
  visitorKeys: VisitorKeys,
  nodeStarts?: number[],
): Analysis {
  const frames: FrameSite[] = [];
  const skipped: Partial<Record<SkipReason, number>> = {};
  const bindings = collectApiBindings(program, policy.importSource);
  // A `require` of the import source inside a function binds the API there too.
  const nestedRequires = source.includes('require');
  const tracking = bindings.size > 0 || nestedRequires;
  const addBinding = adder(bindings);
  const withDirectives = !directives.isEmpty;
  // Statements before the runtime binding of an earlier pass were put there by other plugins
  // (Babel helpers such as `_applyDecs`): not user code, never instrumented.
  const bindingAt = runtimeBindingIndex(program);
  const preamble = bindingAt > 0 ? new Set<Node>((program.body as Node[]).slice(0, bindingAt)) : undefined;
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
  // A variable of the user's named like one the emitted code binds (not in the output of an
  // earlier pass, which binds them itself): an error once something is emitted.
  const checkReserved = bindingAt < 0 && (!source || RESERVED_TEXT.test(source));
  let reserved: Node | undefined;
  /** The file holds a frame (`const __smf = ….enter(…)`): output of an earlier pass, whose runtime binding a compiler renamed. */
  let earlierPass = false;

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
    attached.set(node, mergeDirectives(attached.get(node), d)!);
  };
  const claim = (from: number, to: number, target: Node | null | undefined): void => {
    attach(target, directives.claim(from, to));
  };
  /** A directive before an overload signature belongs to the implementation that follows it. */
  const claimOverload = (from: number, to: number, node: Node): void => {
    const d = directives.claim(from, to);
    if (!d) return;
    const target = implementationOf(node, ancestors);
    if (!target) throw misplacedDirectiveError(d);
    attach(target, d);
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
        claim(Math.min(exportStart, node.start), node.start, node);
        return;
      case 'TSDeclareFunction':
        claimOverload(Math.min(exportStart, node.start), node.start, node);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression': {
        const first = node.decorators?.length ? Math.min(node.decorators[0].start, exportStart) : exportStart;
        claim(Math.min(first, node.start), node.start, node);
        return;
      }
      case 'MethodDefinition':
        if (node.value.type === 'TSEmptyBodyFunctionExpression')
          claimOverload(node.start, node.key.start, node);
        else claim(node.start, node.key.start, node.value);
        return;
      case 'TSDeclareMethod':
        claimOverload(node.start, node.key.start, node);
        return;
      case 'ClassMethod':
      case 'ClassPrivateMethod':
      case 'ObjectMethod':
        claim(node.start, node.key.start, node);
        return;
      case 'PropertyDefinition':
      case 'AccessorProperty':
      case 'TSAbstractMethodDefinition':
      case 'TSAbstractPropertyDefinition':
      case 'TSAbstractAccessorProperty':
      case 'Property':
      case 'ObjectProperty':
      case 'ClassProperty':
      case 'ClassPrivateProperty':
      case 'ClassAccessorProperty':
        claim(node.start, node.key.start, node.value);
        return;
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
      case 'ObjectExpression':
        claim(node.start, node.start, node);
        return;
    }
  };

  const visitAll = (nodes: readonly any[]): void => {
    for (let j = 0; j < nodes.length; j++) {
      const c = nodes[j];
      if (c !== null && typeof c === 'object' && typeof c.type === 'string') visit(c);
    }
  };

  let decorated = false;
  /** How many `with` statement bodies the node being visited is in. */
  let withDepth = 0;
  const framesWithWith = new Set<FrameSite>();
  const visit = (node: Node): void => {
    const type = node.type;
    if (nodeStarts) nodeStarts.push(node.start);
    if (checkReserved && type === 'Identifier' && isReservedName(node.name)) {
      const parent = ancestors[ancestors.length - 1];
      if (parent?.type === 'VariableDeclarator' && parent.id === node && isFrameDeclarator(parent))
        earlierPass = true;
      else if (reserved === undefined && isVariableName(node, parent)) reserved = node;
    }
    if (type === 'Decorator' || type === 'ClassAccessorProperty' || type === 'AccessorProperty')
      decorated = true;
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
    // Babel's method nodes hold their key: it is evaluated outside the method, so before its context.
    let method = false;
    if (isFunction(node)) {
      context = enterFunction(node);
      method = isMethodFunction(node);
    } else if (type === 'AwaitExpression' || type === 'YieldExpression') {
      // (in a `with` statement's body: left as they are, see frameEnding)
      const frame = top()?.frame;
      if (frame && withDepth === 0) {
        frame.suspensions.push(node);
        noteTrys(frame);
      }
    } else if (type === 'ReturnStatement') {
      const frame = top()?.frame;
      if (frame?.spec.ending === 'returns') frame.returns.push(node);
    } else if (type === 'WithStatement') {
      // A frame has one only when its function is not in one itself: this `with` is in its body.
      const frame = top()?.frame;
      if (frame) framesWithWith.add(frame);
    } else if (type === 'StaticBlock') {
      context = initializerContext(ancestors.length - 2, true);
    } else if (tracking) {
      if (type === 'CallExpression') {
        if (mayBeApiCall(node.callee, bindings)) {
          candidates.push({ call: node, chain: scopes.slice().reverse(), name: currentName() });
        }
      } else if (type === 'VariableDeclarator' && node.init) {
        // Only a `const` surely still holds the scope object where it is used (docs/ABI.md).
        if (
          node.id.type === 'Identifier' &&
          ancestors[ancestors.length - 1]?.kind === 'const' &&
          node.init.type === 'CallExpression' &&
          mayBeApiCall(node.init.callee, bindings)
        ) {
          scopeCandidates.push({ declarator: node, call: node.init, chain: scopes.slice().reverse() });
        }
        if (nestedRequires && scopes.length > 1) {
          addRequireBindings(node, policy.importSource, scopes.slice().reverse(), addBinding);
        }
      }
    }
    ancestors.push(node);
    if (method) {
      if (node.decorators) visitAll(node.decorators);
      visit(node.key);
    }
    if (context) contexts.push(context);
    const scoped = tracking && isScopeNode(node);
    if (scoped) scopes.push(node);
    const keys = keysOf(type);
    const fieldValue = isClassField(node) ? node.value : undefined;
    const withBody = type === 'WithStatement' ? node.body : undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (method && (key === 'key' || key === 'decorators')) continue;
      const child = node[key];
      if (child === null || child === undefined) continue;
      if (Array.isArray(child)) {
        visitAll(child);
      } else if (typeof child.type === 'string') {
        if (child === withBody) {
          withDepth++;
          visit(child);
          withDepth--;
        } else if (child === fieldValue) {
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
    if (context) {
      contexts.pop();
      const frame = context.frame;
      if (frame && framesWithWith.has(frame)) {
        // Its returns close nothing: a `finally` closes the span (frameEnding).
        frame.spec = {
          ...frame.spec,
          ending: frameEnding({
            async: node.async === true,
            generator: node.generator === true,
            withStatement: true,
          }),
        };
        frame.returns.length = 0;
      }
      if (frame?.derivedConstructor && frame.returns.length) dropReturnsBeforeFrame(frame);
    }
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

  const skip = (reason: SkipReason): void => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };

  const enterFunction = (fn: Node): Context => {
    const parentIndex = ancestors.length - 1;
    const outer = top();
    let binding: Binding;
    /** The class or object member the function is the method (accessor, constructor) of. */
    let member: Node | undefined;
    /** Index of the class body or object literal holding the member the function is or is the value of. */
    let memberParent = -1;
    let objectMember = false;
    if (isMethodFunction(fn)) {
      binding = methodBinding(fn, parentIndex, naming);
      member = fn;
      memberParent = parentIndex;
      objectMember = fn.type === 'ObjectMethod';
    } else {
      binding = bindingOf(fn, ancestors, parentIndex, naming);
      if (binding.type === 'member') {
        const { parent, at } = effectiveParent(fn, ancestors, parentIndex);
        if (binding.role !== 'value') member = parent;
        memberParent = at - 1;
        objectMember = isObjectMember(parent!);
      }
    }
    const ownName =
      fn.type !== 'ArrowFunctionExpression' && fn.id?.type === 'Identifier'
        ? (fn.id.name as string)
        : undefined;
    const description: FunctionDescription = { ownName, binding, enclosing: outer?.name };
    const name = functionName(description);
    const thisClass =
      fn.type === 'ArrowFunctionExpression'
        ? outer?.thisClass
        : binding.type === 'member' && member && !objectMember
          ? binding.container
          : undefined;

    let frame: FrameSite | undefined;
    // Neither marked nor under a directive: nothing here can be selected (a file that only calls the API).
    if (fn.body && !policy.wholeFile && !withDirectives) skip('not-marked');
    else if (fn.body) {
      const own = attached.get(fn);
      if (own) used.add(own);
      for (const d of ignores) used.add(d);
      let container: Directive | undefined;
      if (memberParent >= 0) {
        const node = objectMember ? ancestors[memberParent] : ancestors[memberParent - 1];
        container = node && attached.get(node);
        if (container) used.add(container);
      }
      if (preamble?.has(ancestors[1] ?? fn)) {
        skip('compiler-helper');
      } else {
        const choice = selectFunction(
          {
            description,
            own,
            container,
            ignoredAbove: ignoredDepth > 0,
            insideWith: withDepth > 0,
            // one written in this pass has no position (Babel, when a plugin before this one compiled TypeScript)
            compilerHelper: () =>
              typeof fn.start !== 'number' && isCompilerHelper(fn, ancestors, parentIndex),
            instrumented: () => alreadyInstrumented(fn),
          },
          policy.wholeFile,
          policy,
        );
        if (choice.skip !== undefined) {
          skip(choice.skip);
        } else {
          const cls =
            binding.type === 'member' && binding.role === 'constructor'
              ? ancestors[memberParent - 1]
              : undefined;
          const derivedConstructor = cls != null && cls.superClass != null;
          frame = {
            fn,
            spec: frameSpec(name, choice.directive, {
              async: fn.async === true,
              generator: fn.generator === true,
              arrow: fn.type === 'ArrowFunctionExpression',
              derivedConstructor,
              hasSuperCall: () => (fn.body.body as Node[]).some(isSuperCall),
              parameterNames: () => parameterNames(fn),
            }),
            start: locationOffset(fn, member, source),
            key: member?.key,
            derivedConstructor,
            suspensions: [],
            resumeTrys: new Set(),
            returns: [],
          };
          frames.push(frame);
        }
      }
    }
    return { name, frame, thisClass };
  };

  visit(program);
  directives.assertAllUsed();
  for (const d of attached.values()) if (!used.has(d)) throw misplacedDirectiveError(d);
  const calls = tracking ? resolveCalls(candidates, scopeCandidates, bindings) : [];
  if (reserved && !earlierPass && (frames.length > 0 || calls.length > 0))
    throw reservedNameError(reserved.name, reserved.start);
  return { frames, calls, skipped, decorated };
}

const RESERVED_TEXT = new RegExp(`${FRAME_BINDING}|${RUNTIME_BINDING}`);

/**
 * `__smf = X.enter(…)` / `X.enterEntity(…)`: a frame an earlier pass wrote, also after a compiler
 * renamed its runtime binding (Babel's CommonJS pass: `_runtime.v2.enter(…)`).
 */
function isFrameDeclarator(d: Node): boolean {
  const callee = d.init?.type === 'CallExpression' ? d.init.callee : undefined;
  return (
    callee?.type === 'MemberExpression' &&
    callee.computed !== true &&
    (callee.property.name === ABI.enter || callee.property.name === ABI.enterEntity)
  );
}

/** Whether identifier `id` (a child of `parent`) names a variable: not a property name or a label. */
function isVariableName(id: Node, parent: Node | undefined): boolean {
  if (!parent) return true;
  switch (parent.type) {
    case 'MemberExpression':
    case 'OptionalMemberExpression':
      return parent.property !== id || parent.computed === true;
    case 'Property':
    case 'ObjectProperty':
    case 'MethodDefinition':
    case 'PropertyDefinition':
    case 'AccessorProperty':
    case 'ClassMethod':
    case 'ClassProperty':
    case 'ClassAccessorProperty':
    case 'ObjectMethod':
    case 'TSAbstractMethodDefinition':
    case 'TSAbstractPropertyDefinition':
    case 'TSPropertySignature':
    case 'TSMethodSignature':
      // `{ __smf }` (shorthand) still reads the variable: its value is the same name
      return parent.key !== id || parent.computed === true || parent.shorthand === true;
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return false;
    case 'ImportSpecifier':
    case 'ExportSpecifier':
      // not `imported` / `exported`, the other module's name
      return parent.local === id;
    default:
      return true;
  }
}

const NO_BINDING: Binding = { type: 'none' };

/** Every name a function's parameter list binds (for `entity=` checks). */
function parameterNames(fn: Node): string[] {
  const names: string[] = [];
  const add = (p: Node | null): void => {
    if (!p) return;
    switch (p.type) {
      case 'Identifier':
        if (p.name !== 'this') names.push(p.name); // TypeScript's `this` parameter binds nothing
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
function alreadyInstrumented(fn: Node): boolean {
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

/**
 * A `return` in a derived constructor's code before `super()` runs before the frame exists: it
 * is left as it is.
 */
function dropReturnsBeforeFrame(frame: FrameSite): void {
  const statements = frame.fn.body.body as Node[];
  const { frameAt } = planStatements(statements, true);
  if (frameAt === 0) return;
  const at = statements[frameAt - 1]!.end;
  const kept = frame.returns.filter((r) => r.start >= at);
  frame.returns.length = 0;
  frame.returns.push(...kept);
}

/**
 * The function TypeScript compiles an enum or namespace into: `(function (Color) { … })(Color ||
 * (Color = {}))` (tsc) or `var Color = function (Color) { …; return Color; }({})` (Babel). Asked
 * only for a function a compiler wrote in the same pass (without a position): one in the input
 * (a published package compiled by tsc) is instrumented like any callback, on every route.
 */
function isCompilerHelper(fn: Node, ancestors: readonly Node[], parentIndex: number): boolean {
  if (fn.type !== 'FunctionExpression' || fn.id || fn.params.length !== 1) return false;
  const param = fn.params[0] as Node;
  if (param.type !== 'Identifier') return false;
  const { parent: call, child, at } = effectiveParent(fn, ancestors, parentIndex);
  if (call?.type !== 'CallExpression' || call.callee !== child || call.arguments.length !== 1) return false;
  const arg = unwrap(call.arguments[0])!;
  if (arg.type === 'LogicalExpression' && arg.operator === '||') {
    // `N || (N = {})`; Babel names the parameter of a namespace's function `_N`
    const left = arg.left as Node;
    const name =
      left.type === 'Identifier'
        ? left.name
        : left.type === 'MemberExpression' && left.property.type === 'Identifier'
          ? left.property.name
          : undefined;
    return name !== undefined && (name === param.name || `_${name}` === param.name);
  }
  const declarator = ancestors[at - 1];
  return (
    arg.type === 'ObjectExpression' &&
    arg.properties.length === 0 &&
    declarator?.type === 'VariableDeclarator' &&
    declarator.id.type === 'Identifier' &&
    declarator.id.name === param.name
  );
}

/** The name an overload signature and its implementation share (`static m` for a static method). */
function overloadName(n: Node): string | undefined {
  switch (n.type) {
    case 'TSDeclareFunction':
    case 'FunctionDeclaration':
      return n.id?.name;
    case 'TSDeclareMethod':
    case 'ClassMethod':
    case 'MethodDefinition':
      return n.key.type === 'Identifier' && !n.computed
        ? `${n.static ? 'static ' : ''}${n.key.name}`
        : undefined;
    default:
      return undefined;
  }
}

/** The implementation (a function with a body) that follows the overload signature `node`, matched by name. */
function implementationOf(node: Node, ancestors: readonly Node[]): Node | undefined {
  let i = ancestors.length - 1;
  let item = node;
  const parent = ancestors[i];
  if (parent?.type === 'ExportNamedDeclaration' || parent?.type === 'ExportDefaultDeclaration')
    item = ancestors[i--]!;
  const siblings = ancestors[i]?.body;
  const name = overloadName(node);
  if (!Array.isArray(siblings) || name === undefined) return undefined;
  for (let j = siblings.indexOf(item) + 1; j < siblings.length; j++) {
    let s = siblings[j] as Node;
    if ((s.type === 'ExportNamedDeclaration' || s.type === 'ExportDefaultDeclaration') && s.declaration)
      s = s.declaration;
    if (overloadName(s) !== name) continue;
    if (s.type === 'FunctionDeclaration' || s.type === 'ClassMethod') return s;
    if (s.type === 'MethodDefinition' && s.value.body) return s.value;
  }
  return undefined;
}

const childKeyTables = new WeakMap<object, Map<string, readonly string[]>>();
const NO_KEYS: readonly string[] = [];

/** Child keys per node type without the type-only keys; TS type nodes get none. Built once per key table. */
function childKeys(visitorKeys: VisitorKeys): (type: string) => readonly string[] {
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

export type { ApiBindings };
