/**
 * The types a TypeScript project that installed stepmark gets, for each way TypeScript resolves
 * modules: a CommonJS project as NestJS generates it (`"module": "commonjs"` and no
 * `moduleResolution`, which TypeScript 5 reads as node10: no "exports", the subpaths' types come
 * from "typesVersions"), the same project on node16 and bundler resolution (which read "exports"
 * first), and on TypeScript 6. Each project imports every public entry by name, registers the Jest
 * matchers' types as the README says, and uses typed APIs, misuses included (`@ts-expect-error`,
 * which fails when an import is untyped).
 *
 * Needs `npm run build` (the declaration files).
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts6 from 'typescript';
import ts5 from 'typescript-5';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, scratchDir } from '../support/scratch.js';

type TS = typeof ts6;
type Exports = Record<string, { import: { types: string }; require: { types: string } }>;

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
const DIST = join(REPO_ROOT, 'dist');
const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
const exportsMap = pkg.exports as Exports;
const specifier = (subpath: string) => (subpath === '.' ? 'stepmark' : `stepmark/${subpath.slice(2)}`);

beforeAll(() => {
  const types = join(REPO_ROOT, exportsMap['.']!.require.types);
  if (!existsSync(types)) throw new Error(`${types} is missing: run npm run build (not build:fast)`);
});

/** Every entry imported by name, so that each must resolve to declarations. */
const entriesFile = [
  ...subpaths.map((s, i) => `import * as entry${i} from '${specifier(s)}';`),
  `export const entries = [${subpaths.map((_, i) => `entry${i}`).join(', ')}];`,
  '',
].join('\n');

/** Typed uses across entries: the recorder and the middleware share `Trace`. */
const appFile = `import { captureSync, step, track, type Trace } from 'stepmark';
import { stepmarkMiddleware } from 'stepmark/http';
import { parseTraceparent } from 'stepmark/propagation';
import { flightRecorder } from 'stepmark/recorder';
import { normalizeTrace, renderSpanTree } from 'stepmark/testing';

const recorder = flightRecorder({ maxBytes: 1_000_000, keep: { errors: true } });
export const middleware = stepmarkMiddleware({ record: recorder, onFinish: (trace: Trace) => trace.spans.length });
const { trace, result } = captureSync(() => {
  track('order_42');
  step('accepted', { total: 3 });
  return 42;
});
export const total: number = result + recorder.stats().traces;
export const tree: string = renderSpanTree(normalizeTrace(trace));
export const traceId: string | undefined = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.traceId;
// @ts-expect-error an action is a string
step(42);
// @ts-expect-error the recorder takes options, not a size
flightRecorder(1_000_000);
`;

/** A Jest test file: the matchers typed on the global expect (@types/jest) and on @jest/globals'. */
const specFile = `import { expect as jestExpect } from '@jest/globals';
import { captureSync, step } from 'stepmark';

test('matchers are typed on both expects', () => {
  const { trace } = captureSync(() => step('accepted'));
  expect(trace).toHaveSpanPath(['placeOrder']);
  jestExpect(trace).toHaveEntityJourney('order_42', ['fraud_check:flagged']);
  // @ts-expect-error a span path is a list of names
  expect(trace).toHaveSpanPath('placeOrder');
  // @ts-expect-error a span path is a list of names
  jestExpect(trace).toHaveSpanPath('placeOrder');
});
`;

/** An ES module of a node16 project (it gets the entries' ESM declarations). */
const esmFile = `import { stepmarkMiddleware } from 'stepmark/http';
import { flightRecorder } from 'stepmark/recorder';

export const middleware = stepmarkMiddleware({ record: flightRecorder() });
// @ts-expect-error the recorder takes options, not a size
flightRecorder(1_000_000);
`;

/**
 * A project in the scratch folder with stepmark installed as npm installs it (its package.json
 * and built files, not the repository's sources, which node10 would find by folder name).
 */
function project(
  name: string,
  compilerOptions: Record<string, unknown>,
  files: Record<string, string>,
): string {
  const dir = scratchDir(`typescript-projects/${name}`);
  const installed = join(dir, 'node_modules', 'stepmark');
  mkdirSync(installed, { recursive: true });
  writeFileSync(join(installed, 'package.json'), JSON.stringify(pkg, null, 2));
  symlinkSync(DIST, join(installed, 'dist'), 'dir');
  // no "type": the project's .ts files are CommonJS, as in a NestJS project
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true }));
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      strict: true,
      noEmit: true,
      // stepmark's declarations are checked too (typecheck() leaves other packages' errors out)
      skipLibCheck: false,
      types: ['node', 'jest', 'stepmark/testing/jest'],
      ...compilerOptions,
    },
    include: ['src'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  mkdirSync(join(dir, 'src'));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, 'src', file), text);
  return dir;
}

/**
 * `tsc --noEmit -p dir`, reporting what it reports for the project's files and stepmark's
 * declarations (third-party packages' own are theirs), and stepmark's files it read.
 */
function typecheck(ts: TS, dir: string) {
  const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    configFileParsingDiagnostics: config.errors,
  });
  const ours = program
    .getSourceFiles()
    .filter((f) => f.fileName.startsWith(dir + sep) || f.fileName.startsWith(DIST + sep));
  const diagnostics = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  const errors = diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0];
      if (!d.file) return `TS${d.code}: ${message}`;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start!);
      return `${relative(REPO_ROOT, d.file.fileName)}(${line + 1},${character + 1}): TS${d.code}: ${message}`;
    });
  const stepmarkFiles = ours
    .map((f) => relative(REPO_ROOT, f.fileName))
    .filter((f) => f.startsWith(`dist${sep}`));
  return { errors, stepmarkFiles, options: config.options, program };
}

/** The declaration file the program took for each entry `file` (a project file) imports, as `./dist/…`. */
function resolvedEntries(ts: TS, program: ts6.Program, file: string) {
  const source = program.getSourceFile(file)!;
  const checker = program.getTypeChecker();
  const resolved: Record<string, string> = {};
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const declaration = checker.getSymbolAtLocation(statement.moduleSpecifier)?.valueDeclaration;
    resolved[statement.moduleSpecifier.text] =
      declaration && ts.isSourceFile(declaration)
        ? `./${relative(REPO_ROOT, declaration.fileName).split(sep).join('/')}`
        : 'unresolved';
  }
  return resolved;
}

/** What "exports" gives each entry under the condition `flavour`. */
const exportsTypes = (flavour: 'import' | 'require') =>
  Object.fromEntries(subpaths.map((s) => [specifier(s), exportsMap[s]![flavour].types]));

/** TypeScript 5 under the type of the repository's TypeScript, whose API it shares for what is used here. */
const TS5 = ts5 as unknown as TS;

/** Vite publishes its types only through "exports": under node10 `stepmark/vite`'s `Plugin` is untyped. */
const VITE_UNTYPED =
  "dist/vite/index.d.cts(1,24): TS2307: Cannot find module 'vite' or its corresponding type declarations.";

const cjsFiles = { 'entries.ts': entriesFile, 'app.ts': appFile, 'order.spec.ts': specFile };

describe('a CommonJS project on TypeScript 5 (node10 resolution, NestJS’s default)', () => {
  it('type-checks every entry, the Jest matchers included, with the CommonJS declarations', () => {
    expect(ts5.version).toMatch(/^5\./);
    const dir = project('ts5-node10', { module: 'commonjs' }, cjsFiles);
    const { errors, stepmarkFiles, options, program } = typecheck(TS5, dir);
    expect(TS5.getEmitModuleResolutionKind(options)).toBe(TS5.ModuleResolutionKind.Node10);
    expect(errors).toEqual([VITE_UNTYPED]);
    expect(resolvedEntries(TS5, program, join(dir, 'src/entries.ts'))).toEqual(exportsTypes('require'));
    // one flavour of every shared declaration: the root's "types" is the .d.cts too
    expect(stepmarkFiles.filter((f) => !f.endsWith('.d.cts'))).toEqual([]);
  });
});

describe('the same project reading "exports" (TypeScript 5)', () => {
  it('node16: the CommonJS files get the require types, an ES module the import types', () => {
    const files = { ...cjsFiles, 'entries.mts': entriesFile, 'esm.mts': esmFile };
    const dir = project('ts5-node16', { module: 'node16' }, files);
    const { errors, program } = typecheck(TS5, dir);
    // Vite 8, rolldown and rspack 2 are ES modules only, which node16 (unlike nodenext since
    // TypeScript 5.8) does not let CommonJS require: it says so of the plugins' CommonJS declarations
    const esmOnly = (file: string, column: number, name: string) =>
      `dist/${file}(1,${column}): TS1479: The current file is a CommonJS module whose imports will produce 'require' calls; however, the referenced file is an ECMAScript module and cannot be imported with 'require'. Consider writing a dynamic 'import("${name}")' call instead.`;
    expect(errors).toEqual([
      esmOnly('vite/index.d.cts', 24, 'vite'),
      esmOnly('bundlers/rolldown.d.cts', 24, 'rolldown'),
      esmOnly('bundlers/rspack.d.cts', 38, '@rspack/core'),
    ]);
    expect(resolvedEntries(TS5, program, join(dir, 'src/entries.ts'))).toEqual(exportsTypes('require'));
    expect(resolvedEntries(TS5, program, join(dir, 'src/entries.mts'))).toEqual(exportsTypes('import'));
  });

  it('bundler: the import types, not typesVersions’ CommonJS ones', () => {
    const dir = project('ts5-bundler', { module: 'esnext', moduleResolution: 'bundler' }, cjsFiles);
    const { errors, stepmarkFiles, program } = typecheck(TS5, dir);
    expect(errors).toEqual([]);
    expect(resolvedEntries(TS5, program, join(dir, 'src/entries.ts'))).toEqual(exportsTypes('import'));
    expect(stepmarkFiles.filter((f) => !f.endsWith('.d.ts'))).toEqual([]);
  });
});

describe('a CommonJS project on TypeScript 6', () => {
  it('that keeps node10 (deprecated there: ignoreDeprecations) type-checks through typesVersions', () => {
    expect(ts6.version).toMatch(/^6\./);
    const options = { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' };
    const dir = project('ts6-node10', options, cjsFiles);
    const { errors, stepmarkFiles, program } = typecheck(ts6, dir);
    expect(errors).toEqual([VITE_UNTYPED]);
    expect(resolvedEntries(ts6, program, join(dir, 'src/entries.ts'))).toEqual(exportsTypes('require'));
    expect(stepmarkFiles.filter((f) => !f.endsWith('.d.cts'))).toEqual([]);
  });

  it('on its default for "module": "commonjs" (bundler) gets the require types from "exports"', () => {
    const dir = project('ts6-default', { module: 'commonjs' }, cjsFiles);
    const { errors, options, program } = typecheck(ts6, dir);
    expect(ts6.getEmitModuleResolutionKind(options)).toBe(ts6.ModuleResolutionKind.Bundler);
    expect(errors).toEqual([]);
    expect(resolvedEntries(ts6, program, join(dir, 'src/entries.ts'))).toEqual(exportsTypes('require'));
  });
});
