/**
 * The layout rule of ../layout.ts over an ESTree-shaped body (oxc's or Babel's, ./ast.ts): where
 * the frame puts each statement of an instrumented function.
 */
import { type BodyPlan, type BodyStatement, estreeIdentifierNames, planBody } from '../layout.js';
import type { Node } from './ast.js';

/**
 * The plan for a block body's `statements`. `compiledConstructor`: the body of a class constructor
 * after TypeScript compiled its parameter properties into `this.x = x;` statements (Babel's frames
 * written at the end of a pass): those stay before the frame.
 */
export function planStatements(
  statements: readonly Node[],
  derivedConstructor: boolean,
  compiledConstructor = false,
): BodyPlan {
  return planBody(
    statements.map((s) => describeStatement(s, compiledConstructor)),
    derivedConstructor,
    (end) => estreeIdentifierNames(statements.slice(0, end)),
  );
}

function describeStatement(s: Node, compiledConstructor: boolean): BodyStatement {
  switch (s.type) {
    case 'FunctionDeclaration':
    case 'TSDeclareFunction':
      if (!s.id || s.declare) return OTHER;
      return { kind: s.body ? 'function' : 'overload', name: s.id.name };
    case 'VariableDeclaration':
      return s.kind === 'var' || s.declare ? OTHER : LEXICAL;
    case 'ClassDeclaration':
    case 'TSEnumDeclaration':
    case 'TSModuleDeclaration':
      return s.declare ? OTHER : LEXICAL;
    case 'ExpressionStatement':
      if (s.directive != null) return DIRECTIVE;
      if (isSuperCall(s)) return SUPER_CALL;
      return compiledConstructor && isParameterPropertyAssignment(s) ? PARAMETER_PROPERTY : OTHER;
    default:
      return OTHER;
  }
}

const OTHER: BodyStatement = { kind: 'other' };
const DIRECTIVE: BodyStatement = { kind: 'directive' };
const LEXICAL: BodyStatement = { kind: 'lexical' };
const SUPER_CALL: BodyStatement = { kind: 'super-call' };
const PARAMETER_PROPERTY: BodyStatement = { kind: 'parameter-property' };

/** `super(…);` as a statement. */
export function isSuperCall(s: Node): boolean {
  return (
    s.type === 'ExpressionStatement' &&
    s.expression.type === 'CallExpression' &&
    s.expression.callee.type === 'Super'
  );
}

/**
 * `this.name = name;` without a source location: what TypeScript compiles a parameter property
 * into (user code always has a location).
 */
function isParameterPropertyAssignment(s: Node): boolean {
  if (s.loc || s.expression.type !== 'AssignmentExpression') return false;
  const { left, right, operator } = s.expression;
  return (
    operator === '=' &&
    left.type === 'MemberExpression' &&
    left.object.type === 'ThisExpression' &&
    !left.computed &&
    left.property.type === 'Identifier' &&
    right.type === 'Identifier' &&
    right.name === left.property.name
  );
}
