import { expect } from 'vitest';

/** A call that must throw, the error code it must carry and the option it must name. */
export type ConfigErrorCase = readonly [make: () => unknown, code: string, option: string];

/**
 * Checks that each call throws an instance of `errorClass` (the `StepmarkConfigError` an entry
 * exports) with that `code` and `option`; a case that does not throw fails, naming the call.
 */
export function expectConfigErrors(
  errorClass: abstract new (...args: never[]) => Error,
  cases: readonly ConfigErrorCase[],
): void {
  for (const [make, code, option] of cases) {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error, `${make}`).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({ code, option });
  }
}
