// stepmark/grpc: a @grpc/grpc-js server interceptor that traces calls and returns the trace in
// the trailing metadata of authorised calls.
import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { AdapterCore, type RequestAccess, type StepmarkAdapterOptions, whenDecided } from '../core/index.js';
import { RequestTrace } from '../core/node.js';

export type { Trace } from '../../runtime/types.js';
export { type AdapterErrorSource, StepmarkConfigError, type StepmarkConfigErrorCode } from '../core/index.js';

/** What `trigger`, `authorize`, `meta` and `onFinish` receive for a gRPC call. */
export interface GrpcRequest {
  /** Full method path, e.g. `/shop.Orders/Place`. */
  path: string;
  /** The call's request metadata. */
  metadata: Metadata;
  method: ServerMethodDefinition<unknown, unknown>;
  call: ServerInterceptingCallInterface;
}

/** What a server sends to end a call (grpc-js does not export the type by name). */
type PartialStatusObject = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

export type StepmarkGrpcOptions = StepmarkAdapterOptions<GrpcRequest>;

const access: RequestAccess<GrpcRequest> = {
  header(req, name) {
    const values = req.metadata.get(name);
    if (values.length === 0) return undefined;
    return values.map((v) => (typeof v === 'string' ? v : v.toString('latin1'))).join(', ');
  },
};

const traits = { entry: 'stepmark/grpc', query: false, maxHeaderBytes: 4096, metadata: true };

// Status codes that mean the server failed (the gRPC counterpart of HTTP 5xx): UNKNOWN (what a
// throwing handler produces), DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS.
const SERVER_ERRORS = new Set([2, 4, 13, 14, 15]);

/**
 * Server interceptor for `@grpc/grpc-js` (≥ 1.10). Traces a call whose metadata carries the
 * trigger key (default `x-stepmark`) or that passes `trigger`; every other call costs one
 * metadata lookup. With `record`, every call is traced into that recorder (a failed call, status
 * UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE or DATA_LOSS, counts as an error for its keep rules). Options are those of the HTTP adapters, without `query`; `header` and
 * `responseHeader` name metadata keys, and the trace of an authorised call is returned in the
 * trailing metadata (default cap 4096 bytes: gRPC C-core clients reject large metadata).
 *
 * The trace's meta has `request_id`, `method` (`POST`, as every gRPC call), `path` and `route`
 * (the full method name), `status` (the gRPC status code) and `duration_ms`.
 *
 * @example
 * ```ts
 * import { Server } from '@grpc/grpc-js';
 * import { stepmarkInterceptor } from 'stepmark/grpc';
 *
 * const server = new Server({
 *   interceptors: [stepmarkInterceptor({ secret: process.env.STEPMARK_SECRET, responseHeader: true })],
 * });
 * // client: call.on('status', (s) => JSON.parse(String(s.metadata.get('x-stepmark-trace')[0])))
 * ```
 * @throws StepmarkConfigError at creation when the options cannot work.
 */
export function stepmarkInterceptor(options?: StepmarkGrpcOptions): ServerInterceptor {
  const core = new AdapterCore(options, traits, access);
  return function stepmark(method, call) {
    let trace: RequestTrace<GrpcRequest> | undefined;
    let req: GrpcRequest | undefined;
    let status: number | undefined;
    const facts = () => ({
      status,
      route: method.path,
      aborted: status === undefined,
      failed: status !== undefined && SERVER_ERRORS.has(status),
    });
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, proceed) {
            req = { path: method.path, metadata, method, call };
            const trigger = core.check(req);
            if (trigger === undefined && !core.records) return proceed(metadata);
            whenDecided(core.expose(req, trigger), (expose) => {
              const start = core.begin(req!, { method: 'POST', path: method.path }, expose);
              if (start === undefined) return proceed(metadata);
              trace = new RequestTrace(core, start, req!, true);
              trace.open(() => proceed(metadata), facts);
            });
          },
          // grpc-js delivers these from http2 stream events: continue them inside the trace.
          onReceiveMessage(message, proceed) {
            if (trace === undefined) proceed(message);
            else trace.resume(() => proceed(message));
          },
          onReceiveHalfClose(proceed) {
            if (trace === undefined) proceed();
            else trace.resume(proceed);
          },
          onCancel() {
            trace?.end();
          },
        });
      },
      sendStatus(sent: PartialStatusObject, proceed) {
        if (trace !== undefined) {
          status = sent.code;
          if (trace.start.expose) sent = withTrace(core, trace, sent, method.path);
          proceed(sent);
          trace.end();
          return;
        }
        proceed(sent);
      },
    });
  };
}

function withTrace(
  core: AdapterCore<GrpcRequest>,
  trace: RequestTrace<GrpcRequest>,
  sent: PartialStatusObject,
  path: string,
): PartialStatusObject {
  try {
    const collected = trace.collect();
    if (collected === undefined) return sent;
    core.complete(collected.meta, trace.start, { status: sent.code, route: path });
    const metadata = sent.metadata ?? new Metadata();
    metadata.set(core.responseHeader!, core.encode(collected));
    return { ...sent, metadata };
  } catch (error) {
    core.report(error, 'expose');
    return sent;
  }
}

export default stepmarkInterceptor;
