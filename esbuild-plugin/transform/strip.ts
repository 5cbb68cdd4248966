/**
 * Strip mode (`strip: true`, docs/STRIP.md) as text edits: applies the plan of
 * instrument/estree/strip.ts with magic-string, writing the replacement text of instrument/strip.ts.
 */
import type MagicString from 'magic-string';
import { type Node, prologueEnd } from '../../instrument/estree/ast.js';
import type { StripPlan } from '../../instrument/estree/strip.js';
import { noopHandleDeclaration, strippedCall } from '../../instrument/strip.js';

/** Writes a strip plan into the source. */
export function emitStrip(ms: MagicString, program: Node, plan: StripPlan): void {
  for (const r of plan.calls) {
    const text = strippedCall(
      r.handle,
      r.statement,
      r.kept.length,
      (i) => r.kept[i]!.type === 'SpreadElement',
    );
    if (r.kept.length === 0) {
      ms.overwrite(r.call.start, r.call.end, text.whole);
      continue;
    }
    ms.overwrite(r.call.start, r.kept[0]!.start, text.before);
    for (let i = 0; i + 1 < r.kept.length; i++)
      ms.overwrite(r.kept[i]!.end, r.kept[i + 1]!.start, text.between(i));
    ms.overwrite(r.kept[r.kept.length - 1]!.end, r.call.end, text.after);
  }
  for (const { declaration } of plan.declarations) ms.remove(declaration.start, declaration.end);
  for (const s of plan.imports) ms.remove(s.start, s.end);
  if (plan.needsHandle) {
    // after the directive prologue
    const body = program.body as Node[];
    const i = prologueEnd(program);
    ms.prependRight(i < body.length ? body[i]!.start : program.end, noopHandleDeclaration());
  }
}
