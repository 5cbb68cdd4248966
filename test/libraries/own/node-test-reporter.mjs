// A reporter for `node --test` (run.mjs, `node-test` suites): one JSON line per test that ran or
// was skipped, `{"file","name","status","message"}` with status `pass`, `fail` or `skip` (and the
// first line of the error of a failure). Suites (`describe`) and tests with subtests are not
// tests: they pass or fail with what they hold. The name is the test's with those of the suites
// and tests around it, as `a > b > test`. What the test files write to stderr goes to stderr
// (stepmark/register's debug lines: what it instrumented).
import { relative } from 'node:path';

export default async function* reporter(source) {
  // per file (the events of files may interleave), by nesting: the names of the tests started
  // around the current one, and whether each has subtests
  const files = new Map();
  for await (const { type, data } of source) {
    if (type === 'test:stderr') process.stderr.write(data.message);
    if (!files.has(data.file)) files.set(data.file, { names: [], parents: [] });
    const { names, parents } = files.get(data.file);
    if (type === 'test:start') {
      names[data.nesting] = data.name;
      parents[data.nesting] = false;
      if (data.nesting > 0) parents[data.nesting - 1] = true;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    if (data.details?.type === 'suite' || parents[data.nesting]) continue;
    const name = [...names.slice(0, data.nesting), data.name].join(' > ');
    const status = data.skip !== undefined || data.todo !== undefined ? 'skip' : type.slice(5);
    const file = data.file ? relative(process.cwd(), data.file) : '';
    const error = data.details?.error;
    const message =
      status === 'fail' ? String(error?.cause?.message ?? error?.message).split('\n')[0] : undefined;
    yield `${JSON.stringify({ file, name, status, message })}\n`;
  }
}
