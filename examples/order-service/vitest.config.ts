import stepmark from 'stepmark/vite';
import { defineConfig } from 'vitest/config';

// The stepmark Vite plugin instruments the marked files under src/ when Vitest loads them, so the
// tests below see the same spans as a production build.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [stepmark()],
  test: { include: ['test/**/*.test.ts'] },
});
