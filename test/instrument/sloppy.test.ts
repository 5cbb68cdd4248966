/**
 * Sloppy-mode CommonJS (published code is full of it) through every route: the Babel plugin
 * (7 and 8, `sourceType: "script"`), the esbuild plugin, the TypeScript transformer
 * (`transpileModule` of a script, no `alwaysStrict`) and `stepmark/register`. Instrumented
 * output must behave like the uninstrumented script, tracing off and on; in particular nested
 * function declarations keep their sloppy-mode semantics (Annex B hoisting out of blocks, mapped
 * `arguments`, duplicate declarations in a block, `with`, `this` of a plain call), direct `eval`
 * keeps declaring into the function's scope, and a `with` statement whose object claims every
 * name finds none of the frame's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import stepmarkEsbuild from 'stepmark/esbuild-plugin';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import stepmarkBabel from '../../babel-plugin/index.js';
import stepmarkTransformer from '../../transformer/index.js';
import { babel } from '../babel/compile.js';
import {
  type FixtureRun,
  REPO_ROOT,
  type RunnerProcess,
  type RunResult,
  runFixtures,
} from '../corpus/harness.js';
import { scratchDir } from '../support/scratch.js';

const SOURCE_FILE = join(import.meta.dirname, 'sloppy', 'script.cjs');
const source = readFileSync(SOURCE_FILE, 'utf8');
const OUT = scratchDir('sloppy');
const options = { root: REPO_ROOT };

/** Runs the compiled scripts in one plain Node process (the corpus runner): results by run id. */
async function runScripts(runs: FixtureRun[], node?: RunnerProcess): Promise<Record<string, RunResult>> {
  const workDir = join(OUT, 'runner');
  mkdirSync(workDir, { recursive: true });
  const results = (await runFixtures(new Map([['sloppy', runs]]), workDir, node)).get('sloppy');
  if (results instanceof Error) throw results;
  return results!;
}

function write(route: string, name: string, code: string): string {
  const dir = join(OUT, route);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, code);
  return file;
}

async function viaBabel(major: 7 | 8, instrument: boolean): Promise<string> {
  const out = await babel(major).transformAsync(source, {
    filename: SOURCE_FILE,
    babelrc: false,
    configFile: false,
    sourceType: 'script',
    plugins: instrument ? [[stepmarkBabel, options]] : [],
  });
  return out!.code!;
}

async function viaEsbuild(instrument: boolean): Promise<string> {
  const out = await esbuild.build({
    entryPoints: [SOURCE_FILE],
    write: false,
    format: 'cjs',
    platform: 'node',
    logLevel: 'silent',
    // The repository's tsconfig.json says `strict` (so `alwaysStrict`): a user's sloppy script has none.
    tsconfigRaw: '{}',
    plugins: instrument ? [stepmarkEsbuild(options)] : [],
  });
  return out.outputFiles[0]!.text;
}

function viaTypeScript(instrument: boolean): string {
  return ts.transpileModule(source, {
    fileName: SOURCE_FILE.replace(/\.cjs$/, '.js'),
    compilerOptions: {
      allowJs: true,
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      // TypeScript 6 implies `alwaysStrict`; a project compiling sloppy scripts turns it off.
      alwaysStrict: false,
      ignoreDeprecations: '6.0',
    },
    transformers: instrument ? { before: [stepmarkTransformer(undefined, options, { ts })] } : undefined,
  }).outputText;
}

const routes: Record<string, (instrument: boolean) => Promise<string> | string> = {
  babel8: (i) => viaBabel(8, i),
  babel7: (i) => viaBabel(7, i),
  esbuild: viaEsbuild,
  typescript: viaTypeScript,
};

const behaviour = (r: RunResult | undefined) => ({
  ok: r!.ok,
  value: r!.value,
  thrown: r!.thrown,
  log: r!.log,
});

describe('sloppy-mode CommonJS through every route', () => {
  it('is sloppy, and differs from strict mode where the script says so', async () => {
    const plain = write('plain', 'script.cjs', source);
    const strict = write('plain', 'strict.cjs', `'use strict';\n${source}`);
    const r = await runScripts([
      { id: 'plain', file: plain, traced: false },
      { id: 'strict', file: strict, traced: false },
    ]);
    expect(r.plain!.ok).toBe(true);
    // The fixture would prove nothing if its cases behaved the same in strict mode.
    expect(behaviour(r.strict)).not.toEqual(behaviour(r.plain));
  });

  for (const [route, compile] of Object.entries(routes)) {
    it(`${route}: instrumented behaves like the plain script, tracing off and on`, async () => {
      const plainCode = await compile(false);
      const instrumentedCode = await compile(true);
      expect(instrumentedCode).toContain('__stepmark');
      for (const code of [plainCode, instrumentedCode]) expect(code).not.toMatch(/^\s*["']use strict["']/);
      const plain = write(route, 'plain.cjs', plainCode);
      const instrumented = write(route, 'instrumented.cjs', instrumentedCode);
      const r = await runScripts([
        { id: 'plain', file: plain, traced: false },
        { id: 'off', file: instrumented, traced: false },
        { id: 'on', file: instrumented, traced: true },
      ]);
      expect(r.plain!.thrown, 'the plain script runs').toBeUndefined();
      expect(behaviour(r.off), 'tracing off').toEqual(behaviour(r.plain));
      expect(behaviour(r.on), 'tracing on').toEqual(behaviour(r.plain));
      const names = (r.on!.trace as { spans: { name: string }[] }).spans.map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'main',
          'annexB',
          'inner',
          'mappedArguments',
          'cb',
          'apply',
          'claimsEveryName',
          'evalFunction',
          'annexBIf',
        ]),
      );
    });
  }

  it('register: instrumented at load time behaves like the plain script, tracing off and on', async () => {
    const file = write('register', 'script.cjs', source);
    const plain = await runScripts([{ id: 'plain', file, traced: false }]);
    const hooked = await runScripts(
      [
        { id: 'off', file, traced: false },
        { id: 'on', file, traced: true },
      ],
      {
        args: ['--import', 'stepmark/register'],
        env: { ...process.env, STEPMARK_OPTIONS: JSON.stringify(options) },
      },
    );
    expect(behaviour(hooked.off), 'tracing off').toEqual(behaviour(plain.plain));
    expect(behaviour(hooked.on), 'tracing on').toEqual(behaviour(plain.plain));
    const names = (hooked.on!.trace as { spans: { name: string }[] }).spans.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['main', 'annexB', 'inner', 'cb', 'apply', 'claimsEveryName']),
    );
  });
});
