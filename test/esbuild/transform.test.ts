/**
 * The oxc transform's emitted text for the shapes docs/ABI.md fixes, checked on the transform
 * itself (the corpus checks behaviour; this checks the exact code and the edits' placement),
 * plus idempotence: instrumenting instrumented code changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { loadToolchain, transform } from '../../esbuild-plugin/transform/index.js';
import { resolveOptions } from '../../instrument/options.js';
import { ASYNC_KINDS, expectAsyncFlags } from '../corpus/async-flags.js';

const tools = await loadToolchain('test');
const options = resolveOptions({ root: '/project' });

function instrument(source: string, file = '/project/src/a.ts', opts = options): string {
  const language = file.endsWith('.js') || file.endsWith('.cjs') ? 'js' : 'ts';
  return transform(tools, source, file, language, opts)?.code ?? source;
}

const CLOSE = '__smf.exit(); } catch (__sme) { throw __smf.t(__sme); }';
const CLOSE_FINALLY = '} catch (__sme) { __smf.fail(__sme); throw __sme; } finally { __smf.exit(); }';

describe('emitted code', () => {
  it('wraps a body in enter / try / catch, closes the span at returns, and imports the runtime first (ESM)', () => {
    expect(instrument('// @stepmark\nimport x from "x";\nexport function f(a) {\n  return a;\n}\n')).toBe(
      '// @stepmark\nimport { v2 as __stepmark } from "stepmark/runtime";import x from "x";\n' +
        'export function f(a) { const __smf = __stepmark.enter("f", "src/a.ts:3:8"); try { \n  return __smf.x(a);\n ' +
        `${CLOSE} }\n`,
    );
  });

  it('closes generators in finally, and leaves returns before super() alone', () => {
    const out = instrument(
      '// @stepmark\nfunction* g() { return 1; }\nclass A extends B { constructor(c) { if (c) return c; super(); if (!c) return; } }\nconst h = () => x\n',
    );
    expect(out).toContain(
      `function* g() { const __smf = __stepmark.enter("g", "src/a.ts:2:1"); try {  return 1;  ${CLOSE_FINALLY} }`,
    );
    expect(out).toContain(
      `constructor(c) { if (c) return c; super(); const __smf = __stepmark.enter("A.constructor", "src/a.ts:3:21"); try {  if (!c) return __smf.x();  ${CLOSE} }`,
    );
    // a last statement without its `;` does not run into the closing exit()
    expect(instrument('// @stepmark\nfunction k() { foo() }\n')).toContain('try {  foo()  ;__smf.exit(); }');
    expect(out).toContain(
      'const h = () => { const __smf = __stepmark.enter("h", "src/a.ts:4:11"); try { return __smf.x(x); } catch (__sme) { throw __smf.t(__sme); } }',
    );
  });

  it('keeps line numbers: every insertion stays on an existing line', () => {
    const source =
      '// @stepmark\nclass A extends B {\n  constructor() {\n    super();\n    this.x = 1;\n  }\n  async m() {\n    await f();\n  }\n}\n';
    const out = instrument(source);
    expect(out.split('\n').length).toBe(source.split('\n').length);
  });

  it('uses the require form for CommonJS files', () => {
    expect(instrument('// @stepmark\nmodule.exports = function f() {};\n', '/project/a.cjs')).toContain(
      'const __stepmark = require("stepmark/runtime").abi(2);module.exports',
    );
  });

  it('keeps a hashbang and the directive prologue first', () => {
    const out = instrument(
      '#!/usr/bin/env node\n"use strict";\n// @stepmark\nfunction f() { "use strict"; return 1; }\n',
    );
    expect(out).toMatch(
      /^#!\/usr\/bin\/env node\n"use strict";\n\/\/ @stepmark\nimport \{ v2 as __stepmark \}/,
    );
    expect(out).toContain('function f() { "use strict"; const __smf = __stepmark.enter("f"');
  });

  it('opens the frame after super() in a derived constructor, and wraps await / yield', () => {
    const out = instrument(
      '// @stepmark\nclass A extends B { constructor(private x: number) { super(x); this.y = 1; } async *g() { const v = await p; yield v; yield; yield* q(); } }\n',
    );
    expect(out).toContain('super(x); const __smf = __stepmark.enter("A.constructor"');
    expect(out).toContain(
      'const v = __smf.r(await __smf.s(p)); __smf.r(yield __smf.s(v)); __smf.r(yield __smf.s()); __smf.r(yield* __smf.s(q()));',
    );
  });

  it('turns an expression-bodied arrow into a block with return, and resumes in catch/finally after a suspension', () => {
    const out = instrument(
      '// @stepmark\nconst f = async (x) => ({ v: await x });\nasync function g() { try { await h(); } catch (e) { log(e); } finally { done(); } }\n',
    );
    expect(out).toContain(
      'const f = async (x) => { const __smf = __stepmark.enter("f", "src/a.ts:2:11", 1); try { return __smf.x(({ v: __smf.r(await __smf.s(x)) })); ',
    );
    expect(out).toContain('catch (e) { __smf.r(); log(e); } finally { __smf.r(); done(); }');
  });

  it('passes FRAME_ASYNC to enter/enterEntity of plain async functions only (not generators or sync functions)', () => {
    expectAsyncFlags(
      instrument(ASYNC_KINDS, '/project/src/a.js', resolveOptions({ root: '/project', locations: false })),
    );
    // with locations the flag follows the location
    expect(instrument(ASYNC_KINDS, '/project/src/a.js')).toContain(
      '__stepmark.enter("load", "src/a.js:2:8", 1)',
    );
  });

  it('turns function declarations into vars at the top of the try block (scope, hoisting, var redeclarations)', () => {
    const out = instrument(
      '// @stepmark\nfunction f() { const k = 1; var x = 1; function x() { return k; } return typeof x; }\n',
    );
    expect(out).toContain(
      'function f() { const __smf = __stepmark.enter("f", "src/a.ts:2:1"); try {  var x = function () { const __smf = __stepmark.enter("x", "src/a.ts:2:40"); try {  return __smf.x(k);  __smf.exit(); } catch (__sme) { throw __smf.t(__sme); } };const k = 1; var x = 1;  return __smf.x(typeof x);  __smf.exit(); } catch (__sme) { throw __smf.t(__sme); } }',
    );
  });

  it('entity directives read the parameter path as an optional chain, only when tracing', () => {
    const out = instrument(
      '/** @stepmark entity=order.customer.id kind=order */\nexport function f(order) {}\n',
    );
    expect(out).toContain(
      '__stepmark.enterEntity("f", "src/a.ts:2:8", "order", __stepmark.on() && order?.customer?.id)',
    );
  });

  it('writes void 0 for the location when locations are off', () => {
    expect(
      instrument(
        '// @stepmark\nfunction f() {}\n',
        undefined,
        resolveOptions({ root: '/project', locations: false }),
      ),
    ).toContain('__stepmark.enter("f", void 0)');
  });

  it('rewrites explicit calls in unmarked files, leaving spreads and type arguments in place', () => {
    const out = instrument(
      "import { step, enter as e } from 'stepmark';\nfunction f(...a) { step<string>(...a); using _ = e(); }\n",
    );
    expect(out).toContain('__stepmark.step<string>("f", ...a)');
    expect(out).toContain('__stepmark.enterUser("f")');
    expect(out).not.toContain('__stepmark.enter(');
  });

  it('binds every require form the Babel plugin binds, and only the global require', () => {
    const out = instrument(
      [
        "const step1 = require('stepmark').step;",
        "const sm = require('stepmark');",
        "function a() { step1('one'); sm['step']('two'); }",
        "function b() { const { step: s } = require('stepmark'); s('three'); }",
        "function c(require) { const { step } = require('stepmark'); step('local require'); }",
        '',
      ].join('\n'),
      '/project/a.cjs',
    );
    expect(out).toContain('__stepmark.step("a", \'one\')');
    expect(out).toContain('__stepmark.step("a", \'two\')');
    expect(out).toContain('__stepmark.step("b", \'three\')');
    expect(out).toContain("step('local require')");
  });

  it('honours importSource for the runtime import and the calls it rewrites', () => {
    const out = instrument(
      "// @stepmark\nimport { step } from '@acme/trace';\nimport { step as other } from 'stepmark';\nexport function f() { step('a'); other('b'); }\n",
      undefined,
      resolveOptions({ root: '/project', importSource: '@acme/trace' }),
    );
    expect(out).toContain('import { v2 as __stepmark } from "@acme/trace/runtime";');
    expect(out).toContain('__stepmark.step("f", \'a\')');
    expect(out).toContain("other('b')");
  });
});

describe('idempotence', () => {
  const sources = [
    '// @stepmark\nimport { step } from "stepmark";\nexport class A extends B { constructor() { super(); } async m() { await x; step("s"); } }\nexport const f = () => 1;\n',
    '// @stepmark\nfunction g() { function h() {} return h(); }\nfunction* gen() { yield 1; }\n',
  ];
  for (const [i, source] of sources.entries()) {
    it(`instrumenting twice equals instrumenting once (${i + 1})`, () => {
      const once = instrument(source);
      expect(once).not.toBe(source);
      // The runtime import and rewritten calls are recognised; frames carry the marker.
      expect(instrument(once)).toBe(once);
    });
  }
});
