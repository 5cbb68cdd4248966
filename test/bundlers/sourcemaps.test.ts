/**
 * Source maps chained through every bundler: an error thrown in instrumented TypeScript, run by
 * Node with --enable-source-maps from each bundler's output (inline map), reports the original
 * file, line and column. In each build stepmark's map is chained by what comes after it: Rollup
 * and rolldown themselves, the TypeScript loader (webpack) or `builtin:swc-loader` (rspack). For
 * webpack, a pre-loader added after stepmark's changes the text first, and stepmark chains its map.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';
import { BUNDLERS, type Bundler, build, removeBuildOutputs } from './helpers.js';

const SOURCE = `// @stepmark
import { step } from 'stepmark';

class Base {
  constructor(readonly id: string) {}
}

export class Order extends Base {
  constructor(id: string, private readonly total: number) {
    super(id);
    if (total < 0) throw new RangeError('E1 negative total');
  }

  async load(): Promise<number> {
    await new Promise((r) => setTimeout(r, 1));
    step('loaded');
    if (this.total > 100) throw new Error('E2 after await');
    return this.total;
  }
}

export const double = (x: number) =>
  x > 10 ? Promise.reject(new TypeError('E3 in arrow')) : x * 2;

export function* items(n: number) {
  yield 1;
  throw new Error('E4 in generator ' + n);
}

export async function main() {
  const stacks: string[] = [];
  const grab = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (e) {
      stacks.push((e as Error).stack!.split('\\n').slice(0, 2).join(' | '));
    }
  };
  await grab(() => new Order('o', -1));
  await grab(() => new Order('o', 500).load());
  await grab(() => double(11));
  await grab(() => [...items(3)]);
  return stacks;
}
`;

const DIR = join(REPO_ROOT, 'test-output/bundlers-sourcemaps');
const FILE = join(DIR, 'order.ts');

/** `E1` → `line:column` (1-based) of each `new …Error('E<n>` in a text. */
function throwSites(code: string): Map<string, string> {
  const sites = new Map<string, string>();
  code.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/new \w*Error\('(E\d)/g)) sites.set(m[1]!, `${i + 1}:${m.index! + 1}`);
  });
  return sites;
}

/**
 * A pre-loader that a plugin applied after stepmark's adds (so it runs before stepmark's): it
 * puts a comment line first and returns the map of that edit.
 */
const SHIFT_LOADER = join(import.meta.dirname, 'shift-loader.cjs');
const shiftPlugin = {
  apply(compiler: { options: { module: { rules: unknown[] } } }) {
    compiler.options.module.rules.push({
      enforce: 'pre',
      test: /order\.ts$/,
      use: [{ loader: SHIFT_LOADER }],
    });
  },
};

afterAll(() => {
  removeBuildOutputs();
  rmSync(DIR, { recursive: true, force: true });
});

describe('a thrown error points at the original line and column through every bundler', () => {
  it.each(BUNDLERS)('%s', async (bundler: Bundler) => {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(FILE, SOURCE);
    const built = await build(bundler, [FILE], {
      format: bundler === 'rollup' || bundler === 'rolldown' ? 'esm' : 'cjs',
      sourcemap: true,
      stepmark: { root: REPO_ROOT },
      plugins: bundler === 'webpack' ? [shiftPlugin] : [],
    });
    expect(built.modules.get(FILE)).toContain('.enter("Order.load"');
    if (bundler === 'webpack') expect(built.modules.get(FILE)).toMatch(/^\/\/ shifted\n/);
    const out = built.outputFiles.get(FILE)!;
    const script = `import(${JSON.stringify(out)}).then(async (m) => { const ns = m.main ? m : m.default; process.stdout.write(JSON.stringify(await ns.main())); })`;
    const stacks: string[] = JSON.parse(
      execFileSync(process.execPath, ['--enable-source-maps', '-e', script], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }),
    );
    const frames = new Map(
      stacks.map((s) => {
        const at = /\(?([^\s()]+):(\d+):(\d+)\)?$/.exec(s)!;
        return [/\b(E\d)\b/.exec(s)![1]!, `${at[1]!.replace(/^file:\/\//, '')}:${at[2]}:${at[3]}`];
      }),
    );
    for (const [id, at] of throwSites(SOURCE))
      expect(frames.get(id), `${bundler}: ${id}`).toBe(`${FILE}:${at}`);
  });
});
