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

/** The raw options (file, then environment), before validation; `root` made absolute. */
export function readRegisterOptions(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): StepmarkOptions {
  const explicit = env.STEPMARK_CONFIG;
  const file = resolve(cwd, explicit || CONFIG_FILE);
  let fromFile: Record<string, unknown> = {};
  if (explicit || existsSync(file)) {
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
  const merged = { ...fromFile, ...fromEnv } as Record<string, unknown>;
  if (typeof merged.root === 'string') merged.root = resolve(cwd, merged.root);
  else merged.root = cwd;
  return merged as StepmarkOptions;
}

/** Validates raw options with the shared schema; messages say where the options came from. */
export function resolveRegisterOptions(raw: StepmarkOptions): ResolvedOptions {
  return resolveOptions(raw, { host: `${HOST} (${CONFIG_FILE} / STEPMARK_OPTIONS)` });
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
