// Runs the same calls through ESM (orders.js), CommonJS (legacy.cjs) and, when Node can strip
// types, TypeScript (pricing.ts), and prints the span tree and events of one trace as JSON.
import { createRequire } from 'node:module';
import * as stepmark from 'stepmark';
import { OrderService, price } from './orders.js';

const require = createRequire(import.meta.url);
const { audit } = require('./legacy.cjs');
const ts = process.features?.typescript ? await import('./pricing.ts') : undefined;

const { result, trace } = await stepmark.capture(async () => {
  const svc = new OrderService();
  const out = [await svc.place({ id: 'o1', total: 150 }), price({ total: 2 }), audit({ id: 'o1' })];
  if (ts) out.push(ts.discount({ id: 'o1', total: 150 }), ts.untouched({ id: 'o1', total: 1 }));
  return out;
});
const name = (id) => trace.spans.find((s) => s.span_id === id)?.name ?? null;
console.log(
  JSON.stringify({
    result,
    spans: trace.spans.map((s) => [s.name, name(s.parent_id), s.location, s.entity_id ?? null, s.status]),
    steps: [...trace.events, ...Object.values(trace.entities).flatMap((e) => e.events)]
      .filter((e) => e.action !== 'entered' && e.action !== 'exited')
      .map((e) => [e.stage, e.action]),
  }),
);
