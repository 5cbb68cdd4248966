// stepmark/koa: Koa 2/3 middleware. Only types come from koa.
import type { Context, Middleware, Next } from 'koa';
import { AdapterCore, type RequestAccess, type StepmarkAdapterOptions } from '../core/index.js';
import { requestHeader, traceNodeRequest } from '../core/node.js';

export type { Trace } from '../../runtime/types.js';
export { type AdapterErrorSource, StepmarkConfigError, type StepmarkConfigErrorCode } from '../core/index.js';

export type StepmarkKoaOptions = StepmarkAdapterOptions<Context>;

const access: RequestAccess<Context> = {
  header: (ctx, name) => requestHeader(ctx.req, name),
  query(ctx, name) {
    const v = ctx.query[name];
    return v === undefined ? undefined : String(v);
  },
};

const traits = { entry: 'stepmark/koa', query: true, maxHeaderBytes: 8192 };

// @koa/router (and koa-router) record the matched layer's pattern here.
function routeOf(ctx: Context): string | undefined {
  const route = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  return route === undefined ? undefined : String(route);
}

/**
 * Koa middleware. `app.use` it first. Traces a request when it carries the trigger header
 * (default `x-stepmark`), the `query` parameter, or passes `trigger`; every other request costs
 * one header lookup. With `record`, every request is traced into that recorder.
 *
 * The trace's meta has `request_id`, `method`, `path`, `route` (the @koa/router pattern),
 * `status` and `duration_ms`. It goes to `onFinish(trace, ctx)` after the response, and, for
 * authorised requests only, into the `responseHeader`: that header is set when Koa writes the
 * response, so it survives Koa's error handling (which clears headers set earlier).
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { stepmarkMiddleware } from 'stepmark/koa';
 *
 * const app = new Koa();
 * // authorize runs when the request arrives (before later middleware): judge the request itself.
 * app.use(stepmarkMiddleware({ authorize: (ctx) => isAdminToken(ctx.get('authorization')), responseHeader: true }));
 * ```
 * @throws StepmarkConfigError at creation when the options cannot work.
 */
export function stepmarkMiddleware(options?: StepmarkKoaOptions): Middleware {
  const core = new AdapterCore(options, traits, access);
  return function stepmark(ctx: Context, next: Next) {
    const trigger = core.check(ctx);
    if (trigger === undefined && !core.records) return next();
    return traceNodeRequest(
      core,
      ctx,
      ctx.res,
      trigger,
      { method: ctx.method, path: ctx.path },
      routeOf,
      next,
    ) as Promise<unknown>;
  };
}

export default stepmarkMiddleware;
