// What every `stepmark` command shares on its command line: how options and their values are
// read, and what a command line that cannot run prints (the reason, then the command's usage,
// exit code 2).
import { escapeForTerminal } from '../runtime/render.js';

/** A command line that cannot run; its message is printed before the command's usage. */
export class UsageError extends Error {}

/** One argument of a command line, as a command's parser sees it. */
export interface Argument {
  /** the argument as given */
  readonly arg: string;
  /** its option name: `--min` of both `--min=80` and `--min 80`; the argument itself otherwise */
  readonly name: string;
  /** a file operand (`-` is standard input), not an option */
  readonly operand: boolean;
  /**
   * the option's value: after `=`, or the next argument (consumed); a {@link UsageError} if none.
   * A next argument that starts with `-` is taken as the next option instead, unless `negative`
   * and it reads as a negative number.
   */
  value(what?: string, negative?: boolean): string;
  /** the value as a finite number ≥ `min` */
  number(min: number): number;
  /** the error for an option the command does not know */
  unknown(): UsageError;
}

/** Calls `visit` for each argument, in order; after `--` every argument is an operand. */
export function eachArgument(argv: readonly string[], visit: (a: Argument) => void): void {
  let operandsOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--' && !operandsOnly) {
      operandsOnly = true;
      continue;
    }
    const eq = !operandsOnly && arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (what = 'a value', negative = false): string => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (
        v === undefined ||
        v === '' ||
        (eq < 0 && v.startsWith('-') && v !== '-' && !(negative && /^-[\d.]/.test(v)))
      )
        throw new UsageError(`${name} needs ${what}`);
      return v;
    };
    visit({
      arg,
      name,
      operand: operandsOnly || arg === '-' || !arg.startsWith('-'),
      value,
      number(min) {
        const v = value('a value', true);
        const n = Number(v);
        if (!Number.isFinite(n) || n < min)
          throw new UsageError(`${name} needs a number ≥ ${min}, not "${escapeForTerminal(v)}"`);
        return n;
      },
      unknown: () => new UsageError(`unknown option ${escapeForTerminal(arg)}`),
    });
  }
}

/**
 * Parses a command's arguments. Returns them, or, when there is nothing to run, the exit code
 * after printing the usage (`--help`: 0, on standard output) or the error and the usage (2, on
 * standard error).
 */
export function parseCommand<A>(
  command: string,
  usage: string,
  argv: string[],
  parse: (argv: string[]) => A | 'help',
): A | number {
  let args: A | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${command}: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  return args;
}
