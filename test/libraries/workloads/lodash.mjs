// lodash: collections with iteratee shorthands, lazy chains (LazyWrapper), explicit chains,
// deep clone/merge/equality over cyclic and typed values, paths, function combinators (curry,
// partial, flow, memoize, once, debounce and throttle on real timers), strings, templates
// (compiled with Function), runInContext, and the errors lodash throws or passes through.
// `log` records the calls lodash makes to the workload's callbacks, in order.
//
// `timers: false` (the benchmark) replaces real timers with promise jobs, so that a timing measures
// the library's work rather than sleeping.

export default async function workload(_, log, { timers = true } = {}) {
  const out = {};
  const users = [
    { user: 'barney', age: 36, active: true, tags: ['a', 'b'], team: { name: 'x' } },
    { user: 'fred', age: 40, active: false, tags: ['b'], team: { name: 'y' } },
    { user: 'pebbles', age: 1, active: true, tags: [], team: { name: 'x' } },
    { user: 'wilma', age: 36, active: false, tags: ['c', 'a'], team: null },
  ];

  out.collections = {
    grouped: _.groupBy(users, 'team.name'),
    counted: _.countBy(users, (u) => u.age > 30),
    sorted: _.orderBy(users, ['age', 'user'], ['desc', 'asc']).map((u) => u.user),
    sortBy: _.sortBy(users, [(u) => u.tags.length, 'user']).map((u) => u.user),
    partition: _.partition(users, { active: true }).map((g) => g.length),
    keyed: Object.keys(_.keyBy(users, 'user')),
    found: _.find(users, ['age', 36]).user,
    findLast: _.findLast(users, 'active').user,
    flatMapDeep: _.flatMapDeep(users, (u) => [u.tags, [[u.age]]]),
    reduced: _.reduce(
      users,
      (acc, u, i) => {
        log('reduce', u.user, i);
        return acc + u.age;
      },
      0,
    ),
    uniq: _.uniqBy(_.flatMap(users, 'tags'), _.identity),
    zipped: _.zipObjectDeep(['a.b[0].c', 'a.b[1].d'], [1, 2]),
    chunks: _.chunk(_.range(0, 20, 3), 4),
    intersection: _.intersectionWith([{ x: 1 }, { x: 2 }], [{ x: 2 }, { x: 3 }], (a, b) => {
      log('compare', a.x, b.x);
      return _.isEqual(a, b);
    }),
    sample: _.sampleSize([1, 2, 3], 0),
  };

  // A lazy chain (shortcut fusion over > 200 items) and an explicit chain with tap/thru.
  const big = _.range(1000);
  out.lazy = _(big)
    .map((n) => n * 3)
    .filter((n) => n % 2 === 0)
    .takeWhile((n) => n < 2000)
    .drop(5)
    .take(20)
    .reverse()
    .value();
  out.chain = _.chain(users)
    .filter('active')
    .tap((xs) => log('tap', xs.length))
    .map('user')
    .thru((names) => names.join('+'))
    .value();

  // Deep operations, including a cycle and typed values.
  const cyclic = { name: 'root', list: [1, { deep: new Map([['k', new Set([1, 2])]]) }], when: new Date(0) };
  cyclic.self = cyclic;
  const clone = _.cloneDeepWith(cyclic, (v) => (typeof v === 'number' ? v * 10 : undefined));
  out.deep = {
    cloneIsCyclic: clone.self === clone,
    cloneList: clone.list[0],
    equalToItself: _.isEqual(cyclic, _.cloneDeep(cyclic)),
    merged: _.mergeWith({ a: [1], b: { c: 1 } }, { a: [2], b: { d: 2 } }, (x, y) =>
      Array.isArray(x) ? x.concat(y) : undefined,
    ),
    defaultsDeep: _.defaultsDeep({ a: { b: 1 } }, { a: { b: 2, c: 3 } }),
    paths: [
      _.get(users, '[0].team.name'),
      _.get(users, 'x.y.z', 'fallback'),
      _.has(cyclic, 'self.self.name'),
    ],
    set: _.set({}, 'a[0].b.c', 4),
    unset: _.unset({ a: { b: 1 } }, 'a.b'),
    pick: _.pickBy({ a: 1, b: '2', c: 3 }, _.isNumber),
    invert: _.invertBy({ a: 1, b: 2, c: 1 }),
    typed: _.isEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])),
    diff: _.differenceWith([{ a: 1 }, { a: 2 }], [{ a: 2 }], _.isEqual),
  };

  // Function combinators.
  const add3 = _.curry((a, b, c) => a + b + c);
  const square = _.memoize((n) => {
    log('compute', n);
    return n * n;
  });
  const once = _.once(() => log('once'));
  once();
  once();
  out.functions = {
    curried: [add3(1)(2)(3), add3(1, 2)(3), add3(_, 2)(1, 3)],
    partial: _.partialRight((a, b, c) => [a, b, c], 'b', 'c')('a'),
    flow: _.flow([_.add, (n) => n * 2, String])(1, 2),
    memo: [square(4), square(4), square.cache.has(4)],
    negate: _.filter(
      [1, 2, 3, 4],
      _.negate((n) => n % 2),
    ),
    overArgs: _.overArgs((a, b) => [a, b], [String, Math.abs])(1, -2),
    rearg: _.rearg((a, b, c) => [a, b, c], [2, 0, 1])('a', 'b', 'c'),
    spread: _.spread((a, b) => a * b)([6, 7]),
    ary: ['6', '8', '10'].map(_.ary(Number.parseInt, 1)),
    after: (() => {
      const done = _.after(2, () => 'ready');
      return [done(), done()];
    })(),
  };

  // debounce and throttle on real timers.
  if (timers) await debounceAndThrottle(_, log);

  // Strings and templates.
  out.strings = [
    _.camelCase('--foo-bar--'),
    _.kebabCase('fooBarBaz'),
    _.snakeCase('Foo Bar'),
    _.startCase('__foo_bar__'),
    _.words('fred, barney, & pebbles', /[^, ]+/g),
    _.deburr('déjà vu'),
    _.escape('<a href="x">&</a>'),
    _.unescape('&lt;b&gt;'),
    _.pad('abc', 8, '_-'),
    _.truncate('hi-diddly-ho there, neighborino', { length: 24, separator: /,? +/ }),
    _.template('hello <%= user %>! <% _.forEach(list, function(x) { %><li><%- x %></li><% }); %>')({
      user: 'fred',
      list: ['<a>', 'b'],
    }),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: lodash's interpolate delimiter
    _.template('${ data.greeting } ${ data.name }', { variable: 'data' })({ greeting: 'hi', name: 'x' }),
  ];

  // A fresh lodash with its own context (the whole library is re-created inside runInContext).
  const ctx = _.runInContext();
  ctx.mixin({ shout: (s) => `${s.toUpperCase()}!` });
  out.context = [ctx.shout('hey'), typeof _.shout, ctx.uniqueId('id_'), _.uniqueId('x')];

  // Errors.
  out.errors = [
    () => _.template('<% if (x) { %>')({ x: 1 }),
    () => _.attempt(() => JSON.parse('{')),
    () =>
      _.map([1, 2, 3], (n) => {
        log('iteratee', n);
        return n === 2 ? _.noop(n.boom.boom) : n;
      }),
    () => _.curry(() => {})(1, 2).x.y,
    () => _.debounce(42),
    () => _.flow([1]),
    () => _.memoize(() => 1, 'resolver'),
  ].map((f) => {
    try {
      const r = f();
      return ['no error', r instanceof Error ? [r.name, r.message] : r];
    } catch (e) {
      return [e.constructor.name, e.message];
    }
  });
  return out;
}

async function debounceAndThrottle(_, log) {
  const debounced = _.debounce((x) => log('debounced', x), 5, { leading: false, trailing: true });
  debounced(1);
  debounced(2);
  const throttled = _.throttle((x) => log('throttled', x), 20, { leading: true, trailing: false });
  throttled('first');
  throttled('dropped');
  await new Promise((resolve) => setTimeout(resolve, 30));
  debounced.cancel();
  log('after timers');
}
