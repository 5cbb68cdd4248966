import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every *.test.ts in the repo, except the example project's own tests: they run under the
    // example's vitest.config (with the stepmark Vite plugin), spawned by test/esbuild/example.test.ts;
    // and the libraries' repositories that `npm run test:libraries` runs (test/libraries/own).
    include: ['**/*.test.ts'],
    exclude: [
      '**/node_modules/**',
      '**/dist/**',
      'test-output/**',
      'examples/**',
      'bench/**',
      'test/libraries/repos/**',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
