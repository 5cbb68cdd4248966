// Source maps stay exact: stack traces from instrumented code, with the map applied (Node's
// --enable-source-maps on a file with an inline map, and @jridgewell/trace-mapping on the map
// Babel returns), point at the original line and column; with `retainLines` every original
// line keeps its number even when nothing applies the map (e.g. a test runner that cannot
// chain maps).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';
import { SCRATCH_ROOT } from '../support/scratch.js';
import { type BabelMajor, babel, babelOptions } from './compile.js';

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

/** 1-based line and column of each `new …Error('E<n>` in the source. */
function throwSites(code: string): Map<string, { line: number; column: number }> {
  const sites = new Map<string, { line: number; column: number }>();
  code.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/new \w*Error\('(E\d)/g))
      sites.set(m[1]!, { line: i + 1, column: m.index! + 1 });
  });
  return sites;
}

const original = throwSites(SOURCE);
const dir = join(SCRATCH_ROOT, 'babel-sourcemaps');
const FILE = join(dir, 'order.ts');

function compile(
  major: BabelMajor,
  moduleFormat: 'esm' | 'cjs',
  extra: { retainLines?: boolean; sourceMaps?: boolean | 'inline' },
) {
  const result = babel(major).transformSync(
    SOURCE,
    babelOptions({ major, moduleFormat, ...extra }, FILE, { root: REPO_ROOT }),
  );
  return { code: result!.code!, map: result!.map as never };
}

function run(file: string, enableSourceMaps: boolean): string[] {
  const script = `import(${JSON.stringify(file)}).then(async (m) => { const ns = m.main ? m : m.default; process.stdout.write(JSON.stringify(await ns.main())); })`;
  const out = execFileSync(
    process.execPath,
    [...(enableSourceMaps ? ['--enable-source-maps'] : []), '-e', script],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  );
  return JSON.parse(out);
}

/** `E1` → `file:line:col` of the first stack frame of that error. */
function framesByError(stacks: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of stacks) {
    const id = /\b(E\d)\b/.exec(s)![1]!;
    const at = /\(?([^\s()]+):(\d+):(\d+)\)?$/.exec(s)!;
    out.set(id, `${at[1]!.replace(/^file:\/\//, '')}:${at[2]}:${at[3]}`);
  }
  return out;
}

describe.each([7, 8] as const)('Babel %i', (major) => {
  describe.each(['esm', 'cjs'] as const)('%s output', (moduleFormat) => {
    const ext = moduleFormat === 'esm' ? 'mjs' : 'cjs';

    it('stack traces with --enable-source-maps point at the original line and column', () => {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `inline-${major}.${ext}`);
      writeFileSync(file, compile(major, moduleFormat, { sourceMaps: 'inline' }).code);
      const frames = framesByError(run(file, true));
      expect(frames.size).toBe(4);
      for (const [id, at] of original) expect(frames.get(id), id).toBe(`${FILE}:${at.line}:${at.column}`);
    });

    it('the returned map sends every throw site back to its original position', () => {
      const { code, map } = compile(major, moduleFormat, { sourceMaps: true });
      const traced = new TraceMap(map);
      const generated = throwSites(code);
      expect(generated.size).toBe(4);
      for (const [id, at] of generated) {
        const back = originalPositionFor(traced, { line: at.line, column: at.column - 1 });
        expect({ line: back.line, column: back.column! + 1 }, id).toEqual(original.get(id));
      }
    });

    it('with retainLines, every original line keeps its number without any map', () => {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `retain-${major}.${ext}`);
      const { code } = compile(major, moduleFormat, { retainLines: true, sourceMaps: false });
      writeFileSync(file, code);
      const frames = framesByError(run(file, false));
      for (const [id, at] of original) expect(frames.get(id)!.split(':').at(-2), id).toBe(String(at.line));
    });
  });
});

describe.each([7, 8] as const)('Babel %i after another compiler', (major) => {
  it('chains the input source map: frames point into the original TypeScript', () => {
    // TypeScript compiles first (inline map), Babel instruments its output and chains that map.
    const js = ts.transpileModule(SOURCE, {
      fileName: FILE,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        inlineSourceMap: true,
        inlineSources: true,
      },
    }).outputText;
    const result = babel(major).transformSync(
      js,
      babelOptions({ major, moduleFormat: 'esm', typescript: false, sourceMaps: 'inline' }, FILE, {
        root: REPO_ROOT,
      }),
    );
    expect(result!.code).toContain('__stepmark.enter("Order.load"');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `chained-${major}.mjs`);
    writeFileSync(file, result!.code!);
    const frames = framesByError(run(file, true));
    for (const [id, at] of original) expect(frames.get(id), id).toBe(`${FILE}:${at.line}:${at.column}`);
  });
});
