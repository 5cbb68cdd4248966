// The Babel plugin followed by another compiler that strips TypeScript: Babel keeps the
// TypeScript (syntax plugin only) and then oxc (as Vite 8 runs it), esbuild or TypeScript's
// transpileModule compile the instrumented code. The trap this pins: TypeScript parameter
// properties of a derived class must not end up before `super()` (some compilers move them
// above a super() nested in a try); the frame opens after the top-level super(), so whatever
// these compilers do with parameter properties, nothing touches `this` before super().
import { createRequire } from 'node:module';
import { transform as esbuildTransform } from 'esbuild';
import ts from 'typescript';
import { transformWithOxc } from 'vite';
import stepmarkPlugin from '../../babel-plugin/index.js';
import type { StepmarkOptions } from '../../instrument/index.js';
import { runCorpus } from '../corpus/harness.js';
import { babel } from './compile.js';

const require = createRequire(import.meta.url);

async function keepTypeScript(
  source: string,
  filename: string,
  options: StepmarkOptions | null,
): Promise<string> {
  const result = await babel(8).transformAsync(source, {
    filename,
    babelrc: false,
    configFile: false,
    retainLines: true,
    plugins: [
      require.resolve('@babel/plugin-syntax-typescript'),
      [require.resolve('@babel/plugin-syntax-decorators'), { version: '2023-11' }],
      ...(options === null ? [] : [[stepmarkPlugin, options]]),
    ],
  });
  return result!.code!;
}

const noDecorators = (fixture: string) => fixture !== 'decorators.ts';

runCorpus({
  label: 'babel-then-oxc',
  moduleFormat: 'esm',
  // oxc (Vite 8) lowers only legacy decorators
  filter: noDecorators,
  compile: async (source, filename, options) => {
    const out = await transformWithOxc(await keepTypeScript(source, filename, options), filename, {
      lang: filename.endsWith('.ts') ? 'ts' : 'js',
      target: 'es2022',
    });
    return { code: out.code };
  },
});

runCorpus({
  label: 'babel-then-esbuild',
  moduleFormat: 'esm',
  fallbackDiffers: (fixture) =>
    fixture.startsWith('default-export-')
      ? 'esbuild declares an anonymous default export as `<file>_default`, the name V8 then reports'
      : undefined,
  compile: async (source, filename, options) => {
    // esbuild itself (Vite's transformWithEsbuild, deprecated in Vite 8, wraps the same call)
    const out = await esbuildTransform(await keepTypeScript(source, filename, options), {
      sourcefile: filename,
      loader: filename.endsWith('.ts') ? 'ts' : 'js',
      format: 'esm',
      target: 'node20',
    });
    return { code: out.code };
  },
});

runCorpus({
  label: 'babel-then-tsc',
  moduleFormat: 'cjs',
  filter: noDecorators,
  compile: async (source, filename, options) => {
    const out = ts.transpileModule(await keepTypeScript(source, filename, options), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    return { code: out.outputText };
  },
});
