// diagnostics_channel bridge (issue 9): what publishing spans costs a traced program. Ratios
// measured side by side in one run. Run: `node bench/run.mjs diagnostics`.
import dc from 'node:diagnostics_channel';
import * as stepmark from 'stepmark';
import { v1 } from 'stepmark/runtime';

/**
 * A traced request: 500 instrumented calls (frames as the plugins emit them), one step each.
 * Large enough that switching the bridge on and off around it (needed to interleave baseline
 * and subject) is noise.
 */
function request() {
  for (let i = 0; i < 500; i++) {
    const f = v1.enter('OrderService.validate', 'src/order.ts:12:3');
    try {
      v1.step('OrderService.validate', 'accepted');
    } finally {
      f.exit();
    }
  }
}
const traced = () => stepmark.run(request, { maxEvents: 1e9, maxSpans: 1e9 });

const noop = () => {};
const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };

export default async function (h) {
  const idle = stepmark.enableDiagnosticsChannel();
  idle();
  // 1. enabled, nobody subscribed: the observer runs and returns after hasSubscribers checks
  await h.compare(
    'diagnostics bridge enabled, no subscriber (traced request, 500 spans + 500 steps)',
    {
      baseline: traced,
      subject: () => {
        const off = stepmark.enableDiagnosticsChannel();
        try {
          traced();
        } finally {
          off();
        }
      },
    },
    { note: 'observer registered: the recorder dispatches span open/close and each event to it' },
  );
  // 2. a subscriber on every span event and on events
  const tc = dc.tracingChannel('stepmark:span');
  await h.compare(
    'diagnostics bridge with a subscriber (same request)',
    {
      baseline: traced,
      subject: () => {
        const off = stepmark.enableDiagnosticsChannel();
        tc.subscribe(handlers);
        dc.subscribe('stepmark:event', noop);
        try {
          traced();
        } finally {
          tc.unsubscribe(handlers);
          dc.unsubscribe('stepmark:event', noop);
          off();
        }
      },
    },
    { note: 'one context object per span, publishes start/end and one event message per step' },
  );
}
