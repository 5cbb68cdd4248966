// TypeScript transformer: build-time cost.
//   - a real `tspc -p` build (one process each: parse, type check, emit with declarations and
//     source maps) of a generated 100-file Node project (`types: ["node"]`), every file marked
//     `// @stepmark` and every function in it instrumented, with the plugin in tsconfig.json vs
//     without it, TypeScript 6 + ts-patch 4: CPU time ratio (medians of interleaved rounds)
//                                                                                target <= 1.10x
//     The wall-clock ratio is recorded too: on a shared machine it swings by ±30% between rounds
//     with other people's load, a process's own CPU time much less.
//   - the same project type-checked against the ES library alone (no @types/node): checking is
//     cheapest there, so the transformer's share is largest (reported, the worst case)
//   - the Node project with TypeScript 5.9 + ts-patch 3 (reported)
//   - emit alone (the program already checked) with vs without the transformer (reported: the
//     transformer's share made visible, including TypeScript printing the larger output; a real
//     build always also parses and checks)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import stepmarkTransformer from 'stepmark/transformer';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const root = join(here, '..');
const tmp = join(here, 'tmp/transformer');
const cpuReporter = join(here, 'tmp/transformer-cpu.cjs');
const FILES = 100;

/** One module of an order service (~70 lines), importing the previous one. */
function moduleSource(i) {
  const prev = i > 0 ? `import { Service${i - 1}, total${i - 1} } from './m${i - 1}.js';` : '';
  const uses = i > 0 ? `total${i - 1}([line]) + new Service${i - 1}('x').size()` : '0';
  return `// @stepmark
import { step, scope } from 'stepmark';
${prev}

export interface Line${i} { sku: string; quantity: number; price: number; tags?: readonly string[] }
export type Result${i} = { ok: true; total: number } | { ok: false; reason: string };
const orders${i} = scope('order');

export function total${i}(lines: readonly Line${i}[]): number {
  let sum = 0;
  for (const line of lines) sum += line.quantity * line.price;
  step('totalled', { sum });
  return sum;
}

export const round${i} = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export class Service${i} {
  private readonly cache = new Map<string, number>();
  constructor(private readonly region: string) {}

  size(): number {
    return this.cache.size + this.region.length;
  }

  async price(line: Line${i}): Promise<Result${i}> {
    if (line.quantity <= 0) return { ok: false, reason: 'empty' };
    await Promise.resolve();
    orders${i}.step(line.sku, 'priced');
    const value = round${i}(line.quantity * line.price + ${uses});
    this.cache.set(line.sku, value);
    return { ok: true, total: value };
  }

  *batches(lines: Line${i}[], size = 10): Generator<Line${i}[]> {
    for (let k = 0; k < lines.length; k += size) yield lines.slice(k, k + size);
  }
}

export class Cached${i} extends Service${i} {
  hits = 0;
  constructor(region: string, public readonly limit: number) {
    super(region.toUpperCase());
  }
  override async price(line: Line${i}): Promise<Result${i}> {
    this.hits++;
    try {
      return await super.price(line);
    } catch (error) {
      return { ok: false, reason: String(error) };
    }
  }
}

export const handlers${i} = {
  create(line: Line${i}) { return total${i}([line]); },
  remove: (sku: string) => sku.length > ${i % 5},
};
`;
}

function writeProject() {
  mkdirSync(join(tmp, 'src'), { recursive: true });
  const files = [];
  for (let i = 0; i < FILES; i++) {
    const file = join(tmp, 'src', `m${i}.ts`);
    writeFileSync(file, moduleSource(i));
    files.push(file);
  }
  const env = join(tmp, 'src', 'stepmark-env.d.ts');
  writeFileSync(
    env,
    `declare module 'stepmark' {
  export function step(action: string, meta?: Record<string, unknown>): void;
  export function scope(kind: string): { step(id: string, action: string, meta?: Record<string, unknown>): void };
}\n`,
  );
  return [...files, env];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The project as a user has it: tsconfig.json (plain) and tsconfig.stepmark.json (with the
 * plugin), `typescript` and `stepmark` resolvable from its node_modules.
 */
function writeConfigs(typescriptPackage, types) {
  const modules = join(tmp, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  mkdirSync(modules, { recursive: true });
  symlinkSync(join(root, 'node_modules', typescriptPackage), join(modules, 'typescript'), 'dir');
  symlinkSync(root, join(modules, 'stepmark'), 'dir');
  writeFileSync(join(tmp, 'package.json'), '{"name":"bench-project","private":true,"type":"commonjs"}\n');
  const compilerOptions = {
    target: 'ES2022',
    module: 'CommonJS',
    strict: true,
    skipLibCheck: true,
    lib: ['ES2022'],
    types,
    typeRoots: [join(root, 'node_modules', '@types')],
    sourceMap: true,
    declaration: true,
    rootDir: 'src',
    outDir: 'out',
  };
  writeFileSync(join(tmp, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
  writeFileSync(
    join(tmp, 'tsconfig.stepmark.json'),
    JSON.stringify({
      compilerOptions: { ...compilerOptions, plugins: [{ transform: 'stepmark/transformer' }] },
      include: ['src'],
    }),
  );
}

/** One `tspc -p` build in a fresh process; returns its CPU time (user + system, ms). */
function tspc(tool, project) {
  const out = spawnSync(process.execPath, ['--require', cpuReporter, tool.bin, '-p', project], {
    cwd: tmp,
    env: { ...process.env, ...tool.env },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`tspc -p ${project} failed:\n${out.stdout}${out.stderr}`);
  const m = /STEPMARK_BENCH_CPU (\d+)/.exec(out.stderr);
  if (!m) throw new Error(`no CPU figure from tspc: ${out.stderr}`);
  return Number(m[1]) / 1000;
}

export default async function (h) {
  writeProject();
  writeFileSync(
    cpuReporter,
    "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(2, 'STEPMARK_BENCH_CPU ' + (u.user + u.system) + '\\n'); });\n",
  );
  const rounds = h.quick ? 3 : 7;
  const tools = {
    6: {
      bin: join(root, 'node_modules/ts-patch/bin/tspc.js'),
      env: { TSP_CACHE_DIR: join(tmp, 'tsp-cache-4') },
    },
    5: {
      bin: join(root, 'node_modules/ts-patch-3/bin/tspc.js'),
      env: {
        TSP_CACHE_DIR: join(tmp, 'tsp-cache-3'),
        TSP_COMPILER_TS_PATH: join(root, 'node_modules/typescript-5'),
      },
    },
  };
  for (const [label, pkg, tool, types, target, wall] of [
    ['TypeScript 6 + ts-patch 4, Node project', 'typescript', tools[6], ['node'], '<= 1.10', true],
    ['TypeScript 6 + ts-patch 4, ES library only', 'typescript', tools[6], [], undefined, false],
    ['TypeScript 5.9 + ts-patch 3, Node project', 'typescript-5', tools[5], ['node'], undefined, false],
  ]) {
    writeConfigs(pkg, types);
    const plain = () => tspc(tool, 'tsconfig.json');
    const traced = () => tspc(tool, 'tsconfig.stepmark.json');
    plain(); // warm up: ts-patch caches the patched compiler, the OS caches files
    traced();
    const plainCpu = [];
    const tracedCpu = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const t of order) (t ? tracedCpu : plainCpu).push(t ? traced() : plain());
    }
    const [t, p] = [median(tracedCpu), median(plainCpu)];
    h.report(
      `${label}: tspc build of ${FILES} marked files, CPU time with / without the plugin`,
      t / p,
      'x',
      {
        target,
        note: `one process per build; medians ${t.toFixed(0)} ms vs ${p.toFixed(0)} ms CPU`,
      },
    );
    if (!wall) continue;
    await h.compare(
      `${label}: tspc build of ${FILES} marked files, wall clock, with vs without`,
      { baseline: plain, subject: traced },
      { rounds, iterations: 1, note: 'the same builds timed by the clock: noisy on a shared machine' },
    );
    // Emit alone, in this process: the transformer's share of emit, made visible.
    const ts = require(pkg);
    const parsed = ts.getParsedCommandLineOfConfigFile(
      join(tmp, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} },
    );
    const program = ts.createProgram(parsed.fileNames, parsed.options);
    ts.getPreEmitDiagnostics(program);
    const transformer = stepmarkTransformer(program, { root: tmp }, { ts });
    const sink = () => {};
    await h.compare(
      `${label}: emit alone (program checked), with vs without the transformer`,
      {
        baseline: () => program.emit(undefined, sink),
        subject: () => program.emit(undefined, sink, undefined, false, { before: [transformer] }),
      },
      { rounds, iterations: 1, note: 'includes TypeScript printing the larger output; reported, no target' },
    );
  }
}
