// The plugin's public types are accepted by the typings of Babel 8 (@babel/core) and of
// Babel 7 (@types/babel__core): a typed babel.config.ts compiles with either.
import { join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

it.each(['babel8-config.ts', 'babel7-config.ts'])('%s type-checks', (file) => {
  const program = ts.createProgram([join(REPO_ROOT, 'test/babel/types', file)], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
  });
  const errors = ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(errors).toEqual([]);
});
