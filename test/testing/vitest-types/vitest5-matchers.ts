// A Vitest 5 project's own matchers, declared as Vitest 5's "Extending Matchers" guide shows.
import 'vitest';

declare module 'vitest' {
  interface Matchers<R, T> {
    toBeFoo: () => R;
    toEqualFoo: (expected: T) => R;
  }
}
