/**
 * Babel set-ups the tests use: Babel 8 and Babel 7, each with or without
 * `@babel/preset-typescript`, emitting ESM or CommonJS, with the stepmark plugin or without it.
 */
import { createRequire } from 'node:module';
import stepmarkPlugin from '../../babel-plugin/index.js';
import type { StepmarkOptions } from '../../instrument/index.js';

const require = createRequire(import.meta.url);

export type BabelMajor = 7 | 8;

interface BabelCore {
  transformAsync(
    code: string,
    options: object,
  ): Promise<{ code?: string | null; map?: object | null } | null>;
  transformSync(code: string, options: object): { code?: string | null; map?: object | null } | null;
  version: string;
}

/** `@babel/core` 7 or 8. */
export function babel(major: BabelMajor): BabelCore {
  return require(major === 8 ? '@babel/core' : '@babel/core-7');
}

function pkg(name: string, major: BabelMajor): string {
  return require.resolve(major === 8 ? name : `${name}-7`);
}

export interface BabelSetup {
  major: BabelMajor;
  typescript?: boolean;
  moduleFormat: 'esm' | 'cjs';
  /** Extra plugins after stepmark (e.g. decorators). */
  plugins?: unknown[];
  sourceMaps?: boolean | 'inline';
  retainLines?: boolean;
  /** The plugin to use (default: the source); tests of the built entry pass the package's. */
  plugin?: unknown;
}

/** Babel options for one set-up; `options === null` leaves stepmark out. */
export function babelOptions(setup: BabelSetup, filename: string, options: StepmarkOptions | null): object {
  const plugins: unknown[] = [];
  if (options !== null) plugins.push([setup.plugin ?? stepmarkPlugin, options]);
  plugins.push(...(setup.plugins ?? []));
  if (setup.moduleFormat === 'cjs')
    plugins.push(pkg('@babel/plugin-transform-modules-commonjs', setup.major));
  return {
    filename,
    babelrc: false,
    configFile: false,
    sourceType: 'module',
    presets:
      setup.typescript === false
        ? []
        : [
            [
              pkg('@babel/preset-typescript', setup.major),
              setup.major === 7 ? { allowDeclareFields: true } : {},
            ],
          ],
    plugins,
    sourceMaps: setup.sourceMaps ?? true,
    retainLines: setup.retainLines ?? false,
  };
}

/** Compiles with one set-up (the `compile` of the corpus harness). */
export async function compileWith(
  setup: BabelSetup,
  source: string,
  filename: string,
  options: StepmarkOptions | null,
): Promise<{ code: string; map?: object }> {
  const result = await babel(setup.major).transformAsync(source, babelOptions(setup, filename, options));
  if (!result?.code) throw new Error(`babel produced no code for ${filename}`);
  return { code: result.code, map: result.map ?? undefined };
}

/** `@babel/plugin-proposal-decorators` (standard 2023-11 decorators) for a Babel major. */
export function decoratorsPlugin(major: BabelMajor): unknown {
  return [pkg('@babel/plugin-proposal-decorators', major), { version: '2023-11' }];
}

/**
 * A plugin Babel cannot tell is passive (it has a visitor): with it in the pass, the stepmark
 * plugin takes its general path (frames written at once, then walked by every other plugin).
 */
export function generalPathPlugin(): unknown {
  return () => ({ name: 'test-general-path', visitor: { Identifier() {} } });
}

/** Parses standard decorators and leaves them in place (Babel 8). */
export function decoratorsSyntax(): unknown {
  return [require.resolve('@babel/plugin-syntax-decorators'), { version: '2023-11' }];
}
