/**
 * The fixture corpus harness, shared by every build plugin. One line runs the whole corpus
 * against a plugin, inside the plugin's own `*.test.ts`:
 *
 *   runCorpus({ label: 'esbuild', moduleFormat: 'esm', compile: (source, filename, options) => … });
 *
 * `compile(source, filename, options)` must return JavaScript in `moduleFormat` (ESM or
 * CommonJS) that imports `stepmark` by name; `options === null` means "compile the same way
 * without stepmark" (the uninstrumented baseline). For every fixture in test/fixtures the
 * harness writes the outputs under test-output/corpus/<label>/ and runs them in a plain Node
 * process (test/corpus/runner.mjs):
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
 * The normalised trace of `on` is written to trace.json for cross-plugin diffs.
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
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { normalizeTrace, renderJourneys, renderSpanTree, type Trace } from 'stepmark/testing';
import { describe, expect, it } from 'vitest';
import type { StepmarkOptions } from '../../instrument/index.js';

/** Repository root (locations in traces are relative to it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
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
   * Why, for this target only, the stack-derived stages of a fixture differ from the plugin's
   * (e.g. the compiler renames an anonymous default export), or undefined. Like a fixture's
   * `fallback:` note, it is checked: the test fails if the stages turn out equal.
   */
  fallbackDiffers?: (fixture: string) => string | undefined;
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

/** The fixtures, sorted. */
export function listFixtures(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => /\.(ts|js|mts|mjs)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
}

interface RunResult {
  ok: boolean;
  value?: unknown;
  thrown?: unknown;
  log: unknown[];
  trace?: Trace;
  unhandled: unknown[];
}

/** Registers one Vitest suite that runs every fixture against `target`. */
export function runCorpus(target: CorpusTarget): void {
  const outDir = join(REPO_ROOT, 'test-output/corpus', target.label);
  const ext = target.moduleFormat === 'esm' ? '.mjs' : '.cjs';
  const fixtures = listFixtures().filter((f) => !target.filter || target.filter(f));
  describe(`corpus: ${target.label}`, () => {
    it('has fixtures', () => {
      expect(fixtures.length).toBeGreaterThan(0);
    });
    for (const fixture of fixtures) {
      // One retry: dist/ is shared and may be rebuilt by someone else while a fixture imports it.
      it(fixture, { retry: 1 }, async () => {
        const filename = join(FIXTURES_DIR, fixture);
        const source = readFileSync(filename, 'utf8');
        const expected = parseExpectation(source, fixture);
        const dir = join(outDir, fixture.replace(/\.[^.]+$/, ''));
        mkdirSync(dir, { recursive: true });
        const plain = await target.compile(source, filename, null);
        const instrumented = await target.compile(source, filename, { root: REPO_ROOT, ...expected.options });
        const files = {
          plain: writeOutput(dir, `plain${ext}`, plain),
          off: writeOutput(dir, `instrumented${ext}`, instrumented),
          on: writeOutput(dir, `instrumented-on${ext}`, instrumented),
          fallback: writeOutput(dir, `plain-on${ext}`, plain),
        };
        const runs = [
          { id: 'plain', file: files.plain, traced: false },
          { id: 'off', file: files.off, traced: false },
          { id: 'on', file: files.on, traced: true },
          { id: 'fallback', file: files.fallback, traced: true },
        ];
        const behaviour = (r: RunResult) => ({ ok: r.ok, value: r.value, thrown: r.thrown, log: r.log });
        let results = await runFixture(runs);
        if (
          !['off', 'on'].every((id) => isDeepStrictEqual(behaviour(results[id]!), behaviour(results.plain!)))
        ) {
          // dist/ is shared: someone's rebuild may have been half-written while the runs imported
          // it. Run once more after the rebuild had time to finish; a real difference persists.
          await new Promise((r) => setTimeout(r, 3000));
          results = await runFixture(runs);
        }
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

/**
 * Runs the given compiled files in one plain Node process (test/corpus/runner.mjs). dist/ is
 * shared by everyone working in the repository and rebuilt in place; a runner that crashes
 * (typically: a half-written chunk while someone rebuilds) is started again, up to 3 times.
 */
export async function runFixture(
  runs: { id: string; file: string; traced: boolean }[],
): Promise<Record<string, RunResult>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(runs);
    } catch (e) {
      if (attempt >= 4) throw e;
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}

function runOnce(runs: { id: string; file: string; traced: boolean }[]): Promise<Record<string, RunResult>> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ['--enable-source-maps', RUNNER, JSON.stringify({ runs })],
      { cwd: REPO_ROOT, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        if (error || !line) {
          reject(new Error(`fixture runner failed: ${error?.message ?? 'no output'}\n${stderr}`));
          return;
        }
        resolvePromise(JSON.parse(line));
      },
    );
  });
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
  void relative;
}
