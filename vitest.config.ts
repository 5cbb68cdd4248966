import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The tests that drive a real chromium. A browser is the largest thing the suite starts (about
// 1 GB resident over its nine processes), so these run on their own after the others, one at a
// time: beside two other test files they took the run's peak past 2 GB.
const BROWSER = ['test/live/browser.test.ts', 'test/live/report-pages.test.ts'];

// Every *.test.ts in the repo, except the example project's own tests: they run under the
// example's vitest.config (with the stepmark Vite plugin), spawned by test/esbuild/example.test.ts;
// and the libraries' repositories that `npm run test:libraries` runs (test/libraries/own).
const EXCLUDE = [
  '**/node_modules/**',
  '**/dist/**',
  'test-output/**',
  'examples/**',
  'bench/**',
  'test/libraries/repos/**',
];

export default defineConfig({
  test: {
    // Timeouts catch hangs, nothing else: with the machine shared and two workers, a test that
    // spawns compilers takes a few times longer than alone; these leave that room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for a condition (a page updating, a server answering); on a shared
    // machine under load that can take seconds, so the default of 1 s would make it flaky.
    expect: { poll: { timeout: 20_000 } },
    pool: 'forks',
    // Vitest's default (one worker less than cores) runs one file at a time on a 2-core machine,
    // while most files spend their time waiting on child processes (compilers, fixture runners,
    // servers): two workers there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // One scratch folder per run for the files tests generate, removed at the end (test/support/scratch.ts).
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['**/*.test.ts'],
          exclude: [...EXCLUDE, ...BROWSER],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: BROWSER,
          exclude: EXCLUDE,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
