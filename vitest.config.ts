import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'runtime/**/*.test.ts', 'instrument/**/*.test.ts', 'babel-plugin/**/*.test.ts', 'transformer/**/*.test.ts', 'esbuild-plugin/**/*.test.ts', 'vite/**/*.test.ts', 'adapters/**/*.test.ts', 'otel/**/*.test.ts', 'sinks/**/*.test.ts', 'live/**/*.test.ts', 'testing/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
