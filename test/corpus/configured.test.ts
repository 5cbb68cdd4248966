/**
 * The fixtures that need compiler options (test/fixtures/configured: legacy decorators with
 * metadata, JSX/TSX) through every route, each set up the way a project using that route would
 * set it: the TypeScript transformer and `stepmark/register` with `experimentalDecorators`,
 * `emitDecoratorMetadata` and `jsx: react`; esbuild with `experimentalDecorators` (it emits no
 * decorator metadata) and its tsx loader; Babel 7 and 8 with preset-typescript, the legacy
 * decorators plugin (and transform-class-properties, which it needs for decorated fields),
 * babel-plugin-transform-typescript-metadata and transform-react-jsx. The
 * harness compares each against the same build without stepmark, and the traces against the
 * expectation written in the fixture.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { StepmarkOptions } from '../../instrument/index.js';
import { type BabelMajor, compileWith } from '../babel/compile.js';
import { esbuildFile } from '../support/esbuild-build.js';
import { compilers, type TypeScript, transpileFixture } from '../transformer/helpers.js';
import { FIXTURES_DIR, runCorpus } from './harness.js';

const require = createRequire(import.meta.url);
const fixturesDir = join(FIXTURES_DIR, 'configured');
const ts6 = compilers['typescript 6']!;
const ts5 = compilers['typescript 5.9']!;

function typescript(ts: TypeScript, module: 'esm' | 'cjs', instrument = true) {
  return (source: string, filename: string, options: StepmarkOptions | null) =>
    transpileFixture(source, filename, {
      ts,
      options: instrument ? options : null,
      compilerOptions: {
        module: module === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        jsx: ts.JsxEmit.React,
      },
    });
}

runCorpus({
  label: 'configured-typescript6-esm',
  moduleFormat: 'esm',
  fixturesDir,
  compile: typescript(ts6, 'esm'),
});
runCorpus({
  label: 'configured-typescript5-cjs',
  moduleFormat: 'cjs',
  fixturesDir,
  compile: typescript(ts5, 'cjs'),
});

runCorpus({
  label: 'configured-register-esm',
  moduleFormat: 'esm',
  fixturesDir,
  compile: typescript(ts6, 'esm', false),
  instrumentAtLoad: (options) => ({
    args: ['--import', 'stepmark/register'],
    env: { ...process.env, STEPMARK_OPTIONS: JSON.stringify(options) },
  }),
});

function esbuildTarget(format: 'esm' | 'cjs') {
  return async (_source: string, filename: string, options: StepmarkOptions | null) => ({
    code: await esbuildFile(filename, format, options, { compilerOptions: { experimentalDecorators: true } }),
  });
}

runCorpus({
  label: 'configured-esbuild-esm',
  moduleFormat: 'esm',
  fixturesDir,
  compile: esbuildTarget('esm'),
});
runCorpus({
  label: 'configured-esbuild-cjs',
  moduleFormat: 'cjs',
  fixturesDir,
  compile: esbuildTarget('cjs'),
});

function babelTarget(major: BabelMajor, moduleFormat: 'esm' | 'cjs') {
  const pkg = (name: string) => require.resolve(major === 8 ? name : `${name}-7`);
  return (source: string, filename: string, options: StepmarkOptions | null) =>
    compileWith(
      {
        major,
        moduleFormat,
        plugins: /\.[jt]sx$/.test(filename)
          ? [require.resolve('@babel/plugin-transform-react-jsx')]
          : [
              require.resolve('babel-plugin-transform-typescript-metadata'),
              [pkg('@babel/plugin-proposal-decorators'), { version: 'legacy' }],
              [pkg('@babel/plugin-transform-class-properties'), { loose: true }],
            ],
      },
      source,
      filename,
      options,
    );
}

runCorpus({
  label: 'configured-babel8-esm',
  moduleFormat: 'esm',
  fixturesDir,
  compile: babelTarget(8, 'esm'),
});
runCorpus({
  label: 'configured-babel7-cjs',
  moduleFormat: 'cjs',
  fixturesDir,
  compile: babelTarget(7, 'cjs'),
});
