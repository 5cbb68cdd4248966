import { parseSync, visitorKeys } from 'oxc-parser';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../instrument/estree/analyze.js';
import { firstStatementOffset, type Node } from '../../instrument/estree/ast.js';
import { DirectiveIndex } from '../../instrument/estree/directives.js';
import {
  assignmentBinds,
  checkEntityRoot,
  classInitializerName,
  combineDirectives,
  enterCallText,
  entityAccessText,
  type FunctionSite,
  frameSpec,
  functionName,
  globToRegExp,
  ineligibility,
  isFileDirective,
  LineIndex,
  type MarkDirective,
  matchesAnyGlob,
  mergeDirectives,
  parseComment,
  planBody,
  projectRelativePath,
  resolveOptions,
  runtimeImportCjs,
  runtimeImportEsm,
  StepmarkDirectiveError,
  StepmarkOptionsError,
  selectFile,
  selectFunction,
} from '../../instrument/index.js';
import { unusedDeclarations } from '../../instrument/strip.js';

describe('options', () => {
  it('fills defaults', () => {
    const o = resolveOptions(undefined, { host: 'x' });
    expect(o).toMatchObject({
      include: [],
      exclude: [],
      callbacks: false,
      getters: false,
      locations: true,
      importSource: 'stepmark',
      debug: false,
    });
    expect(o.root).toBe(process.cwd());
  });
  it('rejects an unknown option by name, with a suggestion', () => {
    expect(() => resolveOptions({ callback: true }, { host: 'stepmark/babel-plugin' })).toThrowError(
      /stepmark\/babel-plugin: Invalid option "callback" \(did you mean "callbacks"\?\)/,
    );
    try {
      resolveOptions({ nope: 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(StepmarkOptionsError);
      expect((e as StepmarkOptionsError).option).toBe('nope');
      expect((e as Error).message).not.toMatch(/did you mean/);
    }
  });
  it('rejects wrong types', () => {
    expect(() => resolveOptions({ include: 3 })).toThrowError(/"include" must be a glob string/);
    expect(() => resolveOptions({ locations: 'yes' })).toThrowError(
      /"locations" must be true or false, got "yes"/,
    );
    expect(() => resolveOptions({ importSource: '' })).toThrowError(/must not be empty/);
    expect(() => resolveOptions([])).toThrowError(/options must be an object/);
  });
  it('lets a host allow its own keys', () => {
    expect(() =>
      resolveOptions({ transform: 'stepmark/transformer' }, { allow: ['transform'] }),
    ).not.toThrow();
  });
  it('selects files by directive, include and exclude', () => {
    const o = resolveOptions({ include: ['src/**/*.ts'], exclude: '**/*.test.ts' });
    expect(selectFile('src/a/b.ts', false, o)).toBe('include');
    expect(selectFile('src/a/b.test.ts', false, o)).toBe('excluded');
    expect(selectFile('src/a/b.test.ts', true, o)).toBe('directive');
    expect(selectFile('lib/b.ts', false, o)).toBe('none');
  });
});

describe('globs', () => {
  it.each([
    ['src/**/*.ts', 'src/x.ts', true],
    ['src/**/*.ts', 'src/a/b/x.ts', true],
    ['src/**/*.ts', 'lib/x.ts', false],
    ['src/*.ts', 'src/a/x.ts', false],
    ['*.service.ts', 'deep/er/order.service.ts', true],
    ['./src/{a,b}/*.ts', 'src/b/x.ts', true],
    ['src/[ab].ts', 'src/c.ts', false],
    ['src/[!a].ts', 'src/c.ts', true],
    ['src/**', 'src/x/y.js', true],
    ['src/file.ts', 'src/fileXts', false],
  ])('%s ~ %s = %s', (pattern, path, expected) => {
    expect(globToRegExp(pattern).test(path)).toBe(expected);
    expect(matchesAnyGlob(path, ['nothing', pattern])).toBe(expected);
  });
});

describe('directives', () => {
  it('parses line, block and JSDoc forms with absolute offsets', () => {
    expect(parseComment('// @stepmark', 10)).toEqual([{ type: 'mark', offset: 13, length: 9 }]);
    expect(parseComment('/** @stepmark */')).toEqual([{ type: 'mark', offset: 4, length: 9 }]);
    expect(parseComment('// @stepmark-ignore')).toEqual([{ type: 'ignore', offset: 3, length: 16 }]);
    const [d] = parseComment(
      '/**\n * Validates.\n * @stepmark entity=order.id kind=order\n */',
    ) as MarkDirective[];
    expect(d).toMatchObject({
      type: 'mark',
      kind: 'order',
      entity: { text: 'order.id', segments: ['order', 'id'] },
    });
    expect(entityAccessText(d!.entity!)).toBe('order?.id');
    expect(parseComment('// @stepmark kind="big order" entity=o?.id')).toMatchObject([
      { kind: 'big order', entity: { text: 'o.id' } },
    ]);
  });
  it('ignores comments that only mention the word', () => {
    expect(parseComment('// see the @stepmark docs')).toEqual([]);
    expect(parseComment('/* plain */')).toEqual([]);
  });
  const bad: [string, RegExp, number][] = [
    ['// @stepmarks', /Unknown directive @stepmarks/, 3],
    ['// @stepmark-off', /Unknown directive @stepmark-off/, 3],
    ['// @stepmark entity=order.id colour=red', /Unknown @stepmark option "colour"/, 29],
    ['// @stepmark entity', /options are written key=value/, 13],
    ['// @stepmark entity=a entity=b', /Duplicate @stepmark option "entity"/, 22],
    ['// @stepmark entity=a..b', /Invalid entity path "a\.\.b"/, 20],
    ['// @stepmark entity=a.this', /Invalid entity path/, 20],
    ['// @stepmark kind=order', /"kind" needs "entity"/, 13],
    ['// @stepmark kind="x', /Unterminated/, 18],
    ['// @stepmark-ignore please', /takes no options/, 20],
    ['// @stepmark(x)', /Unknown directive/, 3],
  ];
  it.each(bad)('%s is an error at its offset', (text, message, offset) => {
    let error: unknown;
    try {
      parseComment(text, 100);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StepmarkDirectiveError);
    expect((error as Error).message).toMatch(message);
    expect((error as StepmarkDirectiveError).offset).toBe(100 + offset);
  });
  it('combines directives of one declaration', () => {
    const mark = parseComment('// @stepmark')[0]!;
    const withOptions = parseComment('// @stepmark entity=a')[0]!;
    const ignore = parseComment('// @stepmark-ignore')[0]!;
    expect(combineDirectives([mark, withOptions])).toBe(withOptions);
    expect(combineDirectives([])).toBeUndefined();
    expect(() => combineDirectives([mark, ignore])).toThrowError(/contradict/);
    expect(() => combineDirectives([withOptions, withOptions])).toThrowError(/Only one/);
    expect(isFileDirective(mark)).toBe(true);
    expect(isFileDirective(withOptions)).toBe(false);
    expect(isFileDirective(ignore)).toBe(false);
  });
  it('checks the entity root against the parameters', () => {
    const d = parseComment('// @stepmark entity=order.id')[0] as MarkDirective;
    expect(() => checkEntityRoot(d, ['order'], false)).not.toThrow();
    expect(() => checkEntityRoot(d, ['o'], true)).toThrowError(
      /does not start with a parameter .*parameters: o/,
    );
    const t = parseComment('// @stepmark entity=this.id')[0] as MarkDirective;
    expect(() => checkEntityRoot(t, [], true)).not.toThrow();
    expect(() => checkEntityRoot(t, [], false)).toThrowError(/only allowed on methods/);
  });
});

describe('naming', () => {
  const id = (name: string) => ({ type: 'identifier', name }) as const;
  const member = (container: string | undefined, key: any, role: any = 'method') =>
    functionName({ binding: { type: 'member', container, key, role } });
  it('names every case of docs/NAMING.md', () => {
    expect(functionName({ ownName: 'foo', binding: { type: 'none' } })).toBe('foo');
    expect(functionName({ ownName: 'real', binding: { type: 'variable', name: 'alias' } })).toBe('real');
    expect(functionName({ binding: { type: 'variable', name: 'arrow' } })).toBe('arrow');
    expect(member('A', id('m'))).toBe('A.m');
    expect(member('A', id('constructor'), 'constructor')).toBe('A.constructor');
    expect(member('A', id('g'), 'get')).toBe('A.get g');
    expect(member('A', id('g'), 'set')).toBe('A.set g');
    expect(member('A', { type: 'private', name: 'p' })).toBe('A.#p');
    expect(member('A', { type: 'string', value: 'str key' })).toBe('A.str key');
    expect(member('A', { type: 'number', value: 0x10 })).toBe('A.16');
    expect(member('A', { type: 'bigint', value: '10' })).toBe('A.10');
    expect(member('A', { type: 'computed', text: ' Symbol . iterator /* c */' })).toBe('A.[Symbol.iterator]');
    expect(member('A', { type: 'computed', text: "key + ' x'" })).toBe("A.[key+' x']");
    expect(member('obj.nested', id('inner'))).toBe('obj.nested.inner');
    expect(member(undefined, id('meth'))).toBe('meth');
    expect(
      functionName({
        ownName: 'real',
        binding: { type: 'member', container: 'obj', key: id('x'), role: 'value' },
      }),
    ).toBe('obj.real');
    expect(functionName({ binding: { type: 'default-export' } })).toBe('default');
    expect(
      functionName({
        binding: { type: 'assignment', target: [id('Foo'), id('prototype'), id('bar')] },
      }),
    ).toBe('Foo.bar');
    expect(
      functionName({ binding: { type: 'assignment', target: [id('o'), { type: 'computed', text: 'k' }] } }),
    ).toBe('o.<computed>');
    expect(
      functionName({ binding: { type: 'assignment', target: [{ type: 'this', className: 'A' }, id('h')] } }),
    ).toBe('A.h');
    expect(functionName({ binding: { type: 'assignment', target: [{ type: 'this' }, id('h')] } })).toBe('h');
    expect(functionName({ binding: { type: 'none' }, enclosing: 'outer' })).toBe('outer.<anonymous>');
    expect(functionName({ binding: { type: 'none' }, enclosing: 'outer.<anonymous>' })).toBe(
      'outer.<anonymous>',
    );
    expect(functionName({ binding: { type: 'none' } })).toBe('<anonymous>');
    expect(functionName({ binding: { type: 'none' }, enclosing: '<module>' })).toBe('<anonymous>');
    expect(classInitializerName('A', true)).toBe('A.<static_initializer>');
  });
  it('decides eligibility', () => {
    const opts = { getters: false, callbacks: false };
    const getter = { binding: { type: 'member', container: 'A', key: id('g'), role: 'get' } } as const;
    expect(ineligibility(getter, opts)).toBe('accessor');
    expect(ineligibility(getter, { ...opts, getters: true })).toBeUndefined();
    expect(ineligibility({ binding: { type: 'none' } }, opts)).toBe('callback');
    expect(ineligibility({ binding: { type: 'none' } }, { ...opts, callbacks: true })).toBeUndefined();
    expect(ineligibility({ ownName: 'named', binding: { type: 'none' } }, opts)).toBeUndefined();
  });
});

describe('function sites', () => {
  const mark = (text: string) => parseComment(text)[0]!;
  const site = (over: Partial<FunctionSite>): FunctionSite => ({
    description: { ownName: 'f', binding: { type: 'none' } },
    own: undefined,
    container: undefined,
    ignoredAbove: false,
    instrumented: () => false,
    ...over,
  });
  const opts = { getters: false, callbacks: false };
  it('selects by file, container or own directive; ignore wins; never twice', () => {
    expect(selectFunction(site({}), false, opts)).toEqual({ skip: 'not-marked' });
    expect(selectFunction(site({}), true, opts)).toEqual({ directive: undefined });
    expect(selectFunction(site({ container: mark('// @stepmark') }), false, opts).skip).toBeUndefined();
    expect(selectFunction(site({ ignoredAbove: true, own: mark('// @stepmark') }), true, opts)).toEqual({
      skip: 'ignored',
    });
    expect(selectFunction(site({ container: mark('// @stepmark-ignore') }), true, opts).skip).toBe('ignored');
    expect(selectFunction(site({ instrumented: () => true }), true, opts).skip).toBe('already-instrumented');
    const anonymous = { binding: { type: 'none' } } as const;
    expect(selectFunction(site({ description: anonymous }), true, opts).skip).toBe('callback');
    // a function-level directive selects regardless of eligibility
    const own = mark('/** @stepmark entity=order.id */');
    expect(selectFunction(site({ description: anonymous, own }), false, opts)).toEqual({ directive: own });
    const helper = site({ description: anonymous, compilerHelper: () => true });
    expect(selectFunction(helper, true, { ...opts, callbacks: true }).skip).toBe('compiler-helper');
  });
  it('merges directives on one binding chain: ignore, then the one with options', () => {
    const plain = mark('// @stepmark');
    const withKind = mark('// @stepmark entity=o.id kind=order');
    const ignore = mark('// @stepmark-ignore');
    expect(mergeDirectives(plain, withKind)).toBe(withKind);
    expect(mergeDirectives(withKind, plain)).toBe(withKind);
    expect(mergeDirectives(plain, ignore)).toBe(ignore);
    expect(mergeDirectives(undefined, plain)).toBe(plain);
  });
  it('writes the enter call, and checks entity=this against the function', () => {
    const shape = {
      async: true,
      generator: false,
      arrow: false,
      derivedConstructor: false,
      hasSuperCall: () => true,
      parameterNames: () => ['order'],
    };
    expect(enterCallText(frameSpec('f', undefined, shape), 'a.ts:1:1')).toBe(
      '__stepmark.enter("f", "a.ts:1:1", 1)',
    );
    const entity = mark('/** @stepmark entity=order.id kind=order */') as MarkDirective;
    expect(enterCallText(frameSpec('f', entity, { ...shape, async: false }), undefined)).toBe(
      '__stepmark.enterEntity("f", void 0, "order", __stepmark.on() && order?.id)',
    );
    const self = mark('/** @stepmark entity=this.id */') as MarkDirective;
    expect(() => frameSpec('A.constructor', self, { ...shape, derivedConstructor: true })).not.toThrow();
    expect(() =>
      frameSpec('A.constructor', self, { ...shape, derivedConstructor: true, hasSuperCall: () => false }),
    ).toThrow(/entity=this… is only allowed/);
    expect(() => frameSpec('f', self, { ...shape, arrow: true })).toThrow(StepmarkDirectiveError);
  });
  it('closes a frame at its returns, or in finally for generators (ABI 2)', () => {
    const shape = {
      async: false,
      generator: false,
      arrow: false,
      derivedConstructor: false,
      hasSuperCall: () => true,
      parameterNames: () => [],
    };
    expect(frameSpec('f', undefined, shape).ending).toBe('returns');
    expect(frameSpec('f', undefined, { ...shape, async: true }).ending).toBe('returns');
    expect(frameSpec('f', undefined, { ...shape, generator: true }).ending).toBe('finally');
    expect(frameSpec('f', undefined, { ...shape, async: true, generator: true }).ending).toBe('finally');
  });
  it('names logical assignments after an identifier only', () => {
    expect(assignmentBinds('=', 'member')).toBe(true);
    expect(assignmentBinds('??=', 'identifier')).toBe(true);
    expect(assignmentBinds('||=', 'member')).toBe(false);
    expect(assignmentBinds('+=', 'identifier')).toBe(false);
  });
});

describe('locations and constants', () => {
  it('converts offsets to 1-based line/column with every ECMAScript line break', () => {
    const index = new LineIndex('ab\ncd\r\nef\rgh\u2028ij');
    expect(index.locate(0)).toEqual({ line: 1, column: 1 });
    expect(index.locate(4)).toEqual({ line: 2, column: 2 });
    expect(index.locate(7)).toEqual({ line: 3, column: 1 });
    expect(index.locate(10)).toEqual({ line: 4, column: 1 });
    expect(index.locate(13)).toEqual({ line: 5, column: 1 });
    expect(index.lineText(2)).toBe('cd');
  });
  it('finds the same lines in \\n-only text (native search) as the general scan does', () => {
    const text = '\nfunction f() {\n  return 1;\n}\n\n\nx\n';
    const fast = new LineIndex(text);
    // the same text with one \u2028 appended takes the general path; the earlier lines are the same
    const general = new LineIndex(`${text}\u2028`);
    for (let offset = 0; offset <= text.length; offset++) {
      expect(fast.locate(offset), `offset ${offset}`).toEqual(general.locate(offset));
    }
    expect(new LineIndex('no breaks').locate(4)).toEqual({ line: 1, column: 5 });
    expect(new LineIndex('a\n').locate(2)).toEqual({ line: 2, column: 1 });
  });
  it('converts UTF-8 byte offsets', () => {
    const text = 'é😀x';
    const index = new LineIndex(text);
    expect(index.fromUtf8(0)).toBe(0);
    expect(index.fromUtf8(2)).toBe(1);
    expect(index.fromUtf8(6)).toBe(3);
    expect(index.fromUtf8(Buffer.byteLength(text))).toBe(4);
  });
  it('makes project-relative POSIX paths', () => {
    expect(projectRelativePath('/p/src/a.ts', '/p')).toBe('src/a.ts');
    expect(projectRelativePath('src/a.ts', '/p')).toBe('src/a.ts');
    expect(projectRelativePath('/q/a.ts', '/p')).toBe('../q/a.ts');
  });
  it('emits the ABI import forms of docs/ABI.md', () => {
    expect(runtimeImportEsm()).toBe('import { v2 as __stepmark } from "stepmark/runtime";');
    expect(runtimeImportCjs('@acme/trace')).toBe('const __stepmark = require("@acme/trace/runtime").abi(2);');
  });
});

describe('body layout', () => {
  const fn = (name: string) => ({ kind: 'function', name }) as const;
  const other = { kind: 'other' } as const;
  const noPrefix = () => {
    throw new Error('prefixNames must not be called');
  };

  it('turns every nested declaration into a var at the top of the try block, after the prologue', () => {
    const plan = planBody([{ kind: 'directive' }, other, fn('a'), other, fn('b')], false, noPrefix);
    expect(plan).toEqual({ frameAt: 1, functionLevel: [], asVar: [2, 4], removed: [] });
  });

  it('opens the frame of a derived constructor after super() when the code up to it uses no declaration', () => {
    const statements = [other, { kind: 'super-call' }, { kind: 'parameter-property' }, fn('late')] as const;
    let asked: number | undefined;
    const plan = planBody(statements, true, (end) => {
      asked = end;
      return ['unrelated'];
    });
    expect(asked).toBe(2);
    expect(plan).toEqual({ frameAt: 3, functionLevel: [], asVar: [3], removed: [] });
  });

  it('keeps every declaration at function level when super() or the code before it refers to one, and opens the frame after the last lexical declaration', () => {
    const statements = [
      { kind: 'directive' },
      { kind: 'super-call' },
      { kind: 'parameter-property' },
      { kind: 'lexical' },
      { kind: 'overload', name: 'early' },
      fn('early'),
      other,
      { kind: 'lexical' },
      other,
      fn('late'),
    ] as const;
    let asked: number | undefined;
    const plan = planBody(statements, true, (end) => {
      asked = end;
      return ['early'];
    });
    // super()'s own arguments are part of what is asked about
    expect(asked).toBe(2);
    expect(plan).toEqual({ frameAt: 8, functionLevel: [9], asVar: [], removed: [] });
  });

  it('keeps every declaration at function level when one comes before super()', () => {
    const statements = [
      fn('first'),
      { kind: 'super-call' },
      { kind: 'lexical' },
      fn('second'),
      other,
    ] as const;
    expect(planBody(statements, true, noPrefix)).toEqual({
      frameAt: 3,
      functionLevel: [3],
      asVar: [],
      removed: [],
    });
  });

  it('wraps a derived constructor without a top-level super() whole', () => {
    expect(planBody([other, fn('g')], true, noPrefix)).toEqual({
      frameAt: 0,
      functionLevel: [],
      asVar: [1],
      removed: [],
    });
  });

  it('removes the overload signatures of a declaration that becomes a var, and only those', () => {
    const plan = planBody(
      [
        { kind: 'overload', name: 'g' },
        { kind: 'overload', name: 'g' },
        fn('g'),
        { kind: 'overload', name: 'h' },
      ],
      false,
      noPrefix,
    );
    expect(plan.asVar).toEqual([2]);
    expect(plan.removed).toEqual([0, 1]);
  });
});

describe('ESTree analysis', () => {
  /** The frames of a whole-file-marked module, by name. */
  const frames = (code: string, callbacks = false) => {
    const { program, comments } = parseSync('a.ts', code, { lang: 'ts' });
    const root = program as unknown as Node;
    const directives = DirectiveIndex.build(code, comments as never, firstStatementOffset(root));
    const policy = { wholeFile: true, callbacks, getters: false, importSource: 'stepmark' };
    const analysis = analyze(root, code, directives, policy, visitorKeys);
    return new Map(analysis.frames.map((f) => [f.spec.name, f]));
  };
  const texts = (code: string, nodes: readonly Node[]) => nodes.map((n) => code.slice(n.start, n.end));

  it('collects the returns of each frame, not those of nested functions, not before super()', () => {
    const code = `
      export function f(x: number) { if (x) return 1; const g = () => { return 2; }; return; }
      export class B extends A {
        constructor(x: number) { if (!x) { return; } super(); if (x > 1) return; }
      }
      export function* gen() { return 3; }`;
    const found = frames(code);
    expect(texts(code, found.get('f')!.returns)).toEqual(['return 1;', 'return;']);
    expect(found.has('f.<anonymous>')).toBe(false); // callbacks off: the arrow has no frame
    const ctor = found.get('B.constructor')!;
    expect(ctor.derivedConstructor).toBe(true);
    expect(ctor.returns.map((r) => r.start)).toEqual([code.lastIndexOf('return;')]);
    expect(found.get('gen')!.spec.ending).toBe('finally');
    expect(found.get('gen')!.returns).toEqual([]);
  });

  it('instruments an enum helper that is in the input, like any callback', () => {
    const code = `var E; (function (E) { E[E.A = 0] = 'A'; })(E || (E = {}));`;
    expect([...frames(code, true).keys()]).toEqual(['<anonymous>']);
  });
});

describe('strip decisions', () => {
  type Ref = { name: string; at: number };
  const refs = (list: Ref[]) => (name: string) => list.filter((r) => r.name === name);
  const inside = (r: Ref, d: { from: number; to: number }) => r.at >= d.from && r.at < d.to;
  const s = { from: 0, to: 10 };
  const t = { from: 10, to: 20 };

  it('removes a scope declaration nothing else uses, then the import without uses', () => {
    const decisions = unusedDeclarations(
      [
        { name: 's', declaration: s, removable: true },
        { name: 't', declaration: t, removable: true },
      ],
      ['scope', 'step'],
      refs([
        { name: 'scope', at: 5 },
        { name: 'scope', at: 15 },
        { name: 't', at: 30 },
      ]),
      inside,
    );
    expect(decisions.declarations).toEqual([s]);
    // `scope` is still called by the declaration of `t`, which stays
    expect(decisions.stillUsed).toEqual(['scope']);
    const none = unusedDeclarations(
      [{ name: 's', declaration: s, removable: true }],
      ['scope'],
      refs([{ name: 'scope', at: 5 }]),
      inside,
    );
    expect(none).toEqual({ declarations: [s], stillUsed: [] });
  });

  it('keeps a declaration that is not removable', () => {
    const kept = unusedDeclarations(
      [{ name: 's', declaration: s, removable: false }],
      ['scope'],
      refs([{ name: 'scope', at: 5 }]),
      inside,
    );
    expect(kept).toEqual({ declarations: [], stillUsed: ['scope'] });
  });
});
