import type { Trace } from '../../runtime/types.js';

/** A hand-built trace in the DESIGN §2 format: a request with one entity, a nested and a failed span. */
export function sampleTrace(requestId = 'r1'): Trace {
  return {
    meta: { request_id: requestId },
    entities: {
      order_42: {
        entity_id: 'order_42',
        kind: 'order',
        meta: { total: 249.99 },
        events: [
          {
            stage: 'FraudService.score',
            action: 'entered',
            timestamp: '2026-01-01T00:00:00.002Z',
            span_id: '2',
          },
          {
            stage: 'FraudService.score',
            action: 'flagged',
            timestamp: '2026-01-01T00:00:00.003Z',
            meta: { score: 0.78 },
            span_id: '2',
          },
          {
            stage: 'FraudService.score',
            action: 'exited',
            timestamp: '2026-01-01T00:00:00.004Z',
            meta: { duration_ms: 2.5 },
            span_id: '2',
          },
        ],
      },
    },
    events: [{ stage: 'checkout', action: 'received', timestamp: '2026-01-01T00:00:00.001Z', span_id: '1' }],
    spans: [
      {
        span_id: '1',
        name: 'OrderService.place',
        start: '2026-01-01T00:00:00.000Z',
        end: '2026-01-01T00:00:00.010Z',
        duration_ms: 10.25,
        status: 'ok',
        location: 'src/order.ts:12:3',
      },
      {
        span_id: '2',
        parent_id: '1',
        name: 'FraudService.score',
        entity_id: 'order_42',
        start: '2026-01-01T00:00:00.002Z',
        end: '2026-01-01T00:00:00.004Z',
        duration_ms: 2.5,
        status: 'error',
        error: 'score service down',
        location: 'src/fraud.ts:3:10',
      },
    ],
    dropped: 0,
  };
}
