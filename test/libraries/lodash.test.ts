import { differential } from './differential.js';

differential('lodash', {
  // debounce/throttle on real timers: how often lodash's timer callbacks and its clock (`now`, an
  // anonymous function in runInContext) run depends on the machine's load
  timingDependent:
    /^(?:debounced|invokeFunc|leadingEdge|remainingWait|shouldInvoke|startTimer|timerExpired|trailingEdge|now|runInContext\.<anonymous>)$/,
});
