// Runs one compiled fixture as real modules in a plain Node process (no test-runner module
// loader in between) and prints one JSON line: for each run, the settled result or thrown
// value, the side-effect log, and (when traced) the trace.
//
//   node runner.mjs '{"runs":[{"id":"plain","file":"/abs/plain.mjs","traced":false}, …]}'
//
// Each run imports its own file (a fresh module instance), inside the trace when traced, so
// module-level code and explicit calls at module level are part of what is compared.
import { pathToFileURL } from 'node:url';
import { describe } from './describe.mjs';

const { runs } = JSON.parse(process.argv[2]);
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

const results = {};
for (const run of runs) results[run.id] = await once(run);
process.stdout.write(`${JSON.stringify(results)}\n`);
