/**
 * A directive that applies to no function is the same build error on every route, naming
 * file:line:col: before a plain statement, and before a declaration that binds no function,
 * class or object literal; so is an `entity=` path the function cannot read, and a variable named
 * like a binding the emitted code introduces. And a TypeScript the transformer cannot run under is
 * named as such.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import stepmarkEsbuild from 'stepmark/esbuild-plugin';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import stepmarkBabel from '../../babel-plugin/index.js';
import stepmarkTransformer from '../../transformer/index.js';
import { babel } from '../babel/compile.js';

const dir = mkdtempSync(join(tmpdir(), 'stepmark-directives-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each case: the source, and the 1-based line and column of its misplaced directive. */
const cases: Record<string, { source: string; line: number; column: number }> = {
  'a constant': {
    source: 'const a = 1;\n// @stepmark\nconst limit = 2;\nexport const f = () => limit + a;\n',
    line: 2,
    column: 4,
  },
  'an expression statement': {
    source: 'const rate = 1;\n  // @stepmark\n  console.log(rate);\n',
    line: 2,
    column: 6,
  },
  'an assignment of a number': {
    source: 'export {};\n/** @stepmark */\nexports.rate = 2;\n',
    line: 2,
    column: 5,
  },
  'a class field holding a number': {
    source: 'export class A {\n  /** @stepmark */\n  x = 1;\n}\n',
    line: 2,
    column: 7,
  },
  'an ignore before a constant': {
    source: 'export {};\n// @stepmark-ignore\nconst x = 1;\n',
    line: 2,
    column: 4,
  },
};

const MESSAGE =
  /@stepmark(?:-ignore)? must directly precede a function, a method, a class, an object literal, or a declaration whose value is one of them/;

async function esbuildError(file: string): Promise<string> {
  const failure = await esbuild
    .build({
      entryPoints: [file],
      write: false,
      logLevel: 'silent',
      plugins: [stepmarkEsbuild({ root: dir, prescan: false })],
    })
    .then(
      () => undefined,
      (e: esbuild.BuildFailure) => e,
    );
  const m = failure?.errors[0];
  if (!m) return 'no error';
  // esbuild's columns are 0-based.
  return `${m.location?.file}:${m.location?.line}:${(m.location?.column ?? -1) + 1}: ${m.text}`;
}

function babelError(major: 7 | 8, file: string, source: string): string {
  try {
    babel(major).transformSync(source, {
      filename: file,
      babelrc: false,
      configFile: false,
      plugins: [[stepmarkBabel, { root: dir }]],
    });
    return 'no error';
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

function typescriptError(file: string, source: string): string {
  try {
    ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext },
      transformers: { before: [stepmarkTransformer(undefined, { root: dir }, { ts })] },
    });
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
}

/** `source`, written to a file named after `label`, compiled on every route: each route's error. */
async function errorsOnEveryRoute(label: string, source: string) {
  const file = join(dir, `${label.replace(/\W+/g, '-')}.ts`);
  writeFileSync(file, source);
  const errors = {
    esbuild: await esbuildError(file),
    babel8: babelError(8, file, source),
    babel7: babelError(7, file, source),
    typescript: typescriptError(file, source),
  };
  return { file, errors };
}

describe('a directive that applies to no function', () => {
  for (const [label, { source, line, column }] of Object.entries(cases)) {
    it(`before ${label}: the same error with file:line:col on every route`, async () => {
      const { file, errors } = await errorsOnEveryRoute(label, source);
      for (const [route, error] of Object.entries(errors)) {
        expect(error, route).toMatch(MESSAGE);
        expect(error, route).toContain(file.slice(dir.length + 1));
        // Babel appends (line:col), the others prefix file:line:col.
        expect(error, route).toMatch(new RegExp(`(?::${line}:${column}:|\\(${line}:${column}\\))`));
      }
    });
  }
});

describe('an entity path the function cannot read', () => {
  it.each([
    [
      'entity=this in a derived constructor without a top-level super()',
      'class Base {}\nexport class A extends Base {\n  /** @stepmark entity=this.id */\n  constructor(ok) {\n    if (ok) super();\n    else super();\n  }\n}\n',
      /entity=this… is only allowed on methods, constructors and non-arrow functions/,
    ],
    [
      'a root that is no parameter',
      'export class A {\n  /** @stepmark entity=order.id */\n  m(id) {}\n}\n',
      /entity=order\.id does not start with a parameter of this function \(parameters: id\)/,
    ],
  ])('%s: the same error at the directive on every route', async (label, source, message) => {
    const { errors } = await errorsOnEveryRoute(label, source);
    const [line, column] = source.includes('entity=this') ? [3, 7] : [2, 7];
    for (const [route, error] of Object.entries(errors)) {
      expect(error, route).toMatch(message);
      expect(error, route).toMatch(new RegExp(`(?::${line}:${column}:|\\(${line}:${column}\\))`));
    }
  });
});

describe('a variable named like a binding the emitted code introduces', () => {
  it.each([
    ['a parameter __smf', '// @stepmark\nexport function a(x, __smf) {\n  return __smf;\n}\n', 2, 22],
    [
      'a local var __stepmark (the frame would read it before its assignment)',
      '// @stepmark\nexport function c() {\n  var __stepmark = 1;\n  return __stepmark;\n}\n',
      3,
      7,
    ],
    [
      'a module-level __smf read in an instrumented function (the frame would shadow it)',
      'const __smf = 1;\n/** @stepmark */\nexport function f() {\n  return __smf;\n}\n',
      1,
      7,
    ],
    [
      'a module-level const __stepmark read in a shorthand property (it would replace the runtime)',
      'const __stepmark = 1;\n// @stepmark\nexport const g = () => ({ __stepmark });\n',
      1,
      7,
    ],
  ])('%s: the same error at the name on every route', async (label, source, line, column) => {
    const { errors } = await errorsOnEveryRoute(label, source);
    for (const [route, error] of Object.entries(errors)) {
      expect(error, route).toMatch(/`__s\w+` is reserved in files stepmark instruments/);
      expect(error, route).toMatch(new RegExp(`(?::${line}:${column}:|\\(${line}:${column}\\))`));
    }
  });

  it.each([
    [
      'as property names and labels',
      '// @stepmark\nexport function f(o) {\n  __smf: for (;;) break __smf;\n  return [o.__smf, { __stepmark: 1 }, class { __smf() {} }];\n}\n',
    ],
    ['in a file where nothing is instrumented', 'export function f(__smf) {\n  return __smf;\n}\n'],
    [
      "in an earlier pass's output whose runtime binding Babel's CommonJS pass renamed",
      '// @stepmark\nvar _runtime = require("stepmark/runtime");\nfunction f() {\n  const __smf = _runtime.v2.enter("f", void 0);\n' +
        '  try {\n    return __smf.x(1);\n  } catch (__sme) {\n    throw __smf.t(__sme);\n  }\n}\nexports.f = () => f();\n',
    ],
  ])('%s: no error', async (label, source) => {
    const { errors } = await errorsOnEveryRoute(label, source);
    for (const [route, error] of Object.entries(errors)) expect(error, route).toBe('no error');
  });

  it('in a `declare` statement (emits nothing): no error where TypeScript syntax parses', async () => {
    const source = 'declare const __stepmark: number;\n// @stepmark\nexport const g = () => 1;\n';
    const file = join(dir, 'declare-statement.ts');
    writeFileSync(file, source);
    expect(await esbuildError(file)).toBe('no error');
    expect(typescriptError(file, source)).toBe('no error');
  });
});

describe('the TypeScript transformer under a TypeScript it does not support', () => {
  it('TypeScript 4.9: names the supported versions before touching a file', () => {
    // Only `version` differs from today's TypeScript, and it is read before anything else.
    const ts4 = { ...ts, version: '4.9.5' } as typeof ts;
    expect(() => stepmarkTransformer(undefined, {}, { ts: ts4 })).toThrow(
      /supports TypeScript 5\.0 to 6\.x; this is TypeScript 4\.9\.5\. Upgrade TypeScript, or instrument with stepmark\/esbuild-plugin/,
    );
  });

  it('TypeScript 7 (a module with a version and no compiler API): points to the other plugins', () => {
    const ts7 = { version: '7.0.2', versionMajorMinor: '7.0' } as unknown as typeof ts;
    expect(() => stepmarkTransformer(undefined, {}, { ts: ts7 })).toThrow(
      /TypeScript 7\.0\.2 has no transformer API .* stepmark\/esbuild-plugin, stepmark\/vite or stepmark\/babel-plugin/,
    );
  });
});
