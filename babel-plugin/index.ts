/**
 * `stepmark/babel-plugin`: the Babel plugin (Babel 7 and 8, with or without
 * `@babel/preset-typescript`). The decisions — options, directives, names, locations, the emitted
 * identifiers — come from the shared core in `instrument/`; this file only speaks Babel.
 *
 * It decides everything on entering the file (`Program.enter`), before other plugins and presets
 * see it: it sees the source as written (TypeScript included). Two ways to walk it (docs/BABEL.md):
 *
 * - Every other plugin of the pass is passive (types, JSX, a module transform after this one):
 *   the functions are handled in Babel's one traversal of the pass (MERGED_VISITOR), and the
 *   frames are written into the same function nodes at `Program.exit`, so no other visitor walks
 *   them and Babel does not re-scan the scopes of the wrapped bodies (the bench module: 2× → 1.2×).
 * - Otherwise (preset-env, decorators, a user's plugin, or strip/catalog modes): one traversal
 *   of its own in `Program.enter`, writing each frame as the function is left; the other plugins
 *   then transform the instrumented code (types stripped, modules converted, decorators applied).
 *
 * @example
 * // babel.config.json
 * { "presets": ["@babel/preset-typescript"], "plugins": [["stepmark/babel-plugin", { "include": ["src/**"] }]] }
 */
import type { NodePath, PluginObject, PluginPass, types as t, Visitor } from '@babel/core';
import { catalogWriter, FileCatalog } from '../instrument/catalog.js';
import {
  ABI_CHECK_FUNCTION,
  ABI_EXPORT,
  ABI_VERSION,
  checkEntityRoot,
  type Directive,
  formatLocation,
  frameEnding,
  frameFlags,
  ineligibility,
  LineIndex,
  type MarkDirective,
  projectRelativePath,
  type ResolvedOptions,
  RUNTIME_BINDING,
  resolveOptions,
  runtimeSpecifier,
  StepmarkBuildError,
  type StepmarkOptions,
  selectFile,
  selectsWholeFile,
} from '../instrument/index.js';
import { CallRewriter } from './calls.js';
import { addCallSite, addRecordSite, isMethodSyntax, positionOf } from './catalog.js';
import { type FunctionPath, Namer, outermostWrapper } from './describe.js';
import { ATTACHABLE_TYPES, FileDirectives, isRuntimeBinding } from './directives.js';
import {
  emitFrame,
  ensureBlockBody,
  type FrameSpec,
  isDerivedConstructor,
  isInstrumented,
  resumeInHandlers,
  superEnd,
  wrapReturn,
  wrapSuspension,
} from './frame.js';
import { BabelStripper } from './strip.js';

type Types = typeof t;

/**
 * The subset of Babel's plugin API used here (the same in Babel 7 and 8). Declared here rather
 * than imported so the published types do not depend on which Babel's typings a project has.
 */
export interface BabelApi {
  types: unknown;
  assertVersion(range: number | string): void;
}

/** What the factory returns: an ordinary Babel plugin object (typed loosely: any Babel's typings accept it). */
export interface StepmarkBabelPluginObject {
  name: string;
  // `any`: must be assignable to the Visitor type of both Babel 7 and Babel 8 typings
  visitor: any;
}

export type { StepmarkOptions } from '../instrument/index.js';

/** Babel versions this plugin supports. */
export const BABEL_VERSION_RANGE = '^7.22.0 || ^8.0.0';

/** Counts of what happened in one file, printed with the `debug` option. */
interface FileStats {
  instrumented: number;
  rewritten: number;
  skipped: Record<string, number>;
}

/**
 * The plugin factory (Babel calls it once per options object; options are validated here,
 * so a typo fails the build at configuration time).
 */
export default function stepmarkBabelPlugin(
  api: BabelApi,
  rawOptions?: StepmarkOptions | object,
): StepmarkBabelPluginObject {
  api.assertVersion(BABEL_VERSION_RANGE);
  const options = resolveOptions(rawOptions, { host: 'stepmark/babel-plugin' });
  const t = api.types as Types;
  const enter = (path: NodePath<t.Program>, state: PluginPass) => {
    // Strip mode and the catalog keep their own traversal (they are not on the hot path).
    const merged = options.catalog === undefined && !options.strip && sharesPass(state, enter);
    const run = instrumentProgram(t, path, state, options, merged);
    if (run) (state as RunHolder)[RUN] = run;
  };
  const plugin: PluginObject<PluginPass> = {
    name: 'stepmark',
    visitor: {
      ...MERGED_VISITOR,
      Program: {
        enter,
        exit(_path, state) {
          const run = (state as RunHolder)[RUN];
          if (!run) return;
          (state as RunHolder)[RUN] = undefined;
          run.finish();
        },
      },
    },
  };
  return plugin as StepmarkBabelPluginObject;
}

/** Where a file's run waits for the shared traversal and `Program.exit` (on Babel's per-file plugin state). */
const RUN = Symbol('stepmark.run');
type RunHolder = PluginPass & { [RUN]?: FileRun };

/** Per-file handlers; `finish` writes deferred frames, the runtime import and the debug line. */
interface FileRun extends TraversalState {
  finish(): void;
}

/**
 * Plugins that may share a pass with deferred frames: they neither restructure function bodies
 * nor lower syntax that the frames use (`const`, `?.`). Syntax plugins have no visitor at all.
 */
const PASSIVE_PLUGIN =
  /^(?:transform-typescript|transform-react-jsx(?:-development|-self|-source)?|transform-react-display-name|transform-react-pure-annotations)$/;
/** Plugins whose work happens in `Program.exit`: fine when they come after this one. */
const LATER_PLUGIN = /^transform-modules-commonjs$/;

/**
 * Whether this file's functions can be handled in Babel's one traversal of the pass (shared with
 * the other plugins) and the frames written at `Program.exit`: every other plugin is passive (or
 * a module transform that runs after us). Unknown plugins, or a pass we cannot read, say no.
 */
function sharesPass(state: PluginPass, ownEnter: unknown): boolean {
  const opts = state.file.opts as { plugins?: unknown; passPerPreset?: boolean };
  if (opts.passPerPreset || !Array.isArray(opts.plugins)) return false;
  const plugins = opts.plugins as Array<{ key?: unknown; visitor?: Record<string, unknown> }>;
  const self = plugins.findIndex((p) => {
    const program = p.visitor?.Program as { enter?: unknown } | undefined;
    const enters = program?.enter;
    return enters === ownEnter || (Array.isArray(enters) && enters.includes(ownEnter));
  });
  if (self < 0) return false;
  return plugins.every((p, i) => {
    if (i === self) return true;
    const key = typeof p.key === 'string' ? p.key : '';
    if (PASSIVE_PLUGIN.test(key)) return true;
    if (LATER_PLUGIN.test(key)) return i > self;
    // a syntax plugin: nothing but Babel's own markers in its visitor
    return Object.keys(p.visitor ?? {}).every((k) => k.startsWith('_'));
  });
}

/**
 * Instruments one file. Separately (`merged` false): walks the file now and is done. Merged:
 * returns the handlers for the pass's shared traversal (MERGED_VISITOR) and `Program.exit`,
 * or undefined when the file has nothing to do.
 */
function instrumentProgram(
  t: Types,
  program: NodePath<t.Program>,
  state: PluginPass,
  options: ResolvedOptions,
  merged: boolean,
): FileRun | undefined {
  const file = state.file;
  const code: string = file.code ?? '';
  const filename = state.filename ?? file.opts.filename ?? undefined;
  const relPath = filename ? projectRelativePath(filename, options.root) : 'unknown';
  let lines: LineIndex | undefined;
  const codeFrameError = (error: unknown): Error => {
    if (!(error instanceof StepmarkBuildError) || error.offset === undefined) return error as Error;
    lines ??= new LineIndex(code);
    const start = lines.locate(error.offset);
    const end = lines.locate(error.offset + (error.length ?? 1));
    const loc = {
      start: { line: start.line, column: start.column - 1, index: error.offset },
      end: { line: end.line, column: end.column - 1, index: error.offset + (error.length ?? 1) },
    };
    const e = file.buildCodeFrameError(
      { loc } as unknown as t.Node,
      `${error.message} (${start.line}:${start.column})`,
    );
    Object.assign(e, { code: error.code, stepmarkError: error });
    return e;
  };

  /** `path:line:col` of a function (docs/NAMING.md §2): a method's key (`[` of a computed one), else the function. */
  const locationOf = (node: FunctionPath['node']): string | undefined => {
    const isMember =
      node.type === 'ClassMethod' || node.type === 'ClassPrivateMethod' || node.type === 'ObjectMethod';
    const at: t.Node = isMember ? node.key : node;
    if (isMember && node.computed && at.start != null && code) {
      let i = at.start - 1;
      while (i > 0 && code[i] !== '[') i--;
      lines ??= new LineIndex(code);
      const pos = lines.locate(i);
      return formatLocation(relPath, pos.line, pos.column);
    }
    return at.loc ? formatLocation(relPath, at.loc.start.line, at.loc.start.column + 1) : undefined;
  };

  let directives: FileDirectives;
  try {
    directives = new FileDirectives(program.node, file.ast.comments ?? undefined, code);
  } catch (e) {
    throw codeFrameError(e);
  }
  const selection = selectFile(relPath, directives.fileMarked, options);
  const wholeFile = selectsWholeFile(selection);
  const rewriter = CallRewriter.mayRewrite(code, options.importSource)
    ? new CallRewriter(t, options.importSource)
    : undefined;
  if (!wholeFile && !directives.hasPending && !rewriter) {
    if (options.debug) debugLog(relPath, selection, undefined);
    return undefined;
  }

  const namer = new Namer(code);
  // Merged: frames are written at Program.exit, after TypeScript has been through the bodies
  // (so no other visitor walks them, and Babel does not re-scan the scopes of moved bodies).
  const deferred: Array<() => void> | undefined = merged ? [] : undefined;
  // Decided now: TypeScript's `import x = require()` / `export =` are gone by Program.exit.
  const commonJs = isCommonJs(program);
  const stats: FileStats = { instrumented: 0, rewritten: 0, skipped: {} };
  // stage catalog (docs/CATALOG.md) and strip mode (docs/STRIP.md)
  const catalog = options.catalog !== undefined ? new FileCatalog(relPath) : undefined;
  const stripper = options.strip && rewriter ? new BabelStripper(t, rewriter) : undefined;
  const skip = (why: string) => {
    stats.skipped[why] = (stats.skipped[why] ?? 0) + 1;
  };

  // On a second pass, statements before our runtime binding were put there by other plugins
  // (Babel helpers such as `_applyDecs`): not user code, never instrumented.
  const bindingIndex = program.node.body.findIndex(isRuntimeBinding);
  const preamble = new Set(bindingIndex > 0 ? program.node.body.slice(0, bindingIndex) : []);

  /**
   * On entering a function: whether it gets a frame (so its `await`/`yield` can be wrapped as
   * the traversal meets them), or why not. Skips are counted here, once per function.
   */
  const selected = new WeakMap<t.Node, { directive?: MarkDirective; trys: Set<t.TryStatement> }>();
  // Each function and suspension is handled once: in the shared traversal another plugin may
  // replace an ancestor and Babel then walks the same nodes again (the JSX transform does, for
  // the arrows inside an element).
  const seen = new WeakSet<t.Node>();
  const enterFunction = (path: FunctionPath) => {
    const node = path.node;
    if (!node.body) return; // overloads, `declare`, abstract members (Babel: TSDeclare* nodes, never here)
    if (seen.has(node)) return;
    seen.add(node);
    directives.visit(path);
    if (
      preamble.size &&
      preamble.has(path.find((p) => p.parentPath?.isProgram() ?? false)?.node as t.Statement)
    ) {
      return skip('helper inserted before the runtime binding');
    }
    // Decide first: it consumes the function's directives, also when a previous pass already instrumented it.
    const decision = decide(path, directives, wholeFile, namer, options);
    if (node.body.type === 'BlockStatement' && isInstrumented(node.body)) return skip('already instrumented');
    if (decision.skip) return skip(decision.skip);
    const directive = decision.directive;
    if (directive?.entity) {
      const params = node.params.flatMap((p) => Object.keys(t.getBindingIdentifiers(p as t.Node)));
      const derivedWithoutSuper =
        node.type === 'ClassMethod' &&
        node.kind === 'constructor' &&
        node.body.type === 'BlockStatement' &&
        isDerivedConstructor(path) &&
        superEnd(node.body) === 0;
      checkEntityRoot(directive, params, node.type !== 'ArrowFunctionExpression' && !derivedWithoutSuper);
    }
    if (options.strip) {
      const where = catalog ? locationOf(node) : undefined;
      if (catalog && where) {
        const at = positionOf(where);
        catalog.addFunction(namer.nameOf(path), isMethodSyntax(node), at.line, at.column);
      }
      return skip('strip mode');
    }
    // `async x => await y`: give it a block now, so its awaits sit where they will stay.
    if (node.async || node.generator) ensureBlockBody(t, node);
    selected.set(node, { directive, trys: new Set() });
  };

  /** On leaving a selected function: its frame (nested functions and suspensions are done). */
  const exitFunction = (path: FunctionPath) => {
    const node = path.node;
    const state = selected.get(node);
    if (!state) return;
    selected.delete(node);
    const where = catalog || options.locations ? locationOf(node) : undefined;
    if (catalog && where) {
      const at = positionOf(where);
      catalog.addFunction(namer.nameOf(path), isMethodSyntax(node), at.line, at.column);
    }
    resumeInHandlers(t, state.trys);
    const spec: FrameSpec = {
      name: namer.nameOf(path),
      location: options.locations ? where : undefined,
      entity: state.directive?.entity,
      kind: state.directive?.kind,
      flags: frameFlags({ async: node.async === true, generator: node.generator === true }),
    };
    const derived = isDerivedConstructor(path);
    if (deferred) deferred.push(() => emitFrame(t, node, spec, derived, true));
    else emitFrame(t, node, spec, derived, false);
    stats.instrumented++;
  };

  /** An `await`/`yield` (after its operand was visited): wrapped when its function is selected. */
  const suspension = (path: NodePath<t.AwaitExpression | t.YieldExpression>) => {
    const fn = path.getFunctionParent();
    const state = fn && selected.get(fn.node);
    if (!state || seen.has(path.node)) return;
    seen.add(path.node);
    wrapSuspension(t, path, fn.node, state.trys);
  };

  /**
   * A `return` (after its argument was visited) of a selected function whose frame closes its
   * span at returns (`frameEnding`): `return v` → `return __smf.x(v)`. Not one before `super()`
   * in a derived constructor: that code runs before the frame exists.
   */
  const returnStatement = (path: NodePath<t.ReturnStatement>) => {
    const fn = path.getFunctionParent();
    if (!fn || !selected.has(fn.node) || seen.has(path.node)) return;
    const node = fn.node as FunctionPath['node'];
    if (frameEnding({ async: node.async === true, generator: node.generator === true }) !== 'returns') return;
    if (isDerivedConstructor(fn as FunctionPath) && node.body.type === 'BlockStatement') {
      const statement = path.find((p) => p.parentPath?.node === node.body);
      const index = node.body.body.indexOf(statement?.node as t.Statement);
      if (index < superEnd(node.body)) return;
    }
    seen.add(path.node);
    wrapReturn(path.node);
  };

  /** A call: the stepmark API ones are rewritten (or stripped), and recorded in the catalog. */
  const call = (path: NodePath<t.CallExpression>) => {
    if (catalog && rewriter) addRecordSite(catalog, path, rewriter);
    if (stripper) {
      const { loc } = path.node;
      const removed = stripper.call(path);
      if (removed?.abiMethod && catalog)
        addCallSite(catalog, loc, removed.abiMethod, removed.args, namer.enclosingName(path));
      return;
    }
    const args = catalog ? [...path.node.arguments] : [];
    if (rewriter?.rewrite(path, () => namer.enclosingName(path))) {
      stats.rewritten++;
      if (catalog) {
        const callee = path.node.callee as t.MemberExpression;
        const method = (callee.property as t.Identifier).name;
        addCallSite(catalog, path.node.loc, method, args, namer.enclosingName(path));
      }
    }
  };

  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (e) {
        throw codeFrameError(e);
      }
    };
  const run: FileRun = {
    directives,
    attachDirectives: guarded((path: NodePath) => directives.visit(path)),
    enterFunction: guarded(enterFunction),
    exitFunction: guarded(exitFunction),
    suspension: guarded(suspension),
    returnStatement: guarded(returnStatement),
    call: guarded(call),
    finish() {
      try {
        directives.assertAllUsed();
      } catch (e) {
        throw codeFrameError(e);
      }
      if (deferred) for (const emit of deferred) emit();
      stripper?.finish(program);
      if (catalog) catalogWriter(options.catalog!, options.root).set(catalog);
      if (stats.instrumented + stats.rewritten > 0)
        addRuntimeImport(t, program, options.importSource, commonJs);
      if (options.debug) debugLog(relPath, selection, stats, merged && stats.instrumented > 0);
    },
  };
  if (merged) return run;
  // Scopes are only read to resolve what an explicit call's callee is bound to.
  const scoped = rewriter !== undefined || stripper !== undefined;
  program.traverse(VISITORS[(directives.hasPending ? 1 : 0) + (scoped ? 0 : 2)]!, run);
  run.finish();
  return undefined;
}

/** What the module-level visitors call back into: the per-file handlers. */
interface TraversalState {
  directives: FileDirectives;
  /** Attaches the directives in the leading comments of a node (errors carry a code frame). */
  attachDirectives(path: NodePath): void;
  enterFunction(path: FunctionPath): void;
  exitFunction(path: FunctionPath): void;
  suspension(path: NodePath<t.AwaitExpression | t.YieldExpression>): void;
  returnStatement(path: NodePath<t.ReturnStatement>): void;
  call(path: NodePath<t.CallExpression>): void;
}

function makeVisitor(withDirectives: boolean, noScope: boolean): Visitor<TraversalState> {
  const visitor: Record<string, unknown> = {
    // Without scopes Babel skips its scope bookkeeping on every node (the main traversal that
    // follows sets them up anyway).
    noScope,
    // Types hold no code: not walking them saves a good part of a TypeScript file's nodes.
    'TSTypeAnnotation|TSTypeParameterDeclaration|TSTypeParameterInstantiation|TSInterfaceDeclaration|TSTypeAliasDeclaration|ImportDeclaration'(
      path: NodePath,
    ) {
      path.skip();
    },
    Function: {
      enter(this: TraversalState, path: NodePath) {
        if (path.isTSDeclareFunction?.() || path.isTSDeclareMethod?.()) return;
        this.enterFunction(path as FunctionPath);
      },
      // Frames are emitted on exit, after the calls and nested functions inside were handled.
      exit(this: TraversalState, path: NodePath) {
        this.exitFunction(path as FunctionPath);
      },
    },
    'AwaitExpression|YieldExpression': {
      exit(this: TraversalState, path: NodePath<t.AwaitExpression | t.YieldExpression>) {
        this.suspension(path);
      },
    },
    ReturnStatement: {
      exit(this: TraversalState, path: NodePath<t.ReturnStatement>) {
        this.returnStatement(path);
      },
    },
    CallExpression(this: TraversalState, path: NodePath<t.CallExpression>) {
      this.call(path);
    },
  };
  if (withDirectives) {
    visitor[ATTACHABLE_TYPES] = {
      enter(this: TraversalState, path: NodePath) {
        if (this.directives.hasPending) this.attachDirectives(path);
      },
    };
  }
  return visitor as Visitor<TraversalState>;
}

/**
 * The one traversal, as module-level objects so Babel prepares ("explodes") them once, not per
 * file: with or without the directive visitor (only while a file has directives), with or
 * without scopes (only for files whose stepmark calls need resolving). Index: directives + 2 × noScope.
 */
const VISITORS = [
  makeVisitor(false, false),
  makeVisitor(true, false),
  makeVisitor(false, true),
  makeVisitor(true, true),
];

/**
 * The plugin's own visitor, for files handled in the pass's shared traversal: the same handlers,
 * found on the per-file state (nothing happens in files without a run). No type skipping here:
 * TypeScript's visitors must see the types.
 */
const MERGED_VISITOR: Record<string, unknown> = {
  Function: {
    enter(path: NodePath, state: RunHolder) {
      const run = state[RUN];
      if (!run || path.isTSDeclareFunction?.() || path.isTSDeclareMethod?.()) return;
      run.enterFunction(path as FunctionPath);
    },
    exit(path: NodePath, state: RunHolder) {
      state[RUN]?.exitFunction(path as FunctionPath);
    },
  },
  'AwaitExpression|YieldExpression': {
    exit(path: NodePath<t.AwaitExpression | t.YieldExpression>, state: RunHolder) {
      state[RUN]?.suspension(path);
    },
  },
  ReturnStatement: {
    exit(path: NodePath<t.ReturnStatement>, state: RunHolder) {
      state[RUN]?.returnStatement(path);
    },
  },
  CallExpression(path: NodePath<t.CallExpression>, state: RunHolder) {
    state[RUN]?.call(path);
  },
  [ATTACHABLE_TYPES]: {
    enter(path: NodePath, state: RunHolder) {
      const run = state[RUN];
      if (run?.directives.hasPending) run.attachDirectives(path);
    },
  },
};

/** Why a function is skipped, or the directive that selects it. */
interface Decision {
  skip?: string;
  directive?: MarkDirective;
}

/**
 * Selection (docs/NAMING.md §3): `@stepmark-ignore` on the function or anything around it wins;
 * a `@stepmark` on the function itself selects it regardless of eligibility; otherwise it must
 * be eligible and its class / object literal or its file must be marked.
 */
function decide(
  path: FunctionPath,
  directives: FileDirectives,
  wholeFile: boolean,
  namer: Namer,
  options: ResolvedOptions,
): Decision {
  const own = ownDirective(path, directives);
  if (own?.type === 'ignore' || ignoredAbove(path, directives)) return { skip: 'ignored (@stepmark-ignore)' };
  if (own?.type === 'mark') return { directive: own };
  const container = containerDirective(path, directives);
  if (!wholeFile && container?.type !== 'mark') return { skip: 'not marked' };
  const description = namer.describe(path);
  if (description.binding.type === 'none' && !path.node.loc && isTypeScriptHelper(path))
    return { skip: 'TypeScript enum/namespace helper' };
  const why = ineligibility(description, options);
  if (why === 'accessor') return { skip: 'getter/setter (option getters: false)' };
  if (why === 'callback') return { skip: 'anonymous callback (option callbacks: false)' };
  return {};
}

/**
 * The function TypeScript compiles an enum or namespace into: `(function (Color) { … })(Color ||
 * (Color = {}))` (tsc) or `var Color = function (Color) { …; return Color; }({})` (Babel). Only
 * one a compiler wrote in this pass (it has no source location) is skipped: the other plugins
 * never see those, since TypeScript compiles enums after them. One that is in the input (a
 * published package compiled by tsc) is instrumented like any callback, as the other plugins do.
 */
function isTypeScriptHelper(path: FunctionPath): boolean {
  const node = path.node;
  if (node.type !== 'FunctionExpression' || node.id || node.params.length !== 1) return false;
  const param = node.params[0]!;
  if (param.type !== 'Identifier') return false;
  const p = outermostWrapper(path);
  const call = p.parentPath;
  if (!call?.isCallExpression() || p.key !== 'callee' || call.node.arguments.length !== 1) return false;
  const arg = call.node.arguments[0]!;
  if (arg.type === 'LogicalExpression' && arg.operator === '||') {
    // `N || (N = {})`; Babel names the parameter of a namespace's function `_N`
    const left = arg.left;
    const name =
      left.type === 'Identifier'
        ? left.name
        : left.type === 'MemberExpression' && left.property.type === 'Identifier'
          ? left.property.name
          : undefined;
    return name !== undefined && (name === param.name || `_${name}` === param.name);
  }
  const declarator = call.parentPath;
  return (
    arg.type === 'ObjectExpression' &&
    arg.properties.length === 0 &&
    declarator?.isVariableDeclarator() === true &&
    declarator.node.id.type === 'Identifier' &&
    declarator.node.id.name === param.name
  );
}

/**
 * The directive on the function itself or on what binds exactly it: its declarator and
 * declaration, the property or class field it is the value of, the assignment statement, the
 * `export`. Also used for classes and object literals (their own directive).
 */
function ownDirective(path: NodePath, directives: FileDirectives): Directive | undefined {
  let found = directives.get(path.node);
  let p = outermostWrapper(path);
  for (let parent = p.parentPath; parent; p = parent, parent = parent.parentPath) {
    const type = parent.node.type;
    let last = false;
    if (type === 'VariableDeclarator' || type === 'AssignmentExpression') {
      if (p.key !== (type === 'VariableDeclarator' ? 'init' : 'right')) break;
    } else if (
      type === 'ObjectProperty' ||
      type === 'ClassProperty' ||
      type === 'ClassPrivateProperty' ||
      type === 'ClassAccessorProperty'
    ) {
      if (p.key !== 'value') break;
      last = true;
    } else if (type === 'ExportNamedDeclaration' || type === 'ExportDefaultDeclaration') {
      last = true;
    } else if (type !== 'VariableDeclaration' && type !== 'ExpressionStatement') {
      break;
    }
    found = merge(found, directives.get(parent.node));
    if (last) break;
  }
  return found;
}

/** A directive on the class or object literal the function is a member of (or on what binds that). */
function containerDirective(path: FunctionPath, directives: FileDirectives): Directive | undefined {
  const node = path.node;
  let container: NodePath | null = null;
  if (node.type === 'ClassMethod' || node.type === 'ClassPrivateMethod')
    container = path.parentPath.parentPath;
  else if (node.type === 'ObjectMethod') container = path.parentPath;
  else {
    const p = outermostWrapper(path);
    const parent = p.parentPath;
    if (parent && p.key === 'value') {
      if (parent.isObjectProperty()) container = parent.parentPath;
      else if (
        parent.isClassProperty() ||
        parent.isClassPrivateProperty() ||
        parent.isClassAccessorProperty()
      )
        container = parent.parentPath!.parentPath;
    }
  }
  if (!container) return undefined;
  return ownDirective(container, directives);
}

/** Whether a `@stepmark-ignore` sits on anything enclosing the function. */
function ignoredAbove(path: NodePath, directives: FileDirectives): boolean {
  for (let p = path.parentPath; p && !p.isProgram(); p = p.parentPath) {
    // peek: a mark up there (on a variable whose value merely contains this function) is not used by it
    if (directives.peek(p.node)?.type === 'ignore') return directives.get(p.node) !== undefined;
  }
  return false;
}

function merge(a: Directive | undefined, b: Directive | undefined): Directive | undefined {
  if (!a || !b) return a ?? b;
  if (a.type === 'ignore' || b.type === 'ignore') return a.type === 'ignore' ? a : b;
  return a.entity || a.kind ? a : b;
}

/**
 * Adds the one runtime binding as the first statement (after the directive prologue): an ESM
 * import for modules, `require(...).abi(1)` for CommonJS and scripts (docs/ABI.md "Import").
 */
function addRuntimeImport(
  t: Types,
  program: NodePath<t.Program>,
  importSource: string,
  commonJs: boolean,
): void {
  const node = program.node;
  if (program.scope.hasOwnBinding(RUNTIME_BINDING)) return; // already there (second pass)
  const specifier = t.stringLiteral(runtimeSpecifier(importSource));
  let statement: t.Statement;
  if (commonJs) {
    statement = t.variableDeclaration('const', [
      t.variableDeclarator(
        t.identifier(RUNTIME_BINDING),
        t.callExpression(
          t.memberExpression(
            t.callExpression(t.identifier('require'), [specifier]),
            t.identifier(ABI_CHECK_FUNCTION),
          ),
          [t.numericLiteral(ABI_VERSION)],
        ),
      ),
    ]);
  } else {
    statement = t.importDeclaration(
      [t.importSpecifier(t.identifier(RUNTIME_BINDING), t.identifier(ABI_EXPORT))],
      specifier,
    );
  }
  node.body.unshift(statement);
}

/**
 * Whether the file is CommonJS (or a script): Babel parsed it as a script, or it has no
 * `import`/`export` and uses `require`, `module` or `exports`.
 */
function isCommonJs(program: NodePath<t.Program>): boolean {
  if (program.node.sourceType === 'script') return true;
  for (const s of program.node.body) {
    if (
      s.type === 'ImportDeclaration' ||
      s.type === 'ExportNamedDeclaration' ||
      s.type === 'ExportDefaultDeclaration' ||
      s.type === 'ExportAllDeclaration' ||
      s.type === 'TSExportAssignment' ||
      s.type === 'TSImportEqualsDeclaration'
    ) {
      return s.type === 'TSExportAssignment' || s.type === 'TSImportEqualsDeclaration';
    }
  }
  const globals = program.scope.globals as Record<string, unknown>;
  return 'require' in globals || 'module' in globals || 'exports' in globals;
}

function debugLog(relPath: string, selection: string, stats: FileStats | undefined, deferred = false): void {
  const parts = [
    `stepmark: ${relPath}: file ${selection === 'none' ? 'not marked' : `marked (${selection})`}`,
  ];
  if (stats) {
    parts.push(`${stats.instrumented} instrumented`, `${stats.rewritten} calls rewritten`);
    for (const [why, n] of Object.entries(stats.skipped)) parts.push(`${n} skipped: ${why}`);
    if (deferred) parts.push('frames written at the end of the pass (no other plugin rewrites them)');
  } else {
    parts.push('nothing to do');
  }
  process.stderr.write(`${parts.join(', ')}\n`);
}
