/** The package version, for the runtime's shared state and the build plugins' cache keys. */
export const VERSION = '0.1.0';
