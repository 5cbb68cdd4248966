// The Babel plugin on its own: one suite run against Babel 7 and Babel 8. Transforms are
// checked on their output text where the shape is the point (docs/ABI.md), and by running
// the output where behaviour is the point.

import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { capture } from 'stepmark';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import stepmarkPlugin from '../../babel-plugin/index.js';
import { transform as esbuildTransform, loadToolchain } from '../../esbuild-plugin/transform/index.js';
import { resolveOptions } from '../../instrument/options.js';
import { ASYNC_KINDS, expectAsyncFlags } from '../corpus/async-flags.js';
import { REPO_ROOT } from '../corpus/harness.js';
import { SCRATCH_ROOT } from '../support/scratch.js';
import { captureWarnings } from '../support/warnings.js';
import { type BabelMajor, babel, babelOptions, decoratorsPlugin, generalPathPlugin } from './compile.js';

const require = createRequire(import.meta.url);
const FILE = '/project/src/order.ts';

function transform(
  major: BabelMajor,
  code: string,
  options: object | null = {},
  extra: Partial<Parameters<typeof babelOptions>[0]> = {},
) {
  const result = babel(major).transformSync(
    code,
    babelOptions(
      { major, moduleFormat: 'esm', sourceMaps: false, ...extra },
      FILE,
      options === null ? null : { root: '/project', ...options },
    ),
  );
  return result!.code!;
}

/** What `fn` writes to stderr (the plugin's `debug` lines), captured instead of printed. */
function stderrOf(fn: () => void): string[] {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return writes;
}

function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe.each([7, 8] as const)('Babel %i', (major) => {
  it('loads through the package entry from CommonJS (require) and ESM (import)', async () => {
    const cjs = require('stepmark/babel-plugin');
    const esm = await import('stepmark/babel-plugin');
    for (const plugin of [cjs.default ?? cjs, esm.default]) {
      const out = transform(major, '// @stepmark\nfunction f() {}', {}, { plugin, typescript: false });
      expect(out).toContain('__stepmark.enter("f", "src/order.ts:2:1")');
    }
    // Babel resolves the plugin by name, as in a babel.config.json of a project that installed stepmark
    const project = join(SCRATCH_ROOT, 'babel-by-name');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    if (!existsSync(join(project, 'node_modules/stepmark')))
      symlinkSync(REPO_ROOT, join(project, 'node_modules/stepmark'), 'dir');
    const byName = babel(major).transformSync('// @stepmark\nfunction g() {}', {
      filename: FILE,
      cwd: project,
      babelrc: false,
      configFile: false,
      plugins: [['stepmark/babel-plugin', { root: '/project' }]],
    });
    expect(byName!.code).toContain('__stepmark.enter("g", "src/order.ts:2:1")');
  });

  it('emits the frame shape of docs/ABI.md, after the directive prologue', () => {
    const out = transform(
      major,
      '"use strict";\n// @stepmark\nexport function validate(order: { id: string }) {\n  "use asm";\n  return order.id;\n}\n',
    );
    expect(out).toBe(
      [
        '"use strict";',
        '',
        '// @stepmark',
        'import { v2 as __stepmark } from "stepmark/runtime";',
        'export function validate(order) {',
        '  "use asm";',
        '',
        '  const __smf = __stepmark.enter("validate", "src/order.ts:3:8");',
        '  try {',
        '    return __smf.x(order.id);',
        '    __smf.exit();',
        '  } catch (__sme) {',
        '    throw __smf.t(__sme);',
        '  }',
        '}',
      ].join('\n'),
    );
  });

  it('wraps await and yield of the function itself, not of nested functions or for-await', () => {
    const out = transform(
      major,
      '// @stepmark\nasync function* g(xs) {\n  for await (const x of xs) yield x;\n  yield* other();\n  const v = yield;\n  try { await a(); } catch { b(); } finally { c(); }\n  const inner = async () => await d();\n}',
    );
    expect(out).toContain('for await (const x of xs) __smf.r(yield __smf.s(x));');
    expect(out).toContain('__smf.r(yield* __smf.s(other()));');
    expect(out).toContain('const v = __smf.r(yield __smf.s());');
    expect(out).toMatch(/catch \{\s+__smf\.r\(\);\s+b\(\);/);
    expect(out).toMatch(/finally \{\s+__smf\.r\(\);\s+c\(\);/);
    // the nested arrow has its own frame and its own wrapped await
    expect(out).toMatch(
      /const inner = async \(\) => \{\s+const __smf = __stepmark\.enter\("inner", "src\/order\.ts:7:17", 1\);\s+try \{\s+return __smf\.x\(__smf\.r\(await __smf\.s\(d\(\)\)\)\);/,
    );
  });

  it('opens the frame of a derived constructor after its top-level super() and after TypeScript parameter properties', () => {
    const out = transform(
      major,
      'class A extends B {\n  // @stepmark\n  constructor(private x: number) {\n    super(x);\n    this.z = helper();\n    function helper() { return 1; }\n  }\n}',
    );
    // a nested declaration becomes a `var` at the top of the try block, where it sees the body's
    // lexical declarations
    expect(out.replace(/\s+/g, ' ')).toContain(
      'constructor(x) { super(x); this.x = x; const __smf = __stepmark.enter("A.constructor", "src/order.ts:3:3"); try { var helper = function () { return 1; }; this.z = helper(); __smf.exit(); } catch (__sme) { throw __smf.t(__sme); }',
    );
  });

  it('keeps the declarations of a derived constructor at function level when the code up to super() calls one', () => {
    const out = transform(
      major,
      'class A extends B {\n  // @stepmark\n  constructor(private x: number) {\n    const y = norm(x);\n    super(y);\n    const k = 2;\n    this.z = helper() + k;\n    function helper() { return k; }\n    function norm(v) { return v * 2; }\n  }\n}',
    );
    // there they can be called before super(); the frame opens after the last `const`, which they see
    expect(out.replace(/\s+/g, ' ')).toContain(
      'constructor(x) { const y = norm(x); super(y); this.x = x; const k = 2; function helper() { return k; } function norm(v) { return v * 2; } const __smf = __stepmark.enter("A.constructor", "src/order.ts:3:3"); try { this.z = helper() + k; __smf.exit(); } catch (__sme) { throw __smf.t(__sme); }',
    );
  });

  it('writes entity directives as optional chains read only while tracing, never through arguments', () => {
    const out = transform(
      major,
      '/** @stepmark entity=order.customer.id kind=customer */\nconst charge = (order) => order.total;',
    );
    expect(out).toContain(
      '__stepmark.enterEntity("charge", "src/order.ts:2:16", "customer", __stepmark.on() && order?.customer?.id)',
    );
    expect(out).not.toContain('arguments');
  });

  it('writes void 0 for locations: false and leaves bodiless TypeScript members alone', () => {
    const out = transform(
      major,
      '// @stepmark\nexport function f(a: string): void;\nexport function f(a: any) {}\nabstract class S { abstract area(): number; }\ndeclare function g(): void;',
      { locations: false },
    );
    expect(out.match(/__stepmark\.enter\(/g)).toHaveLength(1);
    expect(out).toContain('__stepmark.enter("f", void 0)');
  });

  it('passes FRAME_ASYNC to enter/enterEntity of plain async functions only (not generators or sync functions)', () => {
    expectAsyncFlags(transform(major, ASYNC_KINDS, { locations: false }, { typescript: false }));
    // with locations the flag follows the location
    expect(transform(major, ASYNC_KINDS, {}, { typescript: false })).toContain(
      '__stepmark.enter("load", "src/order.ts:2:8", 1)',
    );
  });

  it('is idempotent: a second pass neither wraps again nor adds a second import', () => {
    const once = transform(
      major,
      '// @stepmark\nimport { step } from "stepmark";\nasync function f() { step("a"); await x; }',
      {},
      { typescript: false },
    );
    const twice = transform(major, once, {}, { typescript: false });
    expect(twice).toBe(once);
  });

  it('adds nothing to a file with nothing to do', () => {
    const code = 'import { step } from "other";\nfunction f() { step("x"); return 1; }';
    expect(transform(major, code, {}, { typescript: false })).toBe(
      transform(major, code, null, { typescript: false }),
    );
  });

  it('rewrites every bound form of the API and nothing else', () => {
    const out = transform(
      major,
      [
        'import { step, enter as begin, scope, type Meta } from "stepmark";',
        'import * as sm from "stepmark";',
        'import smDefault from "stepmark";',
        'import { step as other } from "elsewhere";',
        'const orders = scope("order");',
        'const viaNs = sm.scope("user");',
        'function f(meta: Meta) {',
        '  step("a", meta); begin(); sm.step("b"); sm["stepEntity"]("id", "c"); smDefault.enter();',
        '  orders.step("o1", "d"); viaNs.enter("u1"); other("x"); sm.track("id");',
        '  { const step = (x: string) => x; step("local"); }',
        '}',
      ].join('\n'),
    );
    for (const s of [
      '__stepmark.step("f", "a", meta)',
      '__stepmark.enterUser("f")',
      '__stepmark.step("f", "b")',
      '__stepmark.stepEntity("f", "id", "c")',
      '__stepmark.enterUser("f")',
      '__stepmark.scopeStep(orders, "f", "o1", "d")',
      '__stepmark.scopeEnter(viaNs, "f", "u1")',
      'other("x")',
      'sm.track("id")',
      'step("local")',
    ]) {
      expect(out).toContain(s);
    }
  });

  it('rewrites require forms in CommonJS files and binds the runtime with require(...).abi(2)', () => {
    const code = [
      'const { step, stepEntity: se } = require("stepmark");',
      'const sm = require("stepmark");',
      'const enter = require("stepmark").enter;',
      'function f() { step("a"); se(1, "b"); sm.step("c"); enter(); }',
      'module.exports = { f };',
    ].join('\n');
    const out = transform(major, code, {}, { typescript: false });
    expect(out.split('\n')[0]).toBe('const __stepmark = require("stepmark/runtime").abi(2);');
    for (const s of [
      '__stepmark.step("f", "a")',
      '__stepmark.stepEntity("f", 1, "b")',
      '__stepmark.step("f", "c")',
      '__stepmark.enterUser("f")',
    ]) {
      expect(out).toContain(s);
    }
    // a `require` that is not the global one is not ours
    const shadowed = transform(
      major,
      'const require = (x) => ({ step() {} });\nconst { step } = require("stepmark");\nfunction f() { step("a"); }',
      {},
      { typescript: false },
    );
    expect(shadowed).not.toContain('__stepmark');
  });

  it('honours importSource for the API and the runtime', () => {
    const out = transform(
      major,
      'import { step } from "@acme/trace";\nimport { step as s2 } from "stepmark";\nfunction f() { step("a"); s2("b"); }',
      {
        importSource: '@acme/trace',
      },
    );
    expect(out).toContain('import { v2 as __stepmark } from "@acme/trace/runtime";');
    expect(out).toContain('__stepmark.step("f", "a")');
    expect(out).toContain('s2("b")');
  });

  it('selects files by include/exclude globs relative to root', async () => {
    const code = 'export function f() {}';
    expect(transform(major, code, { include: ['src/**'] })).toContain('__stepmark.enter("f"');
    // root /project does not exist: where include selects no file, the plugin says so (once per
    // process: with the first Babel major only; test/babel/include.test.ts)
    const warnings = await captureWarnings(() => {
      expect(transform(major, code, { include: ['src/**'], exclude: ['**/order.ts'] })).not.toContain(
        '__stepmark',
      );
      expect(
        transform(major, `// @stepmark\n${code}`, { include: ['lib/**'], exclude: ['**/order.ts'] }),
      ).toContain('__stepmark.enter("f"');
    });
    for (const w of warnings) expect(w).toMatchObject({ code: 'STEPMARK_INCLUDE_UNMATCHED' });
  });

  it('rejects unknown options and wrong types by name, at configuration time', () => {
    expect(errorOf(() => transform(major, 'x', { callback: true })).message).toMatch(
      /stepmark\/babel-plugin: Invalid option "callback" \(did you mean "callbacks"\?\)/,
    );
    expect(errorOf(() => transform(major, 'x', { include: 5 })).message).toMatch(
      /option "include" must be a glob string/,
    );
  });

  it.each([
    [
      '// @stepmark\nfunction f() {}\n// @stepmarks\nfunction g() {}',
      /Unknown directive @stepmarks; .* \(3:4\)/,
      '> 3 | // @stepmarks',
    ],
    [
      '/** @stepmark entity=order.id colour=red */\nfunction f(order) {}',
      /Unknown @stepmark option "colour"; known options are entity, kind \(1:31\)/,
      '> 1 | /** @stepmark',
    ],
    [
      '/** @stepmark entity=id */\nfunction f(order) {}',
      /entity=id does not start with a parameter of this function \(parameters: order\) \(1:5\)/,
      '> 1 |',
    ],
    [
      'function f() {\n  // @stepmark\n  return 1;\n}',
      /@stepmark must directly precede a function.* \(2:6\)/,
      '> 2 |   // @stepmark',
    ],
    [
      '// @stepmark\nconst x = 1;\n// @stepmark\nconst y = 2;',
      /must directly precede .* \(3:4\)/,
      '> 3 | // @stepmark',
    ],
    ['// @stepmark entity=this.id\nconst f = () => 1;', /only allowed on methods/, '> 1 |'],
    [
      'const a = 1;\n// @stepmark\nconst handler = wrap(() => a);',
      /must directly precede/,
      '> 2 | // @stepmark',
    ],
  ])('reports a bad directive with file, line and column and a code frame: %s', (code, message, frame) => {
    const e = errorOf(() => transform(major, code, {}, { typescript: false }));
    expect(e.message).toMatch(message);
    expect(e.message).toContain(FILE);
    // Babel 7 colours its code frames when the environment looks like a colour terminal (CI=true does).
    expect(stripVTControlCharacters(e.message)).toContain(frame);
    expect(e.code).toMatch(/^ERR_STEPMARK_/);
  });

  it('prints what it did and skipped with debug: true', () => {
    const writes = stderrOf(() => {
      transform(major, '// @stepmark\nclass A { get g() { return 1; } m() { [1].map(() => 1); } }', {
        debug: true,
      });
    });
    expect(writes.join('')).toBe(
      'stepmark: src/order.ts: file marked (directive), 1 instrumented, 0 calls rewritten, 1 skipped: getter/setter (option "getters" is off), 1 skipped: anonymous function (option "callbacks" is off), frames written at the end of the pass (no other plugin rewrites them)\n',
    );
  });

  it('lets every other plugin of the pass see and rewrite the frames, unless all of them are passive', () => {
    // A plugin that lowers `const` (as preset-env's block scoping does) and counts the try
    // statements it meets: it must see the frames, so they are written as functions are left.
    let trys = 0;
    const lowerConst = () => ({
      name: 'lower-const',
      visitor: {
        VariableDeclaration(path: { node: { kind: string } }) {
          if (path.node.kind === 'const') path.node.kind = 'var';
        },
        TryStatement() {
          trys++;
        },
      },
    });
    const source =
      '// @stepmark\nexport function f(a: number) { return a; }\nexport const g = async () => f(1);';
    const lowered = transform(major, source, {}, { plugins: [lowerConst] });
    expect(lowered).toContain('var __smf = __stepmark.enter("f", "src/order.ts:2:8");');
    expect(lowered).toContain('var __smf = __stepmark.enter("g", "src/order.ts:3:18", 1);');
    expect(trys).toBe(2);
    // With only passive plugins (types, JSX, a module transform after it) the frames wait for the
    // end of the pass and are the same text.
    let passive: string;
    let cjs: string;
    let cjsFirst: string;
    const syntaxJsx = require.resolve('@babel/plugin-syntax-jsx');
    const writes = stderrOf(() => {
      passive = transform(major, source, { debug: true }, { plugins: [syntaxJsx] });
      cjs = transform(major, source, { debug: true }, { moduleFormat: 'cjs' });
      // a module transform before stepmark has done its work when stepmark's exit would run
      const commonjs = require.resolve(
        major === 8
          ? '@babel/plugin-transform-modules-commonjs'
          : '@babel/plugin-transform-modules-commonjs-7',
      );
      cjsFirst = babel(major).transformSync(source, {
        ...babelOptions({ major, moduleFormat: 'esm', sourceMaps: false }, FILE, null),
        plugins: [commonjs, [stepmarkPlugin, { root: '/project', debug: true }]],
      })!.code!;
    });
    expect(passive).toBe(lowered.replaceAll('var ', 'const '));
    expect(cjs).toContain('const __smf = _runtime.v2.enter("f", "src/order.ts:2:8");');
    expect(cjsFirst).toContain('const __smf = _runtime.v2.enter("f", "src/order.ts:2:8");');
    const deferredNote = ', frames written at the end of the pass (no other plugin rewrites them)';
    expect(writes.map((w) => w.endsWith(`${deferredNote}\n`))).toEqual([true, true, false]);
  });
});

describe.each([7, 8] as const)('Babel %i on code TypeScript already compiled', (major) => {
  it('with callbacks: true, skips the enum and namespace functions its TypeScript preset writes, and instruments those in the input, as the esbuild plugin does', async () => {
    const names = (code: string) => [...code.matchAll(/__stepmark\.enter\("([^"]+)"/g)].map((m) => m[1]);
    // TypeScript compiled by Babel's own preset in the same pass: only the user's callback
    const samePass = transform(
      major,
      '// @stepmark\nenum Size { S }\nexport namespace Geo { export const unit = 1; }\n[1].map(function (x) { return x; });',
      { callbacks: true },
    );
    expect(names(samePass)).toEqual(['<anonymous>']);
    // code a compiler produced earlier (as published packages ship it) is input like any other
    const tsOutput = ts.transpileModule(
      'enum Color { Red }\nexport namespace Geo { export function area() { return 1; } }\nexport const run = (f: () => void) => f();',
      { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } },
    ).outputText;
    const source = `// @stepmark\n${tsOutput}\n[1].map(function (x) { return x; });`;
    const fromBabel = names(transform(major, source, { callbacks: true }, { typescript: false }));
    const tools = await loadToolchain('test');
    const fromEsbuild = names(
      esbuildTransform(
        tools,
        source,
        '/project/src/order.js',
        'js',
        resolveOptions({ root: '/project', callbacks: true }),
        false,
      )!.code,
    );
    expect(fromBabel).toEqual(fromEsbuild);
    expect(fromBabel.filter((n) => n === '<anonymous>')).toHaveLength(3); // enum, namespace, callback
  });
});

describe.each([7, 8] as const)('Babel %i transformFromAst', (major) => {
  it('reads directives without the source text', () => {
    const core = babel(major) as unknown as {
      parseSync(code: string, options: object): object;
      transformFromAstSync(ast: object, code: string | undefined, options: object): { code: string };
    };
    const ast = core.parseSync('// @stepmark\nexport function f() { return 1; }', {
      filename: FILE,
      babelrc: false,
      configFile: false,
    });
    const out = core.transformFromAstSync(ast, undefined, {
      filename: FILE,
      babelrc: false,
      configFile: false,
      plugins: [[stepmarkPlugin, { root: '/project' }]],
    });
    expect(out.code).toContain('__stepmark.enter("f", "src/order.ts:2:8")');
  });
});

describe('Babel 8 with the JSX transform in the pass', () => {
  it('shares the traversal, writes the same frames as the general path, and traces components', async () => {
    const source = `// @stepmark
/** @jsx h */
const h = (type: unknown, props: Record<string, unknown> | null, ...children: unknown[]) => ({ type, props, children });
export function Button({ label }: { label: string }) {
  return <button onClick={() => label.length}>{label}</button>;
}
export function App() {
  return <div>{['a', 'bb'].map((label) => Button({ label }))}</div>;
}
`;
    const jsx = [require.resolve('@babel/plugin-transform-react-jsx'), { runtime: 'classic' }];
    // any plugin with a visitor of its own sends the file down the general path
    const other = () => ({ name: 'other', visitor: { Identifier() {} } });
    let passive: string;
    let general: string;
    const writes = stderrOf(() => {
      passive = transform(8, source, { debug: true, callbacks: true }, { plugins: [jsx] });
      general = transform(8, source, { debug: true, callbacks: true }, { plugins: [jsx, other] });
    });
    expect(writes.map((w) => w.includes('frames written at the end of the pass'))).toEqual([true, false]);
    expect(passive).toBe(general);
    expect(passive).toContain('h("button", {');
    expect(passive).toContain('__stepmark.enter("Button", "src/order.ts:4:8")');

    const dir = join(SCRATCH_ROOT, 'babel-jsx');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `app-${Date.now()}.mjs`);
    writeFileSync(file, passive);
    const app = (await import(pathToFileURL(file).href)) as {
      App(): { children: { props: { onClick(): number } }[][] };
    };
    const { result, trace } = await capture(() => {
      const tree = app.App();
      return tree.children[0]!.map((button) => button.props.onClick());
    });
    expect(result).toEqual([1, 2]);
    const names = trace.spans.map((s) => s.name);
    expect(names.filter((n) => n === 'Button')).toHaveLength(2);
    expect(names[0]).toBe('App');
    expect(names.length).toBeGreaterThan(4); // the map callback and the onClick arrows too
  });
});

describe.each([7, 8] as const)('Babel %i with the decorators plugin in the pass', (major) => {
  const plain = `// @stepmark
export class Orders {
  place(id: string) { return id.length; }
}
export function total(n: number) { return n * 2; }
`;
  const decorated = `// @stepmark
const logged = (value: unknown, _context: unknown) => value;
export class Orders {
  @logged place(id: string) { return id.length; }
}
`;
  const withAccessor = `// @stepmark
export class Orders {
  accessor count = 0;
  place(id: string) { return id.length + this.count; }
}
`;
  const decorators = () => ({ plugins: [decoratorsPlugin(major)] });
  const general = () => ({ plugins: [decoratorsPlugin(major), generalPathPlugin()] });

  it('shares the traversal with a file that has no decorators and no accessor, writing what the general path writes', () => {
    let fast = '';
    let slow = '';
    const writes = stderrOf(() => {
      fast = transform(major, plain, { debug: true }, decorators());
      slow = transform(major, plain, { debug: true }, general());
    });
    expect(writes.map((w) => w.includes('frames written at the end of the pass'))).toEqual([true, false]);
    expect(fast).toBe(slow);
    expect(fast).toContain('__stepmark.enter("Orders.place", "src/order.ts:3:3")');
  });

  it('takes the general path for a file with a decorator or an accessor, so the decorators transform rewrites instrumented code', () => {
    const writes = stderrOf(() => {
      for (const source of [decorated, withAccessor]) {
        const code = transform(major, source, { debug: true }, decorators());
        expect(code).toContain('__stepmark.enter("Orders.place"');
        expect(code).not.toMatch(/@logged|accessor count/);
      }
    });
    expect(writes.map((w) => w.includes('frames written at the end of the pass'))).toEqual([false, false]);
  });
});
