import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every *.test.ts in the repo, except the example project's own tests: they run under the
    // example's vitest.config (with the stepmark Vite plugin), spawned by test/esbuild/example.test.ts.
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test-output/**', 'examples/**', 'bench/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for a condition (a page updating, a server answering); on a shared
    // machine under load that can take seconds, so the default of 1 s would make it flaky.
    expect: { poll: { timeout: 20_000 } },
    pool: 'forks',
    // One scratch folder per run for the files tests generate, removed at the end (test/support/scratch.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
