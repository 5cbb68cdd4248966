/**
 * Maps a TypeScript function body to the shared layout rule (instrument/layout.ts) and builds
 * what the rule asks for that has no counterpart in the source: `var g = function () {…};`.
 */
import type * as TS from 'typescript';
import type { BodyStatement } from '../instrument/layout.js';

/** The layout rule's view of each statement of a body. */
export function describeStatements(ts: typeof TS, statements: readonly TS.Statement[]): BodyStatement[] {
  let prologue = true;
  return statements.map((s): BodyStatement => {
    if (prologue && ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression)) return DIRECTIVE;
    prologue = false;
    if (ts.isFunctionDeclaration(s))
      return s.body && s.name ? { kind: 'function', name: s.name.text } : OTHER;
    if (ts.isVariableStatement(s)) {
      return s.declarationList.flags & ts.NodeFlags.BlockScoped && !isDeclare(ts, s) ? LEXICAL : OTHER;
    }
    if (ts.isClassDeclaration(s) || ts.isEnumDeclaration(s) || ts.isModuleDeclaration(s)) {
      return isDeclare(ts, s) ? OTHER : LEXICAL;
    }
    if (
      ts.isExpressionStatement(s) &&
      ts.isCallExpression(s.expression) &&
      s.expression.expression.kind === ts.SyntaxKind.SuperKeyword
    ) {
      return SUPER_CALL;
    }
    return OTHER;
  });
}

const OTHER: BodyStatement = { kind: 'other' };
const DIRECTIVE: BodyStatement = { kind: 'directive' };
const LEXICAL: BodyStatement = { kind: 'lexical' };
const SUPER_CALL: BodyStatement = { kind: 'super-call' };

function isDeclare(ts: typeof TS, s: TS.Statement): boolean {
  return ts.canHaveModifiers(s) && !!ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
}

/** Every identifier in the statements (a superset of the names they refer to). */
export function identifierNames(ts: typeof TS, statements: readonly TS.Statement[]): string[] {
  const names: string[] = [];
  const visit = (n: TS.Node): void => {
    if (ts.isIdentifier(n)) names.push(n.text);
    ts.forEachChild(n, visit);
  };
  for (const s of statements) visit(s);
  return names;
}

/** `function g() {}` → `var g = function () {};`, mapped to the declaration. */
export function functionAsVar(ts: typeof TS, f: TS.NodeFactory, fn: TS.FunctionDeclaration): TS.Statement {
  const async = ts.getModifiers(fn)?.filter((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
  const expression = f.createFunctionExpression(
    async,
    fn.asteriskToken,
    undefined,
    fn.typeParameters,
    fn.parameters,
    fn.type,
    fn.body!,
  );
  ts.setTextRange(expression, fn);
  const statement = f.createVariableStatement(
    undefined,
    f.createVariableDeclarationList([
      f.createVariableDeclaration(fn.name!.text, undefined, undefined, expression),
    ]),
  );
  ts.setTextRange(statement, fn);
  ts.setOriginalNode(statement, fn);
  return statement;
}
