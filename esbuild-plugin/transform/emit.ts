/**
 * Writes the code of docs/ABI.md into the source as string edits (magic-string), so everything
 * the user wrote keeps its exact text, and a source map to it falls out of the edits.
 *
 * Several edits can land on one offset (`{await x}`: the frame's `try {` and the `await`'s
 * `__smf.r(` both go after `{`). Edits are made outermost first; openings use `appendRight`
 * (kept in call order, so outer before inner) and closings `prependLeft` (reverse call order, so
 * inner before outer); a block body's `} catch … finally …` is attached to its closing brace
 * (`appendRight`), after anything that closes to its left. Frames go first, then the resumes in
 * `catch`/`finally`, then the `return`s, then explicit calls, then suspension points: at one offset
 * a frame's `try {` precedes a call's inserted name, which precedes an `await`'s `__smf.r(`.
 */
import type MagicString from 'magic-string';
import {
  ABI,
  CAUGHT_BINDING as CAUGHT,
  FRAME_BINDING as FRAME,
  RUNTIME_BINDING as RT,
} from '../../instrument/constants.js';
import type { Analysis, CallSite, FrameSite } from '../../instrument/estree/analyze.js';
import type { Node } from '../../instrument/estree/ast.js';
import { planStatements } from '../../instrument/estree/layout.js';
import { enterCallText } from '../../instrument/sites.js';

export interface EmitContext {
  /** `"path:line:col"` of an offset, or `undefined` when locations are off. */
  location(offset: number): string | undefined;
}

export function emitFrames(ms: MagicString, source: string, analysis: Analysis, ctx: EmitContext): void {
  for (const frame of analysis.frames) emitFrame(ms, source, frame, ctx);
  for (const frame of analysis.frames) for (const t of frame.resumeTrys) emitResumeInHandlers(ms, t);
  for (const frame of analysis.frames) for (const r of frame.returns) emitReturn(ms, source, r);
  for (const call of analysis.calls) emitCall(ms, call);
  for (const frame of analysis.frames) for (const s of frame.suspensions) emitSuspension(ms, source, s);
}

/**
 * A space when the operand at `offset` directly follows its keyword: minified code writes
 * `return!x`, `return"s"`, `await!p`, `yield[x]`, and a call inserted there must not run into the
 * keyword (`return__smf.x(…)`). Only `return`/`await`/`yield` or whitespace, a comment or `(`
 * can precede an operand, so an ASCII letter there is the keyword's last.
 */
function gap(source: string, offset: number): string {
  return /[a-z]/.test(source[offset - 1] ?? '') ? ' ' : '';
}

/** `catch (e) { __smf.r(); … }` and `finally { __smf.r(); … }` of a `try` whose block suspends. */
function emitResumeInHandlers(ms: MagicString, tryStatement: Node): void {
  const resume = ` ${FRAME}.${ABI.resume}();`;
  if (tryStatement.handler) ms.appendRight(tryStatement.handler.body.start + 1, resume);
  if (tryStatement.finalizer) ms.appendRight(tryStatement.finalizer.start + 1, resume);
}

/** The end of a frame that closes its span in `finally` (generators and async generators). */
const CLOSE_FINALLY = `} catch (${CAUGHT}) { ${FRAME}.${ABI.fail}(${CAUGHT}); throw ${CAUGHT}; } finally { ${FRAME}.${ABI.exit}(); }`;
/** The end of a frame whose `return`s close its span: falling off the end closes it too. */
const CLOSE_RETURNS = `${FRAME}.${ABI.exit}(); } catch (${CAUGHT}) { throw ${FRAME}.${ABI.failWith}(${CAUGHT}); }`;
/** The same after an expression body's `return`, which always runs. */
const CLOSE_EXPRESSION = `} catch (${CAUGHT}) { throw ${FRAME}.${ABI.failWith}(${CAUGHT}); }`;

/**
 * `return v` → `return __smf.x(v)`, `return` → `return __smf.x()`. A comma expression gets
 * parentheses: `return a, b` returns `b`, and `__smf.x(a, b)` would pass two arguments and return `a`.
 */
function emitReturn(ms: MagicString, source: string, node: Node): void {
  const arg = node.argument as Node | null;
  if (arg) {
    const sequence = arg.type === 'SequenceExpression';
    ms.appendRight(arg.start, `${gap(source, arg.start)}${FRAME}.${ABI.exitWith}(${sequence ? '(' : ''}`);
    // appendLeft: after a nested arrow's frame that ends here too (`return () => x`, written
    // earlier), before the suspension closings written later (`return await x`).
    ms.appendLeft(arg.end, sequence ? '))' : ')');
  } else {
    ms.appendLeft(node.start + 6 /* return */, ` ${FRAME}.${ABI.exitWith}()`);
  }
}

function emitFrame(ms: MagicString, source: string, frame: FrameSite, ctx: EmitContext): void {
  const body = frame.fn.body as Node;
  const open = `const ${FRAME} = ${enterCallText(frame.spec, ctx.location(frame.start))}; try {`;
  const byReturns = frame.spec.ending === 'returns';
  if (body.type !== 'BlockStatement') {
    // Expression-bodied arrow: `=> expr` becomes `=> { const __smf = …; try { return __smf.x(expr); } … }`.
    ms.appendRight(body.start, `{ ${open} return ${byReturns ? `${FRAME}.${ABI.exitWith}(` : ''}`);
    ms.prependLeft(body.end, `${byReturns ? ')' : ''}; ${byReturns ? CLOSE_EXPRESSION : CLOSE_FINALLY} }`);
    return;
  }
  const statements = body.body as Node[];
  const plan = planStatements(statements, frame.derivedConstructor);
  const at = plan.frameAt > 0 ? statements[plan.frameAt - 1]!.end : body.start + 1;
  // A statement before the frame may end without its `;` (ASI): nothing may be glued to it.
  let semicolon = at !== body.start + 1 && source.charCodeAt(at - 1) !== 59; /* ; */
  if (plan.functionLevel.length) {
    // Declarations the code before super() calls stay at function level, right after it (moved
    // with their mappings); a moved chunk lands before what is appended at `at`: the frame.
    if (semicolon) ms.appendLeft(at, ';');
    semicolon = false;
    for (const i of plan.functionLevel) ms.move(statements[i]!.start, statements[i]!.end, at);
  }
  for (const i of plan.removed) ms.remove(statements[i]!.start, statements[i]!.end);
  // `var g = function () {…};` at the top of the `try` block: moved before the first statement
  // that stays in place (or the closing brace).
  const skipped = new Set([...plan.functionLevel, ...plan.asVar, ...plan.removed]);
  let first = plan.frameAt;
  while (first < statements.length && skipped.has(first)) first++;
  const top = first < statements.length ? statements[first]!.start : body.end - 1;
  if (plan.asVar.length) {
    for (const i of plan.asVar) {
      const fn = statements[i]!;
      const keyword = fn.async ? 'async' : 'function';
      ms.update(fn.start, fn.start + keyword.length, `var ${fn.id.name} = ${keyword}`);
      ms.update(fn.id.start, fn.id.end, '');
      ms.appendLeft(fn.end, ';');
      ms.move(fn.start, fn.end, top);
    }
  }
  const opening = `${semicolon ? ';' : ''} ${open} `;
  let CLOSE = CLOSE_FINALLY;
  if (byReturns) {
    // `__smf.exit();` follows the last statement left in place: one that ends without its `;`
    // (ASI) must not run into it.
    const moved = new Set([...plan.functionLevel, ...plan.asVar, ...plan.removed]);
    let last = statements.length - 1;
    while (last >= plan.frameAt && moved.has(last)) last--;
    const open = last < plan.frameAt || source.charCodeAt(statements[last]!.end - 1) === 59; /* ; */
    CLOSE = open ? CLOSE_RETURNS : `;${CLOSE_RETURNS}`;
  }
  if (at === body.end - 1) {
    // Nothing after the frame (empty body): one insertion, or the closing would land before the opening.
    ms.appendRight(at, `${opening}${CLOSE} `);
  } else {
    // A moved chunk lands before what is appended right of its target: when the declarations'
    // target is `at` itself (minified code, `{let t=n;function u(){…}…}`), the frame opens left
    // of it, so that they follow it. (Nothing else is appended left of `at` then: no declaration
    // stays at function level, and `at` opens the body or follows a `super()` statement.)
    if (plan.asVar.length && top === at) ms.appendLeft(at, opening);
    else ms.appendRight(at, opening);
    // appendRight: stays with the closing brace even when the last statement is moved.
    ms.appendRight(body.end - 1, ` ${CLOSE} `);
  }
}

function emitCall(ms: MagicString, site: CallSite): void {
  const call = site.call;
  const callee = call.callee as Node;
  const name = JSON.stringify(site.name);
  const prefix = site.scopeObject ? `${site.scopeObject.name}, ${name}` : name;
  ms.update(callee.start, callee.end, `${RT}.${site.abiMethod}`);
  const args = call.arguments as Node[];
  if (args.length > 0) ms.appendRight(args[0]!.start, `${prefix}, `);
  else ms.appendLeft(call.end - 1, prefix);
}

function emitSuspension(ms: MagicString, source: string, node: Node): void {
  // await e -> __smf.r(await __smf.s(e)); yield -> __smf.r(yield __smf.s())
  ms.appendRight(node.start, `${FRAME}.${ABI.resume}(`);
  const arg = node.argument as Node | null;
  if (arg) {
    ms.appendRight(arg.start, `${gap(source, arg.start)}${FRAME}.${ABI.suspend}(`);
    ms.prependLeft(arg.end, ')');
    ms.prependLeft(node.end, ')');
  } else {
    ms.prependLeft(node.end, ` ${FRAME}.${ABI.suspend}())`);
  }
}
