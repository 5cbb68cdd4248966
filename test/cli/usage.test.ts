import { describe, expect, it } from 'vitest';
import { eachArgument, UsageError } from '../../cli/usage.js';

/** The arguments as a parser that knows `--out <file>`, `--n <number ≥ 1>` and `--json` sees them. */
function parse(argv: string[]) {
  const seen: Array<[string, string | number | boolean]> = [];
  eachArgument(argv, (a) => {
    if (a.operand) seen.push(['file', a.arg]);
    else if (a.name === '--out') seen.push(['out', a.value('an output file name')]);
    else if (a.name === '--n') seen.push(['n', a.number(1)]);
    else if (a.arg === '--json') seen.push(['json', true]);
    else throw a.unknown();
  });
  return seen;
}

const failure = (argv: string[]) => {
  try {
    parse(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('no usage error');
};

describe('command-line arguments', () => {
  it('reads a value after = or from the next argument, and operands around options', () => {
    expect(parse(['a.json', '--out=x.html', '--n', '3', '-', '--json'])).toEqual([
      ['file', 'a.json'],
      ['out', 'x.html'],
      ['n', 3],
      ['file', '-'],
      ['json', true],
    ]);
  });

  it('treats every argument after -- as an operand', () => {
    expect(parse(['--', '--json', '-x'])).toEqual([
      ['file', '--json'],
      ['file', '-x'],
    ]);
  });

  it('says which option lacks its value, rather than taking the next option as one', () => {
    expect(failure(['--out'])).toBe('--out needs an output file name');
    expect(failure(['--out', '--json'])).toBe('--out needs an output file name');
    expect(failure(['--out='])).toBe('--out needs an output file name');
  });

  it('rejects numbers out of range, naming the value, and unknown options escaped', () => {
    expect(failure(['--n', '0'])).toBe('--n needs a number ≥ 1, not "0"');
    expect(failure(['--n=x'])).toBe('--n needs a number ≥ 1, not "x"');
    // a negative number given after a space is the value, out of range, not a missing one
    expect(failure(['--n', '-1'])).toBe('--n needs a number ≥ 1, not "-1"');
    expect(failure(['--n', '-0.5', 'a.json'])).toBe('--n needs a number ≥ 1, not "-0.5"');
    expect(failure(['--n', '--json'])).toBe('--n needs a value');
    expect(failure(['--bad\x1b[2J'])).toBe('unknown option --bad\\x1b[2J');
  });
});
