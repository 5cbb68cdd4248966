// Tests using the stepmark matchers beside the project's own, type-checked against Vitest 4 and 5.
import { capture } from 'stepmark';
import { stepmarkMatchers } from 'stepmark/testing';
import { expect, expectTypeOf } from 'vitest';

export async function usesTheMatchers(): Promise<void> {
  const captured = await capture(() => 1);
  const { trace } = captured;

  expectTypeOf(
    expect(trace).toHaveSpanPath(['OrderService.place', 'FraudService.score']),
  ).toEqualTypeOf<void>();
  expectTypeOf(expect(captured).not.toHaveEntityJourney('order_1', ['validate:ok'])).toEqualTypeOf<void>();
  expectTypeOf(expect(trace).toHaveSpan('FraudService.score', { status: 'error' })).toEqualTypeOf<void>();
  // On a promise, and polled: the matchers return a promise, as Vitest's own do there.
  expectTypeOf(expect(Promise.resolve(trace)).resolves.toHaveSpan('a')).toEqualTypeOf<Promise<void>>();
  expectTypeOf(expect.poll(() => trace).toHaveSpanPath(['a'])).toEqualTypeOf<Promise<void>>();
  // As asymmetric matchers.
  expect({ trace }).toEqual({ trace: expect.toHaveSpan('a') });

  // @ts-expect-error a span path is a list of names
  expect(trace).toHaveSpanPath('OrderService.place');
  // @ts-expect-error a span's fields are those of a trace span
  expect(trace).toHaveSpan('a', { status: 'failed' });

  // The project's own matchers are still there.
  expect('foo').toBeFoo();

  // expect.extend accepts the matchers (stepmark/testing/vitest has already called it).
  expect.extend(stepmarkMatchers);
}
