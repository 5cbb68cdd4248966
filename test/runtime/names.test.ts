// Stack-derived names (no build step) follow docs/NAMING.md: the rows where V8 can know the
// build-time name give exactly that name.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capture, captureSync, enter, step, stepEntity } from 'stepmark';
import { describe, expect, it } from 'vitest';

function stages(fn: () => void): string[] {
  return captureSync(fn).trace.events.map((e) => e.stage);
}

describe('names from the stack (docs/NAMING.md, fallback column)', () => {
  it('functions and arrows: own name wins, else the bound name (rows 1-4, 29, 30)', () => {
    function foo() {
      step('a');
    }
    const bound = () => step('a');
    let assigned: () => void;
    assigned = function () {
      step('a');
    };
    const alias = function real() {
      step('a');
    };
    const { fromDestructure = () => step('a') } = {} as { fromDestructure?: () => void };
    function withDefault(cb = () => step('a')) {
      cb();
    }
    function outer() {
      const inner = () => step('a');
      inner();
    }
    expect(
      stages(() => {
        foo();
        bound();
        assigned();
        alias();
        fromDestructure();
        withDefault();
        [1].forEach(function visit() {
          step('a');
        });
        outer();
      }),
    ).toEqual(['foo', 'bound', 'assigned', 'real', 'fromDestructure', 'cb', 'visit', 'inner']);
  });

  it('class members (rows 5-9, 11-13, 32)', () => {
    let staticInit = '';
    class A {
      f = () => step('a');
      static sf = () => step('a');
      #pf = () => step('a');
      x = step('init');
      static {
        staticInit = captureSync(() => 0).trace ? 'ran' : '';
      }
      constructor() {
        step('a');
      }
      m() {
        step('a');
      }
      static st() {
        step('a');
      }
      async am() {
        await null;
        step('a');
      }
      *gm() {
        step('a');
        yield 1;
      }
      get g() {
        step('a');
        return 1;
      }
      set g(_v: number) {
        step('a');
      }
      #p() {
        step('a');
      }
      callP() {
        this.#p();
        this.#pf();
      }
      // biome-ignore lint/complexity/useLiteralKeys: row 11 is about a computed key with a literal
      ['lit']() {
        step('a');
      }
      [Symbol.iterator]() {
        step('a');
        return [][Symbol.iterator]();
      }
    }
    const C = class {
      m() {
        step('a');
      }
    };
    const Named = class Inner {
      m() {
        step('a');
      }
    };
    expect(staticInit).toBe('ran');
    const got = stages(() => {
      const a = new A(); // x initializer, then constructor
      a.m();
      A.st();
      a.gm().next();
      void a.g;
      a.g = 1;
      a.callP();
      a.f();
      A.sf();
      a.lit();
      a[Symbol.iterator]();
      new C().m();
      new Named().m();
    });
    expect(got).toEqual([
      'A.<instance_members_initializer>',
      'A.constructor',
      'A.m',
      'A.st',
      'A.gm',
      'A.get g',
      'A.set g',
      'A.#p',
      'A.#pf',
      'A.f',
      'A.sf',
      'A.lit',
      'A.[Symbol.iterator]',
      'C.m',
      'Inner.m',
    ]);
  });

  it('static initializers (row 32): the class on Node 24; Node 20 does not say which class', () => {
    // A class body is strict code: the call site gives neither the receiver nor the function, only
    // its printed form, which names the class on Node 24 (`S.<static_initializer>`) and not on
    // Node 20 (`<static_initializer>`, of type Function).
    const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/static-initializer.cjs');
    const defineClass = createRequire(import.meta.url)(fixture);
    // this suite also runs on Node 20 (CI's node20 step), where the in-process answer is Node 20's
    const major = Number(process.versions.node.split('.')[0]);
    const here = major === 20 ? '<static_initializer>' : 'S.<static_initializer>';
    expect(stages(() => defineClass())).toEqual([here, here]);
    const node20 = execFileSync('/usr/bin/node', [fixture], { encoding: 'utf8' });
    expect(JSON.parse(node20)).toEqual(['<static_initializer>', '<static_initializer>']);
  });

  it('an arrow passed before an object literal gets the name V8 infers from it (known imprecision)', () => {
    // V8 names the arrow after what the call is assigned to or called as (the variable, the
    // callee) and the keys of the object literal after it; its call site cannot tell that name
    // from an assignment's (`a.b.c = () => {}`, row 19).
    const inferred = captureSync(() => step('x'), { meta: { request_id: 'r1' } }).trace;
    expect(inferred.events[0]!.stage).toBe('inferred.meta.request_id');
    const plain = captureSync(() => step('x')).trace;
    expect(plain.events[0]!.stage).toBe('<anonymous>');
  });

  it('async frames are named as without async', async () => {
    class Svc {
      async run() {
        await new Promise((r) => setTimeout(r, 1));
        step('after-await');
        stepEntity('e1', 'x');
      }
    }
    const { trace } = await capture(() => new Svc().run());
    expect(trace.events[0]!.stage).toBe('Svc.run');
    expect(trace.entities.e1!.events[0]!.stage).toBe('Svc.run');
  });

  it('assignments: V8-inferred names are kept as printed (rows 19-22)', () => {
    const exportsLike: Record<string, () => void> = {};
    exportsLike.foo = function () {
      step('a');
    };
    const a = { b: { c: undefined as undefined | (() => void) } };
    a.b.c = () => step('a');
    function Foo(this: unknown) {}
    Foo.prototype.bar = function () {
      step('a');
    };
    const o: Record<string, () => void> = {};
    const k = 'dyn';
    o[k] = function () {
      step('a');
    };
    class H {
      h: () => void;
      constructor() {
        this.h = () => step('a');
      }
    }
    expect(
      stages(() => {
        exportsLike.foo!();
        a.b.c!();
        new (Foo as any)().bar();
        o.dyn!();
        new H().h();
      }),
    ).toEqual(['exportsLike.foo', 'a.b.c', 'Foo.bar', 'o.<computed>', 'H.h']);
  });

  it('object literal members bound to nothing get the member name alone (row 17)', () => {
    const make = () => ({
      m() {
        step('a');
      },
    });
    expect(stages(() => make().m())).toEqual(['m']);
  });

  it('anonymous functions are <anonymous>; module top level is <module> (rows 28, 31), ESM and CommonJS', async () => {
    const { trace } = await capture(async () => {
      await import('./fixtures/module-level.mjs');
      createRequire(import.meta.url)('./fixtures/module-level.cjs');
    });
    expect(trace.events.map((e) => `${e.stage}:${e.action}`)).toEqual([
      '<module>:loaded',
      '<anonymous>:anonymous',
      '<module>:loaded-cjs',
    ]);
  });

  it('user spans get the same names', () => {
    class Checkout {
      pay() {
        const done = enter();
        done();
      }
    }
    expect(captureSync(() => new Checkout().pay()).trace.spans[0]!.name).toBe('Checkout.pay');
  });
});
