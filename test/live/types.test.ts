// The mounting lines of docs/LIVE.md type-check as written (strict TypeScript, the real
// compiler, the real @types of Express, Koa, Fastify and Hono).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { SCRATCH_ROOT } from '../support/scratch.js';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('stepmark/package.json'));

it('type-checks the documented ways to mount the endpoint', () => {
  const dir = join(SCRATCH_ROOT, 'live-types');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'tsconfig.mount.json');
  // Package names map to the sources the declarations are built from (dist may be a fast
  // build without .d.ts).
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        typeRoots: [join(root, 'node_modules/@types')],
        paths: {
          stepmark: [join(root, 'runtime/index.ts')],
          'stepmark/http': [join(root, 'adapters/http/index.ts')],
          'stepmark/live': [join(root, 'live/index.ts')],
        },
      },
      include: [],
      files: [join(root, 'test/live/fixtures/mount.ts')],
    }),
  );
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', config], {
    encoding: 'utf8',
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 120_000);
