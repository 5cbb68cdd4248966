/**
 * The transform parses with oxc-parser's raw transfer without the getter object `parseSync`
 * wraps each result in (esbuild-plugin/transform/index.ts, `unwrappedParser`): the results must be
 * the very same trees, and anything unexpected must fall back to `parseSync`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync, rawTransferSupported } from 'oxc-parser';
import { describe, expect, it } from 'vitest';
import {
  languageOf,
  loadToolchain,
  type Toolchain,
  unwrappedParser,
} from '../../esbuild-plugin/transform/index.js';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const tools = await loadToolchain('test');
const oxcParse = parseSync as unknown as Toolchain['parseSync'];
const shape = (r: ReturnType<Toolchain['parseSync']>) =>
  JSON.stringify([r.program, r.comments, r.module, r.errors]);

describe.runIf(rawTransferSupported())('the unwrapped oxc parser', () => {
  it('is the one the transform uses', () => {
    expect(tools.parseSync).not.toBe(parseSync);
  });

  const files = readdirSync(FIXTURES).filter((f) => languageOf(f) !== undefined);
  it.each(files)('gives parseSync’s exact result for the corpus fixture %s', (file) => {
    const source = readFileSync(join(FIXTURES, file), 'utf8');
    const options = { lang: languageOf(file)!, sourceType: 'unambiguous', experimentalRawTransfer: true };
    expect(shape(tools.parseSync(file, source, options))).toBe(shape(oxcParse(file, source, options)));
  });

  it('gives the same result for non-ASCII text, a hashbang, a syntax error and JSX', () => {
    const cases: [string, string, string][] = [
      ['u.ts', 'ts', '// é\nconst café = "naïve ✓"; /* ü */ export { café };\n'],
      ['h.js', 'js', '#!/usr/bin/env node\n// after\nconsole.log(1);\n'],
      ['e.ts', 'ts', 'export function (\n'],
      ['x.tsx', 'tsx', 'export const A = () => <div a="1">{x}</div>;\n'],
    ];
    for (const [name, lang, text] of cases) {
      const options = { lang, sourceType: 'unambiguous', experimentalRawTransfer: true };
      expect(shape(tools.parseSync(name, text, options)), name).toBe(shape(oxcParse(name, text, options)));
    }
  });

  it('is not used when its self-check disagrees with parseSync', async () => {
    const differs: Toolchain['parseSync'] = (name, text, options) => {
      const r = oxcParse(name, text, options);
      return { program: r.program, comments: [], errors: r.errors, module: r.module };
    };
    expect(await unwrappedParser(differs)).toBeUndefined();
    expect(await unwrappedParser(oxcParse)).toBeTypeOf('function');
  });
});
