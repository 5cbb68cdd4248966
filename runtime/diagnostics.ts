/**
 * The diagnostics_channel bridge: publishes stepmark's spans on Node's `diagnostics_channel`
 * tracing channels, so an APM agent that already subscribes to tracing channels (OpenTelemetry,
 * Datadog and others do for orchestrion-style instrumentation) receives stepmark's build-time
 * names without stepmark knowing about the agent. See docs/DIAGNOSTICS.md for the channel names
 * and the message shape.
 *
 * Built on the span-lifecycle observers (observers.ts): nothing is registered until
 * `enableDiagnosticsChannel()` is called, so the recorder pays nothing when the bridge is unused.
 * `node:diagnostics_channel` is looked up through `process.getBuiltinModule` when the bridge is
 * enabled, never imported statically, so browser and edge bundles of the runtime need no shim.
 */
import { shared } from './global.js';
import { addObserver, type EntityView, type EventView, type SpanView, type TraceView } from './observers.js';
import { warnOnce } from './state.js';
import type { JsonValue } from './types.js';

/** Name passed to `diagnostics_channel.tracingChannel()`; the channels are `tracing:stepmark:span:<event>`. */
export const SPAN_CHANNEL = 'stepmark:span';
/** Plain channel for events (`step`, `record`, …; not the `entered`/`exited` events of spans). */
export const EVENT_CHANNEL = 'stepmark:event';

/**
 * The context object of one span: the same object is passed to every event of that span
 * (`start`, `end`, `asyncStart`, `asyncEnd`, `error`), as `TracingChannel` does, so a subscriber
 * can keep its own span on it (or in a WeakMap keyed by it). Fields other than those below are
 * the subscriber's.
 */
export interface SpanMessage {
  /** The span name written at build time (`OrderService.validate`), or derived from the stack. */
  readonly name: string;
  /** The span's id within its trace (`span_id` in the trace format). */
  readonly spanId: string;
  /** The context object of the parent span, when the parent was published too. */
  readonly parent: SpanMessage | undefined;
  /** `path:line:col` of the function, when the plugin embedded locations. */
  readonly location: string | undefined;
  /** Entity of an entity-scoped span (`enterEntity`, `@stepmark entity=…`). */
  readonly entityId: string | undefined;
  readonly entityKind: string | undefined;
  /** The trace's meta (`run(fn, { meta })`): the same object for every span of a trace. */
  readonly traceMeta: Record<string, JsonValue>;
  /**
   * Set when the span ends: `true` when the function suspended at an `await`/`yield` at least
   * once (then `asyncStart`/`asyncEnd` follow `end`), `false` for a span that ran to its end
   * synchronously.
   */
  async: boolean;
  /** Set when the span ends with an error, before the `error` event: an `Error` carrying the recorded message. */
  error?: Error;
}

/** Message of the `stepmark:event` channel. */
export interface EventMessage {
  readonly stage: string;
  readonly action: string;
  readonly meta: Record<string, JsonValue> | undefined;
  readonly entityId: string | undefined;
  readonly entityKind: string | undefined;
  /** Context object of the span open where the event was recorded, when that span was published. */
  readonly span: SpanMessage | undefined;
  readonly traceMeta: Record<string, JsonValue>;
}

interface ChannelLike {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

interface DiagnosticsChannelModule {
  channel(name: string): ChannelLike;
  tracingChannel(name: string): {
    start: ChannelLike;
    end: ChannelLike;
    asyncStart: ChannelLike;
    asyncEnd: ChannelLike;
    error: ChannelLike;
  };
}

interface Bridge {
  disable: () => void;
}

/** One bridge per process, whichever copy of the runtime (ESM, CommonJS, bundled) enabled it. */
const BRIDGE: { current: Bridge | undefined } = shared(
  'stepmark.diagnostics.v2',
  () => ({ current: undefined }),
  (b) => 'current' in b,
);

function loadModule(): DiagnosticsChannelModule | undefined {
  try {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = p?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannelModule | undefined;
    if (mod && typeof mod.tracingChannel === 'function') return mod;
  } catch {}
  return undefined;
}

/**
 * Starts publishing stepmark spans on the `diagnostics_channel` tracing channel `stepmark:span`
 * (channels `tracing:stepmark:span:start`, `…:end`, `…:asyncStart`, `…:asyncEnd`, `…:error`)
 * and events on the channel `stepmark:event`. Returns the function that stops it. Enabling
 * twice returns the same stop function; the bridge is shared by every copy of the runtime in the
 * process.
 *
 * Per span, in this order: `start` when the span opens (synchronously, in the traced function,
 * with the span current); then when it closes, `error` (if it failed), `end`, and for spans that
 * suspended at an `await`/`yield`, `asyncStart` and `asyncEnd`. Nothing is built or published
 * while no subscriber listens.
 *
 * Where `diagnostics_channel` is not available (browsers, Node < 20.16) nothing is published
 * and a warning is printed once.
 *
 * @example
 * import { enableDiagnosticsChannel } from 'stepmark';
 * import diagnostics_channel from 'node:diagnostics_channel';
 * enableDiagnosticsChannel();
 * diagnostics_channel.tracingChannel('stepmark:span').subscribe({
 *   start(ctx) { console.log('enter', ctx.name) }, end() {}, asyncStart() {}, asyncEnd() {}, error() {},
 * });
 */
export function enableDiagnosticsChannel(): () => void {
  const existing = BRIDGE.current;
  if (existing !== undefined) return existing.disable;
  const dc = loadModule();
  if (dc === undefined) {
    warnOnce(
      'no-diagnostics-channel',
      'enableDiagnosticsChannel(): node:diagnostics_channel is not available here (needs process.getBuiltinModule, Node >= 20.16); spans are not published',
    );
    return () => {};
  }
  const tc = dc.tracingChannel(SPAN_CHANNEL);
  const { start, end, asyncStart, asyncEnd, error } = tc;
  const events = dc.channel(EVENT_CHANNEL);
  // Span view -> its context object. Only spans published while someone listened are in here.
  const messages = new WeakMap<SpanView, SpanMessage>();
  // The span whose `entered` event comes next (it is recorded right after `spanStart`).
  let opening: SpanView | undefined;
  // Set while subscribers run: what they record themselves (traced code they call) stays in the
  // trace but is not published, or a `start` subscriber that opens a span would recurse.
  let publishing = false;
  const publish = (channel: { publish(message: unknown): void }, message: unknown): void => {
    publishing = true;
    try {
      channel.publish(message);
    } finally {
      publishing = false;
    }
  };

  const removeObserver = addObserver({
    spanStart(span: SpanView, trace: TraceView) {
      if (publishing) return;
      opening = span;
      if (
        !(
          start.hasSubscribers ||
          end.hasSubscribers ||
          asyncStart.hasSubscribers ||
          asyncEnd.hasSubscribers ||
          error.hasSubscribers
        )
      )
        return;
      const msg: SpanMessage = {
        name: span.name,
        spanId: span.id,
        parent: span.parent !== undefined ? messages.get(span.parent) : undefined,
        location: span.location,
        entityId: span.entity?.id,
        entityKind: span.entity?.kind,
        traceMeta: trace.meta,
        async: false,
      };
      messages.set(span, msg);
      if (start.hasSubscribers) publish(start, msg);
    },
    spanEnd(span: SpanView) {
      const msg = messages.get(span);
      if (msg === undefined) return;
      // The per-frame cursor exists once `r()` resumed the function after an await/yield.
      msg.async = (span as { own?: unknown }).own !== undefined;
      if (span.status === 2) {
        msg.error = new Error(span.error ?? 'error');
        if (error.hasSubscribers) publish(error, msg);
      }
      if (end.hasSubscribers) publish(end, msg);
      if (msg.async) {
        if (asyncStart.hasSubscribers) publish(asyncStart, msg);
        if (asyncEnd.hasSubscribers) publish(asyncEnd, msg);
      }
    },
    event(event: EventView, entity: EntityView | undefined, trace: TraceView) {
      const span = event.span;
      if (span !== undefined && span === opening) {
        opening = undefined;
        // a span's own `entered` event is its `start`, already on the span channel
        if (event.action === 'entered') return;
      }
      if (publishing || !events.hasSubscribers) return;
      // a span's own `exited` event (recorded once its status is final) is its `end`
      if (span !== undefined && span.status !== 0 && event.action === 'exited') return;
      const message: EventMessage = {
        stage: event.stage,
        action: event.action,
        meta: event.meta,
        entityId: entity?.id,
        entityKind: entity?.kind,
        span: span !== undefined ? messages.get(span) : undefined,
        traceMeta: trace.meta,
      };
      publish(events, message);
    },
  });

  const bridge: Bridge = {
    disable: () => {
      if (BRIDGE.current !== bridge) return;
      BRIDGE.current = undefined;
      removeObserver();
    },
  };
  BRIDGE.current = bridge;
  return bridge.disable;
}

/** Whether the bridge is publishing (in any copy of the runtime in this process). */
export function diagnosticsChannelEnabled(): boolean {
  return BRIDGE.current !== undefined;
}
