// Runs a library workload (test/libraries/workloads/<name>.mjs) against builds of the library in
// one plain Node process and prints one JSON line: for each run, the settled result or thrown
// value, the side-effect log, the unhandled rejections and, when traced, a summary of the trace.
//
//   node runner.mjs '{"workload":"/abs/immer.mjs","format":"esm","runs":[{"id":"plain","entry":"/abs/immer.mjs","traced":false}, …]}'
//
// Each run loads its own copy of the library (a separate file tree, so module state is fresh).
// A traced run happens inside `stepmark.run` with a span limit high enough for the whole
// workload, so that every span it opens can be checked.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe } from '../corpus/describe.mjs';

const { workload, format, runs } = JSON.parse(process.argv[2]);
const stepmark = await import('stepmark');
const require = createRequire(import.meta.url);
const { default: drive } = await import(pathToFileURL(workload).href);

/** Spans a traced run may open; a workload that opens more fails the suite (it would go unchecked). */
const MAX_SPANS = 400_000;

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(describe(reason)));

/**
 * What the suite checks of a trace: every span ended, each parent recorded and opened before its
 * child, nothing dropped; `names` counts spans per function name (the same for every route).
 */
function summarize(trace) {
  const byId = new Map(trace.spans.map((s) => [s.span_id, s]));
  const names = {};
  let unfinished = 0;
  let errors = 0;
  const orphans = [];
  for (const s of trace.spans) {
    names[s.name] = (names[s.name] ?? 0) + 1;
    if (s.status === 'unfinished') unfinished++;
    if (s.status === 'error') errors++;
    if (s.parent_id !== undefined) {
      const parent = byId.get(s.parent_id);
      if (!parent || parent.start > s.start || Number(parent.span_id) >= Number(s.span_id)) {
        if (orphans.length < 5) orphans.push(`${s.name} (${s.span_id}) under ${s.parent_id}`);
      }
    }
  }
  return {
    spans: trace.spans.length,
    unfinished,
    unfinishedNames: [
      ...new Set(trace.spans.filter((s) => s.status === 'unfinished').map((s) => s.name)),
    ].slice(0, 10),
    errors,
    orphans,
    droppedSpans: trace.dropped_spans ?? 0,
    names,
  };
}

async function load(entry) {
  if (format === 'cjs') return require(entry);
  return import(pathToFileURL(entry).href);
}

async function once(run) {
  const log = [];
  const record = (...args) => {
    log.push(describe(args));
  };
  let trace;
  const body = async () => drive(await load(run.entry), record);
  const settle = (p) =>
    p.then(
      (value) => ({ ok: true, value: describe(value) }),
      (error) => ({ ok: false, thrown: describe(error) }),
    );
  const outcome = await settle(
    Promise.resolve().then(() =>
      run.traced
        ? stepmark.run(body, {
            maxSpans: MAX_SPANS,
            onEnd(t) {
              trace = t;
            },
          })
        : body(),
    ),
  );
  // Let timers and microtasks the workload left behind finish before the next run.
  await new Promise((r) => setTimeout(r, 20));
  return { ...outcome, log, trace: trace && summarize(trace), unhandled: unhandled.splice(0) };
}

const results = {};
for (const run of runs) results[run.id] = await once(run);
process.stdout.write(`${JSON.stringify(results)}\n`);
