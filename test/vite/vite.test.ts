/**
 * `stepmark/vite` in real Vite: a library build and the dev server's transform pipeline (what
 * Vitest uses), in every major version the peer range claims: Vite 8 (rolldown and oxc) and
 * Vite 7, 6 and 5 (Rollup and esbuild), installed side by side. The Vitest user story itself runs
 * in test/esbuild/example.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import stepmark from 'stepmark/vite';
import * as vite8 from 'vite';
import * as vite5 from 'vite-5';
import * as vite6 from 'vite-6';
import * as vite7 from 'vite-7';
import { describe, expect, it } from 'vitest';
import { project } from '../esbuild/helpers.js';

type Vite = Pick<typeof vite8, 'build' | 'createServer' | 'version'>;
const VITES = [vite8, vite7, vite6, vite5] as unknown as Vite[];

const SERVICE = `// @stepmark
import { step } from 'stepmark';
export class Cart {
  total(prices: number[]): number {
    const sum = prices.reduce((a, b) => a + b, 0);
    step('summed', { sum });
    return sum;
  }
}
`;

describe.each(VITES.map((vite) => [vite.version, vite] as const))('stepmark/vite in Vite %s', (_, vite) => {
  const { build, createServer } = vite;
  /** A dev server in middleware mode (as Vitest and frameworks run it) with `plugin`. */
  const devServer = (root: string, plugin: unknown) =>
    createServer({
      root,
      configFile: false,
      logLevel: 'silent',
      plugins: [plugin as never],
      server: { middlewareMode: true, ws: false },
      optimizeDeps: { noDiscovery: true },
    });

  it('instruments marked modules in a Vite build and rewrites explicit calls', async () => {
    const dir = project({ 'src/cart.ts': SERVICE });
    const out = await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [stepmark() as never],
      build: {
        write: false,
        minify: false,
        lib: { entry: join(dir, 'src/cart.ts'), formats: ['es'], fileName: 'cart' },
        rollupOptions: { external: [/^stepmark/] },
      },
    });
    const output = (Array.isArray(out) ? out[0] : out) as { output: { type: string; code?: string }[] };
    const code = output.output.find((o) => o.type === 'chunk')!.code!;
    // The bundler may rename the runtime binding (`v2`): match the calls, not the local name.
    expect(code).toMatch(/\b(?:__stepmark|v2)\.enter\("Cart\.total", "src\/cart\.ts:4:3"\)/);
    expect(code).toMatch(/\b(?:__stepmark|v2)\.step\("Cart\.total", "summed"/);
  });

  it('transforms modules for the dev server and Vitest with a source map to the original', async () => {
    const dir = project({ 'src/cart.ts': SERVICE, 'src/plain.ts': 'export const x = 1;\n' });
    const server = await devServer(dir, stepmark());
    try {
      const result = await server.transformRequest('/src/cart.ts');
      expect(result!.code).toContain('__stepmark.enter("Cart.total"');
      // The `step` call on line 6 of the source still maps there through both transforms.
      const generated = result!.code.split('\n');
      const line = generated.findIndex((l) => l.includes('"summed"'));
      const column = generated[line]!.indexOf('__stepmark.step');
      const original = originalPositionFor(new TraceMap(result!.map as never), { line: line + 1, column });
      expect(original).toMatchObject({ line: 6, column: 4 });
      const plain = await server.transformRequest('/src/plain.ts');
      expect(plain!.code).not.toContain('__stepmark');
    } finally {
      await server.close();
    }
  });

  it('instruments a module edited during a dev session anew, and drops its catalog sites with its marker', async () => {
    const dir = project({ 'src/cart.ts': SERVICE });
    const server = await devServer(dir, stepmark({ catalog: 'catalog.json' }));
    const file = join(dir, 'src/cart.ts');
    const edit = (text: string) => {
      writeFileSync(file, text);
      server.moduleGraph.onFileChange(file); // what the watcher does on a change
    };
    const sites = () =>
      JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')).sites.map(
        (s: { name: string; line: number }) => `${s.name}:${s.line}`,
      );
    try {
      await server.transformRequest('/src/cart.ts');
      // Two lines added above the class, the method renamed.
      edit(SERVICE.replace('// @stepmark\n', '// @stepmark\n// one\n// two\n').replace('total(', 'sum('));
      const edited = await server.transformRequest('/src/cart.ts');
      expect(edited!.code).toContain('__stepmark.enter("Cart.sum"');
      expect(edited!.code).not.toContain('"Cart.total"');
      const generated = edited!.code.split('\n');
      const line = generated.findIndex((l) => l.includes('"summed"'));
      const column = generated[line]!.indexOf('__stepmark.step');
      const original = originalPositionFor(new TraceMap(edited!.map as never), { line: line + 1, column });
      expect(original).toMatchObject({ line: 8, column: 4 });
      await server.close(); // the dev server's build ends: the catalog is written
      expect(sites()).toEqual(['Cart.sum:6', 'Cart.sum:8']);
    } finally {
      await server.close();
    }
    const again = await devServer(dir, stepmark({ catalog: 'catalog.json' }));
    try {
      await again.transformRequest('/src/cart.ts');
      writeFileSync(file, 'export class Cart {}\n');
      again.moduleGraph.onFileChange(file);
      expect((await again.transformRequest('/src/cart.ts'))!.code).not.toContain('__stepmark');
    } finally {
      await again.close();
    }
    expect(sites()).toEqual([]);
  });

  it('fails on a bad directive with the file, line and column', async () => {
    const dir = project({ 'src/bad.ts': '// @stepmark-off\nexport function f() {}\n' });
    const server = await devServer(dir, stepmark());
    try {
      const error = await server.transformRequest('/src/bad.ts').then(
        () => undefined,
        (e: { message: string; loc?: object }) => e,
      );
      expect(error?.message).toMatch(/Unknown directive @stepmark-off.*src\/bad\.ts:1:4/);
      expect(error?.loc).toMatchObject({ line: 1, column: 3 });
    } finally {
      await server.close();
    }
  });

  it('fails, in a build and when the dev server starts, when the factory is passed uncalled', async () => {
    const dir = project({ 'src/cart.ts': SERVICE });
    const uncalled =
      /stepmark\/vite: `plugins: \[stepmark\]` passes the plugin's factory; call it: `plugins: \[stepmark\(\)\]`/;
    const built = build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [stepmark as never],
      build: { lib: { entry: 'src/cart.ts', formats: ['es'] }, write: false },
    });
    await expect(built).rejects.toThrow(uncalled);
    const served = devServer(dir, stepmark);
    await expect(served).rejects.toThrow(uncalled);
  });

  it('rejects an unknown option by name', () => {
    expect(() => stepmark({ getter: true } as never)).toThrow(
      /Invalid option "getter" \(did you mean "getters"\?\)/,
    );
  });
});
