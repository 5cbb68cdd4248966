// One fixture file built by esbuild the way the corpus suites compare it: unbundled, for Node 20
// (what Node cannot run natively, standard decorators, is lowered as a real build would), with the
// stepmark plugin when `options` is given and without it (the uninstrumented result) when null.
import * as esbuild from 'esbuild';
import stepmark from 'stepmark/esbuild-plugin';
import type { StepmarkOptions } from '../../instrument/index.js';

export async function esbuildFile(
  filename: string,
  format: 'esm' | 'cjs',
  options: StepmarkOptions | null,
  tsconfigRaw?: esbuild.TsconfigRaw,
): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [filename],
    bundle: false,
    write: false,
    format,
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
    ...(tsconfigRaw && { tsconfigRaw }),
    plugins: options === null ? [] : [stepmark(options)],
  });
  return result.outputFiles[0]!.text;
}
