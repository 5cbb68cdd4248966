// The plugin's public types are accepted by the typings of Babel 8 (@babel/core) and of
// Babel 7 (@types/babel__core): a typed babel.config.ts compiles with either. Both configs are
// checked by one program (their diagnostics apart), so the compiler loads @types/node once.
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const FILES = ['babel8-config.ts', 'babel7-config.ts'];
let program: ts.Program;

beforeAll(() => {
  program = ts.createProgram(
    FILES.map((f) => join(REPO_ROOT, 'test/babel/types', f)),
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: ['node'],
    },
  );
  // a type check on a shared 2-core machine: minutes of margin, not the default 60 s
}, 300_000);

it('checks both configs in one program, with no global errors', () => {
  expect(program.getRootFileNames()).toHaveLength(FILES.length);
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  expect(global.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
});

it.each(FILES)(
  '%s type-checks',
  (file) => {
    const source = program.getSourceFile(join(REPO_ROOT, 'test/babel/types', file))!;
    expect(source).toBeDefined();
    const errors = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(errors).toEqual([]);
  },
  300_000,
);
