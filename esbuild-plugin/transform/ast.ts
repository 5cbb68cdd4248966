/**
 * The slice of oxc-parser's ESTree / TS-ESTree AST this transform reads. Nodes are plain objects
 * with `type`, `start`, `end` (UTF-16 offsets into the source) and per-type fields; the walker
 * only reads the fields named in the code, so a structural type is enough and keeps the
 * transform independent of the exact @oxc-project/types version.
 */
export interface Node {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [field: string]: any;
}

/** Function nodes that may have a body to wrap. */
export type FunctionNode = Node & {
  readonly type: 'FunctionDeclaration' | 'FunctionExpression' | 'ArrowFunctionExpression';
};

export function isFunction(node: Node): node is FunctionNode {
  const t = node.type;
  return t === 'FunctionDeclaration' || t === 'FunctionExpression' || t === 'ArrowFunctionExpression';
}

/** A comment as oxc-parser reports it (`value` without the delimiters). */
export interface Comment {
  readonly type: 'Line' | 'Block';
  readonly value: string;
  readonly start: number;
  readonly end: number;
}
