// A stack overflow in instrumented code surfaces as the program's own RangeError, whoever inlines
// the runtime. Vitest inlines a linked package (its real path is outside node_modules) and runs
// it through Vite's SSR transform, which turns every export into a getter wrapped in
// `try {} catch {}`: a getter that calls another getter (a re-export) swallowed the RangeError
// and gave the call site `undefined` (TypeError: Cannot read properties of undefined (reading
// 'enter')). esbuild bundles the runtime into the program instead. Probes start the recursion
// at 48 stack offsets 8 bytes apart, so the stack runs out at every point of the frame code,
// with tracing off and on.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import stepmarkEsbuild from 'stepmark/esbuild-plugin';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../corpus/harness.js';

const FILES: Record<string, string> = {
  'src/recurse.ts': `// @stepmark
export function recurse(n: number): number {
  return recurse(n + 1) + 1;
}

export class Parser {
  expr(depth: number): number {
    return this.term(depth) * 2;
  }
  term(depth: number): number {
    return this.expr(depth + 1) + 1;
  }
}
`,
  // not instrumented: the probes themselves
  'src/probes.ts': `import { run } from 'stepmark';
import { Parser, recurse } from './recurse';

function pad(f: () => unknown, ..._extra: unknown[]): unknown[] {
  return [f()];
}

function probe(target: () => unknown): string[] {
  const out: string[] = [];
  for (let extra = 0; extra < 48; extra++) {
    try {
      Reflect.apply(pad, undefined, [target, ...new Array(extra)]);
      out.push('returned');
    } catch (e) {
      out.push(e instanceof RangeError ? 'RangeError' : String(e));
    }
  }
  return out;
}

/** What each probe threw that is not a RangeError, tracing off and on. */
export function notRangeErrors(): Record<string, string[]> {
  const all = () => [...probe(() => recurse(0)), ...probe(() => new Parser().expr(0))];
  const off = all();
  const on = run(all);
  const bad = (list: string[]) => list.filter((x) => x !== 'RangeError');
  return { off: bad(off), on: bad(on), counts: [String(off.length), String(on.length)] };
}
`,
  'probe.test.ts': `import { expect, test } from 'vitest';
import { notRangeErrors } from './src/probes';

test('every probe overflows with a RangeError', () => {
  expect(notRangeErrors()).toEqual({ off: [], on: [], counts: ['96', '96'] });
});
`,
  'vitest.config.ts': `import stepmark from 'stepmark/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({ root: import.meta.dirname, plugins: [stepmark()], test: { include: ['probe.test.ts'] } });
`,
  'main.ts': `import { notRangeErrors } from './src/probes';
console.log(JSON.stringify(notRangeErrors()));
`,
};

mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
const dir = mkdtempSync(join(REPO_ROOT, 'test-output', 'overflow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const [name, text] of Object.entries(FILES)) {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), text);
}
// linked, as `npm link` or a workspace does: Vitest inlines what resolves outside node_modules
mkdirSync(join(dir, 'node_modules'));
symlinkSync(REPO_ROOT, join(dir, 'node_modules/stepmark'), 'dir');

describe('stack overflow in instrumented code is a RangeError', () => {
  it('under Vitest, with the linked runtime inlined by Vite', () => {
    const report = join(dir, 'vitest.json');
    const r = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        join(dir, 'vitest.config.ts'),
        '--reporter=json',
        `--outputFile=${report}`,
      ],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } },
    );
    const result = JSON.parse(readFileSync(report, 'utf8'));
    const failures = result.testResults.flatMap((f: any) =>
      f.assertionResults.flatMap((a: any) => a.failureMessages),
    );
    expect(failures, r.stderr).toEqual([]);
    expect(result.numPassedTests).toBe(1);
  }, 120_000);

  it('with the runtime bundled in by esbuild', async () => {
    const outfile = join(dir, 'out/main.mjs');
    await esbuild.build({
      absWorkingDir: dir,
      entryPoints: [join(dir, 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      logLevel: 'silent',
      plugins: [stepmarkEsbuild()],
    });
    expect(readFileSync(outfile, 'utf8')).toContain('enter("recurse"');
    const out = execFileSync(process.execPath, [outfile], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ off: [], on: [], counts: ['96', '96'] });
  });
});
