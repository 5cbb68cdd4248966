// zod (v4 classic API): objects, arrays, tuples, unions (plain and discriminated), records,
// maps, sets, enums, literals, string formats, numbers, bigints and dates with checks,
// optional/nullable/default/catch, transforms, pipes, preprocess, coercion, refinements (sync
// and async, with their order), recursive schemas, codecs, schema derivation (extend, pick,
// partial…), error formatting, JSON Schema output, and the errors zod throws.
// `log` records when zod calls the workload's refinements and transforms.
//
// `timers: false` (the benchmark) replaces real timers with promise jobs, so that a timing measures
// the library's work rather than sleeping.

export default async function workload(z, log, { timers = true } = {}) {
  const pause = (ms) => new Promise((r) => (timers ? setTimeout(r, ms) : setImmediate(r)));
  const out = {};
  const Address = z.object({
    street: z.string().min(3).max(40),
    zip: z.string().regex(/^\d{5}$/, 'zip must have 5 digits'),
    country: z.enum(['FR', 'DE', 'US']).default('FR'),
  });
  const User = z
    .object({
      id: z.uuid(),
      email: z.email(),
      name: z.string().trim().toLowerCase(),
      age: z.number().int().gte(0).lt(150).optional(),
      tags: z.array(z.string()).max(3).default([]),
      address: Address.nullable(),
      role: z.union([z.literal('admin'), z.literal('user')]).catch('user'),
      createdAt: z.coerce.date(),
      score: z.bigint().positive().optional(),
      website: z.url().optional(),
      ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    })
    .strict()
    .refine(
      (u) => {
        log('refine user', u.name);
        return u.role !== 'admin' || u.age !== undefined;
      },
      {
        message: 'admins must give their age',
        path: ['age'],
      },
    );

  const good = {
    id: '2f1c7c49-3c4b-4c1e-9a57-2f5a3f1b9c10',
    email: 'ada@example.com',
    name: '  Ada LOVELACE ',
    age: 36,
    address: { street: '12 rue de la Paix', zip: '75002' },
    role: 'superuser',
    createdAt: '2024-02-29T13:05:09Z',
    score: 10n,
    website: 'https://example.com/a?b=c',
    ip: '2001:db8::1',
  };
  out.parsed = User.parse(good);
  const bad = {
    ...good,
    id: 'not-a-uuid',
    email: 'nope',
    age: 1.5,
    tags: ['a', 'b', 'c', 'd'],
    address: { street: 'x', zip: 'abc', country: 'UK' },
    createdAt: 'never',
    extra: true,
  };
  const failed = User.safeParse(bad);
  out.issues = failed.error.issues;
  out.tree = z.treeifyError(failed.error);
  out.flat = z.flattenError(failed.error);
  out.pretty = z.prettifyError(failed.error);

  // Unions, discriminated unions, records, maps, sets, tuples, intersections.
  const Shape = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('circle'), r: z.number().positive() }),
    z.object({ kind: z.literal('rect'), w: z.number(), h: z.number() }),
  ]);
  out.shapes = [
    { kind: 'circle', r: 2 },
    { kind: 'rect', w: 1, h: 2 },
    { kind: 'hex' },
    { kind: 'circle', r: -1 },
  ].map((s) => Shape.safeParse(s));
  out.collections = [
    z.record(z.string().regex(/^[a-z]+$/), z.number()).safeParse({ ab: 1, CD: 2, ef: 'x' }),
    z.map(z.string(), z.date()).safeParse(new Map([['a', new Date(0)]])),
    z
      .set(z.number())
      .min(2)
      .safeParse(new Set([1])),
    z.tuple([z.string(), z.number()], z.boolean()).safeParse(['a', 1, true, false, 'x']),
    z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() })).safeParse({ a: 'x', b: 1 }),
    z.union([z.string(), z.number()]).safeParse(null),
    z.xor([z.object({ a: z.string() }), z.object({ b: z.string() })]).safeParse({ a: 'x', b: 'y' }),
  ];

  // Transforms, pipes, preprocess, default/catch/prefault, coercion, codecs.
  const Money = z
    .string()
    .transform((s, ctx) => {
      log('transform money', s);
      const n = Number(s.replace(/[$,]/g, ''));
      if (Number.isNaN(n)) {
        ctx.addIssue({ code: 'custom', message: `not money: ${s}` });
        return z.NEVER;
      }
      return Math.round(n * 100);
    })
    .pipe(z.number().max(1e8));
  out.money = ['$1,234.50', 'abc', '$999,999,999'].map((s) => Money.safeParse(s));
  out.preprocess = z
    .preprocess((v) => {
      log('preprocess', v);
      return typeof v === 'string' ? v.split(',') : v;
    }, z.array(z.coerce.number()))
    .parse('1,2,3');
  out.coerce = [
    z.coerce.boolean().parse(''),
    z.coerce.string().parse(12),
    z.coerce.bigint().safeParse('1.5'),
  ];
  const IsoDate = z.codec(z.iso.datetime(), z.date(), {
    decode: (s) => new Date(s),
    encode: (d) => d.toISOString(),
  });
  out.codec = [IsoDate.decode('2024-02-29T13:05:09Z').getTime(), IsoDate.encode(new Date(0))];

  // Refinements: superRefine with several issues, abort, checks order.
  const Password = z
    .string()
    .min(8)
    .check((ctx) => {
      log('check', ctx.value.length);
      if (!/[0-9]/.test(ctx.value))
        ctx.issues.push({ code: 'custom', message: 'needs a digit', input: ctx.value });
    })
    .superRefine((v, ctx) => {
      log('superRefine', v);
      if (v.toLowerCase() === v) ctx.addIssue({ code: 'custom', message: 'needs an upper-case letter' });
    })
    .refine((v) => !v.includes(' '), { message: 'no spaces', abort: true });
  out.passwords = ['short', 'long enough but no digit', 'Abcdefg1', 'abcdefgh1'].map((p) =>
    Password.safeParse(p),
  );

  // Recursive schemas.
  const Category = z.object({
    name: z.string(),
    get children() {
      return z.array(Category).optional();
    },
  });
  out.recursive = Category.safeParse({ name: 'root', children: [{ name: 'a', children: [{ name: 1 }] }] });

  // Derived schemas.
  const Base = z.object({ a: z.string(), b: z.number(), c: z.boolean().optional() });
  out.derived = [
    Base.extend({ d: z.null() }).safeParse({ a: 'x', b: 1, d: null }),
    Base.pick({ a: true }).strict().safeParse({ a: 'x', b: 1 }),
    Base.omit({ b: true }).safeParse({ a: 'x' }),
    Base.partial().safeParse({}),
    Base.required().safeParse({ a: 'x', b: 1 }),
    Base.keyof().options,
    Base.catchall(z.string()).safeParse({ a: 'x', b: 1, extra: 2 }),
    Base.passthrough().parse({ a: 'x', b: 1, more: true }),
  ];
  out.enum = [
    z.enum(['a', 'b']).exclude(['a']).options,
    z.enum({ Up: 'UP', Down: 'DOWN' }).enum,
    z.literal([1, 2]).safeParse(3),
  ];

  // Async refinements and transforms.
  const Unique = z.string().refine(async (name) => {
    log('async refine start', name);
    await pause(1);
    log('async refine end', name);
    return name !== 'taken';
  }, 'name is taken');
  out.async = [
    await Unique.safeParseAsync('free'),
    await Unique.safeParseAsync('taken'),
    await z.array(Unique).safeParseAsync(['a', 'taken', 'b']),
    await z
      .string()
      .transform(async (s) => {
        await null;
        return s.length;
      })
      .parseAsync('four'),
  ];

  // JSON Schema, metadata, registries.
  const registry = z.registry();
  registry.add(Address, { id: 'Address', description: 'a postal address' });
  out.jsonSchema = [
    z.toJSONSchema(Address),
    z.toJSONSchema(z.union([z.string().meta({ title: 'S' }), z.number().int().multipleOf(5)]), {
      target: 'draft-7',
    }),
    z.toJSONSchema(Category, { cycles: 'ref' }),
    z.toJSONSchema(registry),
  ];

  // What zod throws.
  out.errors = [
    () => User.parse(bad),
    () => Unique.parse('sync parse of an async refinement'),
    () => z.string().parse(1),
    () => z.object({}).strict().parse({ x: 1 }),
    () => z.toJSONSchema(z.date()),
    () => z.number().min(5).max(1).parse(3),
  ].map((f) => {
    try {
      return ['no error', f()];
    } catch (e) {
      return [e.constructor.name, e.name, e.message, e.issues?.length];
    }
  });
  // The sync parse above left its async refinement running: let it finish inside the workload.
  await pause(5);
  return out;
}
