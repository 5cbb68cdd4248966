/**
 * Throw-away files of a test run. They live in the repository (test-output/tmp/run-<pid>), not in
 * the system's temp folder, so that `import "stepmark"` in generated code resolves to this
 * package by its own name, as it does for users. test/support/global-setup.ts makes one folder
 * per `vitest` run and removes it when the run ends (STEPMARK_KEEP_TEST_OUTPUT=1 keeps it, to look
 * at compiled outputs after a failure). test-output/ itself holds reports (CI logs), not scratch.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The parent of every run's scratch folder. */
export const SCRATCH_PARENT = join(REPO_ROOT, 'test-output', 'tmp');

/** This run's scratch folder (set by the global setup; a worker started otherwise makes its own). */
export const SCRATCH_ROOT = process.env.STEPMARK_TEST_SCRATCH ?? join(SCRATCH_PARENT, `run-${process.pid}`);

/** `name` (a relative path) in this run's scratch folder, emptied and created. */
export function scratchDir(name: string): string {
  const dir = join(SCRATCH_ROOT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A new, uniquely named folder `<prefix>XXXXXX` in this run's scratch folder. */
export function uniqueScratchDir(prefix: string): string {
  mkdirSync(SCRATCH_ROOT, { recursive: true });
  return mkdtempSync(join(SCRATCH_ROOT, prefix));
}
