/**
 * Strip mode (`strip: true`, docs/STRIP.md) on TypeScript's AST. What is removed and what replaces
 * it is decided in instrument/strip.ts (shared with the other plugins); this file finds the calls
 * on the original source file, and builds the replacements with the node factory.
 */
import type * as TS from 'typescript';
import { SCOPE_FACTORY } from '../instrument/constants.js';
import {
  type ExpressionShape,
  isPure,
  NOOP_HANDLE_BINDING,
  returnsHandle,
  type ScopeDeclaration,
  STRIPPED_RECORDING_CALLS,
  unusedDeclarations,
} from '../instrument/strip.js';
import type { StepmarkBindings } from './bindings.js';
import { isTransparent, skipOuter } from './naming.js';

/** TypeScript's view of an expression for the shared purity rule. */
function shapeOf(ts: typeof TS): (node: TS.Expression) => ExpressionShape<TS.Expression> {
  const shape = (node: TS.Expression): ExpressionShape<TS.Expression> => {
    switch (node.kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NumericLiteral:
      case ts.SyntaxKind.BigIntLiteral:
      case ts.SyntaxKind.RegularExpressionLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      case ts.SyntaxKind.TrueKeyword:
      case ts.SyntaxKind.FalseKeyword:
      case ts.SyntaxKind.NullKeyword:
      case ts.SyntaxKind.ThisKeyword:
      case ts.SyntaxKind.Identifier:
      case ts.SyntaxKind.FunctionExpression:
      case ts.SyntaxKind.ArrowFunction:
      case ts.SyntaxKind.OmittedExpression:
        return { type: 'pure' };
    }
    if (isTransparent(ts, node) || ts.isVoidExpression(node) || ts.isTypeOfExpression(node)) {
      return { type: 'parts', parts: [node.expression] };
    }
    if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
      return { type: 'parts', parts: [node.operand] };
    }
    if (ts.isConditionalExpression(node))
      return { type: 'parts', parts: [node.condition, node.whenTrue, node.whenFalse] };
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      return op === ts.SyntaxKind.BarBarToken ||
        op === ts.SyntaxKind.QuestionQuestionToken ||
        op === ts.SyntaxKind.AmpersandAmpersandToken
        ? { type: 'parts', parts: [node.left, node.right] }
        : { type: 'effects' };
    }
    if (ts.isArrayLiteralExpression(node)) {
      return node.elements.some((e) => ts.isSpreadElement(e))
        ? { type: 'effects' }
        : { type: 'parts', parts: [...node.elements] };
    }
    if (ts.isObjectLiteralExpression(node)) {
      const parts: TS.Expression[] = [];
      for (const p of node.properties) {
        if (ts.isShorthandPropertyAssignment(p) && !p.objectAssignmentInitializer) continue;
        if (ts.isPropertyAssignment(p) && !ts.isComputedPropertyName(p.name)) parts.push(p.initializer);
        else if (
          (ts.isMethodDeclaration(p) || ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p)) &&
          !ts.isComputedPropertyName(p.name)
        )
          continue;
        else return { type: 'effects' };
      }
      return { type: 'parts', parts };
    }
    return { type: 'effects' };
  };
  return shape;
}

interface Removal {
  /** Whether the call's value is an exit handle (`enter` forms) that the code uses. */
  readonly handle: boolean;
  readonly statement: boolean;
  /** Indexes of the arguments that are kept. */
  readonly kept: readonly number[];
}

/**
 * Decides, on the original source file, which calls go, which `const s = scope(kind)` and which
 * stepmark imports go with them; then the visitor asks it for each call's replacement and for the
 * final statement list.
 */
export class Stripper {
  private readonly removals = new Map<TS.CallExpression, Removal>();
  private readonly removedStatements = new Set<TS.Statement>();
  private needsHandle = false;
  removed = 0;

  constructor(
    private readonly ts: typeof TS,
    private readonly sourceFile: TS.SourceFile,
    private readonly bindings: StepmarkBindings,
    private readonly importSource: string,
  ) {
    this.plan();
  }

  private plan(): void {
    const ts = this.ts;
    const b = this.bindings;
    const pure = shapeOf(ts);
    const refs = new Map<string, TS.Identifier[]>();
    const scopeDecls: ScopeDeclaration<TS.VariableStatement>[] = [];
    const importStatements: TS.Statement[] = [];
    const visit = (node: TS.Node): void => {
      if (ts.isImportDeclaration(node) || ts.isImportEqualsDeclaration(node)) {
        importStatements.push(node);
        return;
      }
      if (ts.isIdentifier(node)) {
        if (!isNonReference(ts, node)) {
          const list = refs.get(node.text);
          if (list) list.push(node);
          else refs.set(node.text, [node]);
        }
        return;
      }
      if (ts.isCallExpression(node)) {
        const removal = this.removalOf(node, pure);
        if (removal) {
          this.removals.set(node, removal);
          for (const i of removal.kept) visit(node.arguments[i]!);
          return;
        }
      }
      if (ts.isVariableStatement(node)) {
        const decls = node.declarationList.declarations;
        if (
          ts.isSourceFile(node.parent) &&
          decls.every((d) => d.initializer && isRequireOf(ts, d.initializer, this.importSource))
        ) {
          importStatements.push(node);
          return;
        }
        for (const d of decls) {
          const init = d.initializer && skipOuter(ts, d.initializer);
          if (
            ts.isIdentifier(d.name) &&
            init &&
            ts.isCallExpression(init) &&
            b.calledApi(init) === SCOPE_FACTORY
          ) {
            scopeDecls.push({
              name: d.name.text,
              declaration: node,
              removable:
                decls.length === 1 &&
                inStatementList(ts, node) &&
                !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) &&
                init.arguments.every((a) => !ts.isSpreadElement(a) && isPure(a, pure)),
            });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(this.sourceFile);

    // Identifiers in removed calls were not walked (only the arguments kept): `refs` holds the uses left.
    const { declarations, stillUsed } = unusedDeclarations(
      scopeDecls,
      new Set([...b.named.keys(), ...b.namespaces]),
      (name) => refs.get(name) ?? [],
      (id, statement) => id.pos >= statement.pos && id.end <= statement.end,
    );
    for (const d of declarations) this.removedStatements.add(d);
    // the import stays while one of its bindings is still used
    if (stillUsed.length === 0) {
      for (const s of importStatements) if (this.isStepmarkImport(s)) this.removedStatements.add(s);
    }
  }

  private removalOf(call: TS.CallExpression, pure: ReturnType<typeof shapeOf>): Removal | undefined {
    const ts = this.ts;
    const match = this.bindings.match(call);
    let handle = false;
    if (match) handle = returnsHandle(match.method);
    else {
      const api = this.bindings.calledApi(call);
      if (api === undefined || !STRIPPED_RECORDING_CALLS.has(api)) return undefined;
    }
    const kept: number[] = [];
    call.arguments.forEach((a, i) => {
      if (ts.isSpreadElement(a) || !isPure(a, pure)) kept.push(i);
    });
    const statement = ts.isExpressionStatement(call.parent) && call.parent.expression === call;
    return { handle: handle && !statement, statement, kept };
  }

  private isStepmarkImport(s: TS.Statement): boolean {
    const ts = this.ts;
    if (ts.isImportDeclaration(s)) {
      return (
        ts.isStringLiteral(s.moduleSpecifier) &&
        s.moduleSpecifier.text === this.importSource &&
        !s.importClause?.isTypeOnly
      );
    }
    if (ts.isImportEqualsDeclaration(s)) {
      const ref = s.moduleReference;
      return (
        !s.isTypeOnly &&
        ts.isExternalModuleReference(ref) &&
        isRequireSource(ts, ref.expression, this.importSource)
      );
    }
    return ts.isVariableStatement(s);
  }

  /** The replacement of a visited call, or undefined when it is not removed. */
  replace(
    visited: TS.CallExpression,
    original: TS.CallExpression,
    f: TS.NodeFactory,
  ): TS.Expression | undefined {
    const r = this.removals.get(original);
    if (!r) return undefined;
    const ts = this.ts;
    this.removed++;
    const kept = r.kept.map((i) => {
      const a = visited.arguments[i]!;
      return ts.isSpreadElement(a) ? f.createArrayLiteralExpression([a]) : a;
    });
    let out: TS.Expression;
    if (r.handle) {
      this.needsHandle = true;
      const h = f.createIdentifier(NOOP_HANDLE_BINDING);
      out =
        kept.length === 0 ? h : f.createParenthesizedExpression(f.createCommaListExpression([...kept, h]));
    } else {
      const value =
        kept.length === 0
          ? f.createNumericLiteral(0)
          : f.createParenthesizedExpression(kept.length === 1 ? kept[0]! : f.createCommaListExpression(kept));
      out = f.createVoidExpression(value);
      if (!r.statement) out = f.createParenthesizedExpression(out);
    }
    ts.setTextRange(out, original);
    return out;
  }

  /** Whether a visited statement goes: an unused `const s = scope(kind)` (at any depth) or the stepmark import. */
  removes(statement: TS.Node): boolean {
    return this.removedStatements.has(this.ts.getOriginalNode(statement) as TS.Statement);
  }

  /** The file's statements (visited: without the removed ones), with the no-op handle declared when used. */
  finish(statements: readonly TS.Statement[], prologue: number, f: TS.NodeFactory): readonly TS.Statement[] {
    if (!this.needsHandle) return statements;
    return [...statements.slice(0, prologue), noopHandle(this.ts, f), ...statements.slice(prologue)];
  }
}

/** A statement in a list of statements (a file, block, namespace or `switch` case), not a loop's or a lone `if`'s body. */
function inStatementList(ts: typeof TS, statement: TS.Statement): boolean {
  const p = statement.parent;
  return ts.isSourceFile(p) || ts.isBlock(p) || ts.isModuleBlock(p) || ts.isCaseOrDefaultClause(p);
}

/** Identifiers that are not references to a binding: property names, declared names. */
function isNonReference(ts: typeof TS, id: TS.Identifier): boolean {
  const p = id.parent;
  if (!p) return false;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true;
  if (
    (ts.isPropertyAssignment(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isGetAccessorDeclaration(p) ||
      ts.isSetAccessorDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isMethodSignature(p) ||
      ts.isEnumMember(p)) &&
    p.name === id
  ) {
    return true;
  }
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isBindingElement(p)) && p.name === id)
    return true;
  if (ts.isBindingElement(p) && p.propertyName === id) return true;
  if (
    (ts.isFunctionDeclaration(p) ||
      ts.isClassDeclaration(p) ||
      ts.isFunctionExpression(p) ||
      ts.isClassExpression(p)) &&
    p.name === id
  )
    return true;
  if ((ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) && p.label === id) return true;
  return false;
}

function isRequireSource(ts: typeof TS, e: TS.Expression, source: string): boolean {
  return ts.isStringLiteral(e) && e.text === source;
}

/** `require("stepmark")`, also as the object of `.step` (`require("stepmark").step`). */
function isRequireOf(ts: typeof TS, e: TS.Expression, source: string): boolean {
  e = skipOuter(ts, e);
  if (ts.isPropertyAccessExpression(e)) e = skipOuter(ts, e.expression);
  return (
    ts.isCallExpression(e) &&
    ts.isIdentifier(e.expression) &&
    e.expression.text === 'require' &&
    e.arguments.length === 1 &&
    isRequireSource(ts, e.arguments[0]!, source)
  );
}

/**
 * `const __smx = (() => { const h = () => {}; h.exit = h; h.fail = h;
 *   if (typeof Symbol.dispose === "symbol") h[Symbol.dispose] = h; return Object.freeze(h); })();`
 * — the same no-op exit handle as instrument/strip.ts's text, built with the factory.
 */
function noopHandle(ts: typeof TS, f: TS.NodeFactory): TS.Statement {
  const h = () => f.createIdentifier('h');
  const assign = (target: TS.Expression) => f.createExpressionStatement(f.createAssignment(target, h()));
  const symbolDispose = () => f.createPropertyAccessExpression(f.createIdentifier('Symbol'), 'dispose');
  const body = f.createBlock(
    [
      f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList(
          [
            f.createVariableDeclaration(
              'h',
              undefined,
              undefined,
              f.createArrowFunction(undefined, undefined, [], undefined, undefined, f.createBlock([])),
            ),
          ],
          ts.NodeFlags.Const,
        ),
      ),
      assign(f.createPropertyAccessExpression(h(), 'exit')),
      assign(f.createPropertyAccessExpression(h(), 'fail')),
      f.createIfStatement(
        f.createStrictEquality(f.createTypeOfExpression(symbolDispose()), f.createStringLiteral('symbol')),
        assign(f.createElementAccessExpression(h(), symbolDispose())),
      ),
      f.createReturnStatement(
        f.createCallExpression(
          f.createPropertyAccessExpression(f.createIdentifier('Object'), 'freeze'),
          undefined,
          [h()],
        ),
      ),
    ],
    false,
  );
  const iife = f.createCallExpression(
    f.createParenthesizedExpression(
      f.createArrowFunction(undefined, undefined, [], undefined, undefined, body),
    ),
    undefined,
    [],
  );
  return f.createVariableStatement(
    undefined,
    f.createVariableDeclarationList(
      [f.createVariableDeclaration(NOOP_HANDLE_BINDING, undefined, undefined, iife)],
      ts.NodeFlags.Const,
    ),
  );
}
