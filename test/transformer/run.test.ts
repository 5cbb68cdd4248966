/**
 * Runs transformer output: for both compilers, CommonJS and ESM output, and targets from ES2015
 * (TypeScript lowers async functions and generators after our transform) to ESNext, the program's
 * results equal the uninstrumented build's, with tracing off and on, and the recorded span tree
 * is the same everywhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from 'stepmark';
import { normalizeTrace, renderSpanTree } from 'stepmark/testing';
import { describe, expect, it } from 'vitest';
import { compilers, load, transpile, transpilePlain } from './helpers.js';

const fileName = join(import.meta.dirname, 'fixtures', 'orders.ts');
const source = readFileSync(fileName, 'utf8');

const EXPECTED_RESULT = [1, 2, 42, 'o0,o1', 'order long too big', 3, 1];

// A derived constructor's span opens after super(): Repo.constructor is its sibling, not its child.
const EXPECTED_TREE = `main
  Repo.constructor
  CachedRepo.constructor
  stream
    ids
    pause
    pause
  handle [o0]
    CachedRepo.load
      Repo.load
        pause
  handle [o1]
    CachedRepo.load
      Repo.load
        pause
  double
  ids
  handle [long] !error: order long too big
    CachedRepo.load
      Repo.load
        pause`;

for (const [label, ts] of Object.entries(compilers)) {
  const targets = {
    ES2015: ts.ScriptTarget.ES2015,
    ES2017: ts.ScriptTarget.ES2017,
    ES2022: ts.ScriptTarget.ES2022,
    ESNext: ts.ScriptTarget.ESNext,
  };
  const modules = {
    CommonJS: ['.cjs', ts.ModuleKind.CommonJS],
    ESNext: ['.mjs', ts.ModuleKind.ESNext],
  } as const;
  for (const [targetName, target] of Object.entries(targets)) {
    for (const [moduleName, [ext, module]] of Object.entries(modules)) {
      describe(`${label}, target ${targetName}, module ${moduleName}`, () => {
        const compilerOptions = { target, module, esModuleInterop: true };
        it('behaves like the uninstrumented program, tracing off and on', async () => {
          const plain = await load(transpilePlain(source, { ts, fileName, compilerOptions }), ext, 'plain');
          const instrumented = await load(
            transpile(source, { ts, fileName, compilerOptions }).code,
            ext,
            'orders',
          );
          expect(await plain.main()).toEqual(EXPECTED_RESULT);
          expect(await instrumented.main()).toEqual(EXPECTED_RESULT);
          const { result, trace } = await capture(() => instrumented.main());
          expect(result).toEqual(EXPECTED_RESULT);
          expect(renderSpanTree(normalizeTrace(trace))).toBe(EXPECTED_TREE);
          // Explicit calls carry the enclosing function's name; the entity directive scoped the span.
          const normalized = normalizeTrace(trace);
          expect(normalized.entities.o0?.events.map((e) => `${e.stage}:${e.action}`)).toEqual(
            expect.arrayContaining(['handle:received']),
          );
          expect(
            normalized.events
              .concat(...Object.values(normalized.entities).map((e) => e.events))
              .some((e) => e.stage === 'Repo.load' && e.action === 'loaded'),
          ).toBe(true);
          const spans = normalized.spans.filter((s) => s.name === 'Repo.load');
          expect(spans[0]?.location).toBe('test/transformer/fixtures/orders.ts:13:9');
        });
      });
    }
  }
}
