/**
 * Errors the shared core raises. Hosts turn them into their own diagnostics: a Babel code frame,
 * a TypeScript diagnostic, an esbuild message. Each carries enough to point at the source.
 */

/** Machine-readable kinds of build errors. */
export type StepmarkBuildErrorCode =
  | 'ERR_STEPMARK_INVALID_OPTION'
  | 'ERR_STEPMARK_INVALID_DIRECTIVE'
  | 'ERR_STEPMARK_MISPLACED_DIRECTIVE'
  | 'ERR_STEPMARK_UNSUPPORTED_TYPESCRIPT'
  | 'ERR_STEPMARK_RESERVED_NAME';

/**
 * Code of the process warning (type `StepmarkWarning`) that `include` selected no file, where a
 * host has no end of a build to say it at: `stepmark/register` and the Babel plugin.
 */
export const INCLUDE_UNMATCHED_WARNING = 'STEPMARK_INCLUDE_UNMATCHED';

/**
 * A problem in the user's configuration or source found while instrumenting.
 * `offset`/`length` (UTF-16 code units into the file's text) are set when the problem is in the
 * source; hosts convert them to `file:line:col` (see {@link LineIndex}).
 */
export class StepmarkBuildError extends Error {
  override name = 'StepmarkBuildError';
  readonly code: StepmarkBuildErrorCode;
  /** Start of the offending text in the file, when the problem is in the source. */
  readonly offset: number | undefined;
  /** Length of the offending text (at least 1 when `offset` is set). */
  readonly length: number | undefined;

  constructor(code: StepmarkBuildErrorCode, message: string, offset?: number, length?: number) {
    super(message);
    this.code = code;
    this.offset = offset;
    this.length = offset === undefined ? undefined : Math.max(1, length ?? 1);
  }
}

/** An unknown plugin option or an option of the wrong type. The message names the option. */
export class StepmarkOptionsError extends StepmarkBuildError {
  override name = 'StepmarkOptionsError';
  /** The option that is wrong (`"include"`, `"callback"`, …). */
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_STEPMARK_INVALID_OPTION', message);
    this.option = option;
  }
}

/** A bad `@stepmark` comment directive: unknown directive or option, bad value, misplaced. */
export class StepmarkDirectiveError extends StepmarkBuildError {
  override name = 'StepmarkDirectiveError';
}

/**
 * The user's code names a variable with a name the emitted code binds (`__stepmark`, `__smf`):
 * the frames would shadow it or it would shadow them, so the instrumented program would misbehave
 * (docs/ABI.md, "Reserved names").
 */
export function reservedNameError(name: string, offset: number): StepmarkBuildError {
  return new StepmarkBuildError(
    'ERR_STEPMARK_RESERVED_NAME',
    `\`${name}\` is reserved in files stepmark instruments (the emitted code binds it); rename this variable`,
    offset,
    name.length,
  );
}
