// stepmark/fastify: a Fastify 5 plugin. Only types are imported from fastify; the plugin marks
// itself the way fastify-plugin does (Symbol.for keys that Fastify reads), so its hooks apply
// to the whole application without a dependency on fastify-plugin.
import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import { AdapterCore, type RequestAccess, type StepmarkAdapterOptions } from '../core/index.js';
import { requestHeader, traceNodeRequest, withoutQuery } from '../core/node.js';

export type { Trace } from '../../runtime/types.js';
export { type AdapterErrorSource, StepmarkConfigError, type StepmarkConfigErrorCode } from '../core/index.js';

export type StepmarkFastifyOptions = StepmarkAdapterOptions<FastifyRequest>;

// What Fastify itself accepts in register() options; not ours to validate.
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers']);

const access: RequestAccess<FastifyRequest> = {
  header: (req, name) => requestHeader(req.raw, name),
  query(req, name) {
    const v = (req.query as Record<string, unknown> | undefined)?.[name];
    return v === undefined ? undefined : String(v);
  },
};

const traits = { entry: 'stepmark/fastify', query: true, maxHeaderBytes: 8192 };

const routeOf = (request: FastifyRequest): string | undefined => request.routeOptions.url;

function ownOptions(options: object | undefined): StepmarkFastifyOptions | undefined {
  if (options === undefined || options === null || typeof options !== 'object') return options;
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!REGISTER_OPTIONS.has(key)) own[key] = value;
  return own as StepmarkFastifyOptions;
}

/**
 * Fastify 5 plugin. Register it first (its `onRequest` hook must run before the others, so
 * they run inside the trace). Traces a request when it carries the trigger header (default
 * `x-stepmark`), the `query` parameter, or passes `trigger`; every other request costs one
 * header lookup. With `record`, every request is traced into that recorder.
 *
 * The trace's meta has `request_id`, `method`, `path`, `route` (`request.routeOptions.url`),
 * `status` and `duration_ms`. It goes to `onFinish(trace, request)` after the response, and,
 * for authorised requests only, into the `responseHeader`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { stepmarkPlugin } from 'stepmark/fastify';
 *
 * const app = Fastify();
 * await app.register(stepmarkPlugin, {
 *   secret: process.env.STEPMARK_SECRET,
 *   responseHeader: true,
 *   onFinish: (trace, request) => request.log.info({ trace }, 'stepmark'),
 * });
 * ```
 * @throws StepmarkConfigError (through `register`/`ready`) when the options cannot work.
 */
export const stepmarkPlugin: FastifyPluginCallback<StepmarkFastifyOptions> = function stepmark(
  fastify: FastifyInstance,
  options: StepmarkFastifyOptions,
  done: (error?: Error) => void,
) {
  let core: AdapterCore<FastifyRequest>;
  try {
    core = new AdapterCore(ownOptions(options), traits, access);
  } catch (error) {
    done(error as Error);
    return;
  }
  fastify.addHook('onRequest', function stepmarkOnRequest(request, reply, next) {
    const trigger = core.check(request);
    if (trigger === undefined && !core.records) return next();
    const r = traceNodeRequest(
      core,
      request,
      reply.raw,
      trigger,
      { method: request.method, path: withoutQuery(request.url) },
      routeOf,
      // Fastify continues after body parsing in the request's async context (an AsyncResource in
      // its content-type parser), so the handler stays inside the trace without more hooks.
      next,
    );
    if (r instanceof Promise) r.catch(next);
  });

  done();
};

const meta = stepmarkPlugin as unknown as Record<symbol, unknown>;
meta[Symbol.for('skip-override')] = true;
meta[Symbol.for('fastify.display-name')] = 'stepmark';
meta[Symbol.for('plugin-meta')] = { name: 'stepmark', fastify: '>=5' };

export default stepmarkPlugin;
