// Runs a library's own Vitest suite (test/libraries/own/suites.mjs) with its source compiled
// through one stepmark route, as a Vite plugin that runs before Vite's own TypeScript transform:
//   STEPMARK_SUITE=<name> STEPMARK_ROUTE=<baseline|babel|esbuild|typescript> vitest run --config <this> --root <repo>
// `esbuild` is the stepmark/vite plugin itself (the esbuild plugin's transform); `babel` and
// `typescript` compile each source file as test/libraries/build.mjs does; `baseline` adds nothing.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { stepmark } from 'stepmark/vite';
import { defineConfig } from 'vitest/config';
import { compileFile } from '../build.mjs';
import { REPOS, SUITES, suiteOptions } from './suites.mjs';

const suite = SUITES.find((s) => s.name === process.env.STEPMARK_SUITE);
if (!suite) throw new Error(`STEPMARK_SUITE must name one of ${SUITES.map((s) => s.name).join(', ')}`);
const route = process.env.STEPMARK_ROUTE ?? 'baseline';
const options = suiteOptions(suite);
const repo = join(REPOS, suite.name);
const sourceDir = `${repo}/${suite.source}/`;

/** Babel or the TypeScript transformer on each source file (the plugin's options skip the tests). */
function compileRoute() {
  return {
    name: `stepmark-${route}`,
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0];
      if (!file.startsWith(sourceDir) || !/\.[cm]?[jt]s$/.test(file)) return undefined;
      return { code: compileFile(route, code, file, 'esm', options), map: null };
    },
  };
}

/** Counts the frames each transformed module got in STEPMARK_FRAMES_FILE, so that run.mjs can tell that the route did instrument. */
function counted(plugin) {
  const hook = plugin.transform;
  const handler = typeof hook === 'function' ? hook : hook.handler;
  async function transform(...args) {
    const out = await handler.apply(this, args);
    const code = typeof out === 'string' ? out : out?.code;
    const frames = code?.match(/__stepmark\d*\.enter(?:Entity)?\(/g)?.length;
    if (frames && process.env.STEPMARK_FRAMES_FILE)
      appendFileSync(process.env.STEPMARK_FRAMES_FILE, `${frames}\n`);
    return out;
  }
  return { ...plugin, transform: typeof hook === 'function' ? transform : { ...hook, handler: transform } };
}

const routes = { esbuild: () => stepmark(options), babel: compileRoute, typescript: compileRoute };
if (route !== 'baseline' && !routes[route]) throw new Error(`unknown STEPMARK_ROUTE ${route}`);
const plugins = route === 'baseline' ? [] : [counted(routes[route]())];

export default defineConfig({
  plugins,
  test: {
    include: suite.include,
    exclude: ['**/node_modules/**', ...(suite.exclude ?? [])],
    globals: suite.globals ?? false,
    alias: Object.fromEntries(Object.entries(suite.alias ?? {}).map(([from, to]) => [from, join(repo, to)])),
    setupFiles: (suite.setupFiles ?? []).map((file) => join(repo, file)),
    isolate: suite.isolate ?? true,
    environment: 'node',
    pool: 'forks',
    testTimeout: 60_000,
    // Vitest 5 keeps transformed modules on disk between runs, keyed without this config's
    // route (an environment variable): a run would get the code of the route that ran before.
    fsModuleCache: false,
  },
});
