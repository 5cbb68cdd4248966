/**
 * `stepmark/testing/vitest`: registers the stepmark matchers with Vitest's `expect` and types
 * them on Vitest's assertions. Import it once, e.g. from a `setupFiles` entry:
 *
 * @example
 * ```ts
 * // vitest.setup.ts
 * import 'stepmark/testing/vitest';
 * // any test
 * expect(trace).toHaveSpanPath(['OrderService.place', 'FraudService.score']);
 * ```
 */
import { expect } from 'vitest';
import { type StepmarkMatchers, stepmarkMatchers } from './index.js';

expect.extend(stepmarkMatchers);

type Args<K extends keyof StepmarkMatchers> = Parameters<StepmarkMatchers[K]>;

/**
 * What a matcher returns on the assertion `A` it is called on: what `toEqual` returns there —
 * `void` on `expect(x)`, a promise after `.resolves` / `.rejects` or on `expect.poll` — and `any`
 * where there is no `toEqual`: `expect.toHaveSpan(…)` used as an asymmetric matcher.
 */
type ResultOn<A> = A extends { toEqual: (...args: never[]) => infer R } ? R : any;

declare module 'vitest' {
  // No type parameters: Vitest 4 declares `Matchers<T = any>`, Vitest 5 `Matchers<R, T>`, and a
  // declaration must repeat one of these exactly (TS2428) unless it names none, which both accept
  // since all their parameters have defaults. So a project's own `Matchers` declaration, written as
  // its Vitest version's docs show, merges with this one. The return type comes from `this`.
  interface Matchers {
    toHaveSpanPath(...args: Args<'toHaveSpanPath'>): ResultOn<this>;
    toHaveEntityJourney(...args: Args<'toHaveEntityJourney'>): ResultOn<this>;
    toHaveSpan(...args: Args<'toHaveSpan'>): ResultOn<this>;
    toMatchTrace(...args: Args<'toMatchTrace'>): ResultOn<this>;
  }
}

export { stepmarkMatchers };
