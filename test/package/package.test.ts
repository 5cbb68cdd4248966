/**
 * The package as npm would publish it: the file list of `npm pack` (dry run, from the built
 * dist/), what a team needs in it (licence, changelog, the docs the README links to, entry points
 * for old resolvers), nothing it must not contain (working notes, the build machine's paths), and
 * a user's bundle of it without warnings.
 *
 * Needs `npm run build` (the declaration files are part of the package).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, normalize, posix } from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { entries } from '../../scripts/entries.mjs';
import { REPO_ROOT, scratchDir } from '../support/scratch.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
let files: Set<string>;

beforeAll(() => {
  // --ignore-scripts: list what is built now, without prepack rebuilding dist/ under other tests
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  files = new Set(JSON.parse(out)[0].files.map((f: { path: string }) => f.path));
}, 60_000);

/** The markdown files that ship. */
const shippedMarkdown = () => [...files].filter((f) => f.endsWith('.md'));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('npm pack', () => {
  it('ships the licence, the changelog, the README and every doc', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) expect(files, f).toContain(f);
    const docs = readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md'));
    expect(docs.length).toBeGreaterThan(5);
    for (const doc of docs) expect(files, `docs/${doc}`).toContain(`docs/${doc}`);
  });

  it('builds before packing, so a pack from a clean clone is never empty', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
    for (const dist of Object.keys(entries)) expect(files, `dist/${dist}.js`).toContain(`dist/${dist}.js`);
  });

  it('resolves every relative link of the shipped markdown inside the package, anchors included', () => {
    const broken: string[] = [];
    for (const file of shippedMarkdown()) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue; // https:, mailto:
        const [path, hash] = target!.split('#');
        const resolved = path ? posix.normalize(posix.join(posix.dirname(file), path)) : file;
        if (!files.has(resolved)) {
          broken.push(`${file}: ${target} (${resolved} is not in the package)`);
          continue;
        }
        if (hash === undefined) continue;
        const headings = [...readFileSync(join(REPO_ROOT, resolved), 'utf8').matchAll(/^#+\s+(.*)$/gm)];
        if (!headings.some(([, h]) => anchor(h!) === hash))
          broken.push(`${file}: ${target} (no heading #${hash} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('ships no working notes', () => {
    expect([...files].filter((f) => /HELPERS|DESIGN|STYLE/.test(f))).toEqual([]);
    const notes: string[] = [];
    for (const file of shippedMarkdown()) {
      readFileSync(join(REPO_ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\(draft\b|^\*?draft\b|DESIGN(\.md)? ?§|\bDESIGN\.md\b/i.test(line))
            notes.push(`${file}:${i + 1}: ${line}`);
        });
    }
    expect(notes).toEqual([]);
  });

  it('has main and types for resolvers that predate "exports" (node10)', () => {
    expect(files).toContain(normalize(pkg.main).replace(/^\.\//, ''));
    expect(files, 'run npm run build (not build:fast): declarations are part of the package').toContain(
      normalize(pkg.types).replace(/^\.\//, ''),
    );
    // a project that installed stepmark: node10 resolution does not know self-references
    const consumer = scratchDir('package-node10');
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(REPO_ROOT, join(consumer, 'node_modules', 'stepmark'), 'dir');
    const resolved = ts.resolveModuleName(
      'stepmark',
      join(consumer, 'index.ts'),
      { moduleResolution: ts.ModuleResolutionKind.Node10 },
      ts.sys,
    );
    expect(resolved.resolvedModule?.resolvedFileName).toBe(join(REPO_ROOT, pkg.types));
  });

  it('ships source maps without the build machine’s paths', () => {
    const absolute: string[] = [];
    for (const file of [...files].filter((f) => f.endsWith('.map'))) {
      const map = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'));
      for (const p of [map.file, ...map.sources].filter((p) => typeof p === 'string'))
        if (isAbsolute(p) || p.includes(REPO_ROOT)) absolute.push(`${file}: ${p}`);
      // every listed source is in the package or carried in sourcesContent
      map.sources.forEach((source: string, i: number) => {
        const inPackage = files.has(posix.normalize(posix.join(posix.dirname(file), source)));
        if (!inPackage && typeof map.sourcesContent?.[i] !== 'string')
          absolute.push(`${file}: ${source} is neither in the package nor in sourcesContent`);
      });
    }
    expect(absolute).toEqual([]);
  });
});

describe('bundling stepmark', () => {
  it('gives esbuild nothing to warn about, for every entry point', async () => {
    const dir = scratchDir('package-bundle');
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
    const imports = subpaths.map((s, i) => `import * as e${i} from '${posix.join('stepmark', s)}';`);
    writeFileSync(
      join(dir, 'app.mjs'),
      `${imports.join('\n')}\nconsole.log(${subpaths.map((_, i) => `e${i}`).join(', ')});\n`,
    );
    const result = await esbuild.build({
      entryPoints: [join(dir, 'app.mjs')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
      plugins: [
        {
          // the package is bundled; its (peer) dependencies stay imports
          name: 'dependencies-external',
          setup(build) {
            build.onResolve({ filter: /^[^./]/ }, (args) =>
              args.path === 'stepmark' || args.path.startsWith('stepmark/') ? undefined : { external: true },
            );
          },
        },
      ],
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => `${w.id}: ${w.text} (${w.location?.file})`)).toEqual([]);
  });
});
