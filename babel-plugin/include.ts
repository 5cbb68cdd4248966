/**
 * "Your `include` matched nothing", for the Babel plugin. The other plugins count the files of a
 * build and say so when it ends; Babel has no end of a build: babel-jest and Metro transform in
 * worker processes that each see a share of the files, @babel/register and babel-loader for as
 * long as their process lives, and a cached transform never reaches the plugin at all. So the
 * plugin asks the disk instead of its own share: when a file it transforms is not selected by
 * `include`, it looks once for any JavaScript or TypeScript file under `root` that `include` (and
 * not `exclude`) selects, and warns when there is none — whatever the host, no file of any build
 * of this project can then be selected (docs/BABEL.md, "When include matches nothing").
 */
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  INCLUDE_UNMATCHED_WARNING,
  type ResolvedOptions,
  selectFile,
  selectsWholeFile,
} from '../instrument/index.js';

/** Directory entries the search reads at most; past them it stops and says nothing. */
export const MAX_SEARCHED_ENTRIES = 20_000;

/** What Babel can compile, and what a plugin-marked file can be. */
const SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const GLOB_CHARS = /[*?[{]/;

/** Option sets (root, include, exclude) already decided in this process. */
const decided = new Set<string>();

/**
 * Called for each file the plugin sees (`relativePath` undefined when Babel has no file name)
 * until it returns true: the option set is decided in this process, and warned of at most once.
 * Never throws.
 */
export function checkInclude(relativePath: string | undefined, options: ResolvedOptions): boolean {
  if (options.include.length === 0) return true;
  try {
    const key = JSON.stringify([options.root, options.include, options.exclude]);
    if (decided.has(key)) return true;
    if (relativePath === undefined) return false;
    decided.add(key);
    if (selectsWholeFile(selectFile(relativePath, false, options))) return true;
    if (!reportingProcess() || includeSelectsAFile(options) !== false) return true;
    process.emitWarning(
      `stepmark/babel-plugin: include ${JSON.stringify(options.include)}` +
        (options.exclude.length > 0 ? ` (less exclude ${JSON.stringify(options.exclude)})` : '') +
        ` selects no JavaScript or TypeScript file under root ${JSON.stringify(options.root)}: ` +
        'patterns are relative to root, and node_modules is searched only for patterns that name it',
      { type: 'StepmarkWarning', code: INCLUDE_UNMATCHED_WARNING },
    );
  } catch {
    // a warning that cannot be given must not fail the build
  }
  return true;
}

/**
 * Jest's workers (and Metro's, through jest-worker) each load the plugin: the answer is the same
 * in all of them, so only the first (`JEST_WORKER_ID` 1, also Jest's in-band process) says it.
 */
function reportingProcess(): boolean {
  const worker = process.env.JEST_WORKER_ID;
  return worker === undefined || worker === '1';
}

/**
 * Whether some JavaScript or TypeScript file under `root` is selected by `include`, not
 * `exclude`; undefined when it cannot tell: the search read more than `maxEntries` entries,
 * or a pattern reaches outside `root` (`../shared/**`, an absolute path). Breadth-first
 * from the literal folders the patterns start with (`src/services/**` reads only
 * `src/services`), without following symbolic links, skipping `.git` and, unless a pattern
 * names it, `node_modules`.
 */
export function includeSelectsAFile(
  options: ResolvedOptions,
  maxEntries = MAX_SEARCHED_ENTRIES,
): boolean | undefined {
  const outside = (p: string) => /^(?:\/|[A-Za-z]:)|(?:^|\/)\.\.(?:\/|$)/.test(p.replace(/\\/g, '/'));
  if (options.include.some(outside)) return undefined;
  const intoDependencies = options.include.some((p) => p.includes('node_modules'));
  const queue = [...new Set(options.include.map(literalFolder))];
  const seen = new Set<string>();
  let entries = 0;
  for (let i = 0; i < queue.length; i++) {
    const folder = queue[i]!;
    if (seen.has(folder)) continue;
    seen.add(folder);
    let list: Dirent[];
    try {
      list = readdirSync(folder === '' ? options.root : join(options.root, folder), { withFileTypes: true });
    } catch {
      continue; // missing or unreadable: nothing selectable there
    }
    entries += list.length;
    if (entries > maxEntries) return undefined;
    for (const entry of list) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name === '.git' || (entry.name === 'node_modules' && !intoDependencies)) continue;
        queue.push(path);
      } else if (SOURCE.test(entry.name) && selectsWholeFile(selectFile(path, false, options))) {
        return true;
      }
    }
  }
  return false;
}

/** The folders a pattern names before its first wildcard (`src/a/**` → `src/a`), '' for root. */
function literalFolder(pattern: string): string {
  let p = pattern.replace(/\\/g, '/');
  if (p.startsWith('./')) p = p.slice(2);
  const segments = p.split('/').slice(0, -1); // the last one names files
  const literal: string[] = [];
  for (const segment of segments) {
    if (GLOB_CHARS.test(segment) || segment === '.' || segment === '') break;
    literal.push(segment);
  }
  return literal.join('/');
}
