// acorn: modules and scripts covering the language (classes, private names, async generators,
// destructuring, regular expressions with every flag, templates, labels, imports with
// attributes), the tokenizer, parseExpressionAt, the callbacks (onComment, onToken,
// onInsertedSemicolon, onTrailingComma), a plugin that extends the Parser class, and syntax errors.
// `log` records the callbacks in the order acorn calls them.

const MODULE = `
import def, { a as b, c } from './dep.js';
import * as ns from "./ns.js" with { type: "json" };
export const answer = 42n, hex = 0xff_ff, float = 1.5e-3;
export default class Shape extends Base {
  #radius = 1;
  static count = 0;
  static { Shape.count++; }
  constructor(r) { super(); this.#radius = r; }
  get area() { return Math.PI * this.#radius ** 2; }
  set area(v) { this.#radius = Math.sqrt(v / Math.PI); }
  static #secret() { return #radius in this; }
  async *walk({ depth = 1, ...rest } = {}, [first, , third] = []) {
    for await (const x of rest.items ?? []) yield* [x?.value, first, third];
  }
}
export async function load(id) {
  label: for (let i = 0; i < 3; i++) {
    try { if (i === 1) continue label; await import(\`./m\${i}.js\`); }
    catch { break label; }
    finally { void i; }
  }
  const re = [/a+b*?/gimsuyd, /[\\p{L}--[a-z]]/v, /(?<year>\\d{4})-(?<m>\\d\\d)\\k<year>/u];
  return { id, re, meta: import.meta.url, tagged: String.raw\`a\${id}b\`, arrow: (x = 1) => ({ x }) };
}
export { b as renamed, ns };
`;

const SCRIPT = `
// a comment
var legacy = function () { with (Math) { return max(1, 2) } };
/* block */ function f(a, b,) { "use strict"; return a
  + b }
x = y
;(function iife() { return typeof arguments })()
switch (legacy()) { case 1: f(); break; default: { let z = 0; z++ } }
do x--; while (x > 0)
if (a) b(); else if (c) d(); else e()
var o = { get p() { return 1 }, set p(v) {}, [computed + 1]: 2, method() {}, async *gen() {} };
`;

const ERRORS = [
  ['let let = 1;', { sourceType: 'script' }],
  ['class A { constructor() {} constructor() {} }', {}],
  ['function f() { "use strict"; with (a) {} }', {}],
  ['export default 1; export default 2;', { sourceType: 'module' }],
  ['/a/gg', {}],
  ['async function f() { await => 1 }', {}],
  ['a => { "use strict"; delete a }', {}],
  ['for (const x of y) { break outer; }', {}],
  ['`unterminated ${', {}],
  ['x = { __proto__: 1, __proto__: 2 }', {}],
  ['class C { #x; #x; }', {}],
  ['0777n', {}],
  ['import x from "y"', { sourceType: 'script' }],
  ['({a: 1} = 1)', {}],
  ['let [a, a] = []', {}],
];

export default function workload(acorn, log) {
  const out = {};
  const base = { ecmaVersion: 'latest', locations: true, ranges: true };

  out.module = acorn.parse(MODULE, {
    ...base,
    sourceType: 'module',
    onComment: (block, text, start, end) => log('comment', block, text, start, end),
    onInsertedSemicolon: (pos) => log('asi', pos),
    onTrailingComma: (pos) => log('trailing comma', pos),
  });
  const tokens = [];
  out.script = acorn.parse(SCRIPT, {
    ecmaVersion: 2022,
    sourceType: 'script',
    allowReturnOutsideFunction: true,
    preserveParens: true,
    onToken: tokens,
    onComment: (block, text) => log('comment', block, text),
    onInsertedSemicolon: (pos, loc) => log('asi', pos, loc),
  });
  out.tokenTypes = tokens.map((t) => t.type.label);

  // The tokenizer as an iterator, with a template and a regular expression.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the tokenizer
  out.tokens = [...acorn.tokenizer('a = `x${b}y` / 2; c = /re/g.test(d)', { ecmaVersion: 2020 })].map((t) => [
    t.type.label,
    t.value,
    t.start,
  ]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the parser
  out.expression = acorn.parseExpressionAt('f(1, ...rest) ?? g?.[h]?.i(`t${u}`) ; ignored', 0, {
    ecmaVersion: 'latest',
  });

  // A plugin, as acorn-jsx and others are written: a subclass with overridden methods.
  const counting = (Parser) =>
    class extends Parser {
      parseLiteral(value) {
        log('literal', value);
        return super.parseLiteral(value);
      }
      readToken(code) {
        this.readTokens = (this.readTokens ?? 0) + 1;
        return super.readToken(code);
      }
    };
  const Extended = acorn.Parser.extend(counting);
  const parser = new Extended({ ecmaVersion: 2020 }, 'const s = "one" + 2 + `three`;');
  out.plugin = { ast: parser.parse(), tokens: parser.readTokens };

  // Every ECMAScript version acorn knows, on the same code.
  out.versions = [5, 2015, 2017, 2018, 2020, 2022, 2024, 'latest'].map((ecmaVersion) => {
    try {
      return [
        ecmaVersion,
        acorn.parse('async () => { for await (const a of b) c?.d ?? e }', { ecmaVersion }).body.length,
      ];
    } catch (e) {
      return [ecmaVersion, e.name, e.message, e.pos];
    }
  });

  out.errors = ERRORS.map(([code, options]) => {
    try {
      acorn.parse(code, { ecmaVersion: 'latest', ...options });
      return [code, 'parsed'];
    } catch (e) {
      return [code, e.constructor.name, e.message, e.pos, e.raisedAt, e.loc];
    }
  });
  out.lineInfo = acorn.getLineInfo('a\nbc\r\nd', 6);
  out.identifiers = ['a', '\u00e9', '1', '$', '\u200c'].map((c) => [
    acorn.isIdentifierStart(c.codePointAt(0), true),
    acorn.isIdentifierChar(c.codePointAt(0), true),
  ]);
  return out;
}
