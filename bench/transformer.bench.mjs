// TypeScript transformer: build-time cost.
//   - a whole build (createProgram + type check + emit, what `tspc` does) of a generated
//     100-file project, every file marked `// @stepmark`, with the transformer vs without it,
//     same process, TypeScript 6: CPU time ratio (median of interleaved rounds)  target <= 1.10x
//     The wall-clock ratio is recorded too: on a shared machine it swings by ±30% between rounds
//     with other people's load, the CPU time of this process much less.
//   - the same with TypeScript 5.9 (reported)
//   - emit alone (the program already checked) with vs without the transformer (reported: the
//     transformer's share made visible, including TypeScript printing the larger output; a real
//     build always also parses and checks)
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import stepmarkTransformer from 'stepmark/transformer';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const tmp = join(here, 'tmp/transformer');
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

/** CPU time (user + system, µs) this process spends in `fn`. */
function cpu(fn) {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

export default async function (h) {
  const files = writeProject();
  const sink = () => {};
  const rounds = h.quick ? 3 : 7;
  for (const [label, pkg, target] of [
    ['TypeScript 6', 'typescript', '<= 1.10'],
    ['TypeScript 5.9', 'typescript-5', undefined],
  ]) {
    const ts = require(pkg);
    const options = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      strict: true,
      skipLibCheck: true,
      types: [],
      lib: ['lib.es2022.d.ts'],
      sourceMap: true,
      declaration: true,
      rootDir: join(tmp, 'src'),
      outDir: join(tmp, 'out'),
    };
    // Parse, check and emit: what `tspc -p` does for a build. Declarations included.
    const build = (withStepmark) => () => {
      const program = ts.createProgram(files, options);
      const diagnostics = ts.getPreEmitDiagnostics(program);
      if (diagnostics.length)
        throw new Error(ts.formatDiagnostics(diagnostics, ts.createCompilerHost(options)));
      const transformers = withStepmark
        ? { before: [stepmarkTransformer(program, { root: tmp }, { ts })] }
        : undefined;
      const result = program.emit(undefined, sink, undefined, false, transformers);
      if (result.diagnostics.length) throw new Error('emit diagnostics');
      return result;
    };
    const plainBuild = build(false);
    const tracedBuild = build(true);
    plainBuild(); // warm up both paths (JIT, lib.d.ts parsing)
    tracedBuild();
    const plainCpu = [];
    const tracedCpu = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const traced of order)
        (traced ? tracedCpu : plainCpu).push(cpu(traced ? tracedBuild : plainBuild));
    }
    const [t, p] = [median(tracedCpu), median(plainCpu)];
    h.report(
      `${label}: build of ${FILES} marked files, CPU time with / without the transformer`,
      t / p,
      'x',
      {
        target,
        note: `createProgram + type check + emit; medians ${(t / 1000).toFixed(0)} ms vs ${(p / 1000).toFixed(0)} ms CPU`,
      },
    );
    await h.compare(
      `${label}: build of ${FILES} marked files, wall clock, with vs without`,
      { baseline: plainBuild, subject: tracedBuild },
      { rounds, iterations: 1, note: 'the same builds timed by the clock: noisy on a shared machine' },
    );
    const program = ts.createProgram(files, options);
    ts.getPreEmitDiagnostics(program);
    const transformer = stepmarkTransformer(program, { root: tmp }, { ts });
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
