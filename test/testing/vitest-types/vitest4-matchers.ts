// A Vitest 4 project's own matchers, declared as Vitest 4's "Extending Matchers" guide shows
// (both of its forms).
import 'vitest';

interface CustomMatchers<R = unknown> {
  toBeFoo: () => R;
}

declare module 'vitest' {
  interface Matchers<T = any> extends CustomMatchers<T> {}
}

interface OtherMatchers<R = unknown> {
  toBeBar: () => R;
}

declare module 'vitest' {
  interface Assertion<T = any> extends OtherMatchers<T> {}
  interface AsymmetricMatchersContaining extends OtherMatchers {}
}
