/**
 * The per-file walk: decides for each function whether it is instrumented (shared rules in
 * instrument/), names it, and rewrites explicit stepmark calls. Emitting is in frame.ts.
 */
import type * as TS from 'typescript';
import { FileCatalog } from '../instrument/catalog.js';
import {
  ABI,
  ABI_CHECK_FUNCTION,
  FRAME_BINDING,
  isReservedName,
  isRuntimeSpecifier,
  MODULE_SCOPE_NAME,
  RUNTIME_BINDING,
  runtimeSpecifier,
  usesCommonJs,
} from '../instrument/constants.js';
import { type Directive, misplacedDirectiveError } from '../instrument/directives.js';
import { reservedNameError } from '../instrument/errors.js';
import { planBody } from '../instrument/layout.js';
import { formatLocation, projectRelativePath } from '../instrument/locations.js';
import { classInitializerName, functionName } from '../instrument/naming.js';
import { type ResolvedOptions, selectFile, selectsWholeFile } from '../instrument/options.js';
import {
  type FrameSpec,
  frameSpec,
  mergeDirectives,
  SKIP_REASONS,
  selectFunction,
} from '../instrument/sites.js';
import { StepmarkBindings } from './bindings.js';
import { addCallSite, addRecordSite, isMethodSyntax } from './catalog.js';
import { type FileDirectives, readDirectives } from './directives.js';
import {
  call,
  type Emit,
  frameStatements,
  isFrameMarker,
  runtimeImport,
  wrapReturn,
  wrapSuspension,
} from './frame.js';
import { describeStatements, functionAsVar, identifierNames } from './layout.js';
import { emitsCommonJs } from './module-format.js';
import { classNameOf, describeFunction, type FunctionWithBody, hasModifier, outermost } from './naming.js';
import { Stripper } from './strip.js';

/** What one file's transform did (for the `debug` option and tests). */
export interface FileReport {
  readonly file: string;
  readonly selection: string;
  readonly instrumented: string[];
  readonly skipped: { name: string; reason: string }[];
  rewrittenCalls: number;
  /** The file's part of the stage catalog (docs/CATALOG.md). */
  readonly catalog: FileCatalog;
}

/** Instruments one source file. Throws StepmarkBuildError (with an offset) for bad directives. */
export function instrumentSourceFile(
  ts: typeof TS,
  context: TS.TransformationContext,
  sourceFile: TS.SourceFile,
  options: ResolvedOptions,
): { file: TS.SourceFile; report: FileReport } {
  const path = projectRelativePath(sourceFile.fileName, options.root);
  const directives = readDirectives(ts, sourceFile);
  const selection = selectFile(path, directives.file, options);
  const report: FileReport = {
    file: path,
    selection,
    instrumented: [],
    skipped: [],
    rewrittenCalls: 0,
    catalog: new FileCatalog(path),
  };
  const bindings = new StepmarkBindings(ts, options.importSource);
  for (const statement of sourceFile.statements) bindings.collect(statement);
  const wholeFile = selectsWholeFile(selection);
  // Nothing to do: no whole-file selection, no directive, no stepmark import.
  if (!wholeFile && directives.attached.size === 0 && bindings.empty) return { file: sourceFile, report };

  const visitor = new FileVisitor(
    ts,
    context,
    sourceFile,
    options,
    path,
    wholeFile,
    directives,
    bindings,
    report,
  );
  // strip mode (docs/STRIP.md): no frames, explicit calls removed, unused imports dropped
  const stripper = options.strip ? new Stripper(ts, sourceFile, bindings, options.importSource) : undefined;
  visitor.stripper = stripper;
  const statements = ts.visitNodes(sourceFile.statements, visitor.visit, ts.isStatement);
  // A directive before something that is no function, class or object literal (`const limit = 2`)
  // applies to nothing: a build error, as in every plugin.
  for (const d of directives.attached.values())
    if (!visitor.usedDirectives.has(d)) throw misplacedDirectiveError(d);
  if (stripper) {
    const kept = stripper.finish(statements, countPrologue(ts, statements), context.factory);
    return { file: context.factory.updateSourceFile(sourceFile, kept), report };
  }
  if (!visitor.usesRuntime || declaresRuntime(ts, sourceFile)) {
    return { file: context.factory.updateSourceFile(sourceFile, statements), report };
  }
  const reserved = reservedVariable(ts, sourceFile);
  if (reserved) throw reservedNameError(reserved.text, reserved.getStart(sourceFile));
  const commonJs =
    emitsCommonJs(ts, sourceFile, context.getCompilerOptions()) || isCommonJsScript(ts, sourceFile);
  const imported = runtimeImport(visitor.emit, runtimeSpecifier(options.importSource), commonJs);
  const prologue = countPrologue(ts, statements);
  const file = context.factory.updateSourceFile(sourceFile, [
    ...statements.slice(0, prologue),
    imported,
    ...statements.slice(prologue),
  ]);
  return { file, report };
}

/**
 * A file with no import or export that uses `require`/`module.exports` is a CommonJS script even
 * when the output format is ESM (TypeScript leaves it as is): an `import` would turn it into a module.
 */
function isCommonJsScript(ts: typeof TS, sourceFile: TS.SourceFile): boolean {
  return !ts.isExternalModule(sourceFile) && usesCommonJs(sourceFile.text);
}

/** The first identifier of the user's code that names a variable `__stepmark` or `__smf` (isReservedName). */
function reservedVariable(ts: typeof TS, sourceFile: TS.SourceFile): TS.Identifier | undefined {
  if (!sourceFile.text.includes(FRAME_BINDING) && !sourceFile.text.includes(RUNTIME_BINDING))
    return undefined;
  let first: TS.Identifier | undefined;
  // A frame (`const __smf = ….enter(…)`) is the output of an earlier pass whose runtime binding a
  // compiler renamed (Babel's CommonJS pass: `_runtime.v2.enter(…)`): its names are not the user's.
  let earlierPass = false;
  const find = (node: TS.Node, parent: TS.Node): boolean | undefined => {
    // `declare …` emits nothing (the other plugins do not look inside either)
    if (
      ts.canHaveModifiers(node) &&
      ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)
    )
      return undefined;
    if (ts.isIdentifier(node) && isReservedName(node.text)) {
      if (
        ts.isVariableDeclaration(parent) &&
        parent.name === node &&
        isFrameInitializer(ts, parent.initializer)
      )
        earlierPass = true;
      else if (!first && namesVariable(ts, node, parent)) first = node;
    }
    return earlierPass || ts.forEachChild(node, (child) => find(child, node));
  };
  ts.forEachChild(sourceFile, (child) => find(child, sourceFile));
  return earlierPass ? undefined : first;
}

function isFrameInitializer(ts: typeof TS, init: TS.Expression | undefined): boolean {
  return (
    !!init &&
    ts.isCallExpression(init) &&
    ts.isPropertyAccessExpression(init.expression) &&
    (init.expression.name.text === ABI.enter || init.expression.name.text === ABI.enterEntity)
  );
}

/** Whether `id`, a child of `parent`, names a variable: not a property name, a label or an exported alias. */
function namesVariable(ts: typeof TS, id: TS.Identifier, parent: TS.Node): boolean {
  if (ts.isPropertyAccessExpression(parent)) return parent.name !== id;
  if (ts.isShorthandPropertyAssignment(parent)) return true;
  if (
    ts.isPropertyAssignment(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isGetAccessorDeclaration(parent) ||
    ts.isSetAccessorDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodSignature(parent) ||
    ts.isEnumMember(parent)
  )
    return parent.name !== id;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  if (ts.isImportSpecifier(parent) || ts.isBindingElement(parent)) return parent.propertyName !== id;
  if (ts.isExportSpecifier(parent)) return parent.propertyName === id || !parent.propertyName;
  return true;
}

/** A previous stepmark pass already added the runtime binding (idempotence). */
function declaresRuntime(ts: typeof TS, sourceFile: TS.SourceFile): boolean {
  return sourceFile.statements.some((s) => {
    if (ts.isImportDeclaration(s)) {
      const named = s.importClause?.namedBindings;
      return (
        !!named &&
        ts.isNamedImports(named) &&
        named.elements.some((e) => e.name.text === RUNTIME_BINDING) &&
        ts.isStringLiteral(s.moduleSpecifier) &&
        isRuntimeSpecifier(s.moduleSpecifier.text)
      );
    }
    // `const __stepmark = require("…/runtime").abi(2)`, not a variable of the user's that has its name
    return (
      ts.isVariableStatement(s) &&
      s.declarationList.declarations.some((d) => {
        const init = d.initializer;
        if (
          !ts.isIdentifier(d.name) ||
          d.name.text !== RUNTIME_BINDING ||
          !init ||
          !ts.isCallExpression(init)
        )
          return false;
        const callee = init.expression;
        if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== ABI_CHECK_FUNCTION) return false;
        const required = callee.expression;
        return (
          ts.isCallExpression(required) &&
          ts.isIdentifier(required.expression) &&
          required.expression.text === 'require' &&
          required.arguments.length > 0 &&
          ts.isStringLiteral(required.arguments[0]!) &&
          isRuntimeSpecifier(required.arguments[0].text)
        );
      })
    );
  });
}

function countPrologue(ts: typeof TS, statements: readonly TS.Statement[]): number {
  let i = 0;
  while (i < statements.length) {
    const s = statements[i]!;
    if (!ts.isExpressionStatement(s) || !ts.isStringLiteral(s.expression)) break;
    i++;
  }
  return i;
}

class FileVisitor {
  readonly emit: Emit;
  /** Whether emitted code refers to `__stepmark` (the runtime import is then added). */
  usesRuntime = false;
  /** Set in strip mode: replaces explicit calls instead of rewriting them. */
  stripper: Stripper | undefined;
  /** Names of the enclosing functions and class initializers, innermost last. */
  private readonly names: string[] = [];
  /** Per function being visited: whether its body (not a nested function's) holds a `with` statement. */
  private readonly withStatements: boolean[] = [];
  /** How many `with` statement bodies the node being visited is in. */
  private withDepth = 0;

  constructor(
    private readonly ts: typeof TS,
    private readonly context: TS.TransformationContext,
    private readonly sourceFile: TS.SourceFile,
    private readonly options: ResolvedOptions,
    private readonly path: string,
    private readonly wholeFile: boolean,
    private readonly directives: FileDirectives,
    private readonly bindings: StepmarkBindings,
    private readonly report: FileReport,
  ) {
    this.emit = { ts, factory: context.factory };
  }

  readonly visit = (node: TS.Node): TS.VisitResult<TS.Node | undefined> => {
    const ts = this.ts;
    const K = ts.SyntaxKind;
    switch (node.kind) {
      case K.ImportDeclaration:
      case K.ImportEqualsDeclaration:
        return this.stripper?.removes(node) ? undefined : node;
      // Hold no code: types, exports of names.
      case K.InterfaceDeclaration:
      case K.TypeAliasDeclaration:
      case K.ExportDeclaration:
      case K.Identifier:
      case K.StringLiteral:
      case K.NumericLiteral:
        return node;
      case K.FunctionDeclaration:
      case K.FunctionExpression:
      case K.ArrowFunction:
      case K.MethodDeclaration:
      case K.Constructor:
      case K.GetAccessor:
      case K.SetAccessor:
        // No body: an overload, `declare` or abstract member.
        return (node as TS.FunctionLikeDeclaration).body
          ? this.visitFunction(node as FunctionWithBody)
          : node;
      case K.CallExpression:
        if (this.bindings.empty) break;
        return this.rewriteCall(
          ts.visitEachChild(node, this.visit, this.context) as TS.CallExpression,
          node as TS.CallExpression,
        );
      case K.PropertyDeclaration:
      case K.ClassStaticBlockDeclaration: {
        if (hasModifier(ts, node, K.DeclareKeyword)) return node;
        if (ts.isPropertyDeclaration(node) && !node.initializer) break;
        // Code in field initializers and static blocks runs in V8's class initializer functions.
        const isStatic = ts.isClassStaticBlockDeclaration(node) || hasModifier(ts, node, K.StaticKeyword);
        const cls = node.parent as TS.ClassLikeDeclaration;
        this.names.push(classInitializerName(classNameOf(ts, cls, this.sourceFile), isStatic));
        const visited = ts.visitEachChild(node, this.visit, this.context);
        this.names.pop();
        return visited;
      }
      case K.WithStatement: {
        // sloppy mode: no frame inside its body, and the function it is in closes its span in `finally`
        const w = node as TS.WithStatement;
        if (this.withStatements.length) this.withStatements[this.withStatements.length - 1] = true;
        const expression = ts.visitNode(w.expression, this.visit, ts.isExpression) as TS.Expression;
        this.withDepth++;
        const statement = ts.visitNode(w.statement, this.visit, ts.isStatement) as TS.Statement;
        this.withDepth--;
        return this.context.factory.updateWithStatement(w, expression, statement);
      }
      case K.VariableStatement:
        if (this.stripper?.removes(node)) return undefined;
        if (hasModifier(ts, node, K.DeclareKeyword)) return node;
        break;
      case K.ClassDeclaration:
      case K.ModuleDeclaration:
      case K.EnumDeclaration:
        if (hasModifier(ts, node, K.DeclareKeyword)) return node;
        break;
      default:
        if (node.kind >= K.FirstTypeNode && node.kind <= K.LastTypeNode) return node;
    }
    return ts.visitEachChild(node, this.visit, this.context);
  };

  private visitFunction(node: FunctionWithBody): TS.Node {
    const ts = this.ts;
    const description = describeFunction(ts, node, this.sourceFile, this.names.at(-1));
    const name = functionName(description);
    this.names.push(name);
    this.withStatements.push(false);
    const visited = ts.visitEachChild(node, this.visit, this.context) as FunctionWithBody;
    const withStatement = this.withStatements.pop()!;
    this.names.pop();

    const container = this.containerOf(node);
    const choice = selectFunction(
      {
        description,
        own: this.ownDirective(node),
        container: container && this.ownDirective(container),
        ignoredAbove: this.ignoredAbove(node),
        insideWith: this.withDepth > 0,
        instrumented: () => ts.isBlock(node.body) && node.body.statements.some((s) => isFrameMarker(ts, s)),
      },
      this.wholeFile,
      this.options,
    );
    if (choice.skip !== undefined) {
      if (choice.skip !== 'not-marked') this.report.skipped.push({ name, reason: SKIP_REASONS[choice.skip] });
      return visited;
    }
    const derivedConstructor = ts.isConstructorDeclaration(node) && isDerived(ts, node.parent);
    const spec = frameSpec(name, choice.directive, {
      async: hasModifier(ts, node, ts.SyntaxKind.AsyncKeyword),
      generator: node.asteriskToken !== undefined,
      withStatement,
      arrow: ts.isArrowFunction(node),
      derivedConstructor,
      hasSuperCall: () =>
        ts.isBlock(node.body) && node.body.statements.some((s) => isSuperCallStatement(ts, s)),
      parameterNames: () => parameterNames(ts, node),
    });
    this.report.instrumented.push(name);
    if (this.options.catalog !== undefined) {
      const at = this.sourceFile.getLineAndCharacterOfPosition(locationStart(ts, node, this.sourceFile));
      this.report.catalog.addFunction(name, isMethodSyntax(ts, node), at.line + 1, at.character + 1);
    }
    if (this.stripper) return visited;
    this.usesRuntime = true;
    const location = this.options.locations ? this.location(node) : undefined;
    return this.wrap(visited, node, spec, location, derivedConstructor);
  }

  /**
   * The directive on a function, class or object literal itself or on what binds exactly it: its
   * variable declaration and statement, the property or class field it is the value of, the
   * assignment statement, `export default`.
   */
  private ownDirective(value: TS.Node): Directive | undefined {
    const ts = this.ts;
    const attached = { get: (node: TS.Node) => this.directive(node) };
    let found = attached.get(value);
    let child = outermost(ts, value);
    for (let parent = child.parent; parent; child = parent, parent = parent.parent) {
      let last = false;
      if (ts.isVariableDeclaration(parent)) {
        if (parent.initializer !== child) break;
      } else if (ts.isBinaryExpression(parent)) {
        if (parent.right !== child || parent.operatorToken.kind !== ts.SyntaxKind.EqualsToken) break;
      } else if (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
        if (parent.initializer !== child) break;
        last = true;
      } else if (ts.isExportAssignment(parent)) {
        last = true;
      } else if (
        !ts.isVariableDeclarationList(parent) &&
        !ts.isVariableStatement(parent) &&
        !ts.isExpressionStatement(parent)
      ) {
        break;
      }
      found = mergeDirectives(found, attached.get(parent));
      if (last) break;
    }
    return found;
  }

  /** Whether a `@stepmark-ignore` is attached to anything enclosing the function. */
  private ignoredAbove(node: TS.Node): boolean {
    for (let p = node.parent; p && !this.ts.isSourceFile(p); p = p.parent) {
      if (this.directive(p)?.type === 'ignore') return true;
    }
    return false;
  }

  /** Directives some function consulted; one that no function consults applies to nothing. */
  readonly usedDirectives = new Set<Directive>();

  /** The directive attached to a node, recorded as used. */
  private directive(node: TS.Node): Directive | undefined {
    const d = this.directives.attached.get(node);
    if (d) this.usedDirectives.add(d);
    return d;
  }

  /** The class or object literal whose member `value` is (a method, or a function as a property value). */
  private containerOf(value: TS.Node): TS.Node | undefined {
    const ts = this.ts;
    if (
      (ts.isMethodDeclaration(value) ||
        ts.isGetAccessorDeclaration(value) ||
        ts.isSetAccessorDeclaration(value) ||
        ts.isConstructorDeclaration(value)) &&
      (ts.isClassLike(value.parent) || ts.isObjectLiteralExpression(value.parent))
    ) {
      return value.parent;
    }
    const outer = outermost(ts, value);
    const parent = outer.parent;
    if (
      parent &&
      (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) &&
      parent.initializer === outer
    ) {
      return parent.parent;
    }
    return undefined;
  }

  private location(node: FunctionWithBody): string {
    const start = locationStart(this.ts, node, this.sourceFile);
    const { line, character } = this.sourceFile.getLineAndCharacterOfPosition(start);
    return formatLocation(this.path, line + 1, character + 1);
  }

  private wrap(
    visited: FunctionWithBody,
    original: FunctionWithBody,
    spec: FrameSpec,
    location: string | undefined,
    derivedConstructor: boolean,
  ): TS.Node {
    const ts = this.ts;
    const f = this.context.factory;
    const at: TS.SourceMapRange = {
      pos: locationStart(ts, original, this.sourceFile),
      end: original.body.pos,
    };
    const body = visited.body;
    let head: TS.Statement[];
    let rest: TS.Statement[];
    if (ts.isBlock(body)) {
      const statements = body.statements;
      const plan = planBody(describeStatements(ts, statements), derivedConstructor, (end) =>
        identifierNames(ts, statements.slice(0, end)),
      );
      const placed = new Set([...plan.functionLevel, ...plan.asVar, ...plan.removed]);
      head = [...statements.slice(0, plan.frameAt), ...plan.functionLevel.map((i) => statements[i]!)];
      rest = plan.asVar.map((i) => functionAsVar(ts, f, statements[i] as TS.FunctionDeclaration));
      for (let i = plan.frameAt; i < statements.length; i++) {
        if (!placed.has(i)) rest.push(statements[i]!);
      }
    } else {
      const returned = f.createReturnStatement(body);
      ts.setSourceMapRange(returned, body);
      head = [];
      rest = [returned];
    }
    // `return`s (every frame but a generator's) and `await`/`yield` of this function
    this.returning = spec.ending === 'returns';
    rest = rest.map((s) => ts.visitNode(s, this.suspend, ts.isStatement));
    // Always multi-line: a one-line body would otherwise print the whole frame on one line.
    const block = f.createBlock([...head, ...frameStatements(this.emit, spec, location, rest, at)], true);
    if (ts.isBlock(body)) {
      ts.setTextRange(block, body);
      ts.setOriginalNode(block, body);
    }
    return withBody(ts, f, visited, block);
  }

  /** Suspension points wrapped so far in the current function (to know which `try` blocks suspend). */
  private suspensions = 0;

  /** Whether the frame being written closes its span at `return`s (`frameEnding`). */
  private returning = false;

  /**
   * Wraps `await`/`yield` that belong to this function (not to nested functions). A suspension
   * that throws never reaches its `r()`: each `catch` and `finally` of a `try` whose block
   * suspends starts with `__smf.r();` (docs/ABI.md).
   */
  private readonly suspend = (node: TS.Node): TS.Node => {
    const ts = this.ts;
    if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return node;
    // its `await`s and `yield`s stay as they are (frameEnding)
    if (ts.isWithStatement(node)) return node;
    if (ts.isTryStatement(node)) {
      const before = this.suspensions;
      const block = ts.visitNode(node.tryBlock, this.suspend, ts.isBlock);
      const suspends = this.suspensions > before;
      let handler = ts.visitNode(node.catchClause, this.suspend, ts.isCatchClause);
      let finalizer = ts.visitNode(node.finallyBlock, this.suspend, ts.isBlock);
      if (suspends) {
        const f = this.context.factory;
        if (handler)
          handler = f.updateCatchClause(
            handler,
            handler.variableDeclaration,
            this.resumeFirst(handler.block),
          );
        if (finalizer) finalizer = this.resumeFirst(finalizer);
      }
      return this.context.factory.updateTryStatement(node, block, handler, finalizer);
    }
    const visited = ts.visitEachChild(node, this.suspend, this.context);
    if (ts.isAwaitExpression(visited) || ts.isYieldExpression(visited)) {
      this.suspensions++;
      return wrapSuspension(this.emit, visited);
    }
    if (this.returning && ts.isReturnStatement(visited)) return wrapReturn(this.emit, visited);
    return visited;
  };

  /** `{ __smf.r(); …block }`. */
  private resumeFirst(block: TS.Block): TS.Block {
    const f = this.context.factory;
    const resume = f.createExpressionStatement(call(this.emit, FRAME_BINDING, ABI.resume, []));
    return f.updateBlock(block, [resume, ...block.statements]);
  }

  private rewriteCall(visited: TS.CallExpression, original: TS.CallExpression): TS.Node {
    const match = this.bindings.match(original);
    const catalog = this.report.catalog;
    if (this.options.catalog === undefined) {
      // no catalog asked for: skip recording sites
    } else if (match) {
      addCallSite(
        this.ts,
        catalog,
        this.sourceFile,
        original,
        match.method,
        this.names.at(-1) ?? MODULE_SCOPE_NAME,
      );
    } else {
      addRecordSite(this.ts, catalog, this.sourceFile, original, this.bindings);
    }
    if (this.stripper) return this.stripper.replace(visited, original, this.context.factory) ?? visited;
    if (!match) return visited;
    const f = this.context.factory;
    const name = f.createStringLiteral(this.names.at(-1) ?? MODULE_SCOPE_NAME);
    const args = match.scope
      ? [f.createIdentifier(match.scope.text), name, ...visited.arguments]
      : [name, ...visited.arguments];
    const rewritten = call(this.emit, RUNTIME_BINDING, match.method, args);
    this.ts.setTextRange(rewritten, original);
    this.ts.setOriginalNode(rewritten, original);
    this.usesRuntime = true;
    this.report.rewrittenCalls++;
    return rewritten;
  }
}

/** Every name the parameter list binds (destructured names included). */
function parameterNames(ts: typeof TS, node: FunctionWithBody): string[] {
  const names: string[] = [];
  const add = (b: TS.BindingName): void => {
    if (ts.isIdentifier(b)) names.push(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) add(el.name);
  };
  for (const p of node.parameters) if (!(ts.isIdentifier(p.name) && p.name.text === 'this')) add(p.name);
  return names;
}

function isDerived(ts: typeof TS, cls: TS.ClassLikeDeclaration): boolean {
  return !!cls.heritageClauses?.some((h) => h.token === ts.SyntaxKind.ExtendsKeyword);
}

function isSuperCallStatement(ts: typeof TS, s: TS.Statement): boolean {
  return (
    ts.isExpressionStatement(s) &&
    ts.isCallExpression(s.expression) &&
    s.expression.expression.kind === ts.SyntaxKind.SuperKeyword
  );
}

/**
 * Where a function's location points (docs/NAMING.md §2): the key of a method, accessor or
 * constructor; otherwise the function's first token after `export`/`default` (`async`,
 * `function`, the arrow's first parameter token or `(`).
 */
function locationStart(ts: typeof TS, node: FunctionWithBody, sourceFile: TS.SourceFile): number {
  if (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  ) {
    return node.name.getStart(sourceFile);
  }
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  if (ts.isConstructorDeclaration(node)) {
    // The `constructor` keyword (or its string form) follows the modifiers.
    return mods?.length ? skipTrivia(sourceFile.text, mods[mods.length - 1]!.end) : node.getStart(sourceFile);
  }
  const kept = mods?.find(
    (m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword,
  );
  if (kept) return kept.getStart(sourceFile);
  if (mods?.length) return skipTrivia(sourceFile.text, mods[mods.length - 1]!.end);
  return node.getStart(sourceFile);
}

/** Offset of the first token at or after `pos` (skips whitespace and comments). */
function skipTrivia(text: string, pos: number): number {
  const trivia = /(?:\s+|\/\/[^\n\r\u2028\u2029]*|\/\*[\s\S]*?\*\/)*/y;
  trivia.lastIndex = pos;
  trivia.exec(text);
  return trivia.lastIndex;
}

/** The same function with a new body. */
function withBody(ts: typeof TS, f: TS.NodeFactory, n: FunctionWithBody, body: TS.Block): TS.Node {
  if (ts.isFunctionDeclaration(n)) {
    return f.updateFunctionDeclaration(
      n,
      n.modifiers,
      n.asteriskToken,
      n.name,
      n.typeParameters,
      n.parameters,
      n.type,
      body,
    );
  }
  if (ts.isFunctionExpression(n)) {
    return f.updateFunctionExpression(
      n,
      n.modifiers,
      n.asteriskToken,
      n.name,
      n.typeParameters,
      n.parameters,
      n.type,
      body,
    );
  }
  if (ts.isArrowFunction(n)) {
    return f.updateArrowFunction(
      n,
      n.modifiers,
      n.typeParameters,
      n.parameters,
      n.type,
      n.equalsGreaterThanToken,
      body,
    );
  }
  if (ts.isMethodDeclaration(n)) {
    return f.updateMethodDeclaration(
      n,
      n.modifiers,
      n.asteriskToken,
      n.name,
      n.questionToken,
      n.typeParameters,
      n.parameters,
      n.type,
      body,
    );
  }
  if (ts.isConstructorDeclaration(n))
    return f.updateConstructorDeclaration(n, n.modifiers, n.parameters, body);
  if (ts.isGetAccessorDeclaration(n))
    return f.updateGetAccessorDeclaration(n, n.modifiers, n.name, n.parameters, n.type, body);
  return f.updateSetAccessorDeclaration(
    n as TS.SetAccessorDeclaration,
    n.modifiers,
    n.name,
    n.parameters,
    body,
  );
}
