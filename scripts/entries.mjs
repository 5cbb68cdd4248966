// Public entry points: dist name -> source file. Keep package.json "exports" in step.
export const entries = {
  'runtime/index': 'runtime/index.ts', //          stepmark
  'runtime/abi': 'runtime/abi.ts', //              stepmark/runtime (ABI for build plugins)
  'testing/index': 'testing/index.ts', //          stepmark/testing
  'testing/vitest': 'testing/vitest.ts', //        stepmark/testing/vitest (registers the matchers)
  'babel-plugin/index': 'babel-plugin/index.ts', // stepmark/babel-plugin
  'transformer/index': 'transformer/index.ts', //   stepmark/transformer
  'esbuild-plugin/index': 'esbuild-plugin/index.ts', // stepmark/esbuild-plugin
  'vite/index': 'vite/index.ts', //                stepmark/vite
  'adapters/http/index': 'adapters/http/index.ts', //       stepmark/http
  'adapters/fastify/index': 'adapters/fastify/index.ts', // stepmark/fastify
  'adapters/koa/index': 'adapters/koa/index.ts', //         stepmark/koa
  'adapters/hono/index': 'adapters/hono/index.ts', //       stepmark/hono
  'adapters/grpc/index': 'adapters/grpc/index.ts', //       stepmark/grpc
  'otel/index': 'otel/index.ts', //                stepmark/otel
  'otel/propagation': 'otel/propagation.ts', //    stepmark/propagation (W3C trace context, no OTel)
  'activity/index': 'activity/index.ts', //        stepmark/activity
  'sinks/index': 'sinks/index.ts', //              stepmark/sinks
  'live/index': 'live/index.ts', //                stepmark/live
  'recorder/index': 'recorder/index.ts', //        stepmark/recorder
  'cli/index': 'cli/index.ts', //                  bin: stepmark
  'register/index': 'register/index.ts', //        stepmark/register
};
