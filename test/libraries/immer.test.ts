import { differential } from './differential.js';

// Issue 17, "Nested function declarations lose their scope": enableArrayMethods() declares
// `const MUTATING_METHODS` and nested `function isMutatingArrayMethod` that reads it; the frame
// hoists the function out of the `try` that holds the const (ReferenceError on every route).
const NESTED_DECLARATIONS = 'a nested function declaration loses the enclosing const (issue 17)';

differential('immer', {
  knownFailures: {
    babel: NESTED_DECLARATIONS,
    esbuild: NESTED_DECLARATIONS,
    typescript: NESTED_DECLARATIONS,
    register: NESTED_DECLARATIONS,
  },
});
