// The Go-side onLoad filter that keeps dependency files out of JavaScript (no lookahead in Go).
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PROJECT_SOURCE_FILTER, SOURCE_FILTER } from '../../esbuild-plugin/filter.js';

describe('onLoad filters', () => {
  it.each([
    ['/app/src/order.ts', true],
    ['/app/src/view.tsx', true],
    ['/app/a.mjs', true],
    ['/app/a.cts', true],
    ['/app/node_modules/lib/index.js', false],
    ['/app/node_modules/@scope/lib/deep/x.mts', false],
    ['C:\\app\\node_modules\\lib\\index.js', false],
    ['C:\\app\\src\\order.ts', true],
    ['/app/node_modulesx/a.ts', true],
    ['/app/my_node_modules/a.ts', true],
    ['/app/node_module/a.ts', true],
    ['/app/src/node_modules.ts', true],
    ['/app/style.css', false],
  ])('%s → %s', (path, expected) => {
    expect(PROJECT_SOURCE_FILTER.test(path)).toBe(expected);
    if (expected) expect(SOURCE_FILTER.test(path)).toBe(true);
  });

  it('is accepted by esbuild (Go regular expressions)', async () => {
    const seen: string[] = [];
    await esbuild.build({
      stdin: { contents: 'export {}', loader: 'ts' },
      write: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'probe',
          setup: (b) => b.onLoad({ filter: PROJECT_SOURCE_FILTER }, (a) => void seen.push(a.path)),
        },
      ],
    });
    expect(seen).toEqual([]);
  });
});
