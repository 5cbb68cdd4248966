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

exports.main = function main(log) {
  log(annexB(), blockReplacesOuter(), mappedArguments('arg'));
  log(varAndFunction(), sloppyThis(), callee(), withScope({ x: 'x' }), withScope({}));
  log(deletesBinding(), readsConstInSloppy(), claimsEveryName());
  return 'done';
};
