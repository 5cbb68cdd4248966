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

declare module 'vitest' {
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown>
    extends StepmarkMatchers<R> {}
}

export { stepmarkMatchers };
