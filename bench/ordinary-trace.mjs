// An ordinary request's trace, for `bench/runtime-process.mjs caps`: imported once per runtime
// copy under test (`ordinary-trace.mjs?runtime=…`), so that each copy of this function sees one
// runtime only and V8's inline caches stay monomorphic in both.
/**
 * An ordinary request's trace, through the API and ABI of `sm` (one runtime copy): 3 orders, each
 * tracked with meta, an entity span with 2 nested spans, 3 steps with meta; 2 unscoped events;
 * then collected (`captureSync`).
 */
export function ordinaryTrace(sm) {
  const { v1 } = sm;
  return sm.captureSync(
    () => {
      const place = v1.enter('OrderService.place', 'src/order.ts:12:3');
      sm.record('http', 'received', { path: '/orders', method: 'POST' });
      for (let i = 0; i < 3; i++) {
        const id = `order_${i}`;
        sm.track(id, { customer: `c${i}`, items: 3, total: 249.99 }, { kind: 'order' });
        const check = v1.enterEntity('FraudService.check', 'src/fraud.ts:8:3', 'order', id);
        const score = v1.enter('FraudService.score', 'src/fraud.ts:20:3');
        v1.step('FraudService.score', 'scored', { score: 0.42, model: 'v3' });
        score.exit();
        const price = v1.enter('Pricing.apply', 'src/pricing.ts:5:3');
        v1.stepEntity('Pricing.apply', id, 'priced', { subtotal: 2598, discount: 0, total: 3117.6 });
        price.exit();
        v1.stepEntity('FraudService.check', id, i === 2 ? 'flagged' : 'passed', { reason: 'velocity' });
        check.exit();
      }
      sm.record('http', 'responded', { status: 201 });
      place.exit();
    },
    { meta: { request_id: 'req-1' } },
  ).trace;
}
