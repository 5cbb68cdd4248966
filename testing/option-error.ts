/**
 * What `stepmark/testing`'s functions throw for an option they cannot use: a TypeError naming the
 * option, with the code the runtime's and the adapters' option errors carry.
 */
export function optionError(where: string, option: string, message: string): never {
  const error = new TypeError(`${where}: ${message}`);
  throw Object.assign(error, { code: 'ERR_STEPMARK_INVALID_OPTION', option });
}

/** Throws {@link optionError} for the first key of `options` not in `known`. */
export function rejectUnknown(where: string, options: object, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      optionError(
        where,
        `${prefix}${key}`,
        `unknown option \`${prefix}${key}\` (the options are ${known.join(', ')})`,
      );
  }
}
