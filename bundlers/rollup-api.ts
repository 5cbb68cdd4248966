/**
 * The stepmark plugin for hosts of the Rollup plugin API: Rollup, rolldown and Vite (whose entry
 * adds its own config hooks). Their `transform` hook hands over each module's text with its id;
 * everything else is {@link ModuleInstrumenter}'s, shared with the webpack and rspack entries.
 */
import type { SourceMap } from 'magic-string';
import type { SourceLanguage } from '../esbuild-plugin/transform/index.js';
import type { StepmarkOptions } from '../instrument/options.js';
import { resolveOptions } from '../instrument/options.js';
import {
  codeFrame,
  ModuleInstrumenter,
  type ModuleProblem,
  SOURCE_ID,
  uncalledFactoryError,
} from './instrumenter.js';

/** A log as the Rollup API's `this.error` / `this.warn` take it (Rollup, rolldown and Vite alike). */
interface Log {
  message: string;
  id: string;
  loc?: { file: string; line: number; column: number };
  frame?: string;
}

/** The part of a transform hook's `this` used here. */
interface TransformContext {
  error(log: Log): never;
  warn(log: Log): void;
}

/** The plugin object, typed structurally so that it fits Rollup's, rolldown's and Vite's `Plugin`. */
export interface RollupApiPlugin {
  name: string;
  buildStart(this: unknown, inputOptions: object): Promise<void>;
  buildEnd(this: unknown): void;
  transform: {
    order: 'pre';
    filter: { id: RegExp };
    handler(
      this: TransformContext,
      code: string,
      id: string,
      meta?: object,
    ): Promise<{ code: string; map: SourceMap | undefined } | null>;
  };
}

/** How a host settles what the shared options leave to it. */
export interface RollupApiHost {
  /** The entry's name in messages (`stepmark/rollup`). */
  host: string;
  /** `root` when the user gave none: the host's own project root, else undefined for the current directory. */
  root?(): string | undefined;
  /** Whether a build transforms every module it includes (false for a dev server: see `endBuild`). */
  complete?(): boolean;
  /** Told the instrumenter once it is made (when the first build starts, or at the first module). */
  started?(instrumenter: ModuleInstrumenter): void;
}

const PARSEABLE_MODULE_TYPES: ReadonlySet<string> = new Set(['js', 'jsx', 'ts', 'tsx']);

/**
 * Gives the plugin factory a hook that fails: with `plugins: [stepmark]` Rollup, rolldown and Vite
 * read hooks off the function itself, and would otherwise build (or serve) without instrumenting.
 * Rollup and rolldown call `buildStart` on every build; Vite calls `config` first of all, in a
 * build, on the dev server and in Vitest (Vite 8 fails on the factory before `buildStart`, with an
 * error that does not say why).
 */
export function failWhenUncalled(
  factory: object,
  host: string,
  hook: 'buildStart' | 'config' = 'buildStart',
): void {
  Object.assign(factory, {
    [hook]() {
      throw uncalledFactoryError(host);
    },
  });
}

/**
 * The plugin. The options are validated now, so that a typo fails when the config is read; `root`
 * is settled when the build starts. The transform runs in the `pre` order, before other plugins'
 * transforms (TypeScript, JSX, Babel), so it sees the module as written, comments included.
 */
export function rollupApiPlugin(options: StepmarkOptions, host: RollupApiHost): RollupApiPlugin {
  resolveOptions(options, { host: host.host });
  let instrumenter: ModuleInstrumenter | undefined;
  const start = (inputOptions: { cwd?: unknown }): ModuleInstrumenter => {
    const cwd = typeof inputOptions.cwd === 'string' ? inputOptions.cwd : undefined; // rolldown's `cwd`
    const root = options?.root ?? host.root?.() ?? cwd ?? process.cwd();
    const made = new ModuleInstrumenter(host.host, resolveOptions({ ...options, root }, { host: host.host }));
    host.started?.(made);
    return made;
  };
  return {
    name: 'stepmark',
    async buildStart(inputOptions) {
      rejectLoadTimeCompilers(host.host, inputOptions);
      instrumenter ??= start(inputOptions);
      instrumenter.startBuild();
      await instrumenter.ready();
    },
    buildEnd() {
      instrumenter?.endBuild(host.complete?.() ?? true);
    },
    transform: {
      order: 'pre',
      filter: { id: SOURCE_ID },
      async handler(code, id, meta) {
        // rolldown's third argument says what the module is (`ts`, `js`, `json`, `css`, …): a `.ts`
        // id loaded as, say, text is not JavaScript. Rollup's says nothing of it: the extension decides.
        const moduleType = (meta as { moduleType?: unknown } | undefined)?.moduleType;
        let language: SourceLanguage | undefined;
        if (typeof moduleType === 'string') {
          if (!PARSEABLE_MODULE_TYPES.has(moduleType)) return null;
          language = moduleType as SourceLanguage;
        }
        instrumenter ??= start({});
        await instrumenter.ready();
        const outcome = instrumenter.instrument(code, id, language);
        switch (outcome.kind) {
          case 'instrumented':
            return { code: outcome.module.code, map: outcome.module.map };
          case 'unchanged':
            return null;
          case 'error':
            return this.error(log(outcome.problem));
          case 'warning':
            this.warn(log(outcome.problem));
            return null;
        }
      },
    },
  };
}

/**
 * Plugins that compile TypeScript in their `load` hook, by name: stepmark's transform would get
 * their JavaScript output instead of the module as written, and instrument it at the wrong lines
 * and columns. @rollup/plugin-typescript (`typescript`) emits each file from a TypeScript program.
 */
const LOAD_TIME_COMPILERS: Readonly<Record<string, string>> = {
  typescript: '@rollup/plugin-typescript',
};

function rejectLoadTimeCompilers(host: string, inputOptions: object): void {
  const plugins = (inputOptions as { plugins?: unknown }).plugins;
  if (!Array.isArray(plugins)) return;
  for (const plugin of plugins) {
    const name = (plugin as { name?: unknown } | null)?.name;
    const known = typeof name === 'string' ? LOAD_TIME_COMPILERS[name] : undefined;
    if (known === undefined) continue;
    throw new Error(
      `${host}: ${known} compiles TypeScript when it loads a file, so stepmark would see its JavaScript ` +
        'output instead of your source (wrong locations, comments and names); use a plugin that compiles ' +
        'TypeScript in its transform hook, which runs after stepmark: rollup-plugin-esbuild, or ' +
        '@rollup/plugin-babel with @babel/preset-typescript',
    );
  }
}

function log(problem: ModuleProblem): Log {
  const { message, file, line, column } = problem;
  if (line === undefined || column === undefined) return { message, id: file };
  return { message, id: file, loc: { file, line, column }, frame: codeFrame(problem) };
}
