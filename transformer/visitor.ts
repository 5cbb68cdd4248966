import type * as TS from 'typescript';
import { MODULE_SCOPE_NAME, RUNTIME_BINDING, runtimeSpecifier } from '../instrument/constants.js';
import { StepmarkDirectiveError } from '../instrument/errors.js';
import { formatLocation, projectRelativePath } from '../instrument/locations.js';
import { type ResolvedOptions, selectFile, selectsWholeFile } from '../instrument/options.js';
import { StepmarkBindings } from './bindings.js';
import { type Directive, leadingDirectives } from './directives.js';
import {
  call,
  type Emit,
  type FrameOpen,
  frameStatements,
  isFrameMarker,
  runtimeImport,
  wrapSuspension,
} from './frame.js';
import { emitsCommonJs } from './module-format.js';
import { describeFunction, type FunctionFacts, hasModifier, nameOf } from './naming.js';

type FunctionWithBody = TS.FunctionLikeDeclaration & { readonly body: TS.ConciseBody };

/** What one file's transform reports back (for the `debug` option and tests). */
export interface FileReport {
  readonly file: string;
  readonly selection: string;
  readonly instrumented: string[];
  readonly skipped: { name: string; reason: string }[];
  rewrittenCalls: number;
}

/** Instruments one source file. Throws StepmarkBuildError (with an offset) for bad directives. */
export function instrumentSourceFile(
  ts: typeof TS,
  context: TS.TransformationContext,
  sourceFile: TS.SourceFile,
  options: ResolvedOptions,
): { file: TS.SourceFile; report: FileReport } {
  const path = projectRelativePath(sourceFile.fileName, options.root);
  const text = sourceFile.text;
  const fileDirectives = fileLevelDirectives(ts, sourceFile);
  const selection = selectFile(
    path,
    fileDirectives.some((d) => !d.ignore),
    options,
  );
  const report: FileReport = { file: path, selection, instrumented: [], skipped: [], rewrittenCalls: 0 };
  const bindings = new StepmarkBindings(ts, options.importSource);
  for (const statement of sourceFile.statements) bindings.collect(statement);
  // Nothing to do: no whole-file selection, no function-level comment, no stepmark import.
  if (!selectsWholeFile(selection) && !text.includes('@stepmark') && bindings.empty) {
    return { file: sourceFile, report };
  }
  const visitor = new FileVisitor(
    ts,
    context,
    sourceFile,
    options,
    path,
    selectsWholeFile(selection),
    bindings,
    report,
  );
  const statements = ts.visitNodes(sourceFile.statements, visitor.visit, ts.isStatement);
  if (!visitor.usesRuntime || declaresRuntime(ts, sourceFile)) {
    return { file: context.factory.updateSourceFile(sourceFile, statements), report };
  }
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
  return (
    !ts.isExternalModule(sourceFile) && /\brequire\s*\(|\bmodule\.exports\b|\bexports\./.test(sourceFile.text)
  );
}

/** A previous stepmark pass already added the runtime binding (idempotence). */
function declaresRuntime(ts: typeof TS, sourceFile: TS.SourceFile): boolean {
  return sourceFile.statements.some((s) => {
    if (ts.isImportDeclaration(s)) {
      const named = s.importClause?.namedBindings;
      return (
        !!named && ts.isNamedImports(named) && named.elements.some((e) => e.name.text === RUNTIME_BINDING)
      );
    }
    return (
      ts.isVariableStatement(s) &&
      s.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === RUNTIME_BINDING)
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

/** Directives in the comments before the first statement (or in an empty file). */
function fileLevelDirectives(ts: typeof TS, sourceFile: TS.SourceFile): Directive[] {
  const first = sourceFile.statements[0];
  return leadingDirectives(ts, sourceFile.text, first ? first.pos : sourceFile.endOfFileToken.pos);
}

class FileVisitor {
  readonly emit: Emit;
  /** Whether emitted code refers to `__stepmark` (the runtime import is then added). */
  usesRuntime = false;
  /** Names of the enclosing functions, innermost last (for explicit calls). */
  private readonly names: string[] = [];

  constructor(
    private readonly ts: typeof TS,
    private readonly context: TS.TransformationContext,
    private readonly sourceFile: TS.SourceFile,
    private readonly options: ResolvedOptions,
    private readonly path: string,
    private readonly wholeFile: boolean,
    private readonly bindings: StepmarkBindings,
    private readonly report: FileReport,
  ) {
    this.emit = { ts, factory: context.factory };
  }

  readonly visit = (node: TS.Node): TS.VisitResult<TS.Node> => {
    const ts = this.ts;
    // Types, interfaces and ambient declarations never contain code.
    if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node))
      return node;
    if (hasModifier(ts, node, ts.SyntaxKind.DeclareKeyword)) return node;
    if (isFunctionWithBody(ts, node)) return this.visitFunction(node);
    if (ts.isCallExpression(node) && !this.bindings.empty) {
      const visited = ts.visitEachChild(node, this.visit, this.context);
      return this.rewriteCall(visited, node);
    }
    return ts.visitEachChild(node, this.visit, this.context);
  };

  private visitFunction(node: FunctionWithBody): TS.Node {
    const ts = this.ts;
    const facts = describeFunction(ts, node);
    const name = nameOf(facts);
    const decision = this.decide(node, facts);
    this.names.push(name);
    const visited = ts.visitEachChild(node, this.visit, this.context) as FunctionWithBody;
    this.names.pop();
    if (typeof decision === 'string') {
      if (decision) this.report.skipped.push({ name, reason: decision });
      return visited;
    }
    this.report.instrumented.push(name);
    this.usesRuntime = true;
    const open: FrameOpen = {
      name,
      location: this.options.locations ? this.location(node) : undefined,
      entity: decision.entity && { path: decision.entity, kind: decision.kind },
    };
    return this.wrap(visited, node, open);
  }

  /** A directive to instrument with, or a reason not to ('' = not eligible, nothing to report). */
  private decide(
    node: FunctionWithBody,
    facts: FunctionFacts,
  ): { entity?: readonly string[]; kind?: string } | string {
    const ts = this.ts;
    const directives = leadingDirectives(ts, this.sourceFile.text, facts.anchor.pos);
    if (directives.some((d) => d.ignore)) return '@stepmark-ignore';
    const body = node.body;
    if (ts.isBlock(body) && isFrameMarker(ts, firstAfterPrologue(ts, body.statements)))
      return 'already instrumented';
    const own = directives.at(-1);
    if (own) {
      if (own.entity) this.checkEntity(node, own);
      return { entity: own.entity, kind: own.kind };
    }
    if (!this.wholeFile) return '';
    switch (facts.kind) {
      case 'getter':
      case 'setter':
        return this.options.getters ? {} : 'getter/setter (option getters is off)';
      case 'callback':
        return this.options.callbacks ? {} : '';
      default:
        return {};
    }
  }

  /** `entity=a.b`: `a` must be a parameter of the function (an arrow has no `arguments`). */
  private checkEntity(node: FunctionWithBody, directive: Directive): void {
    const ts = this.ts;
    const root = directive.entity![0]!;
    const names = new Set<string>();
    const add = (b: TS.BindingName): void => {
      if (ts.isIdentifier(b)) names.add(b.text);
      else for (const el of b.elements) if (!ts.isOmittedExpression(el)) add(el.name);
    };
    for (const p of node.parameters) add(p.name);
    if (!names.has(root)) {
      throw new StepmarkDirectiveError(
        'STEPMARK_INVALID_DIRECTIVE',
        `@stepmark entity=${directive.entity!.join('.')}: "${root}" is not a parameter of this function`,
        directive.pos,
      );
    }
  }

  private location(node: FunctionWithBody): string {
    const start = functionStart(this.ts, node, this.sourceFile);
    const { line, character } = this.sourceFile.getLineAndCharacterOfPosition(start);
    return formatLocation(this.path, line + 1, character + 1);
  }

  private wrap(visited: FunctionWithBody, original: FunctionWithBody, open: FrameOpen): TS.Node {
    const ts = this.ts;
    const f = this.context.factory;
    const at: TS.SourceMapRange = {
      pos: functionStart(ts, original, this.sourceFile),
      end: original.body.pos,
    };
    const body = visited.body;
    let head: TS.Statement[];
    let rest: TS.Statement[];
    if (ts.isBlock(body)) {
      const statements = [...body.statements];
      let split = countPrologue(ts, statements);
      if (ts.isConstructorDeclaration(original) && isDerived(ts, original.parent)) {
        const superAt = statements.findIndex((s, i) => i >= split && isSuperCallStatement(ts, s));
        if (superAt >= 0) split = superAt + 1;
      }
      head = statements.slice(0, split);
      rest = statements.slice(split);
    } else {
      const returned = f.createReturnStatement(body);
      ts.setSourceMapRange(returned, body);
      head = [];
      rest = [returned];
    }
    if (original.asteriskToken || hasModifier(ts, original, ts.SyntaxKind.AsyncKeyword)) {
      rest = rest.map((s) => ts.visitNode(s, this.suspend, ts.isStatement));
    }
    const statements = [...head, ...frameStatements(this.emit, open, rest, at)];
    // Always multi-line: a one-line body would otherwise print the whole frame on one line.
    const block = f.createBlock(statements, true);
    if (ts.isBlock(body)) {
      ts.setTextRange(block, body);
      ts.setOriginalNode(block, body);
    }
    return withBody(ts, f, visited, block);
  }

  /** Wraps `await`/`yield` that belong to this function (not to nested functions). */
  private readonly suspend = (node: TS.Node): TS.Node => {
    const ts = this.ts;
    if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return node;
    const visited = ts.visitEachChild(node, this.suspend, this.context);
    if (ts.isAwaitExpression(visited) || ts.isYieldExpression(visited))
      return wrapSuspension(this.emit, visited);
    return visited;
  };

  private rewriteCall(visited: TS.CallExpression, original: TS.CallExpression): TS.Node {
    const match = this.bindings.match(original);
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

function isFunctionWithBody(ts: typeof TS, node: TS.Node): node is FunctionWithBody {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node)) &&
    node.body !== undefined
  );
}

function firstAfterPrologue(ts: typeof TS, statements: readonly TS.Statement[]): TS.Statement | undefined {
  return statements[countPrologue(ts, statements)];
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
 * Where a function starts for its location: its first token, skipping `export` and `default`
 * (which belong to the export, not to the function) but keeping decorators, `async`, `static`, ….
 */
function functionStart(ts: typeof TS, node: FunctionWithBody, sourceFile: TS.SourceFile): number {
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  const decorators = ts.canHaveDecorators(node) ? ts.getDecorators(node) : undefined;
  if (decorators?.length) return decorators[0]!.getStart(sourceFile);
  if (!mods?.length) return node.getStart(sourceFile);
  const kept = mods.find(
    (m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword,
  );
  if (kept) return kept.getStart(sourceFile);
  return skipTrivia(sourceFile.text, mods[mods.length - 1]!.end);
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
