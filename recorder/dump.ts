// Writing the recorder out: NDJSON (one trace per line, what `stepmark view` and `stepmark find`
// read) to a file or a stream, on demand, on a signal, and synchronously when the process dies of
// an uncaught exception. node:fs is loaded when first needed, never at import: the recorder
// itself also runs where there is no file system (Hono on a worker).

type Fs = typeof import('node:fs');

/** Minimal shape of a Node writable stream (a file stream, a socket, process.stdout). */
export interface WritableLike {
  write(chunk: string, callback?: (error?: Error | null) => void): boolean;
  once?(event: 'drain' | 'error' | 'close', listener: (...args: unknown[]) => void): unknown;
  off?(event: 'drain' | 'error' | 'close', listener: (...args: unknown[]) => void): unknown;
  readonly destroyed?: boolean;
  readonly writableEnded?: boolean;
}

let fsModule: Fs | undefined;

/** node:fs now, when the platform can hand it over synchronously (Node ≥ 20.16, Bun, Deno). */
export function fsNow(): Fs | undefined {
  if (fsModule !== undefined) return fsModule;
  try {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    fsModule = p?.getBuiltinModule?.('node:fs') as Fs | undefined;
  } catch {}
  return fsModule;
}

// The specifier is a variable so that a build for a browser or a worker leaves this import alone:
// bundlers fail on a literal 'node:fs' ("Could not resolve"), and the import only runs on a Node
// without getBuiltinModule (20 before 20.16). The comments keep webpack and Vite from warning.
const FS: string = 'node:fs';

export async function loadFs(): Promise<Fs> {
  return fsNow() ?? (fsModule = (await import(/* webpackIgnore: true */ /* @vite-ignore */ FS)) as Fs);
}

// Lines are written in batches of about this many characters.
const BATCH = 1 << 16;

/** The dump file's name: `{pid}` and `{time}` (UTC, file-name safe) are replaced. */
export function dumpPath(template: string, now = new Date()): string {
  const pid = String((globalThis as { process?: { pid?: number } }).process?.pid ?? 0);
  const time = now.toISOString().replace(/[:.]/g, '-');
  return template.replace(/\{pid\}/g, pid).replace(/\{time\}/g, time);
}

/**
 * Whether a file just opened for a dump must be set to mode 0600: open's mode applies only to a
 * file it creates, so a regular file that existed keeps its own (0644, say) unless it is set,
 * before anything is written into it. Anything else (a device such as /dev/null, a FIFO, a
 * terminal) is not the dump's to change.
 */
function needsMode(mode: number): boolean {
  return (mode & 0o170000) === 0o100000 && (mode & 0o777) !== 0o600;
}

/**
 * Writes `lines` (each a JSON text) to a file of mode 0600 (it holds business data), replacing one
 * that exists. Returns the number of lines written.
 */
export async function writeFileLines(path: string, lines: Iterable<string>): Promise<number> {
  const fs = await loadFs();
  const handle = await fs.promises.open(path, 'w', 0o600);
  let n = 0;
  try {
    if (needsMode((await handle.stat()).mode)) await handle.chmod(0o600);
    let batch = '';
    for (const line of lines) {
      batch += `${line}\n`;
      n++;
      if (batch.length >= BATCH) {
        await handle.writeFile(batch);
        batch = '';
      }
    }
    if (batch !== '') await handle.writeFile(batch);
  } finally {
    await handle.close();
  }
  return n;
}

/** The same, synchronously: for a process that is about to die. */
export function writeFileLinesSync(fs: Fs, path: string, lines: Iterable<string>): number {
  const fd = fs.openSync(path, 'w', 0o600);
  let n = 0;
  try {
    if (needsMode(fs.fstatSync(fd).mode)) fs.fchmodSync(fd, 0o600);
    let batch = '';
    for (const line of lines) {
      batch += `${line}\n`;
      n++;
      if (batch.length >= BATCH) {
        fs.writeFileSync(fd, batch);
        batch = '';
      }
    }
    if (batch !== '') fs.writeFileSync(fd, batch);
  } finally {
    fs.closeSync(fd);
  }
  return n;
}

/** Writes `lines` to a stream, honouring backpressure; the stream is left open. */
export async function writeStreamLines(stream: WritableLike, lines: Iterable<string>): Promise<number> {
  let n = 0;
  let batch = '';
  const flush = async (): Promise<void> => {
    if (stream.destroyed || stream.writableEnded) throw new Error('the stream is closed');
    const text = batch;
    batch = '';
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (error?: unknown) => {
        if (settled) return;
        settled = true;
        stream.off?.('error', done);
        stream.off?.('close', closed);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve();
      };
      const closed = () => done(new Error('the stream closed before the dump was written'));
      stream.once?.('error', done);
      stream.once?.('close', closed);
      const ok = stream.write(text, (error) => {
        if (error) done(error);
      });
      if (ok || typeof stream.once !== 'function') done();
      else stream.once('drain', () => done());
    });
  };
  for (const line of lines) {
    batch += `${line}\n`;
    n++;
    if (batch.length >= BATCH) await flush();
  }
  if (batch !== '') await flush();
  return n;
}
