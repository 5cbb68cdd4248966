/**
 * The esbuild plugin under the oldest esbuild its peer range claims (0.20, installed beside the
 * current one as `esbuild-0.20`) behaves as under the current esbuild: the same run of the built
 * program (trace, source-mapped stack), the same stage catalog, and rebuilds of a context.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuildCurrent from 'esbuild';
import * as esbuild020 from 'esbuild-0.20';
import stepmark from 'stepmark/esbuild-plugin';
import { describe, expect, it } from 'vitest';
import { ORDER, project, runNode } from './helpers.js';

// Not marked: only its explicit step is rewritten (named after its function).
const MAIN = `import { capture, step } from 'stepmark';
import { OrderService } from './order';

function checkout() {
  step('checked out');
  return new OrderService().place({ id: 'o1', total: 3 });
}

const { trace } = await capture(checkout);
let stack = '';
await new OrderService().place({ id: 'o2', total: 0 }).catch((e) => (stack = e.stack));
console.log(JSON.stringify({
  spans: trace.spans.map((s) => [s.name, s.status, s.location]),
  events: trace.events.filter((e) => e.action !== 'entered' && e.action !== 'exited').map((e) => [e.stage, e.action, e.meta]),
  stack: stack.split('\\n').slice(0, 3),
}));
`;

type Esbuild = Pick<typeof esbuildCurrent, 'build' | 'context' | 'version'>;
const VERSIONS = [esbuildCurrent, esbuild020] as unknown as Esbuild[];

function options(dir: string, esbuild: Esbuild, outfile: string) {
  return {
    absWorkingDir: dir,
    entryPoints: [join(dir, 'src/main.ts')],
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    outfile,
    sourcemap: true,
    external: ['stepmark', 'stepmark/*'],
    logLevel: 'silent' as const,
    plugins: [stepmark({ catalog: join(dir, `catalog-${esbuild.version}.json`) }) as never],
  };
}

describe('the esbuild plugin in every esbuild the peer range claims', () => {
  it('runs the same program, with the same catalog, under esbuild 0.20 as under the current one', async () => {
    const dir = project({ 'src/order.ts': ORDER, 'src/main.ts': MAIN });
    const runs: { version: string; stdout: string; catalog: unknown }[] = [];
    for (const esbuild of VERSIONS) {
      const outfile = join(dir, `out-${esbuild.version}/main.mjs`);
      await esbuild.build(options(dir, esbuild, outfile));
      const { stdout, stderr } = await runNode(outfile);
      expect(stderr).toBe('');
      const catalog = JSON.parse(readFileSync(join(dir, `catalog-${esbuild.version}.json`), 'utf8'));
      runs.push({ version: esbuild.version, stdout, catalog });
    }
    expect(runs.map((r) => r.version)).toEqual([esbuildCurrent.version, expect.stringMatching(/^0\.20\./)]);
    const first = JSON.parse(runs[0]!.stdout);
    expect(first.spans).toEqual([
      ['OrderService.place', 'ok', 'src/order.ts:5:9'],
      ['OrderService.validate', 'ok', 'src/order.ts:11:3'],
    ]);
    expect(first.events.map((e: unknown[]) => `${e[0]} ${e[1]}`)).toEqual([
      'checkout checked out',
      'OrderService.place placed',
    ]);
    expect(first.stack[1]).toMatch(/at OrderService\.validate \(.*src[\\/]order\.ts:12:33\)/);
    expect(runs[0]!.catalog).toMatchObject({ sites: expect.arrayContaining([expect.anything()]) });
    for (const run of runs.slice(1)) {
      expect(run.stdout, `esbuild ${run.version}`).toBe(runs[0]!.stdout);
      expect(run.catalog, `esbuild ${run.version}`).toEqual(runs[0]!.catalog);
    }
  });

  it('re-instruments an edited file when a context rebuilds, under esbuild 0.20', async () => {
    const dir = project({ 'src/order.ts': ORDER, 'src/main.ts': MAIN });
    const outfile = join(dir, 'out/main.mjs');
    const context = await esbuild020.context(options(dir, esbuild020 as unknown as Esbuild, outfile));
    try {
      await context.rebuild();
      expect(readFileSync(outfile, 'utf8')).toContain('__stepmark.enter("OrderService.place"');
      writeFileSync(join(dir, 'src/order.ts'), ORDER.replace("'placed'", "'accepted'"));
      await context.rebuild();
      const { stdout } = await runNode(outfile);
      expect(JSON.parse(stdout).events.map((e: unknown[]) => e[1])).toEqual(['checked out', 'accepted']);
    } finally {
      await context.dispose();
    }
  });
});
