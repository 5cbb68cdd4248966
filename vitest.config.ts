import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every *.test.ts in the repo, except the example project's own tests: they run under the
    // example's vitest.config (with the stepmark Vite plugin), spawned by test/esbuild/example.test.ts.
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test-output/**', 'examples/**', 'bench/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
