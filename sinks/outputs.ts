// Where formatted text goes: a file (by path or descriptor) or a Node writable stream. A file is
// written synchronously in the queue's drain; a stream asynchronously, and through its file
// descriptor (when it has one) at process exit.

import * as fs from 'node:fs';
import { toError } from './queue.js';

export interface TextOutput {
  readonly name: string;
  write(text: string, done: (err?: Error | null) => void): void;
  writeSync?(text: string): void;
  end?(done: () => void): void;
}

/** Minimal shape of a Node writable stream (process.stdout, fs.WriteStream, a socket, ...). */
export interface WritableLike {
  write(chunk: string, cb?: (err?: Error | null) => void): boolean;
  on?(event: 'error', listener: (err: Error) => void): unknown;
  once?(event: 'drain', listener: () => void): unknown;
  off?(event: 'drain', listener: () => void): unknown;
  readonly destroyed?: boolean;
  readonly writableEnded?: boolean;
  readonly fd?: number;
}

/**
 * Appends to a file, opened on the first write, so a bad path is reported through the sink's error
 * path, never thrown at creation.
 *
 * Writes are synchronous (like pino's default destination), in the queue's drain, off the request
 * path: a batch is never half-way through an asynchronous write, so a `process.exit()` at any
 * moment finds every trace either written or still queued, and the exit flush writes the rest.
 * Local files take the page cache's time, a batch at a time.
 */
export function fileOutput(target: string | number, opts: { mode?: 'append' | 'truncate' } = {}): TextOutput {
  const flags = opts.mode === 'truncate' ? 'w' : 'a';
  const ownsFd = typeof target !== 'number';
  let fd: number | undefined = typeof target === 'number' ? target : undefined;
  const name = typeof target === 'number' ? `file(fd ${target})` : `file(${target})`;

  const writeSync = (text: string): void => {
    if (fd === undefined) fd = fs.openSync(target as string, flags, 0o644);
    fs.writeFileSync(fd, text);
  };

  return {
    name,
    write(text, done) {
      let failure: Error | undefined;
      try {
        writeSync(text);
      } catch (err) {
        failure = toError(err);
      }
      done(failure);
    },
    writeSync,
    end(done) {
      if (fd === undefined || !ownsFd) return done();
      const closing = fd;
      fd = undefined;
      fs.close(closing, () => done());
    },
  };
}

/** Writes to a Node writable stream; honours backpressure; an 'error' event fails the sink once. */
export function streamOutput(stream: WritableLike, name = 'stream'): TextOutput {
  let streamError: Error | undefined;
  // Without a listener, an 'error' event on the stream would crash the process.
  stream.on?.('error', (err) => {
    streamError ??= toError(err);
  });
  return {
    name,
    write(text, done) {
      if (streamError) return done(streamError);
      if (stream.destroyed || stream.writableEnded) return done(new Error(`${name} is closed`));
      let calledBack = false;
      let drained = true;
      let finished = false;
      const finish = (err?: Error | null) => {
        if (finished) return;
        finished = true;
        done(err ?? streamError);
      };
      const ok = stream.write(text, (err) => {
        calledBack = true;
        if (err) return finish(toError(err));
        if (drained) finish();
      });
      if (!ok && stream.once) {
        // Full buffer: the next batch waits for 'drain' (the queue keeps absorbing, with its bound).
        drained = false;
        stream.once('drain', () => {
          drained = true;
          if (calledBack) finish();
        });
      }
    },
    writeSync:
      typeof stream.fd === 'number'
        ? (text) => {
            if (!streamError && !stream.destroyed) fs.writeFileSync(stream.fd!, text);
          }
        : undefined,
  };
}
