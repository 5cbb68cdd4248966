/**
 * End to end, as users run it: a multi-file project with `{ "transform": "stepmark/transformer" }`
 * in tsconfig.json, built by ts-patch's `tspc` (v4 with TypeScript 6, v3 with TypeScript 5.9)
 * across module kinds and targets, then run. Checks: same results and span tree as the other
 * builds, declaration files and declaration maps byte-identical to a build without the plugin,
 * source maps that send a thrown error's stack frame back to the original line and column, and
 * directive errors reported as compiler diagnostics with file, line and column. Each toolchain
 * builds all its projects in one `tspc -b` (TypeScript starts once, not once per project).
 *
 * Needs `npm run build:fast` (ts-patch loads the plugin from dist, by package name).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { capture } from 'stepmark';
import { normalizeTrace, renderSpanTree } from 'stepmark/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT, ROOT } from './helpers.js';

const MODULES = join(ROOT, 'node_modules');
const PROJECT = join(import.meta.dirname, 'projects', 'shop');
const ORDERS = join(import.meta.dirname, 'fixtures', 'orders.ts');

interface Toolchain {
  label: string;
  typescript: string; // package folder under node_modules
  tspc: string;
  env: Record<string, string>;
}

/** ts-patch's cache of the patched compiler: kept between runs, like any tool's cache. */
const TSP_CACHE = join(MODULES, '.cache', 'stepmark-tests');

const toolchains: Toolchain[] = [
  {
    label: 'ts-patch 4 + TypeScript 6',
    typescript: 'typescript',
    tspc: join(MODULES, 'ts-patch', 'bin', 'tspc.js'),
    env: { TSP_CACHE_DIR: join(TSP_CACHE, 'tsp-4') },
  },
  {
    label: 'ts-patch 3 + TypeScript 5.9',
    typescript: 'typescript-5',
    tspc: join(MODULES, 'ts-patch-3', 'bin', 'tspc.js'),
    // ts-patch 3 resolves `typescript` from its own folder (TypeScript 6 here): point it at 5.9.
    env: { TSP_COMPILER_TS_PATH: join(MODULES, 'typescript-5'), TSP_CACHE_DIR: join(TSP_CACHE, 'tsp-3') },
  },
];

/** module kind × target; each with the package type and resolution a real project would use. */
const builds = [
  { module: 'CommonJS', target: 'ES2017', type: 'commonjs', resolution: undefined },
  { module: 'ESNext', target: 'ES2022', type: 'module', resolution: 'bundler' },
  { module: 'NodeNext', target: 'ESNext', type: 'module', resolution: undefined },
  { module: 'NodeNext', target: 'ES2015', type: 'commonjs', resolution: undefined },
] as const;

const EXPECTED_RESULT = [1, 2, 42, 'o0,o1', 'order long too big', 3, 1, 36];

/** Each case runs one or two real compiler processes on a shared 2-core machine. */
const SLOW = { timeout: 180_000 };

let counter = 0;

/** A fresh copy of the project whose node_modules resolve `typescript` and `stepmark` as a user's would. */
function makeProject(tool: Toolchain, type: string, extraFiles: Record<string, string> = {}): string {
  const dir = join(OUTPUT, 'projects', `shop-${process.pid}-${counter++}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(PROJECT, dir, { recursive: true });
  cpSync(ORDERS, join(dir, 'src', 'orders.ts'));
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(MODULES, tool.typescript), join(dir, 'node_modules', 'typescript'), 'dir');
  symlinkSync(ROOT, join(dir, 'node_modules', 'stepmark'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true, type }));
  return dir;
}

function tsconfig(
  dir: string,
  name: string,
  compilerOptions: Record<string, unknown>,
  plugin: boolean,
): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      compilerOptions: {
        rootDir: 'src',
        strict: true,
        skipLibCheck: true,
        lib: ['ES2022', 'DOM'],
        types: [],
        sourceMap: true,
        declaration: true,
        declarationMap: true,
        ...compilerOptions,
        ...(plugin ? { plugins: [{ transform: 'stepmark/transformer' }] } : {}),
      },
      include: ['src'],
    }),
  );
  return file;
}

/**
 * One tspc process building several projects (`tspc -b`, TypeScript's build mode, as a monorepo
 * builds): the compiler starts once for all of them. The projects do not reference each other, so
 * each is built whatever the others report.
 */
function tspcBuild(tool: Toolchain, projects: string[]) {
  return spawnSync(process.execPath, [tool.tspc, '-b', ...projects], {
    cwd: OUTPUT,
    env: { ...process.env, ...tool.env },
    encoding: 'utf8',
  });
}

function filesIn(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort();
}

beforeAll(() => {
  // Fail with a clear message instead of an obscure one when dist is missing.
  execFileSync(process.execPath, ['-e', "require.resolve('stepmark/transformer')"], { cwd: ROOT });
});

for (const tool of toolchains) {
  describe(`${tool.label}: tspc across module kinds and targets`, () => {
    // every build's project, with the plugin (tsconfig.json) and without it (tsconfig.plain.json)
    const dirs = new Map<(typeof builds)[number], string>();
    let run: ReturnType<typeof tspcBuild>;
    beforeAll(() => {
      const projects: string[] = [];
      for (const build of builds) {
        const dir = makeProject(tool, build.type);
        const options = {
          module: build.module,
          target: build.target,
          ...(build.resolution ? { moduleResolution: build.resolution } : {}),
        };
        projects.push(tsconfig(dir, 'tsconfig.plain.json', { ...options, outDir: 'plain' }, false));
        projects.push(tsconfig(dir, 'tsconfig.json', { ...options, outDir: 'dist' }, true));
        dirs.set(build, dir);
      }
      run = tspcBuild(tool, projects);
    }, SLOW.timeout);

    for (const build of builds) {
      it(`module ${build.module}, target ${build.target}: builds, runs, and keeps declarations and source maps exact`, async () => {
        expect(run.stdout + run.stderr, 'tspc -b output').toBe('');
        expect(run.status).toBe(0);
        const dir = dirs.get(build)!;
        const out = join(dir, 'dist');
        // The plugin really ran (and only on code): frames in JS, declarations untouched.
        // Locations are relative to `root`, by default the directory tspc runs in (OUTPUT).
        const src = relative(OUTPUT, join(dir, 'src')).split(sep).join('/');
        expect(readFileSync(join(out, 'orders.js'), 'utf8')).toContain(
          `__stepmark.enter("Repo.load", "${src}/orders.ts:13:9", 1)`,
        );
        expect(filesIn(out, '.d.ts')).toEqual(filesIn(join(dir, 'plain'), '.d.ts'));
        for (const file of [...filesIn(out, '.d.ts'), ...filesIn(out, '.d.ts.map')]) {
          expect(readFileSync(join(out, file), 'utf8'), file).toBe(
            readFileSync(join(dir, 'plain', file), 'utf8'),
          );
        }

        const entry = pathToFileURL(join(out, 'index.js')).href;
        const app = await import(entry);
        expect(await app.start()).toEqual(EXPECTED_RESULT);
        const { result, trace } = await capture(() => app.start());
        expect(result).toEqual(EXPECTED_RESULT);
        const tree = renderSpanTree(normalizeTrace(trace));
        expect(tree.split('\n').slice(0, 3)).toEqual(['start', '  main', '    Repo.constructor']);
        expect(tree).toContain('\n  Pricing.total\n');
        expect(tree).not.toContain('Pricing.constructor');
        expect(trace.events.some((e) => e.stage === 'Pricing.total' && e.action === 'priced')).toBe(true);

        // A thrown error's stack frame, mapped through the emitted source map, is the original
        // `new Error`. Run in plain node: the test runner would apply the source map itself.
        const probe = `import(${JSON.stringify(entry)}).then((m) => m.explode('x')).catch((e) => console.log(e.stack))`;
        const stack = execFileSync(process.execPath, ['-e', probe], { cwd: dir, encoding: 'utf8' });
        const frame = /index\.js:(\d+):(\d+)/.exec(stack);
        expect(frame, stack).not.toBeNull();
        const map = new TraceMap(readFileSync(join(out, 'index.js.map'), 'utf8'));
        const original = originalPositionFor(map, { line: Number(frame![1]), column: Number(frame![2]) - 1 });
        const source = readFileSync(join(dir, 'src', 'index.ts'), 'utf8').split('\n');
        const line = source.findIndex((l) => l.includes('throw new Error(`boom')) + 1;
        expect({ line: original.line, column: original.column }).toEqual({
          line,
          column: source[line - 1]!.indexOf('new Error'),
        });
      });
    }
  });

  describe(`${tool.label}: live compiler (ts-patch/compiler, for tools that take a compiler module)`, () => {
    it('reads the plugin from tsconfig.json and instruments on program.emit()', SLOW, () => {
      const dir = makeProject(tool, 'commonjs');
      tsconfig(dir, 'tsconfig.json', { module: 'CommonJS', target: 'ES2022', outDir: 'dist' }, true);
      const compiler = join(tool.tspc, '..', '..', 'compiler');
      const script = `
        const ts = require(${JSON.stringify(compiler)});
        const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} };
        const config = ts.getParsedCommandLineOfConfigFile('tsconfig.json', {}, host);
        const program = ts.createProgram(config.fileNames, config.options);
        const result = program.emit();
        console.log(JSON.stringify({ version: ts.version, diagnostics: result.diagnostics.length }));`;
      const out = execFileSync(process.execPath, ['-e', script], {
        cwd: dir,
        env: { ...process.env, ...tool.env },
        encoding: 'utf8',
      });
      const { version, diagnostics } = JSON.parse(out.trim().split('\n').pop()!);
      expect(version.split('.')[0]).toBe(tool.typescript === 'typescript' ? '6' : '5');
      expect(diagnostics).toBe(0);
      expect(readFileSync(join(dir, 'dist', 'pricing.js'), 'utf8')).toContain(
        'const __smf = __stepmark.enter("Pricing.total", "src/pricing.ts:8:3");',
      );
    });
  });

  describe(`${tool.label}: errors`, () => {
    // both broken projects in one tspc -b: each reports its own error
    let run: ReturnType<typeof tspcBuild>;
    beforeAll(() => {
      const directive = makeProject(tool, 'commonjs');
      writeFileSync(
        join(directive, 'src', 'bad.ts'),
        'export function ok() {}\n\n/** @stepmark entity=order.id colour=red */\nexport function f(order: { id: string }) {\n  return order;\n}\n',
      );
      const option = makeProject(tool, 'commonjs');
      writeFileSync(
        join(option, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'CommonJS',
            outDir: 'dist',
            rootDir: 'src',
            types: [],
            plugins: [{ transform: 'stepmark/transformer', callback: true }],
          },
          include: ['src'],
        }),
      );
      run = tspcBuild(tool, [
        tsconfig(directive, 'tsconfig.json', { module: 'CommonJS', outDir: 'dist' }, true),
        join(option, 'tsconfig.json'),
      ]);
    }, SLOW.timeout);
    it('reports a bad directive as a diagnostic with file, line and column', () => {
      expect(run.status).not.toBe(0);
      expect(run.stdout).toContain('src/bad.ts(3,31): error TS99001: Unknown @stepmark option "colour"');
    });
    it('reports an unknown plugin option and says where to fix it', () => {
      expect(run.status).not.toBe(0);
      expect(run.stdout).toMatch(
        /error TS99001: stepmark\/transformer: Invalid option "callback" \(did you mean "callbacks"\?\).*fix it in .*tsconfig\.json \(compilerOptions\.plugins\)/,
      );
    });
  });
}
