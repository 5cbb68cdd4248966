/**
 * Strip mode, case by case, through each plugin (a real esbuild build, the TypeScript compiler,
 * Babel): what is removed, what is kept and in which order, and that the stripped code runs like
 * the original with tracing off.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { compileWith } from '../babel/compile.js';
import { bundle, load, project } from '../esbuild/helpers.js';
import { transpile } from '../transformer/helpers.js';

const CASES = `
import { enter, record, scope, step, stepEntity, track } from 'stepmark';

const orders = scope('order');
const log = [];
function f(x) {
  log.push('f' + x);
  return x;
}

export function main() {
  step('a', { v: f(1) });
  step('pure', { w: 'literal', n: [1, !0], t: typeof log });
  const r = step(f(2));
  if (log.length) step('b')
  ;(function () { log.push('iife') })()
  const h = enter({ n: f(3) });
  h.fail(new Error('x'));
  h();
  h.exit();
  stepEntity(...[f(4), 'act']);
  orders.step('id', 'x', f(5));
  const done = orders.enter('id');
  record('stage', 'action', f(6));
  track(f(7), { kind: 'k' });
  step('outer', f(record('nested', 'call') ?? 8));
  done();
  return [r, typeof h, typeof done, log.join(' ')];
}
`;

const KEEPS = `
import { record as rec, scope, step } from 'stepmark';

const s = scope('order');
function record(x) {
  return 'local ' + x;
}
export function main() {
  step('gone');
  s.track('o1');
  return record(rec === undefined);
}
`;

const NESTED = `
import { scope } from 'stepmark';

const log = [];
function shadowed(scope) {
  const s = scope('x');
  s.step('y');
}
export function main() {
  const a = scope('a');
  a.step('1', 'x', log.push('a'));
  {
    const kept = scope('k');
    kept.track('k1');
  }
  if (log.length > 5) var lone = scope('l');
  log.push('after');
  // Only a const surely holds the scope object: a let may be given another object.
  let v = scope('v');
  v.step('2', 'y');
  v = { step: (id, action) => log.push('v' + id + action) };
  v.step('3', 'z');
  shadowed((k) => ({ step: (v) => log.push(k + v) }));
  return log.join(' ');
}
`;

/** Each plugin's stripped ESM output of one source file (written next to the package, so `stepmark` resolves). */
const STRIP: Record<string, (dir: string, file: string) => Promise<string>> = {
  esbuild: async (dir, file) => (await bundle(dir, file, { strip: true })).outfile,
  typescript: async (dir, file) => {
    const out = transpile(readFileSync(join(dir, file), 'utf8'), {
      fileName: join(dir, file),
      options: { strip: true, root: dir },
    });
    mkdirSync(join(dir, 'out'), { recursive: true });
    const outfile = join(dir, 'out', `${file}.ts.mjs`);
    writeFileSync(outfile, out.code);
    return outfile;
  },
  babel: async (dir, file) => {
    const out = await compileWith(
      { major: 8, moduleFormat: 'esm', typescript: false, sourceMaps: false },
      readFileSync(join(dir, file), 'utf8'),
      join(dir, file),
      { strip: true, root: dir },
    );
    mkdirSync(join(dir, 'out'), { recursive: true });
    const outfile = join(dir, 'out', `${file}.babel.mjs`);
    writeFileSync(outfile, out.code);
    return outfile;
  },
};

for (const [plugin, strip] of Object.entries(STRIP)) {
  describe(`strip mode cases: ${plugin}`, () => {
    it('removes every call, keeps effectful arguments in order, replaces used values, drops the import', async () => {
      const dir = project({ 'cases.js': CASES });
      const plain = await bundle(dir, 'cases.js', false);
      const stripped = await strip(dir, 'cases.js');
      const expected = [undefined, 'function', 'function', 'f1 f2 iife f3 f4 f5 f6 f7 f8'];
      expect(((await load(plain.outfile)) as { main(): unknown }).main()).toEqual(expected);
      expect(((await load(stripped)) as { main(): unknown }).main()).toEqual(expected);
      const code = readFileSync(stripped, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
      expect(code).not.toMatch(/stepmark|__stepmark/);
      expect(code).not.toContain('literal'); // pure arguments are gone with their call
      expect(code).not.toContain('scope(');
    });

    it('keeps the import when a binding is still used, and leaves a local function of the same name alone', async () => {
      const dir = project({ 'keeps.js': KEEPS });
      const stripped = await strip(dir, 'keeps.js');
      const code = readFileSync(stripped, 'utf8');
      expect(code).toMatch(/from ["']stepmark["']/);
      expect(code).not.toContain('gone');
      expect(code).toMatch(/s\.track\(["']o1["']\)/);
      expect(((await load(stripped)) as { main(): unknown }).main()).toBe('local false');
    });

    it('removes a scope declared in a function with its calls, keeps one still used, one that would leave a hole, a let and a shadowed one', async () => {
      const dir = project({ 'nested.js': NESTED });
      const stripped = await strip(dir, 'nested.js');
      const code = readFileSync(stripped, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
      expect(code).not.toMatch(/scope\(["']a["']\)/);
      expect(code).toMatch(/scope\(["']k["']\)/);
      expect(code).toMatch(/scope\(["']l["']\)/);
      expect(code).toMatch(/s\.step\(["']y["']\)/);
      expect(code).toMatch(/v\.step\(["']3["'], ["']z["']\)/);
      expect(((await load(stripped)) as { main(): unknown }).main()).toBe('a after v3z xy');
    });
  });
}
