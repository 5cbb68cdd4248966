/**
 * The differential suite on real libraries: the published code of a library (libraries.mjs),
 * every function instrumented (callbacks and getters included) through each route (build.mjs),
 * driven by a workload (workloads/<name>.mjs) in a fresh Node process (runner.mjs), compared
 * with the published code run by the same workload:
 *
 *   plain   the published code, uninstrumented (for esbuild: its bundle without the plugin, see
 *           OWN_BASELINE)
 *   off     instrumented, tracing off
 *   on      instrumented, inside `stepmark.run`
 *
 * off and on must equal plain: the settled value (or thrown error: class, name, message, own
 * fields), the order of side effects the workload logs, unhandled rejections. The trace of `on`
 * must be balanced: spans were opened (the build did instrument), every one ended, each parent
 * recorded before its child, none dropped. Across routes, the spans per function name are equal.
 *
 * One test file per library (`differential('immer')`) so that Vitest spreads them over workers.
 * Instrumented builds are cached under test-output/libraries, keyed by the library's version,
 * build.mjs and the plugins' dist/ (build.mjs buildKey).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { firstDifference } from '../corpus/diff.js';
import { build, buildKey, linkRuntime, OUTPUT, pluginOptions, ROUTES, writeBuild } from './build.mjs';
import { LIBRARIES, packageDir, packageVersion, REPO_ROOT } from './libraries.mjs';

type Route = (typeof ROUTES)[number];

interface TraceSummary {
  spans: number;
  unfinished: number;
  unfinishedNames: string[];
  errors: number;
  orphans: string[];
  droppedSpans: number;
  names: Record<string, number>;
}

interface RunResult {
  ok: boolean;
  value?: unknown;
  thrown?: unknown;
  log: unknown[];
  unhandled: unknown[];
  trace?: TraceSummary;
}

export interface DifferentialOptions {
  /**
   * Routes known to fail, each with the bug that makes it fail (the test is `it.fails`: it turns
   * red when the bug is fixed, so that the entry is removed).
   */
  knownFailures?: Partial<Record<Route, string>>;
  /**
   * Functions whose number of calls depends on real time (a debounce's timer callbacks): left out
   * of the span counts compared across routes, which would otherwise differ with the machine's load.
   */
  timingDependent?: RegExp;
}

const RUNNER = join(REPO_ROOT, 'test/libraries/runner.mjs');

/**
 * Routes whose output differs observably from the published code without stepmark, so that their
 * baseline is their own uninstrumented build: an esbuild bundle renames symbols that collide
 * across its scopes (acorn's `var Position = function Position(…)` becomes `function Position2`,
 * which `new Position().constructor.name` shows).
 */
const OWN_BASELINE: ReadonlySet<Route> = new Set(['esbuild']);

/** A route on a library takes seconds to build on a busy machine (zod, date-fns: ~100 modules and more). */
const ROUTE_TIMEOUT = 180_000;

/** Registers the suite of one library. */
export function differential(name: string, options: DifferentialOptions = {}): void {
  const lib = LIBRARIES.find((l) => l.name === name);
  if (!lib) throw new Error(`no library ${name} in test/libraries/libraries.mjs`);
  const version = packageVersion(name);
  const plainEntry = join(packageDir(name), lib.entry);
  const workload = join(REPO_ROOT, 'test/libraries/workloads', `${name}.mjs`);
  /** Spans per name of each route that passed. */
  const passed: Partial<Record<Route, Record<string, number>>> = {};

  describe(`${name}@${version}, every function instrumented`, () => {
    beforeAll(() => linkRuntime());

    for (const route of ROUTES) {
      const known = options.knownFailures?.[route];
      const title = `${route}${known ? ` (known bug: ${known})` : ''}`;
      (known ? it.fails : it)(title, { timeout: ROUTE_TIMEOUT }, async () => {
        const { plain: ownPlain, off, on } = await cachedBuilds(lib, route);
        const runs = await runWorkload(route, lib, workload, [
          { id: 'plain', entry: ownPlain ?? plainEntry, traced: false },
          { id: 'off', entry: off, traced: false },
          { id: 'on', entry: on, traced: true },
        ]);
        const { plain, off: a, on: b } = runs as Record<string, RunResult>;
        expect(plain!.ok, `${name}: the workload fails on the published code`).toBe(true);
        expectSameBehaviour(`${name} (${route}), tracing off`, a!, plain!);
        expectSameBehaviour(`${name} (${route}), tracing on`, b!, plain!);
        const trace = b!.trace!;
        expect(
          trace.spans,
          `${name} (${route}): no span was recorded: nothing was instrumented`,
        ).toBeGreaterThan(100);
        expect(trace.droppedSpans, `${name} (${route}): spans dropped; make the workload smaller`).toBe(0);
        expect(trace.unfinished, `${name} (${route}): spans never ended: ${trace.unfinishedNames}`).toBe(0);
        expect(trace.orphans, `${name} (${route}): spans whose parent is missing or opened later`).toEqual(
          [],
        );
        passed[route] = trace.names;
      });
    }

    it('records the same spans, per function name, on every route that compiles the same code', () => {
      // What is compared is what passed (a route known to fail may have run half the workload).
      const bySource = new Map<string, [Route, Record<string, number>][]>();
      for (const route of ROUTES) {
        const names = passed[route];
        if (!names) continue;
        const source = route === 'register' ? lib.entry : (lib.source ?? lib.entry);
        bySource.set(source, [...(bySource.get(source) ?? []), [route, names]]);
      }
      const steady = (names: Record<string, number>) =>
        options.timingDependent
          ? Object.fromEntries(Object.entries(names).filter(([n]) => !options.timingDependent!.test(n)))
          : names;
      for (const group of bySource.values()) {
        for (const [route, names] of group.slice(1)) {
          expect(
            firstDifference(steady(names), steady(group[0]![1])),
            `${name}: spans per name, ${route} vs ${group[0]![0]}`,
          ).toBeUndefined();
        }
      }
    });
  });
}

function expectSameBehaviour(label: string, actual: RunResult, plain: RunResult): void {
  const behaviour = (r: RunResult) => ({ ok: r.ok, value: r.value, thrown: r.thrown, log: r.log });
  if (!isDeepStrictEqual(behaviour(actual), behaviour(plain))) {
    // The first difference says more than a diff of two very large values.
    expect.fail(
      `${label} differs from the published code at ${firstDifference(behaviour(actual), behaviour(plain))}` +
        (actual.ok ? '' : `\nthrown: ${JSON.stringify(actual.thrown).slice(0, 2000)}`),
    );
  }
  expect(actual.unhandled, `${label}: unhandled rejections`).toEqual(plain.unhandled);
}

/**
 * The instrumented build of `lib` through `route`, written twice (one copy per run, so that each
 * run loads fresh modules), and for OWN_BASELINE routes the uninstrumented one; reused while the
 * key is unchanged.
 */
async function cachedBuilds(
  lib: (typeof LIBRARIES)[number],
  route: Route,
): Promise<{ plain?: string; off: string; on: string }> {
  const dir = join(OUTPUT, lib.name, route);
  const key = `${buildKey(lib, route)}${OWN_BASELINE.has(route) ? '+plain' : ''}`;
  const stamp = join(dir, 'build.json');
  try {
    const cached = JSON.parse(readFileSync(stamp, 'utf8'));
    if (cached.key === key) return cached.entries;
  } catch {}
  const built = await build(lib, route, true);
  const entries = {
    plain: OWN_BASELINE.has(route)
      ? writeBuild(join(dir, 'plain'), lib, await build(lib, route, false))
      : undefined,
    off: writeBuild(join(dir, 'off'), lib, built),
    on: writeBuild(join(dir, 'on'), lib, built),
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(stamp, `${JSON.stringify({ key, entries })}\n`);
  return entries;
}

function runWorkload(
  route: Route,
  lib: (typeof LIBRARIES)[number],
  workload: string,
  runs: { id: string; entry: string; traced: boolean }[],
): Promise<Record<string, RunResult>> {
  const args = [RUNNER, JSON.stringify({ workload, format: lib.format, runs })];
  const env: Record<string, string | undefined> = { ...process.env, TZ: 'UTC', NODE_OPTIONS: '' };
  if (route === 'register') {
    args.unshift('--import', 'stepmark/register');
    // The copies under test-output, not the published files the plain run loads.
    env.STEPMARK_OPTIONS = JSON.stringify({
      ...pluginOptions(lib),
      include: [`test-output/libraries/${lib.name}/register/**`],
    });
    env.STEPMARK_CONFIG = '';
  }
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: REPO_ROOT, env, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        if (error || !line) {
          reject(
            new Error(
              `${lib.name} (${route}): the runner failed: ${error?.message ?? 'no output'}\n${stderr}`,
            ),
          );
          return;
        }
        resolve(JSON.parse(line));
      },
    );
  });
}
