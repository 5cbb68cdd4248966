import { differential } from './differential.js';

// Issue 17, "Nested function declarations lose their scope": core.$constructor declares
// `const initialized` and nested `function init` that reads it (ReferenceError on every route).
const NESTED_DECLARATIONS = 'a nested function declaration loses the enclosing const (issue 17)';

differential('zod', {
  knownFailures: {
    babel: NESTED_DECLARATIONS,
    esbuild: NESTED_DECLARATIONS,
    // Also: the transformer turns an expression-bodied arrow whose expression starts after a
    // line comment (`(value, key) =>\n // overwrite…\n selected && …` in util.required) into
    // `return\n// …\nexpr`, which returns undefined (automatic semicolon insertion).
    typescript: `${NESTED_DECLARATIONS}; an arrow body after a line comment returns undefined (TypeScript transformer)`,
    register: NESTED_DECLARATIONS,
  },
});
