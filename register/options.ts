/**
 * Where `stepmark/register` gets its options: there is no build config to put them in, so they
 * come from a file and an environment variable, both in the shared plugin schema
 * (instrument/options.ts, docs/NAMING.md "Options"):
 *
 * 1. `stepmark.config.json` in the working directory (or the file named by `STEPMARK_CONFIG`),
 *    a JSON object of options; a relative `root` in it is relative to the file's folder;
 * 2. `STEPMARK_OPTIONS`, a JSON object whose keys replace the file's.
 *
 * Unknown options and malformed JSON are errors naming where to fix them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StepmarkOptionsError } from '../instrument/errors.js';
import { type ResolvedOptions, resolveOptions, type StepmarkOptions } from '../instrument/options.js';

export const HOST = 'stepmark/register';
export const CONFIG_FILE = 'stepmark.config.json';

/** Where the options of a process came from. */
export interface RegisterConfig {
  /** The raw options (file, then environment), before validation; `root` made absolute. */
  options: StepmarkOptions;
  /** The config file read, if any (absolute). */
  file: string | undefined;
  /** Whether `STEPMARK_OPTIONS` was set. */
  env: boolean;
  /** For each option set, where: the config file's path or `STEPMARK_OPTIONS`. */
  origin: Record<string, string>;
  /** Options set in both, whose file value `STEPMARK_OPTIONS` replaced with a different one. */
  replaced: string[];
}

/** Reads the config file and `STEPMARK_OPTIONS`, remembering which option came from which. */
export function readRegisterConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): RegisterConfig {
  const explicit = env.STEPMARK_CONFIG;
  const file = resolve(cwd, explicit || CONFIG_FILE);
  let fromFile: Record<string, unknown> = {};
  const read = Boolean(explicit) || existsSync(file);
  if (read) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new StepmarkOptionsError(
        'STEPMARK_CONFIG',
        `${HOST}: cannot read the config file ${file} (from STEPMARK_CONFIG): ${(error as Error).message}`,
      );
    }
    fromFile = parseObject(text, `the config file ${file}`);
    if (typeof fromFile.root === 'string') fromFile.root = resolve(dirname(file), fromFile.root);
  }
  const fromEnv = env.STEPMARK_OPTIONS ? parseObject(env.STEPMARK_OPTIONS, 'STEPMARK_OPTIONS') : {};
  const origin: Record<string, string> = {};
  for (const key of Object.keys(fromFile)) origin[key] = file;
  for (const key of Object.keys(fromEnv)) origin[key] = 'STEPMARK_OPTIONS';
  const replaced = Object.keys(fromEnv).filter(
    (key) => Object.hasOwn(fromFile, key) && JSON.stringify(fromFile[key]) !== JSON.stringify(fromEnv[key]),
  );
  const merged = { ...fromFile, ...fromEnv } as Record<string, unknown>;
  if (typeof merged.root === 'string') merged.root = resolve(cwd, merged.root);
  else merged.root = cwd;
  return {
    options: merged as StepmarkOptions,
    file: read ? file : undefined,
    env: env.STEPMARK_OPTIONS !== undefined && env.STEPMARK_OPTIONS !== '',
    origin,
    replaced,
  };
}

/** The raw options (file, then environment), before validation; `root` made absolute. */
export function readRegisterOptions(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): StepmarkOptions {
  return readRegisterConfig(env, cwd).options;
}

/** E.g. `/app/stepmark.config.json and STEPMARK_OPTIONS`: the sources that were read. */
export function describeRegisterSources(config: Pick<RegisterConfig, 'file' | 'env'>): string {
  const parts = [...(config.file ? [config.file] : []), ...(config.env ? ['STEPMARK_OPTIONS'] : [])];
  return parts.length ? parts.join(' and ') : `no ${CONFIG_FILE} and no STEPMARK_OPTIONS: defaults`;
}

/**
 * Validates raw options with the shared schema. Messages say where the options came from and,
 * given the `config` they were read with, where the offending option was set.
 */
export function resolveRegisterOptions(raw: StepmarkOptions, config?: RegisterConfig): ResolvedOptions {
  const sources = config ? describeRegisterSources(config) : `${CONFIG_FILE} / STEPMARK_OPTIONS`;
  try {
    return resolveOptions(raw, { host: `${HOST} (options from ${sources})` });
  } catch (error) {
    const where = error instanceof StepmarkOptionsError ? config?.origin[error.option] : undefined;
    if (where === undefined) throw error;
    throw new StepmarkOptionsError(
      (error as StepmarkOptionsError).option,
      `${(error as Error).message} (set in ${where})`,
    );
  }
}

function parseObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StepmarkOptionsError(
      '(options)',
      `${HOST}: ${where} is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StepmarkOptionsError(
      '(options)',
      `${HOST}: ${where} must be a JSON object of stepmark options`,
    );
  }
  return value as Record<string, unknown>;
}
