import { optionError as runtimeOptionError } from '../runtime/snapshot.js';

/**
 * What `stepmark/testing`'s functions throw for an option they cannot use: the runtime's option
 * error (a TypeError naming the option, with `code` and `option`).
 */
export function optionError(where: string, option: string, message: string): never {
  runtimeOptionError(`${where}: ${message}`, 'ERR_STEPMARK_INVALID_OPTION', option);
}

/** The same for a key that is not an option at all (`ERR_STEPMARK_UNKNOWN_OPTION`). */
export function unknownOptionError(where: string, option: string, message: string): never {
  runtimeOptionError(`${where}: ${message}`, 'ERR_STEPMARK_UNKNOWN_OPTION', option);
}

/** Throws {@link unknownOptionError} for the first key of `options` not in `known`. */
export function rejectUnknown(where: string, options: object, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      unknownOptionError(
        where,
        `${prefix}${key}`,
        `unknown option \`${prefix}${key}\` (the options are ${known.join(', ')})`,
      );
  }
}
