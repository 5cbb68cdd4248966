/** Codes of {@link StepmarkConfigError}; stable, safe to branch on. */
export type StepmarkConfigErrorCode =
  /** An option the adapter does not know (a typo would otherwise be silently ignored). */
  | 'ERR_STEPMARK_UNKNOWN_OPTION'
  /** An option has the wrong type or an out-of-range value. */
  | 'ERR_STEPMARK_INVALID_OPTION'
  /** `responseHeader` was asked for without `secret` or `authorize`. */
  | 'ERR_STEPMARK_UNAUTHORISED_EXPOSURE'
  /** `header`, `query` and `trigger` are all off: nothing could ever start a trace. */
  | 'ERR_STEPMARK_NO_TRIGGER'
  /** A required argument other than the options is missing or of the wrong type. */
  | 'ERR_STEPMARK_INVALID_ARGUMENT'
  /** A flight recorder's dump was asked for while another one of it is still being written. */
  | 'ERR_STEPMARK_DUMP_IN_PROGRESS';

/**
 * Thrown when an adapter is created with options that cannot work. Always thrown at start-up
 * (when the middleware, plugin or interceptor is created or registered), never per request.
 */
export class StepmarkConfigError extends Error {
  override name = 'StepmarkConfigError';
  readonly code: StepmarkConfigErrorCode;
  /** The option at fault, when there is one. */
  readonly option: string | undefined;

  constructor(code: StepmarkConfigErrorCode, message: string, option?: string) {
    super(message);
    this.code = code;
    this.option = option;
  }
}
