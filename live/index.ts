// stepmark/live: watch traces as they happen. A bounded in-process bus of finished traces
// (and optionally live span/step events), an endpoint that serves a viewer page and
// streams the bus over Server-Sent Events, and the page itself for offline use; the diff and
// decision-coverage pages of the same family.
export { StepmarkConfigError, type StepmarkConfigErrorCode } from '../adapters/core/errors.js';
export {
  type BusOptions,
  createBus,
  type Delivery,
  LiveBus,
  type LiveItem,
  type LiveKind,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
export {
  createLiveEndpoint,
  type LiveEndpoint,
  type LiveEndpointOptions,
  type LiveRequest,
} from './endpoint.js';
export type { Authorize } from './protect.js';
export { type CoveragePageOptions, coveragePage, type DiffPageOptions, diffPage } from './report-page.js';
export { type LiveEvent, publishRuntimeEvents, type RuntimeEventsOptions } from './runtime-events.js';
export { type ViewerPageOptions, viewerPage } from './viewer.js';
