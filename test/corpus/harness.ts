/**
 * The fixture corpus harness, shared by every build plugin. One line runs the whole corpus
 * against a plugin, inside the plugin's own `*.test.ts`:
 *
 *   runCorpus({ label: 'esbuild', moduleFormat: 'esm', compile: (source, filename, options) => … });
 *
 * `compile(source, filename, options)` must return JavaScript in `moduleFormat` (ESM or
 * CommonJS) that imports `stepmark` by name; `options === null` means "compile the same way
 * without stepmark" (the uninstrumented baseline). For every fixture in test/fixtures the
 * harness writes the outputs into the run's scratch folder (corpus/<label>/, test/support/scratch.ts)
 * and runs them, all fixtures of a target in one plain Node process (test/corpus/runner.mjs), each
 * file imported as a fresh module:
 *
 *   plain      uninstrumented
 *   off        instrumented, tracing off
 *   on         instrumented, inside a trace
 *   fallback   uninstrumented, inside a trace (names come from stack parsing)
 *
 * and asserts: same result / thrown value and side-effect log in plain, off and on; no
 * unhandled rejections; the span tree and event journeys of `on` equal the expectation written
 * in the fixture (the same for every plugin, so parity holds by construction); the stages of
 * explicit `step()` calls in `fallback` equal those in `on` unless the fixture says why not.
 * The normalised trace of `on` is written to trace.json next to the outputs, for cross-plugin
 * diffs (STEPMARK_KEEP_TEST_OUTPUT=1 keeps them after the run).
 *
 * Fixture format: an ES module exporting `main(log, exports)`; `log(...values)` records side
 * effects; `exports` is the module's own exports object (whatever the output format).
 * Its expectation is a trailing block comment (see parseExpectation):
 *
 *   /* corpus
 *   options: {"callbacks": true}          (optional: plugin options, JSON on one line)
 *   fallback: differs — why               (optional: stack-derived stages legitimately differ)
 *   fallback-cjs: differs — why           (optional: the same, for CommonJS output only)
 *   locations: true                       (optional: render span locations)
 *   spans:
 *   main
 *     Order.load
 *   events:
 *   (events): Order.load:loaded
 *   *\/
 *
 * Set STEPMARK_CORPUS_UPDATE=1 to rewrite the `spans:`/`events:` of fixtures from the actual
 * result (review the diff!).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { normalizeTrace, renderJourneys, renderSpanTree, type Trace } from 'stepmark/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StepmarkOptions } from '../../instrument/index.js';
import { REPO_ROOT, scratchDir } from '../support/scratch.js';

/** Repository root (locations in traces are relative to it). */
export { REPO_ROOT };
/** Where the fixtures live. */
export const FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures');
const RUNNER = join(REPO_ROOT, 'test/corpus/runner.mjs');

/** What a plugin's compile step returns. */
export interface CompileResult {
  code: string;
  map?: object | string | null;
}

/** One build plugin (or one configuration of it) to run the corpus against. */
export interface CorpusTarget {
  /** Names the output folder and the test suite: `babel8-esm`, `esbuild`, `tsc-cjs`… */
  label: string;
  /**
   * Compiles one fixture. `options` are the stepmark plugin options (the fixture's own, with
   * `root` set to the repository); `null` means compile without stepmark.
   */
  compile(
    source: string,
    filename: string,
    options: StepmarkOptions | null,
  ): Promise<CompileResult> | CompileResult;
  /** Module format `compile` emits. */
  moduleFormat: 'esm' | 'cjs';
  /** Which fixtures to run (default: all). Receives the file name, e.g. `async.ts`. */
  filter?: (fixture: string) => boolean;
  /**
   * Where the fixtures are (default: test/fixtures). test/fixtures/configured holds those that
   * need compiler options each target sets its own way (legacy decorators, JSX).
   */
  fixturesDir?: string;
  /**
   * Why, for this target only, the stack-derived stages of a fixture differ from the plugin's
   * (e.g. the compiler renames an anonymous default export), or undefined. Like a fixture's
   * `fallback:` note, it is checked: the test fails if the stages turn out equal.
   */
  fallbackDiffers?: (fixture: string) => string | undefined;
  /**
   * Load-time instrumentation (`stepmark/register`): `compile` then emits the same code with and
   * without options, and the instrumented runs start their process this way, with the fixture's
   * options, so the code is instrumented as Node loads it.
   */
  instrumentAtLoad?: (options: StepmarkOptions) => RunnerProcess;
}

/** The expectation block of a fixture. */
export interface Expectation {
  options: StepmarkOptions;
  fallback?: string;
  /** Like `fallback`, for CommonJS output only (compilers rename things there, e.g. `_default`). */
  fallbackCjs?: string;
  locations: boolean;
  spans: string;
  events: string;
  /** Offsets of the block in the fixture source (for updating it). */
  start: number;
  end: number;
}

const KEYS = ['options', 'fallback', 'fallback-cjs', 'locations', 'spans', 'events'] as const;

/** Parses the trailing `/* corpus … *\/` block of a fixture. */
export function parseExpectation(source: string, fixture = 'fixture'): Expectation {
  const start = source.lastIndexOf('/* corpus');
  if (start === -1) throw new Error(`${fixture}: no /* corpus … */ expectation block`);
  const end = source.indexOf('*/', start);
  const body = source.slice(start + '/* corpus'.length, end).replace(/^\r?\n/, '');
  const sections: Record<string, string[]> = {};
  let current: string | undefined;
  for (const line of body.split(/\r?\n/)) {
    const m = /^([a-z-]+):\s?(.*)$/.exec(line);
    if (m && (KEYS as readonly string[]).includes(m[1]!)) {
      current = m[1]!;
      sections[current] = m[2] ? [m[2]] : [];
    } else if (current && line.trim() !== '') {
      sections[current]!.push(line);
    }
  }
  const one = (k: string) => sections[k]?.join('\n').trim();
  return {
    options: one('options') ? JSON.parse(one('options')!) : {},
    fallback: one('fallback') || undefined,
    fallbackCjs: one('fallback-cjs') || undefined,
    locations: one('locations') === 'true',
    spans: (sections.spans ?? []).join('\n'),
    events: (sections.events ?? []).join('\n'),
    start,
    end: end + 2,
  };
}

/** The fixtures of `dir` (default: the corpus), sorted. */
export function listFixtures(dir = FIXTURES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(ts|tsx|js|jsx|mts|mjs)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
}

/** One run of a compiled fixture: `file` imported as a fresh module, inside a trace when `traced`. */
export interface FixtureRun {
  id: string;
  file: string;
  traced: boolean;
  /** How to start the process this run needs (default: plain `node`); runs are grouped by it. */
  node?: RunnerProcess;
}

/** What one run did (test/corpus/runner.mjs). */
export interface RunResult {
  ok: boolean;
  value?: unknown;
  thrown?: unknown;
  log: unknown[];
  trace?: Trace;
  unhandled: unknown[];
}

/** The results of one fixture's runs, by run id. */
export type FixtureResults = Record<string, RunResult>;

/** How long one run may take before it counts as hung (the runner is then killed). */
const RUN_TIMEOUT_MS = 30_000;
/** A backstop for a whole batch (compiling and running a target's corpus); hangs are caught per run. */
const BATCH_TIMEOUT_MS = 15 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PlannedRun extends FixtureRun {
  key: string;
}

/**
 * Runs the runs of many fixtures (by key) one after the other in one plain Node process
 * (test/corpus/runner.mjs). Every untraced run comes first, so they all run in a process in which
 * no trace has started yet, like a program that never traces; the traced runs follow.
 *
 * A run that crashes the process or hangs fails its own fixture only: the process is started
 * again for the runs after it. A crash is first retried once (dist/ may have been rebuilt while
 * the run imported it); a crash before the first run (the runner cannot load stepmark) fails
 * every fixture with that message. Output the fixtures print is kept for error messages only.
 */
export async function runFixtures(
  jobs: ReadonlyMap<string, readonly FixtureRun[]>,
  workDir: string,
  /** How to start the runner: Node options before it (e.g. `--import stepmark/register`) and its environment. */
  node: RunnerProcess = {},
): Promise<Map<string, FixtureResults | Error>> {
  const plan: PlannedRun[] = [...jobs].flatMap(([key, runs]) => runs.map((run) => ({ key, ...run })));
  let pending = [...plan.filter((r) => !r.traced), ...plan.filter((r) => r.traced)];
  const results = new Map<string, FixtureResults | Error>();
  for (const key of jobs.keys()) results.set(key, {});
  const retried = new Set<PlannedRun>();
  while (pending.length > 0) {
    const batch = await runBatch(pending, workDir, node);
    for (const [index, result] of batch.done) {
      const own = results.get(pending[index]!.key);
      if (own && !(own instanceof Error)) own[pending[index]!.id] = result;
    }
    if (!batch.failure) break;
    const { index, error } = batch.failure;
    const failed = pending[index]!;
    if (!retried.has(failed)) {
      retried.add(failed);
      await sleep(2000);
      pending = pending.slice(index);
      continue;
    }
    if (!batch.started) {
      for (const run of pending) results.set(run.key, error);
      break;
    }
    results.set(failed.key, error);
    pending = pending.slice(index + 1).filter((r) => r.key !== failed.key);
  }
  return results;
}

/** How the runner process is started (see runFixtures). */
export interface RunnerProcess {
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

let plans = 0;

/** One runner process over `runs`: the results it reported, and what stopped it early. */
function runBatch(
  runs: readonly PlannedRun[],
  workDir: string,
  node: RunnerProcess,
): Promise<{
  done: Map<number, RunResult>;
  started: boolean;
  failure?: { index: number; error: Error };
}> {
  const planFile = join(workDir, `plan-${process.pid}-${plans++}.json`);
  writeFileSync(planFile, JSON.stringify({ runs: runs.map(({ node: _, ...run }) => run) }));
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--enable-source-maps', ...(node.args ?? []), RUNNER, planFile], {
      cwd: REPO_ROOT,
      env: node.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const done = new Map<number, RunResult>();
    let current: number | undefined;
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let hung = false;
    let timer: NodeJS.Timeout;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, RUN_TIMEOUT_MS);
    };
    watch();
    let buffered = '';
    child.stdio[3]!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if ('start' in event) current = event.start;
        else done.set(event.done, event.result);
        watch();
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      rmSync(planFile, { force: true });
      if (code === 0 && done.size === runs.length) {
        resolvePromise({ done, started: true });
        return;
      }
      const index = current ?? 0;
      const run = runs[index]!;
      const why = hung
        ? `hung: no result after ${RUN_TIMEOUT_MS / 1000} s`
        : `the runner exited (${signal ?? `code ${code}`})`;
      const where = current === undefined ? 'before its first run' : `in run "${run.id}" (${run.file})`;
      resolvePromise({
        done,
        started: current !== undefined,
        failure: { index, error: new Error(`fixture runner ${where}: ${why}\n${output}`) },
      });
    });
  });
}

/** A fixture prepared for a batch: the runs to make, and whatever its test needs besides. */
export interface PreparedFixture<T> {
  runs: FixtureRun[];
  data: T;
}

/** Results of a batch, per fixture. */
export interface FixtureBatch<T> {
  /** The fixture's data and run results; throws what preparing or running that fixture threw. */
  get(fixture: string): { data: T; results: FixtureResults };
}

/**
 * For a suite with one test per fixture: in a `beforeAll`, `prepare` each fixture (compile it,
 * write its files into `dir`, a fresh scratch folder `<name>/<fixture>`) and run every fixture's
 * runs in one process (`runFixtures`); each test then asserts on its own fixture's results.
 *
 * `suspect(results)`: results that may come from a broken dist/ rather than from the code under
 * test (dist/ is shared and may be rebuilt while the runs import it, half-written). Those
 * fixtures run once more, 3 s later, in a fresh process; a real difference persists.
 */
export function fixtureBatch<T>(
  name: string,
  fixtures: readonly string[],
  prepare: (fixture: string, dir: string) => Promise<PreparedFixture<T>> | PreparedFixture<T>,
  suspect: (results: FixtureResults) => boolean = () => false,
): FixtureBatch<T> {
  const prepared = new Map<string, PreparedFixture<T> | Error>();
  const ran = new Map<string, FixtureResults | Error>();
  beforeAll(async () => {
    const root = scratchDir(name);
    for (const fixture of fixtures) {
      try {
        const dir = join(root, fixture.replace(/\.[^.]+$/, ''));
        mkdirSync(dir, { recursive: true });
        prepared.set(fixture, await prepare(fixture, dir));
      } catch (error) {
        prepared.set(fixture, error as Error);
      }
    }
    const jobs = new Map<string, FixtureRun[]>();
    for (const [fixture, p] of prepared) if (!(p instanceof Error)) jobs.set(fixture, p.runs);
    for (const [fixture, r] of await runGrouped(jobs, root)) ran.set(fixture, r);
    const again = new Map(
      [...jobs].filter(([fixture]) => {
        const r = ran.get(fixture);
        return r !== undefined && !(r instanceof Error) && suspect(r);
      }),
    );
    if (again.size === 0) return;
    await sleep(3000);
    for (const [fixture, r] of await runGrouped(again, root)) ran.set(fixture, r);
  }, BATCH_TIMEOUT_MS);
  return {
    get(fixture) {
      const p = prepared.get(fixture);
      const r = ran.get(fixture);
      if (p instanceof Error) throw p;
      if (r instanceof Error) throw r;
      if (p === undefined || r === undefined)
        throw new Error(`${fixture}: not run (the batch's beforeAll failed)`);
      return { data: p.data, results: r };
    },
  };
}

/** `runFixtures` once per kind of process the runs need, each fixture's results merged. */
async function runGrouped(
  jobs: ReadonlyMap<string, readonly FixtureRun[]>,
  workDir: string,
): Promise<Map<string, FixtureResults | Error>> {
  const groups = new Map<string, { node: RunnerProcess; jobs: Map<string, FixtureRun[]> }>();
  for (const [fixture, runs] of jobs) {
    for (const run of runs) {
      const node = run.node ?? {};
      const key = JSON.stringify([node.args ?? [], node.env?.STEPMARK_OPTIONS ?? null]);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { node, jobs: new Map() }));
      group.jobs.set(fixture, [...(group.jobs.get(fixture) ?? []), run]);
    }
  }
  const merged = new Map<string, FixtureResults | Error>();
  for (const group of groups.values()) {
    for (const [fixture, r] of await runFixtures(group.jobs, workDir, group.node)) {
      const before = merged.get(fixture);
      merged.set(fixture, before instanceof Error ? before : r instanceof Error ? r : { ...before, ...r });
    }
  }
  return merged;
}

/** Registers one Vitest suite that runs every fixture against `target`. */
export function runCorpus(target: CorpusTarget): void {
  const ext = target.moduleFormat === 'esm' ? '.mjs' : '.cjs';
  const fixturesDir = target.fixturesDir ?? FIXTURES_DIR;
  const fixtures = listFixtures(fixturesDir).filter((f) => !target.filter || target.filter(f));
  describe(`corpus: ${target.label}`, () => {
    const behaviour = (r: RunResult) => ({ ok: r.ok, value: r.value, thrown: r.thrown, log: r.log });
    const differs = (results: FixtureResults) =>
      ['off', 'on'].some((id) => !isDeepStrictEqual(behaviour(results[id]!), behaviour(results.plain!)));
    const batch = fixtureBatch(
      `corpus/${target.label}`,
      fixtures,
      async (fixture, dir) => {
        const filename = join(fixturesDir, fixture);
        const source = readFileSync(filename, 'utf8');
        const expected = parseExpectation(source, fixture);
        const options = { root: REPO_ROOT, ...expected.options };
        const plain = await target.compile(source, filename, null);
        const instrumented = await target.compile(source, filename, options);
        const node = target.instrumentAtLoad?.(options);
        // one file per run: each run needs a fresh module instance
        return {
          data: { filename, source, expected, dir },
          runs: [
            { id: 'plain', file: writeOutput(dir, `plain${ext}`, plain), traced: false },
            { id: 'off', file: writeOutput(dir, `instrumented${ext}`, instrumented), traced: false, node },
            { id: 'on', file: writeOutput(dir, `instrumented-on${ext}`, instrumented), traced: true, node },
            { id: 'fallback', file: writeOutput(dir, `plain-on${ext}`, plain), traced: true },
          ],
        };
      },
      differs,
    );
    it('has fixtures', () => {
      expect(fixtures.length).toBeGreaterThan(0);
    });
    for (const fixture of fixtures) {
      it(fixture, () => {
        const { data, results } = batch.get(fixture);
        const { filename, source, expected, dir } = data;
        const { plain: a, off: b, on: c, fallback: d } = results as Record<string, RunResult>;
        expect(a!.unhandled, 'unhandled rejections (plain)').toEqual([]);
        expect(behaviour(b!), `${fixture}: instrumented, tracing off vs plain`).toEqual(behaviour(a!));
        expect(behaviour(c!), `${fixture}: instrumented, tracing on vs plain`).toEqual(behaviour(a!));
        expect(b!.unhandled, 'unhandled rejections (off)').toEqual(a!.unhandled);
        expect(c!.unhandled, 'unhandled rejections (on)').toEqual(a!.unhandled);
        expect(c!.trace, `${fixture}: the traced run produced no trace`).toBeDefined();

        const trace = normalizeTrace(c!.trace!);
        writeFileSync(join(dir, 'trace.json'), `${JSON.stringify(trace, null, 2)}\n`);
        const spans = renderSpanTree(trace, { locations: expected.locations });
        const events = renderJourneys(trace);
        if (process.env.STEPMARK_CORPUS_UPDATE) updateExpectation(filename, source, expected, spans, events);
        expect(spans, `${fixture}: span tree`).toBe(expected.spans);
        expect(events, `${fixture}: events`).toBe(expected.events);

        const fallbackEvents = renderJourneys(normalizeTrace(d!.trace!));
        const fallbackNote =
          expected.fallback ??
          (target.moduleFormat === 'cjs' ? expected.fallbackCjs : undefined) ??
          target.fallbackDiffers?.(fixture);
        if (fallbackNote === undefined) {
          expect(
            fallbackEvents,
            `${fixture}: stages derived at run time (no plugin) vs written by the plugin`,
          ).toBe(events);
        } else {
          expect(
            fallbackEvents,
            `${fixture}: says "fallback: ${fallbackNote}" but the stack-derived stages now equal the plugin's; remove the note`,
          ).not.toBe(events);
        }
      });
    }
  });
}

function writeOutput(dir: string, name: string, result: CompileResult): string {
  const file = join(dir, name);
  let code = result.code;
  if (result.map && !/\/\/# sourceMappingURL=/.test(code)) {
    const json = typeof result.map === 'string' ? result.map : JSON.stringify(result.map);
    code += `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(json).toString('base64')}\n`;
  }
  writeFileSync(file, code);
  return file;
}

function updateExpectation(
  filename: string,
  source: string,
  expected: Expectation,
  spans: string,
  events: string,
): void {
  const header: string[] = [];
  const block = source.slice(expected.start, expected.end);
  for (const line of block.split(/\r?\n/)) {
    const m = /^([a-z-]+):/.exec(line);
    if (m && ['options', 'fallback', 'fallback-cjs', 'locations'].includes(m[1]!)) header.push(line);
  }
  const text = [
    '/* corpus',
    ...header,
    'spans:',
    ...(spans ? [spans] : []),
    'events:',
    ...(events ? [events] : []),
    '*/',
  ].join('\n');
  writeFileSync(filename, source.slice(0, expected.start) + text + source.slice(expected.end));
}
