// The stepmark runtime without a build step, as each JavaScript runtime runs it: names read from
// the stack, async context across awaits and timers, concurrent traces kept apart, errors, entity
// scopes, caps. Prints one JSON line: the normalised traces, which must be the same under Node,
// Bun and Deno (test/hosts/hosts.test.ts). Plain JavaScript that all three run as is.
import {
  capture,
  captureSync,
  enter,
  enterEntity,
  record,
  recordEntity,
  scope,
  step,
  stepEntity,
  track,
} from 'stepmark';
import { normalizeTrace } from 'stepmark/testing';

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class FraudCheck {
  async score(order) {
    const exit = enterEntity(order.id);
    try {
      await tick(1);
      const score = order.total > 100 ? 0.9 : 0.1;
      stepEntity(order.id, score > 0.5 ? 'flagged' : 'passed', { score });
      return score;
    } finally {
      exit();
    }
  }
}

function validate(order) {
  const exit = enter();
  try {
    if (order.total <= 0) throw new Error(`bad total for ${order.id}`);
    step('valid', { total: order.total });
  } catch (error) {
    exit.fail(error);
    throw error;
  } finally {
    exit();
  }
}

const orders = scope('order');

async function place(order) {
  const exit = enter({ id: order.id });
  try {
    orders.track(order.id, { total: order.total });
    validate(order);
    await Promise.resolve();
    const score = await new FraudCheck().score(order);
    await tick(1);
    recordEntity(order.id, 'payment', score > 0.5 ? 'refused' : 'charged');
    return score > 0.5 ? 'refused' : 'confirmed';
  } catch (error) {
    exit.fail(error);
    throw error;
  } finally {
    exit();
  }
}

const secret = { card: '4111 1111 1111 1111', note: 'kept' };
const out = {};

// Two traces at once: each sees only its own order.
const [a, b] = await Promise.all([
  capture(() => place({ id: 'order_1', total: 40 })),
  capture(() => place({ id: 'order_2', total: 400 }), { meta: { request_id: 'r2' } }),
]);
out.concurrent = [a.result, b.result, normalizeTrace(a.trace), normalizeTrace(b.trace)];

// A thrown error closes the span with status "error" and reaches the caller.
const failed = await capture(() => place({ id: 'order_3', total: 0 }).catch((e) => e.message));
out.error = [failed.result, normalizeTrace(failed.trace)];

// Synchronous capture, redaction, and the event cap (the rest is counted in `dropped`).
const sync = captureSync(
  () => {
    track('user_1', secret, { kind: 'user' });
    for (let i = 0; i < 5; i++) record('bulk', `item-${i}`, { i });
    return 'done';
  },
  { maxEvents: 3, redact: ['card'] },
);
out.sync = [sync.result, normalizeTrace(sync.trace)];

// Outside any trace every call is a no-op.
out.untraced = [await place({ id: 'order_4', total: 1 })];

console.log(JSON.stringify(out));
