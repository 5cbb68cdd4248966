// immer: drafts of objects, arrays, Maps, Sets and classes, patches and their inverse, manual
// drafts, curried producers, updates across awaits, the array-methods plugin, and the errors immer throws.
// `log` records what the recipes see, in order.

export default async function workload(immer, log) {
  const { produce, produceWithPatches, applyPatches, createDraft, finishDraft, current, original } = immer;
  immer.enableMapSet();
  immer.enablePatches();
  immer.enableArrayMethods();
  const out = {};

  const base = {
    user: { name: 'Ada', tags: ['admin', 'ops'], address: { city: 'Paris', zip: '75001' } },
    todos: Array.from({ length: 12 }, (_, i) => ({ id: i, title: `task ${i}`, done: i % 3 === 0 })),
    counters: new Map([
      ['a', 1],
      ['b', 2],
    ]),
    seen: new Set(['x', 'y']),
  };

  out.updated = produce(base, (draft) => {
    draft.user.name = 'Grace';
    draft.user.tags.push('dev');
    draft.todos = draft.todos.filter((t) => !t.done);
    for (const t of draft.todos) if (t.id % 2) t.title = t.title.toUpperCase();
    draft.counters.set('c', 3);
    draft.counters.delete('a');
    draft.seen.add('z');
    draft.seen.delete('x');
    log(
      'recipe',
      immer.isDraft(draft),
      immer.isDraft(draft.user),
      current(draft.user).name,
      original(draft.user).name,
    );
  });
  out.sharing = {
    addressShared: out.updated.user.address === base.user.address,
    baseUntouched: base.user.name,
    frozen: Object.isFrozen(out.updated.user),
    unchanged: produce(base, () => {}) === base,
  };

  // Patches and inverse patches round-trip.
  const [next, patches, inverse] = produceWithPatches(base, (draft) => {
    draft.todos[2].done = true;
    draft.todos.splice(4, 2, { id: 99, title: 'inserted', done: false });
    draft.user.address.city = 'Lyon';
    delete draft.user.address.zip;
    draft.counters.set('b', 20);
    draft.seen.add('w');
  });
  out.patches = patches;
  out.inverse = inverse;
  out.roundTrip = JSON.stringify(applyPatches(next, inverse).todos) === JSON.stringify(base.todos);
  out.reapplied = applyPatches(base, patches).user.address;

  // Replacing the state, returning `nothing`, curried producers.
  out.replaced = produce({ a: 1 }, () => ({ b: 2 }));
  out.nothing = produce({ a: 1 }, () => immer.nothing);
  const toggle = produce((draft, id) => {
    const todo = draft.find((t) => t.id === id);
    if (todo) todo.done = !todo.done;
  });
  out.curried = toggle(base.todos, 3).map((t) => t.done);

  // Manual drafts.
  const draft = createDraft({ list: [1, 2, 3], nested: { deep: { value: 1 } } });
  draft.list.reverse();
  draft.nested.deep.value++;
  out.manual = finishDraft(draft, (p, inv) => log('patch listener', p.length, inv.length));

  // Classes marked immerable, and one that is not draftable.
  class Point {
    [immer.immerable] = true;
    constructor(x, y) {
      this.x = x;
      this.y = y;
    }
    get length() {
      return Math.hypot(this.x, this.y);
    }
  }
  const moved = produce(new Point(3, 4), (p) => {
    p.x = 6;
    p.y = 8;
  });
  out.point = { isPoint: moved instanceof Point, x: moved.x, length: moved.length };
  out.draftable = [immer.isDraftable({}), immer.isDraftable(new Date(0)), immer.isDraftable(new Point(0, 0))];

  // Array methods on drafts (enableArrayMethods) and deep updates.
  out.arrays = produce({ rows: [5, 3, 9, 1, 7] }, (d) => {
    d.rows.sort((a, b) => a - b);
    d.rows = d.rows.map((x) => x * 2).filter((x) => x > 2);
    d.rows.unshift(0);
    log('rows', [...d.rows], d.rows.indexOf(6), d.rows.includes(18));
  });

  // Updates across awaits (immer 10 dropped async recipes: each step is a synchronous produce).
  let state = { loaded: false, items: [] };
  for (const item of await Promise.all(['one', 'two'].map(async (x) => x))) {
    await null;
    state = produce(state, (d) => {
      d.items.push(item);
      log('item', item, d.items.length);
    });
  }
  out.async = produce(state, (d) => {
    d.loaded = true;
  });

  // An Immer instance with its own settings.
  const loose = new immer.Immer({ autoFreeze: false });
  const thawed = loose.produce({ a: { b: 1 } }, (d) => {
    d.a.b = 2;
  });
  thawed.a.c = 3;
  out.unfrozen = thawed;

  // Errors immer throws.
  const errors = [];
  const attempt = (label, fn) => {
    try {
      fn();
      errors.push([label, 'no error']);
    } catch (e) {
      errors.push([label, e.constructor.name, e.message]);
    }
  };
  attempt('modify and return', () =>
    produce({ a: 1 }, (d) => {
      d.a = 2;
      return { a: 3 };
    }),
  );
  attempt('frozen result', () => {
    const frozen = produce({ a: { b: 1 } }, (d) => {
      d.a.b = 2;
    });
    frozen.a.b = 3;
  });
  let leaked;
  produce({ a: { b: 1 } }, (d) => {
    leaked = d.a;
  });
  attempt('revoked draft', () => leaked.b);
  attempt('not a function', () => produce({}, 42));
  attempt('finish a non-draft', () => finishDraft({}));
  attempt('defineProperty on draft', () =>
    produce({ a: 1 }, (d) => {
      Object.defineProperty(d, 'x', { value: 1 });
    }),
  );
  attempt('recipe throws', () =>
    produce({ a: 1 }, () => {
      throw new TypeError('from the recipe');
    }),
  );
  out.errors = errors;
  out.asyncError = await Promise.resolve()
    .then(() =>
      produce({ a: 1 }, () => {
        throw new RangeError('recipe failed in a promise job');
      }),
    )
    .catch((e) => [e.constructor.name, e.message]);
  return out;
}
