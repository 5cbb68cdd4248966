// An `include` that selects nothing, under Babel: no end of a build to count at, so the plugin
// looks on disk, once per process and option set, for a file that `include` selects
// (babel-plugin/include.ts, docs/BABEL.md). Real Babel 8 over the files of a scratch project.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { includeSelectsAFile, MAX_SEARCHED_ENTRIES } from '../../babel-plugin/include.js';
import { resolveOptions, type StepmarkOptions } from '../../instrument/options.js';
import { uniqueScratchDir } from '../support/scratch.js';
import { captureWarnings } from '../support/warnings.js';
import { babel, babelOptions } from './compile.js';

/** A scratch project with these files (path → text). */
function project(files: Record<string, string>): string {
  const root = uniqueScratchDir('babel-include-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const FILES = {
  'src/orders/place.ts': 'export function place(id: string) { return id; }\n',
  'src/orders/price.ts': 'export const price = (n: number) => n * 2;\n',
  'src/util.ts': 'export function twice(n: number) { return n * 2; }\n',
  'test/place.test.ts': 'export function check() { return 1; }\n',
  'node_modules/dep/index.js': 'export function dep() { return 1; }\n',
  '.git/hooks/pre-commit.js': 'export function hook() { return 1; }\n',
};

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Transforms `paths` of `root` in turn with the plugin's options; returns the warnings given. */
async function transform(
  root: string,
  paths: (string | undefined)[],
  options: StepmarkOptions,
): Promise<{ name: string; code: unknown; message: string }[]> {
  const warnings = await captureWarnings(() => {
    for (const path of paths) {
      const filename = path === undefined ? undefined : join(root, path);
      const code = 'export function f() { return 1; }\n';
      const config = babelOptions({ major: 8, moduleFormat: 'esm', sourceMaps: false }, filename!, {
        root,
        ...options,
      });
      const result = babel(8).transformSync(code, { ...config, filename });
      expect(result?.code).toContain('function f');
    }
  });
  return warnings.map((w) => ({ name: w.name, code: (w as { code?: unknown }).code, message: w.message }));
}

describe('an include that selects no file (Babel)', () => {
  it('is warned of once, when the files Babel compiles are not selected and none on disk is', async () => {
    const root = project(FILES);
    const got = await transform(root, ['src/orders/place.ts', 'src/orders/price.ts', 'src/util.ts'], {
      include: ['src/order/**'], // the folder is `orders`
    });
    expect(got).toEqual([
      {
        message:
          `stepmark/babel-plugin: include ["src/order/**"] selects no JavaScript or TypeScript file under root ` +
          `${JSON.stringify(root)}: patterns are relative to root, and node_modules is searched only for ` +
          'patterns that name it',
        code: 'STEPMARK_INCLUDE_UNMATCHED',
        name: 'StepmarkWarning',
      },
    ]);
  });

  it('is not when a file on disk is selected, even one this process never compiles', async () => {
    const root = project(FILES);
    // a Jest worker that only gets the tests: another one compiles src/orders
    expect(
      await transform(root, ['test/place.test.ts', 'src/util.ts'], { include: ['src/orders/**'] }),
    ).toEqual([]);
    // a pattern without `/` matches a base name at any depth
    expect(await transform(root, ['src/util.ts'], { include: ['price.ts'] })).toEqual([]);
    // a dependency selected by a pattern that names node_modules
    expect(await transform(root, ['src/util.ts'], { include: ['node_modules/dep/**'] })).toEqual([]);
  });

  it('is not when a compiled file is selected (and then nothing is searched)', async () => {
    const root = project(FILES);
    expect(await transform(root, ['src/orders/place.ts'], { include: ['src/orders/**'] })).toEqual([]);
    // a root that does not exist would warn if it were searched
    expect(
      await transform(root, ['src/orders/place.ts'], { include: ['**/*.ts'], root: join(root, 'src') }),
    ).toEqual([]);
  });

  it('counts only selectable files: exclude, node_modules and .git, other extensions', async () => {
    const root = project({ ...FILES, 'src/orders/README.md': '# orders\n' });
    const cases: StepmarkOptions[] = [
      { include: ['src/orders/**'], exclude: ['**/*.ts'] },
      { include: ['**/*.js'] }, // only in node_modules and .git
      { include: ['src/orders/*.md'] },
    ];
    for (const options of cases) {
      expect(await transform(root, ['src/util.ts'], options), JSON.stringify(options)).toHaveLength(1);
    }
  });

  it('says it once per process and option set, and only for a file with a name', async () => {
    const root = project(FILES);
    // no file name: nothing to judge yet
    expect(await transform(root, [undefined, undefined], { include: ['lib/**'] })).toEqual([]);
    expect(
      await transform(root, ['src/util.ts', 'src/util.ts', 'test/place.test.ts'], { include: ['lib/**'] }),
    ).toHaveLength(1);
    expect(await transform(root, ['src/util.ts'], { include: ['lib/**'] })).toEqual([]); // not again
    expect(await transform(root, ['src/util.ts'], { include: ['app/**'] })).toHaveLength(1); // another set
  });

  it('is said by the first Jest worker only (the answer is the same in every worker)', async () => {
    const root = project(FILES);
    vi.stubEnv('JEST_WORKER_ID', '2');
    expect(await transform(root, ['src/util.ts'], { include: ['lib/**'] })).toEqual([]);
    vi.stubEnv('JEST_WORKER_ID', '1');
    expect(await transform(root, ['src/util.ts'], { include: ['app/**'] })).toHaveLength(1);
  });

  it('is not when no include is set, or when it cannot tell', async () => {
    const root = project(FILES);
    expect(await transform(root, ['src/util.ts'], {})).toEqual([]);
    // outside root: not searched
    expect(await transform(root, ['src/util.ts'], { include: ['../shared/**'] })).toEqual([]);
    expect(await transform(root, ['src/util.ts'], { include: ['/elsewhere/src/**'] })).toEqual([]);
  });

  it('stops after reading MAX_SEARCHED_ENTRIES directory entries, undecided', async () => {
    const big = project({ 'src/b/c/x.ts': '', 'src/a/readme.md': '' });
    for (let i = 0; i < 30; i++) writeFileSync(join(big, 'src/a', `${i}.txt`), '');
    const options = resolveOptions({ root: big, include: ['**/*.ts'] }, { host: 'test' });
    // breadth-first, x.ts is found in the last folder read: root (1 entry), src (2), src/a (31),
    // src/b (1), src/b/c (1)
    expect(includeSelectsAFile(options, 36)).toBe(true);
    expect(includeSelectsAFile(options, 35)).toBeUndefined();
    expect(MAX_SEARCHED_ENTRIES).toBe(20_000);
  });

  it('searches from the literal folders of the patterns', async () => {
    const root = project(FILES);
    const selects = (options: StepmarkOptions) =>
      includeSelectsAFile(resolveOptions({ root, ...options }, { host: 'test' }));
    expect(selects({ include: ['src/orders/**'] })).toBe(true);
    expect(selects({ include: ['./src/orders/*.ts'] })).toBe(true);
    expect(selects({ include: ['src/{orders,users}/**'] })).toBe(true);
    expect(selects({ include: ['src/users/**'] })).toBe(false);
    expect(selects({ include: ['src/users/**', 'test/**'] })).toBe(true);
  });
});
