// biome-ignore-all lint: fixture code exercises sloppy-mode constructs on purpose
// @stepmark
// A sloppy-mode CommonJS script (no "use strict", no import/export): nested function
// declarations whose behaviour differs from strict mode must keep it when instrumented.
// (Two declarations of one name in a block are left out: esbuild itself turns them into
// `let d2 = …, d2 = …`, a SyntaxError, with or without stepmark.)
function annexB() {
  var out = [typeof inner];
  function inner() {
    return 'block';
  }
  out.push(typeof inner, inner());
  return out;
}

function blockReplacesOuter() {
  function g() {
    return 'outer';
  }
  var before = g();
  function g() {
    return 'inner';
  }
  return [before, g()];
}

function mappedArguments(cb) {
  function cb() {
    return 'declared';
  }
  return [typeof arguments[0], arguments[0] === cb, cb()];
}

function varAndFunction() {
  var f = 1;
  function f() {}
  return typeof f;
}

function sloppyThis() {
  function who() {
    return this === undefined ? 'undefined' : typeof this;
  }
  return who();
}

function callee() {
  const K = 'k';
  function inner() {
    return [typeof arguments.callee, K];
  }
  return inner();
}

function withScope(o) {
  const fallback = 'none';
  with (o) {
    // (A declaration here is left out: esbuild turns it into `let read …; var read = read`, a
    // SyntaxError, with or without stepmark.)
    const read = function read() {
      return typeof x === 'undefined' ? fallback : x;
    };
    return read();
  }
}

// An object that claims every name (a Proxy whose `has` says yes, as sandboxes make): the body
// of `with` reads every name from it, so a frame there could not reach its own bindings: the
// function in it gets none, and the one around it closes its span in `finally`.
function claimsEveryName() {
  var scope = new Proxy(
    {},
    {
      has: function () {
        return true;
      },
      get: function (target, key) {
        return key === Symbol.unscopables ? undefined : 'claimed ' + String(key);
      },
    },
  );
  with (scope) {
    return (function claimed() {
      return label;
    })();
  }
}

function deletesBinding() {
  var kept = 1;
  function removable() {}
  return [delete kept, delete removable, typeof removable];
}

function readsConstInSloppy() {
  const rate = 2;
  function apply(n) {
    return n * rate;
  }
  return apply(21);
}

// Direct eval (declaring vars and functions in the function's scope, reading locals and
// `arguments`), indirect eval, `new Function`, and Annex B function declarations in blocks.
// (One in a `switch` case is left out: esbuild lowers it to a `let` read before its
// initialisation, a ReferenceError, with or without stepmark.)
function evalVar() {
  eval('var z = 1');
  return [z, typeof z];
}
function evalFunction() {
  var before = typeof h;
  eval('function h() { return "h"; }');
  return [before, h()];
}
function evalReads(a) {
  var local = 'l';
  return eval('[a, local, arguments.length, this === globalThis ? "global" : typeof this]');
}
function evalDeclaresShadow() {
  var x = 'outer';
  {
    let y = 'block';
    eval('var x = "evaled"');
  }
  return x;
}
function evalArgs(a) {
  eval('arguments[0] = "changed"');
  return a;
}
function indirectGlobal() {
  (0, eval)('var indirectGlobalVar = 5');
  return [typeof indirectGlobalVar, globalThis.indirectGlobalVar];
}
function newFunc() {
  return new Function('a', 'b', 'return a + b')(1, 2);
}
function annexBIf(flag) {
  var before = typeof g;
  if (flag) {
    function g() {
      return 'g';
    }
  }
  return [before, typeof g];
}
function annexBShadowParam(p) {
  {
    function p() {
      return 'block';
    }
  }
  return typeof p;
}
function annexBTwice(flag) {
  if (flag) {
    function d() {
      return 'first';
    }
  } else {
    function d() {
      return 'second';
    }
  }
  return d();
}
function annexBWithTop() {
  function t() {
    return 'top';
  }
  var a = t();
  {
    function t() {
      return 'block';
    }
  }
  return [a, t()];
}
function annexBLetConflict() {
  let q = 'let';
  {
    function q() {}
  }
  return typeof q;
}
function annexBCallBefore() {
  var caught;
  try {
    early();
  } catch (e) {
    caught = e.name;
  }
  {
    function early() {
      return 'early';
    }
  }
  return [caught, early()];
}
function annexBLoop() {
  var out = [];
  for (var i = 0; i < 2; i++) {
    function loopFn() {
      return i;
    }
    out.push(loopFn());
  }
  return out;
}
exports.main = function main(log) {
  log(annexB(), blockReplacesOuter(), mappedArguments('arg'));
  log(varAndFunction(), sloppyThis(), callee(), withScope({ x: 'x' }), withScope({}));
  log(deletesBinding(), readsConstInSloppy(), claimsEveryName());
  log(evalVar(), evalFunction(), evalReads.call(undefined, 1, 2), evalDeclaresShadow(), evalArgs('a'));
  log(indirectGlobal(), newFunc(), annexBIf(true), annexBIf(false), annexBShadowParam('param'));
  log(annexBTwice(true), annexBTwice(false), annexBWithTop(), annexBLetConflict(), annexBCallBefore());
  log(annexBLoop());
  return 'done';
};
