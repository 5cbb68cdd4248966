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

/** `ERR_STEPMARK_INVALID_OPTION` for `option` of `where` (`stepmark/sinks ndjsonSink`, …). */
export function invalidOption(where: string, option: string, why: string): StepmarkConfigError {
  return new StepmarkConfigError(
    'ERR_STEPMARK_INVALID_OPTION',
    `${where}: option \`${option}\` ${why}.`,
    option,
  );
}

/**
 * Checks an options argument once, where it is given: `undefined` is no options, anything but an
 * object is refused, and a key that `known` does not list is `ERR_STEPMARK_UNKNOWN_OPTION` (a
 * typo would otherwise be silently ignored). Returns the options as a record to read.
 */
export function knownOptions(
  where: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw invalidOption(
      where,
      'options',
      `must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new StepmarkConfigError(
        'ERR_STEPMARK_UNKNOWN_OPTION',
        `${where}: unknown option ${JSON.stringify(key)}. Known options: ${known.join(', ')}.`,
        key,
      );
    }
  }
  return options as Record<string, unknown>;
}

/** Refuses a value of `option` that is not one of `choices` (when given). */
export function checkChoice(
  where: string,
  options: Record<string, unknown>,
  option: string,
  choices: readonly unknown[],
): void {
  const value = options[option];
  if (value !== undefined && !choices.includes(value)) {
    throw invalidOption(
      where,
      option,
      `must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describeValue(value)}`,
    );
  }
}

/** Refuses a value of `option` that is not of `type` (when given). */
export function checkType(
  where: string,
  options: Record<string, unknown>,
  option: string,
  type: 'boolean' | 'function' | 'object' | 'string',
): void {
  const value = options[option];
  if (value !== undefined && (typeof value !== type || value === null)) {
    throw invalidOption(
      where,
      option,
      `must be ${type === 'object' ? 'an' : 'a'} ${type}, got ${describeValue(value)}`,
    );
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return value === null ? 'null' : typeof value;
}
