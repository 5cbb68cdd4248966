// `import 'stepmark/testing/vitest'` type-checks beside a project's own matcher declarations,
// written as each Vitest version's docs show, against the real typings of Vitest 4
// (test/testing/vitest4, a devDependency of its own so that its `vitest` bin stays out of the
// repo's) and Vitest 5 (the repo's). The types come from dist/ (`npm run build`).
import { join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const DIR = join(REPO_ROOT, 'test/testing/vitest-types');

const options: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  types: ['node'],
};

// One host for both programs: the files they share (lib, @types/node, stepmark, vite) are parsed once.
const host = ts.createCompilerHost(options);
const parsed = new Map<string, ts.SourceFile | undefined>();
const getSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (file, languageVersion, ...rest) => {
  if (!parsed.has(file)) parsed.set(file, getSourceFile(file, languageVersion, ...rest));
  return parsed.get(file);
};

/** The errors of a project made of `files`, with `vitest` resolved from `vitestFrom`'s folder. */
function typeErrors(files: string[], vitestFrom?: string): string[] {
  const resolutionCache = ts.createModuleResolutionCache(REPO_ROOT, (f) => f, options);
  const programHost: ts.CompilerHost = {
    ...host,
    resolveModuleNameLiterals: (literals, containingFile, redirect, compilerOptions, sourceFile) =>
      literals.map((literal) =>
        ts.resolveModuleName(
          literal.text,
          vitestFrom && /^vitest(\/|$)/.test(literal.text) ? vitestFrom : containingFile,
          compilerOptions,
          host,
          resolutionCache,
          redirect,
          ts.getModeForUsageLocation(sourceFile, literal, compilerOptions),
        ),
      ),
  };
  const program = ts.createProgram(
    files.map((f) => join(DIR, f)),
    options,
    programHost,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(REPO_ROOT.length + 1)}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

// A type check is CPU-bound: on a loaded 2-core machine the first program (which parses the
// shared files) can take several times its ~5 s.
const TIMEOUT = 120_000;

it('type-checks with Vitest 4 and its documented Matchers<T = any> declaration', { timeout: TIMEOUT }, () => {
  const vitest4 = join(REPO_ROOT, 'test/testing/vitest4/package.json');
  expect(typeErrors(['setup.ts', 'vitest4-matchers.ts', 'usage.ts'], vitest4)).toEqual([]);
});

it('type-checks with Vitest 5 and its documented Matchers<R, T> declaration', { timeout: TIMEOUT }, () => {
  expect(typeErrors(['setup.ts', 'vitest5-matchers.ts', 'usage.ts'])).toEqual([]);
});
