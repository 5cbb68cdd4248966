// Running the real `stepmark` binary (dist/cli/index.js, package.json's bin) as a child process.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
export const root = dirname(require.resolve('stepmark/package.json'));
export const bin = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.stepmark);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  input?: string;
  env?: Record<string, string | undefined>;
  /** Extra Node flags. */
  node?: string[];
}

/** The test's environment with NO_COLOR/FORCE_COLOR cleared, unless given. */
function environment(options: RunOptions): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  Object.assign(env, options.env);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as NodeJS.ProcessEnv;
}

/** Runs `stepmark …args`. */
export function stepmark(args: string[], options: RunOptions = {}): Result {
  const r = spawnSync(process.execPath, [...(options.node ?? []), bin, ...args], {
    input: options.input,
    env: environment(options),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking, for several runs at once. */
export function stepmarkAsync(args: string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.node ?? []), bin, ...args], {
      env: environment(options),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input);
  });
}
