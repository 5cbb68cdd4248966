// Runs compiled fixtures as real modules in a plain Node process (no test-runner module loader in
// between), one after the other, in the order given:
//
//   node runner.mjs plan.json      plan.json: {"runs":[{"id":"plain","file":"/abs/plain.mjs","traced":false}, …]}
//
// and reports on file descriptor 3 (stdout and stderr stay the fixtures' own), one JSON line per
// event: {"start":i} before run i, {"done":i,"result":…} after it, with the settled result or
// thrown value, the side-effect log, unhandled rejections and (when traced) the trace. The
// harness (harness.ts) knows from the last "start" which run a crash or a hang belongs to.
//
// Each run imports its own file (a fresh module instance), inside the trace when traced, so
// module-level code and explicit calls at module level are part of what is compared.
import { readFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe } from './describe.mjs';

const { runs } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const stepmark = await import('stepmark');

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(describe(reason)));

async function once(run) {
  const log = [];
  const record = (...args) => {
    log.push(describe(args));
  };
  const body = async () => {
    const mod = await import(pathToFileURL(run.file).href);
    // CommonJS output with ESM interop (`__esModule`): the exports object is Node's default export.
    const exports = mod.default?.__esModule
      ? mod.default
      : typeof mod.main === 'function'
        ? mod
        : mod.default;
    if (typeof exports?.main !== 'function') throw new Error('fixture has no exported main(log, exports)');
    return exports.main(record, exports);
  };
  let trace;
  const settle = (p) =>
    p.then(
      (value) => ({ ok: true, value: describe(value) }),
      (error) => ({ ok: false, thrown: describe(error) }),
    );
  let outcome;
  if (run.traced) {
    outcome = await settle(
      Promise.resolve().then(() =>
        stepmark.run(body, {
          onEnd(t) {
            trace = t;
          },
        }),
      ),
    );
  } else {
    outcome = await settle(Promise.resolve().then(body));
  }
  // Let timers and microtasks the fixture left behind finish before the next run.
  await new Promise((r) => setTimeout(r, 5));
  return { ...outcome, log, trace, unhandled: unhandled.splice(0) };
}

function report(event) {
  const bytes = Buffer.from(`${JSON.stringify(event)}\n`);
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(3, bytes, at);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}
for (let i = 0; i < runs.length; i++) {
  report({ start: i });
  report({ done: i, result: await once(runs[i]) });
}
