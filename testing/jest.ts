/**
 * `stepmark/testing/jest`: registers the stepmark matchers with Jest's `expect` and types them, for
 * both ways a Jest 30 project types `expect`: imported from `@jest/globals` (the `expect`
 * package's `Matchers`) and the globals of `@types/jest` (`jest.Matchers`). List it in
 * `setupFilesAfterEnv`:
 *
 * @example
 * ```js
 * // jest.config.js
 * module.exports = { setupFilesAfterEnv: ['stepmark/testing/jest'] };
 * // any test
 * expect(trace).toHaveSpanPath(['OrderService.place', 'FraudService.score']);
 * ```
 */
import { expect } from '@jest/globals';
import { type StepmarkMatchers, stepmarkMatchers } from './index.js';

// `@jest/globals` is provided by Jest's module registry itself (never resolved from disk), so this
// works with `injectGlobals: false` and under pnpm's strict layout alike.
expect.extend(stepmarkMatchers);

declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> extends StepmarkMatchers<R> {}
}

declare global {
  namespace jest {
    // the type parameters of @types/jest's declaration, which this merges with
    interface Matchers<R, T = {}> extends StepmarkMatchers<R> {}
  }
}

export { stepmarkMatchers };
