// Running the real `stepmark` binary (dist/cli/index.js, package.json's bin) as a child process.
import { spawnSync } from 'node:child_process';
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

/** Runs `stepmark …args` with NO_COLOR/FORCE_COLOR cleared unless given; `node` are extra Node flags. */
export function stepmark(
  args: string[],
  options: { input?: string; env?: Record<string, string | undefined>; node?: string[] } = {},
): Result {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  Object.assign(env, options.env);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [...(options.node ?? []), bin, ...args], {
    input: options.input,
    env: env as NodeJS.ProcessEnv,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
