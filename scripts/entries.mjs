// Public entry points: dist name -> source file. Keep package.json "exports" in step.
export const entries = {
  'runtime/index': 'runtime/index.ts', //          stepmark
  'runtime/abi': 'runtime/abi.ts', //              stepmark/runtime (ABI for build plugins)
  'testing/index': 'testing/index.ts', //          stepmark/testing
  'testing/vitest': 'testing/vitest.ts', //        stepmark/testing/vitest (registers the matchers)
  'testing/jest': 'testing/jest.ts', //            stepmark/testing/jest (registers the matchers)
  'testing/reporter': 'testing/reporter.ts', //    stepmark/testing/reporter (decision coverage of a test run)
  'testing/collect': 'testing/collect.ts', //      stepmark/testing/collect (its worker half, a setup file)
  'babel-plugin/index': 'babel-plugin/index.ts', // stepmark/babel-plugin
  'transformer/index': 'transformer/index.ts', //   stepmark/transformer
  'esbuild-plugin/index': 'esbuild-plugin/index.ts', // stepmark/esbuild-plugin
  'vite/index': 'vite/index.ts', //                stepmark/vite
  'bundlers/rollup': 'bundlers/rollup.ts', //       stepmark/rollup
  'bundlers/rolldown': 'bundlers/rolldown.ts', //   stepmark/rolldown
  'bundlers/webpack': 'bundlers/webpack.ts', //     stepmark/webpack
  'bundlers/rspack': 'bundlers/rspack.ts', //       stepmark/rspack
  'bundlers/webpack-loader': 'bundlers/webpack-loader.ts', // the loader stepmark/webpack and /rspack add (no subpath)
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
