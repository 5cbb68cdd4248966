// One span processor that hands every span to several, each on its own: the OpenTelemetry SDK
// calls its processors in turn and stops at the first that throws, so one broken processor (or
// exporter behind a simple processor) would otherwise cost every processor after it every span.
import { reportOnce } from '../runtime/report.js';

/**
 * What the OpenTelemetry SDK asks of a span processor (`SpanProcessor` of
 * `@opentelemetry/sdk-trace-base`), written out so that stepmark needs no SDK.
 */
export interface SpanProcessorLike {
  onStart(span: unknown, parentContext: unknown): void;
  onEnding?(span: unknown): void;
  onEnd(span: unknown): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Combines span processors so that each one's failure stays its own: a processor that throws (or
 * whose `forceFlush`/`shutdown` rejects) is reported once per distinct failure, as a process
 * warning (`STEPMARK_OTEL_PROCESSOR_FAILED`), and every other processor still gets every span.
 *
 * @example
 * ```ts
 * const provider = new NodeTracerProvider({
 *   spanProcessors: [isolateSpanProcessors(new BatchSpanProcessor(otlp), new SimpleSpanProcessor(audit))],
 * });
 * ```
 */
export function isolateSpanProcessors(...processors: SpanProcessorLike[]): SpanProcessorLike {
  processors.forEach((p, i) => {
    if (
      p === null ||
      typeof p !== 'object' ||
      typeof p.onStart !== 'function' ||
      typeof p.onEnd !== 'function'
    ) {
      throw new TypeError(`stepmark/otel: isolateSpanProcessors: argument ${i + 1} is not a span processor`);
    }
  });
  const each = (hook: string, call: (p: SpanProcessorLike) => void): void => {
    for (const p of processors) {
      try {
        call(p);
      } catch (error) {
        reportOnce('STEPMARK_OTEL_PROCESSOR_FAILED', `a span processor failed (${hook})`, error);
      }
    }
  };
  const settleAll = async (hook: string, call: (p: SpanProcessorLike) => Promise<void>): Promise<void> => {
    const outcomes = await Promise.allSettled(
      processors.map((p) => {
        try {
          return call(p);
        } catch (error) {
          return Promise.reject(error);
        }
      }),
    );
    for (const o of outcomes) {
      if (o.status === 'rejected')
        reportOnce('STEPMARK_OTEL_PROCESSOR_FAILED', `a span processor failed (${hook})`, o.reason);
    }
  };
  return {
    onStart: (span, parentContext) => each('onStart', (p) => p.onStart(span, parentContext)),
    onEnding: (span) => each('onEnding', (p) => p.onEnding?.(span)),
    onEnd: (span) => each('onEnd', (p) => p.onEnd(span)),
    forceFlush: () => settleAll('forceFlush', (p) => p.forceFlush()),
    shutdown: () => settleAll('shutdown', (p) => p.shutdown()),
  };
}
