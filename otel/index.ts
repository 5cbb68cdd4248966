/**
 * `stepmark/otel`: stepmark traces in OpenTelemetry.
 *
 * - `exportTrace(trace)` turns a collected trace into OTel spans (same tree, real times, `code.*`
 *   attributes, entity attributes, steps as span events, errors as status + exception event).
 * - `otelOnEnd()` is the same as a `run` option: `run(fn, { onEnd: otelOnEnd() })`.
 * - `enableOtel()` records, at trace start, the OTel span active there (so exported spans become
 *   its children even when exported later), makes `injectTraceContext` send the active OTel
 *   context, and with `{ live: true }` opens an OTel span as each stepmark span opens.
 * - `isolateSpanProcessors(...)` keeps one throwing span processor from costing the others spans.
 * - W3C trace context helpers (also usable without OTel, from `stepmark/propagation`).
 *
 * `@opentelemetry/api` is an optional peer dependency imported only by this entry.
 */

export { StepmarkConfigError, type StepmarkConfigErrorCode } from '../adapters/core/errors.js';
export { ATTR, type Attrs, type AttrValue, parseLocation } from './attributes.js';
export {
  type ExportOptions,
  type ExportResult,
  exportTrace,
  OtelExportError,
  parentFromMeta,
} from './export.js';
export {
  type EnableOtelOptions,
  enableOtel,
  type OtelHandle,
  otelMeta,
  otelOnEnd,
  otelSink,
} from './live.js';
export { isolateSpanProcessors, type SpanProcessorLike } from './processors.js';
export * from './propagation.js'; // includes ./w3c.js
