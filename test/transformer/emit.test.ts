/**
 * What the transformer emits, for each construct docs/ABI.md fixes, under both compilers. These
 * tests read the output text; run.test.ts runs it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import stepmarkTransformer, { type TransformerConfig } from '../../transformer/index.js';
import { ASYNC_KINDS, expectAsyncFlags } from '../corpus/async-flags.js';
import { compilers, OUTPUT, type TypeScript, transpile, transpilePlain } from './helpers.js';

const marked = (body: string) => `// @stepmark\n${body}`;

for (const [label, ts] of Object.entries(compilers)) {
  const compile = (source: string, extra: Parameters<typeof transpile>[1] = {}) =>
    transpile(source, { ts, ...extra }).code;

  describe(`${label}: runtime import`, () => {
    const source = marked('export function f() { return 1; }');
    it('ESM output imports v2 as the first statement', () => {
      for (const module of [
        ts.ModuleKind.ES2015,
        ts.ModuleKind.ES2022,
        ts.ModuleKind.ESNext,
        ts.ModuleKind.Preserve,
      ]) {
        const code = compile(source, { compilerOptions: { module } });
        expect(code.split('\n')[0]).toBe('import { v2 as __stepmark } from "stepmark/runtime";');
      }
    });
    it('CommonJS output requires the runtime with the ABI check, before user code', () => {
      const code = compile(`${source}\nimport { x } from './x';\nx();`, {
        compilerOptions: { module: ts.ModuleKind.CommonJS },
      });
      const lines = code.split('\n');
      const at = lines.indexOf('const __stepmark = require("stepmark/runtime").abi(2);');
      expect(at).toBeGreaterThan(0);
      expect(lines.findIndex((l) => l.includes('require("./x")'))).toBeGreaterThan(at);
      expect(code).not.toContain('import ');
    });
    it('NodeNext follows the file format: .mts is ESM, .cts is CommonJS', () => {
      const nodeNext = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
      expect(compile(source, { fileName: 'a.mts', compilerOptions: nodeNext })).toContain(
        'import { v2 as __stepmark } from "stepmark/runtime";',
      );
      expect(compile(source, { fileName: 'a.cts', compilerOptions: nodeNext })).toContain(
        'const __stepmark = require("stepmark/runtime").abi(2);',
      );
    });
    it('importSource replaces the package', () => {
      expect(compile(source, { options: { importSource: '@acme/trace' } })).toContain(
        'from "@acme/trace/runtime"',
      );
    });
    it('comes after the directive prologue', () => {
      const code = compile(`"use strict";\n// @stepmark\nexport function f() {}`);
      expect(code.split('\n').slice(0, 2)).toEqual([
        '"use strict";',
        'import { v2 as __stepmark } from "stepmark/runtime";',
      ]);
    });
    it('an unmarked file without stepmark calls is left exactly as TypeScript emits it', () => {
      const code = compile('export function f() { return 1; }');
      expect(code).not.toContain('__stepmark');
    });
  });

  describe(`${label}: frames`, () => {
    it('wraps a function body in the ABI frame', () => {
      expect(compile(marked('export function validate(order: unknown) {\n  return !!order;\n}'))).toBe(
        [
          'import { v2 as __stepmark } from "stepmark/runtime";',
          '// @stepmark',
          'export function validate(order) {',
          '    const __smf = __stepmark.enter("validate", "src/example.ts:2:8");',
          '    try {',
          '        return __smf.x(!!order);',
          '        __smf.exit();',
          '    }',
          '    catch (__sme) { throw __smf.t(__sme); }',
          '}',
          '',
        ].join('\n'),
      );
    });
    it('writes void 0 when locations are off', () => {
      expect(compile(marked('function f() {}'), { options: { locations: false } })).toContain(
        'const __smf = __stepmark.enter("f", void 0);',
      );
    });
    it('keeps a function prologue first', () => {
      const code = compile(marked('function f() {\n  "use strict";\n  return 1;\n}'));
      expect(code).toMatch(/function f\(\) \{\n {4}"use strict";\n {4}const __smf = /);
    });
    it('turns an expression-bodied arrow into return inside the try', () => {
      const code = compile(marked('export const double = (n: number) => n * 2;'));
      expect(code).toContain(
        'const __smf = __stepmark.enter("double", "src/example.ts:2:23");\n    try {\n        return __smf.x(n * 2);',
      );
    });
    it('wraps await, yield, yield* and bare yield of the function itself, not of nested functions', () => {
      const code = compile(
        marked(
          [
            'async function a(p: Promise<number>) { const v = await p; [p].map(async (q) => await q); for await (const x of [p]) {} return v; }',
            'function* g() { yield 1; yield* [2]; const r = yield; }',
            'async function* ag(p: Promise<number>) { yield await p; }',
          ].join('\n'),
        ),
      );
      expect(code).toContain('const v = __smf.r(await __smf.s(p));');
      expect(code).toContain('[p].map(async (q) => await q);');
      expect(code).toContain('for await (const x of [p]) { }');
      expect(code).toContain('__smf.r(yield __smf.s(1));');
      expect(code).toContain('__smf.r(yield* __smf.s([2]));');
      expect(code).toContain('const r = __smf.r(yield __smf.s());');
      expect(code).toContain('__smf.r(yield __smf.s(__smf.r(await __smf.s(p))));');
    });
    it('opens a derived constructor frame after super(), with parameter properties before it', () => {
      const code = compile(
        marked(
          'class A { constructor(public a: number) {} }\nclass B extends A {\n  constructor(a: number, private b: string) {\n    "use strict";\n    const x = a + 1;\n    super(x);\n    this.b = b;\n  }\n}',
        ),
      );
      expect(code).toContain(
        [
          '    constructor(a, b) {',
          '        "use strict";',
          '        const x = a + 1;',
          '        super(x);',
          '        this.b = b;',
          '        const __smf = __stepmark.enter("B.constructor", "src/example.ts:4:3");',
          '        try {',
          '            this.b = b;',
          '            __smf.exit();',
          '        }',
        ].join('\n'),
      );
      // A base constructor: TypeScript puts its parameter-property assignments first.
      expect(code).toMatch(
        /constructor\(a\) \{\n {8}this\.a = a;\n {8}const __smf = __stepmark\.enter\("A\.constructor"/,
      );
    });
    it('wraps a derived constructor whole when super() is not a top-level statement', () => {
      const code = compile(
        marked('class A {}\nclass B extends A { constructor(f: boolean) { if (f) super(); else super(); } }'),
      );
      expect(code).toMatch(
        /constructor\(f\) \{\n {8}const __smf = __stepmark\.enter\("B\.constructor"[^\n]*\n {8}try \{\n {12}if \(f\)\n {16}super\(\);/,
      );
    });
    it('emits nothing for overloads, abstract members and declarations', () => {
      const code = compile(
        marked(
          [
            'export function o(a: string): string;',
            'export function o(a: number): number;',
            'export function o(a: any) { return a; }',
            'abstract class C { abstract m(): void; declare x: number; }',
            'declare function d(): void;',
            'declare class D { m(): void; }',
          ].join('\n'),
        ),
      );
      expect(code.match(/__stepmark\.enter\(/g)).toHaveLength(1);
      expect(code).toContain('__stepmark.enter("o", ');
    });
    it('names per docs/NAMING.md', () => {
      const code = compile(
        marked(
          [
            'export class Order { static make() {} #p() {} get total() { return 1; } handler = () => 1; }',
            'export const api = { list() {}, nested: { deep: function () {} } };',
            'export default function () {}',
            'exports.legacy = function () {};',
          ].join('\n'),
        ),
        { options: { getters: true } },
      );
      for (const name of [
        'Order.make',
        'Order.#p',
        'Order.get total',
        'Order.handler',
        'api.list',
        'api.nested.deep',
        'default',
        'exports.legacy',
      ]) {
        expect(code).toContain(`__stepmark.enter("${name}", `);
      }
    });
    it('is idempotent: instrumenting the output again changes nothing', () => {
      const once = compile(
        marked('export async function f(p: Promise<void>) { await p; }\nexport const g = () => 1;'),
        {
          compilerOptions: { target: ts.ScriptTarget.ESNext },
        },
      );
      const again = {
        fileName: 'src/example.js',
        compilerOptions: { allowJs: true, target: ts.ScriptTarget.ESNext },
      };
      const twice = compile(once, again);
      // TypeScript reprints what it parses in its own layout (the frame's one-line blocks over
      // several lines): compare with that reprint, without the transformer.
      expect(once.match(/const __smf = /g)).toHaveLength(2);
      expect(twice).toBe(transpilePlain(once, { ts, ...again }));
    });

    it('passes FRAME_ASYNC to enter/enterEntity of plain async functions only (not generators or sync functions)', () => {
      expectAsyncFlags(
        compile(ASYNC_KINDS, {
          fileName: 'src/example.js',
          compilerOptions: { allowJs: true },
          options: { locations: false },
        }),
      );
      // with locations the flag follows the location
      expect(
        compile(ASYNC_KINDS, { fileName: 'src/example.js', compilerOptions: { allowJs: true } }),
      ).toContain('__stepmark.enter("load", "src/example.js:2:8", 1)');
      // downlevelled to __awaiter's generator the function still suspends only at awaits: the flag stays
      const es2015 = compile(ASYNC_KINDS, {
        fileName: 'src/example.js',
        compilerOptions: { allowJs: true, target: ts.ScriptTarget.ES2015 },
        options: { locations: false },
      });
      expect(es2015).toMatch(
        /__awaiter\(this, void 0, void 0, function\* \(\) \{\s+const __smf = __stepmark\.enter\("load", void 0, 1\);/,
      );
    });
  });

  describe(`${label}: entity directives`, () => {
    it('emits enterEntity with a guarded optional chain', () => {
      const code = compile(
        '/** @stepmark entity=order.customer.id kind=order */\nexport function place(order: any) {}',
      );
      expect(code).toContain(
        'const __smf = __stepmark.enterEntity("place", "src/example.ts:2:8", "order", __stepmark.on() && order?.customer?.id);',
      );
    });
    it('passes null for a missing kind and reads this', () => {
      const code = compile('class S {\n  // @stepmark entity=this.id\n  m() {}\n}');
      expect(code).toContain(
        '__stepmark.enterEntity("S.m", "src/example.ts:3:3", null, __stepmark.on() && this?.id);',
      );
    });
  });

  describe(`${label}: explicit calls`, () => {
    const run = (source: string) => compile(source);
    it('rewrites named, aliased, namespace and default imports', () => {
      const code = run(
        [
          "import { step, enter as open, stepEntity, enterEntity } from 'stepmark';",
          "import * as sm from 'stepmark';",
          "import def from 'stepmark';",
          'function f(o: any) { step("a", { n: 1 }); open(); stepEntity(o.id, "b"); enterEntity(o.id); sm.step("c"); def.enter({ k: 1 }); }',
        ].join('\n'),
      );
      expect(code).toContain('__stepmark.step("f", "a", { n: 1 });');
      expect(code).toContain('__stepmark.enterUser("f");');
      expect(code).toContain('__stepmark.stepEntity("f", o.id, "b");');
      expect(code).toContain('__stepmark.enterEntityUser("f", o.id);');
      expect(code).toContain('__stepmark.step("f", "c");');
      expect(code).toContain('__stepmark.enterUser("f", { k: 1 });');
      expect(code).not.toContain('__smf');
    });
    it('rewrites require forms and scope() results', () => {
      const code = run(
        [
          "const sm = require('stepmark');",
          "const { step: s } = require('stepmark');",
          "import eq = require('stepmark');",
          "const orders = sm.scope('order');",
          'function f(id: string) { sm.step("a"); s("b"); eq.step("c"); orders.step(id, "d", { x: 1 }); orders.enter(id); }',
        ].join('\n'),
        // `import x = require` needs CommonJS output
      );
      expect(code).toContain('__stepmark.step("f", "a");');
      expect(code).toContain('__stepmark.step("f", "b");');
      expect(code).toContain('__stepmark.step("f", "c");');
      expect(code).toContain('__stepmark.scopeStep(orders, "f", id, "d", { x: 1 });');
      expect(code).toContain('__stepmark.scopeEnter(orders, "f", id);');
    });
    it('leaves calls of shadowing locals alone', () => {
      const code = run(
        [
          "import { step } from 'stepmark';",
          'function a(step: (x: string) => void) { step("param"); }',
          'function b() { const step = (x: string) => x; step("local"); }',
          'function c() { if (true) { var step = (x: string) => x; } step("var"); }',
          'function d() { step("hoisted"); function step(x: string) {} }',
          'function e() { try {} catch (step) { (step as any)("catch"); } }',
          'function g() { step("real"); }',
        ].join('\n'),
      );
      for (const kept of ['param', 'local', 'var', 'hoisted']) expect(code).toContain(`step("${kept}")`);
      expect(code).toContain('step("catch")');
      expect(code).toContain('__stepmark.step("g", "real");');
      expect(code.match(/__stepmark\.step\(/g)).toHaveLength(1);
    });
    it('a local function named step is not the import', () => {
      const code = run('function step(x: string) {}\nfunction f() { step("x"); }');
      expect(code).not.toContain('__stepmark');
    });
    it('names module level, class initializers and anonymous callbacks', () => {
      const code = run(
        [
          "import { step } from 'stepmark';",
          'step("top");',
          'class K { x = step("field"); static { step("block"); } static y = step("static"); m() { [1].forEach(() => step("cb")); } }',
        ].join('\n'),
      );
      expect(code).toContain('__stepmark.step("<module>", "top");');
      expect(code).toContain('__stepmark.step("K.<instance_members_initializer>", "field")');
      expect(code).toContain('__stepmark.step("K.<static_initializer>", "block")');
      expect(code).toContain('__stepmark.step("K.<static_initializer>", "static")');
      expect(code).toContain('__stepmark.step("K.m.<anonymous>", "cb")');
    });
    it('keeps spread arguments as spreads', () => {
      const code = run("import { step } from 'stepmark';\nfunction f(a: [string]) { step(...a); }");
      expect(code).toContain('__stepmark.step("f", ...a);');
    });
  });

  describe(`${label}: errors name file, line and column`, () => {
    it('an unknown directive option', () => {
      expect(() =>
        compile('function f() {}\n/** @stepmark entity=a.b colour=red */\nfunction g(a: any) {}'),
      ).toThrowError(/src\/example\.ts:2:26: Unknown @stepmark option "colour"/);
    });
    it('an entity that is not a parameter', () => {
      expect(() => compile('// @stepmark entity=order.id\nfunction g(o: any) {}')).toThrowError(
        /example\.ts:1:4: entity=order\.id does not start with a parameter/,
      );
    });
    it('a directive that attaches to nothing', () => {
      expect(() => compile('function f() {\n  const x = 1;\n  // @stepmark\n  return x;\n}')).toThrowError(
        /example\.ts:3:6: @stepmark must directly precede/,
      );
    });
    it('an unknown option', () => {
      expect(() => compile('', { options: { callback: true } as never })).toThrowError(
        /Invalid option "callback" \(did you mean "callbacks"\?\)/,
      );
    });
    it('text in strings and templates is not a directive', () => {
      expect(() =>
        compile(
          'const s = "// @stepmark-nope";\nconst t = `x $' +
            '{s} // @stepmark-nope`;\nconst r = /\\/\\/ @stepmark-nope/;',
        ),
      ).not.toThrow();
    });
  });
}

describe('entity=this in a derived constructor', () => {
  it('is an error when the frame would open before super()', () => {
    const source =
      'class A {}\nclass B extends A {\n  // @stepmark entity=this.id\n  constructor(ok: boolean) {\n    if (ok) super();\n    else super();\n  }\n}';
    expect(() => transpile(source)).toThrowError(/example\.ts:3:6: entity=this… is only allowed/);
    expect(() => transpile(source.replace('if (ok) super();\n    else super();', 'super();'))).not.toThrow();
  });
});

describe('ts-jest astTransformers entry', () => {
  it('exports name, version and a factory that uses the compiler module ts-jest passes', async () => {
    const entry = await import('../../transformer/index.js');
    expect(entry.name).toBe('stepmark/transformer');
    expect(entry.version).toMatch(/^abi2\./);
    const ts = compilers['typescript 5.9']!;
    const out = ts.transpileModule('// @stepmark\nexport function f() {}', {
      fileName: 'a.ts',
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      transformers: { before: [entry.factory({ configSet: { compilerModule: ts } }, { root: '.' })] },
    });
    expect(out.outputText).toContain('const __smf = __stepmark.enter("f", "a.ts:2:8");');
  });

  // ts-jest builds a program from tsconfig.json, but the options come from the Jest config: the
  // error must not send the user to tsconfig.json's compilerOptions.plugins.
  it('names the Jest config, not tsconfig.json, as where a bad option was written', async () => {
    const entry = await import('../../transformer/index.js');
    const ts = compilers['typescript 5.9']!;
    const program = ts.createProgram({ rootNames: [], options: { configFilePath: '/app/tsconfig.json' } });
    const bad = { includ: ['src/**'] } as never;
    const fromJest = () => entry.factory({ configSet: { compilerModule: ts }, program }, bad);
    expect(fromJest).toThrowError(
      /Invalid option "includ".* — fix it in the Jest config \(ts-jest's astTransformers\)$/,
    );
    // options passed in code (ts-loader's getCustomTransformers, program.emit): no place to name
    const inCode = () => entry.stepmarkTransformer(program, bad, { ts });
    expect(inCode).toThrowError(/Invalid option "includ"/);
    expect(inCode).not.toThrowError(/tsconfig/);
  });
});

describe('debug option', () => {
  it('prints per file what was instrumented and what was skipped and why', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      transpile(
        "// @stepmark\nimport { step } from 'stepmark';\nfunction f() { step('x'); }\n// @stepmark-ignore\nfunction g() {}\nclass A { get v() { return 1; } }",
        {
          options: { debug: true },
        },
      );
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('')).toBe(
      '[stepmark] src/example.ts: directive; instrumented 1 [f]; rewrote 1 call(s); skipped g (@stepmark-ignore), A.get v (getter/setter (option "getters" is off))\n',
    );
  });
});

describe('an include that selects no file of the program', () => {
  function createWith(ts: TypeScript, options: TransformerConfig, files: Record<string, string>): string {
    const dir = join(OUTPUT, 'include-warning');
    mkdirSync(join(dir, 'src'), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const program = ts.createProgram(
      Object.keys(files).map((f) => join(dir, f)),
      { noEmit: true },
    );
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      stepmarkTransformer(program, { ...options, root: dir }, { ts });
    } finally {
      spy.mockRestore();
    }
    return lines.join('');
  }

  it.each(Object.entries(compilers))('%s: is a warning when the transformer is created', (_, ts) => {
    const files = { 'src/orders.ts': 'export function f() {}\n' };
    expect(createWith(ts, { include: ['src/servics/**'] }, files)).toBe(
      `[stepmark] stepmark/transformer: warning: include ["src/servics/**"] matched no file of this program (patterns are relative to root ${JSON.stringify(join(OUTPUT, 'include-warning'))})\n`,
    );
    expect(createWith(ts, { include: ['src/**'] }, files)).toBe('');
    // matched, then taken out again by exclude: nothing selected either
    expect(createWith(ts, { include: ['src/**'], exclude: ['**/orders.ts'] }, files)).toContain(
      'matched no file',
    );
  });
});

describe('legacy decorators with metadata (NestJS style) and TSX', () => {
  it('keeps experimentalDecorators and emitDecoratorMetadata output intact', () => {
    const code = transpile(
      [
        '// @stepmark',
        'function Log(): MethodDecorator { return (_t, _k, d) => d; }',
        'function Param(): ParameterDecorator { return () => {}; }',
        'function Injectable(): ClassDecorator { return () => {}; }',
        'class Dep {}',
        '@Injectable()',
        'export class Svc {',
        '  constructor(private readonly dep: Dep) {}',
        '  @Log()',
        '  async run(@Param() id: string): Promise<string> { await null; return id; }',
        '}',
      ].join('\n'),
      { compilerOptions: { experimentalDecorators: true, emitDecoratorMetadata: true } },
    ).code;
    expect(code).toContain('const __smf = __stepmark.enter("Svc.run", "src/example.ts:10:9", 1);');
    expect(code).toContain('__metadata("design:paramtypes", [String])');
    expect(code).toContain('__metadata("design:paramtypes", [Dep])');
    expect(code).toContain('__param(0, Param())');
  });
  it('instruments TSX and does not read JSX text or attributes as directives', () => {
    const code = transpile(
      '// @stepmark\nexport function App({ name }: { name: string }) {\n  return <div title="// @stepmark-bogus">Hi {name} // @stepmark-bogus</div>;\n}',
      { fileName: 'src/app.tsx', compilerOptions: { jsx: 4 /* ReactJSX */ } },
    ).code;
    expect(code).toContain('const __smf = __stepmark.enter("App", "src/app.tsx:2:8");');
  });
});
