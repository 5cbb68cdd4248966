/**
 * Real esbuild builds of small throw-away projects for the esbuild plugin's tests. Projects live
 * in the run's scratch folder inside the repository (test/support/scratch.ts), so `import "stepmark"` in built code resolves to this
 * package's dist through its own name, as it does for users.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import stepmark, { type StepmarkEsbuildOptions } from 'stepmark/esbuild-plugin';
import { uniqueScratchDir } from '../support/scratch.js';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** Writes `files` (path → text) into a fresh directory and returns its absolute path. */
export function project(files: Record<string, string>): string {
  const dir = uniqueScratchDir('esbuild-');
  for (const [name, text] of Object.entries(files)) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}

export interface Built {
  readonly outfile: string;
  readonly code: string;
  readonly warnings: esbuild.Message[];
}

/** Bundles `entry` of project `dir` with the plugin (stepmark itself stays external). */
export async function bundle(
  dir: string,
  entry: string,
  options: StepmarkEsbuildOptions | false = {},
  extra: esbuild.BuildOptions = {},
): Promise<Built> {
  const format = extra.format ?? 'esm';
  const outfile = join(dir, 'out', entry.replace(/\.[^.]+$/, format === 'esm' ? '.mjs' : '.cjs'));
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: [join(dir, entry)],
    bundle: true,
    platform: 'node',
    format,
    outfile,
    sourcemap: true,
    external: ['stepmark', 'stepmark/*'],
    logLevel: 'silent',
    plugins: options === false ? [] : [stepmark(options)],
    ...extra,
  });
  return { outfile, code: readFileSync(outfile, 'utf8'), warnings: result.warnings };
}

/** Imports a built ESM bundle in this process. */
export function load<T = Record<string, unknown>>(outfile: string): Promise<T> {
  return import(`${pathToFileURL(outfile).href}?v=${Math.random()}`) as Promise<T>;
}

const exec = promisify(execFile);

/** Runs a built file with Node (source maps on) and returns stdout and stderr. */
export async function runNode(file: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await exec(process.execPath, ['--enable-source-maps', file], { cwd: dirname(file) });
  } catch (error) {
    const e = error as { stdout: string; stderr: string };
    return { stdout: e.stdout, stderr: e.stderr };
  }
}

/** A marked module with an async method, a step and a throw: the service most tests build. */
export const ORDER = `// @stepmark
import { step } from 'stepmark';

export class OrderService {
  async place(order: { id: string; total: number }) {
    await this.validate(order);
    step('placed', { total: order.total });
    return order.id;
  }

  validate(order: { id: string; total: number }) {
    if (order.total <= 0) throw new Error('bad total');
  }
}
`;
