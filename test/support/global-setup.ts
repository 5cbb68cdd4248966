/**
 * Vitest global setup: one scratch folder per run (test/support/scratch.ts), handed to the test
 * workers through the environment and removed when the run ends. Folders of earlier runs whose
 * process is gone (a run killed before its teardown) are removed too.
 */
import { mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SCRATCH_PARENT } from './scratch.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export default function setup(): () => void {
  mkdirSync(SCRATCH_PARENT, { recursive: true });
  for (const name of readdirSync(SCRATCH_PARENT)) {
    const pid = /^run-(\d+)$/.exec(name)?.[1];
    if (pid === undefined || !alive(Number(pid)))
      rmSync(join(SCRATCH_PARENT, name), { recursive: true, force: true });
  }
  const root = join(SCRATCH_PARENT, `run-${process.pid}`);
  mkdirSync(root, { recursive: true });
  process.env.STEPMARK_TEST_SCRATCH = root;
  return () => {
    if (process.env.STEPMARK_KEEP_TEST_OUTPUT) {
      process.stdout.write(`test files kept in ${root} (STEPMARK_KEEP_TEST_OUTPUT)\n`);
      return;
    }
    rmSync(root, { recursive: true, force: true });
    try {
      rmdirSync(SCRATCH_PARENT); // only when empty: another run may be using it
    } catch {}
  };
}
