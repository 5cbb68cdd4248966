// Reading traces from a file as a stream, for the commands that go through many of them
// (`stepmark coverage` over a day of traces, `stepmark diff` picking one trace out of a flight
// recorder dump). NDJSON — one trace per line, what ndjsonSink and a recorder dump write — is
// read one line at a time, in constant memory; a file whose first line is not a JSON value by
// itself (a pretty-printed trace or array) is read whole, as `stepmark view` reads it.
import { open } from 'node:fs/promises';
import type { Trace } from '../runtime/types.js';
import { InputError, parseTraces } from './input.js';

function readProblem(error: unknown): InputError {
  const e = error as NodeJS.ErrnoException;
  const why =
    e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.code ?? e.message);
  return new InputError(`cannot read it (${why})`);
}

/**
 * Calls `onTrace` with each trace of `file` ("-": standard input), in order. Throws
 * {@link InputError} with a one-line message (a line number for NDJSON) for a file that cannot
 * be read or holds something that is not a trace.
 */
export async function readTraces(file: string, onTrace: (trace: Trace) => void): Promise<void> {
  let stream: NodeJS.ReadableStream;
  if (file === '-') stream = process.stdin;
  else {
    // Opened first, so a missing file or a directory is reported before anything is read.
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, 'r');
      if ((await handle.stat()).isDirectory()) {
        await handle.close();
        throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      }
    } catch (error) {
      throw readProblem(error);
    }
    stream = handle.createReadStream({ autoClose: true });
  }
  stream.setEncoding('utf8');
  let mode = 'first' as 'first' | 'lines' | 'whole';
  const whole: string[] = [];
  let lineNo = 0;
  let rest = '';
  let any = false;
  const line = (text: string): void => {
    lineNo++;
    if (mode === 'whole') {
      whole.push(text);
      return;
    }
    const content = lineNo === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (content.trim() === '') return;
    if (mode === 'first') {
      try {
        JSON.parse(content);
        mode = 'lines';
      } catch {
        mode = 'whole';
        whole.push(...Array(lineNo - 1).fill(''), text);
        return;
      }
    }
    let traces: Trace[];
    try {
      traces = parseTraces(content);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      throw new InputError(`line ${lineNo}: ${error.message.replace(/ at line 1, column/, ' at column')}`);
    }
    for (const t of traces) {
      any = true;
      onTrace(t);
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const p of parts) line(p.endsWith('\r') ? p.slice(0, -1) : p);
    }
  } catch (error) {
    // A read error mid-stream; anything else (a bad line, the caller's own error) goes on as it is.
    if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string')
      throw readProblem(error);
    throw error;
  }
  if (rest !== '') line(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  if (mode === 'whole') {
    for (const t of parseTraces(whole.join('\n'))) onTrace(t);
  } else if (!any) throw new InputError('empty input: no traces');
}
