/**
 * The `prescan` option: read the project once when the plugin is set up, and give esbuild an
 * `onLoad` filter that leaves out every file known to need nothing, so those files never make the
 * round trip from esbuild's Go side to JavaScript (that round trip alone costs an unmarked build
 * ~1.4×: docs/ESBUILD.md "Cost").
 *
 * The filter is the complement of the set of files known to need nothing ("known"): a file the
 * scan found with work to do, a file created after the scan, a file outside the scanned
 * directories all still reach the plugin. Go's regular expressions have no lookahead, so "not one
 * of these names" is spelled out over a trie of the names, segment by segment, and no
 * `node_modules` segment is ever let through (dependencies stay in Go, as with the normal filter).
 *
 * The one thing a filter fixed at start cannot follow: a file that needed nothing and is edited
 * to need work during a watch session. `changedKnownFiles` finds those before each rebuild, and
 * the plugin fails that build with a message that says to restart it.
 */
import {
  closeSync,
  type Dirent,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { join, sep } from 'node:path';
import { CHAR, escapeRegExp, SEP, segmentNotIn } from './filter.js';

/** Whatever follows a directory that was not scanned: segments, none of them `node_modules`. */
const FREE_TAIL = `(?:${segmentNotIn(['node_modules'])}${SEP})*${CHAR}+`;
/** The same when `include` asks for dependencies: any segments. */
const FREE_TAIL_WITH_DEPENDENCIES = `(?:${CHAR}+${SEP})*${CHAR}+`;
/** Source files: the ones whose text is read. */
const SOURCE_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/**
 * Limits that keep the filter within what Go's regular expressions accept (they refuse a syntax
 * tree higher than 1000; each directory level and each character of the longest name in a
 * directory adds to the height) and the scan within a bounded cost. Whatever a limit stops is
 * simply not left out of the filter, so it still reaches the plugin.
 */
const MAX_DEPTH = 48; // path segments from the file system root
const MAX_NAME = 160; // characters of one file or directory name

/** With `maxFiles`, how many directory entries of any kind the scan looks at per source file. */
export const ENTRIES_PER_FILE = 20;

/** What the scan found. */
export interface Prescan {
  /** The `onLoad` filter: every path except the known files (and `node_modules`). */
  readonly filter: RegExp;
  /** Source files that needed nothing when scanned, with their modification time. */
  readonly known: Map<string, number>;
  /** How many files the scan found with work to do. */
  readonly needWork: number;
  /** False when `maxFiles` stopped the scan before it had read everything. */
  readonly complete: boolean;
}

/** How far the scan goes. */
export interface PrescanLimits {
  /**
   * Read at most this many source files, and look at most at `ENTRIES_PER_FILE` times as many
   * directory entries of any kind (a tree of images or data costs time too); the rest is let through. Default: no
   * limit.
   */
  readonly maxFiles?: number;
  /** Absolute directories not to scan (esbuild's `outdir`): let through. */
  readonly skip?: readonly string[];
}

/**
 * Scans `dirs` (absolute) recursively, skipping `node_modules` and dot-directories, and builds
 * the filter. `needsWork(path, bytes)` decides for a source file; other files never need work.
 * Names the filter cannot spell the same way in JavaScript and Go (characters outside the Basic
 * Multilingual Plane, which the two count differently), names longer than `MAX_NAME` and
 * directories deeper than `MAX_DEPTH` are not scanned, so they are let through.
 * `dependencies`: let `node_modules` through too (an `include` pattern names it).
 */
export function prescan(
  dirs: readonly string[],
  needsWork: (path: string, bytes: Buffer) => boolean,
  dependencies = false,
  limits: PrescanLimits = {},
): Prescan {
  const known = new Map<string, number>();
  const tree: DirNode = { dirs: new Map(), names: new Set() };
  const skip = new Set(limits.skip);
  let budget = limits.maxFiles ?? Number.POSITIVE_INFINITY;
  let entryBudget = budget * ENTRIES_PER_FILE;
  let complete = true;
  let needWork = 0;
  const reader = new Reader();
  for (const dir of outermost(dirs)) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      continue; // a directory that does not exist has nothing to leave out
    }
    const node = nodeAt(tree, real);
    if (!node) continue; // a path the filter cannot spell: let through
    const walk = (abs: string, at: DirNode, depth: number): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(abs, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const name = e.name;
        if (!complete) return;
        if (entryBudget-- <= 0) {
          complete = false; // the rest of the tree is let through
          return;
        }
        if (hasAstral(name) || name.length > MAX_NAME) continue; // not spelled: let through
        const path = join(abs, name);
        if (e.isDirectory()) {
          // not scanned, so let through: dependencies, dot-directories, output, too deep
          if (name === 'node_modules' || name.startsWith('.') || skip.has(path) || depth >= MAX_DEPTH)
            continue;
          let child = at.dirs.get(name);
          if (!child) at.dirs.set(name, (child = { dirs: new Map(), names: new Set() }));
          walk(path, child, depth + 1);
        } else if (e.isFile()) {
          if (SOURCE_FILE.test(name)) {
            if (budget-- <= 0) {
              complete = false; // the rest of the tree is let through
              return;
            }
            const file = reader.read(path);
            if (!file) continue; // unreadable: let through
            if (needsWork(path, file.bytes)) {
              needWork++;
              continue; // let through
            }
            known.set(path, file.mtimeMs);
          }
          at.names.add(name);
        }
        // symbolic links and the rest: esbuild loads them by their real path, which is let through
      }
    };
    walk(real, node, segmentsOf(real).length);
  }
  const pattern = dirPattern(
    tree,
    dependencies ? [] : ['node_modules'],
    dependencies ? FREE_TAIL_WITH_DEPENDENCIES : FREE_TAIL,
  );
  return { filter: new RegExp(`^${pattern}$`), known, needWork, complete };
}

/**
 * Reads whole files into one reused buffer, with their modification time from the same open
 * file: a third fewer system calls and no allocation per file, against `readFileSync` + `statSync`.
 * The bytes it returns are valid until the next read.
 */
class Reader {
  private buffer = Buffer.allocUnsafe(64 * 1024);

  read(path: string): { bytes: Buffer; mtimeMs: number } | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const { size, mtimeMs } = fstatSync(fd);
      if (size >= this.buffer.length) this.buffer = Buffer.allocUnsafe(size + 4096);
      let length = 0;
      for (;;) {
        // a file that grew since fstat: keep reading into a larger buffer
        if (length === this.buffer.length) {
          const larger = Buffer.allocUnsafe(this.buffer.length * 2);
          this.buffer.copy(larger);
          this.buffer = larger;
        }
        const n = readSync(fd, this.buffer, length, this.buffer.length - length, length);
        if (n === 0) break;
        length += n;
      }
      return { bytes: this.buffer.subarray(0, length), mtimeMs };
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }
}

/** `dirs` without the ones inside another of them (each file is scanned once). */
function outermost(dirs: readonly string[]): string[] {
  const unique = [...new Set(dirs)];
  return unique.filter((d) => !unique.some((o) => o !== d && isInside(d, o)));
}

function isInside(dir: string, ancestor: string): boolean {
  const prefix = ancestor.endsWith(sep) ? ancestor : ancestor + sep;
  return dir.startsWith(prefix);
}

/** POSIX "/a/b" → ["", "a", "b"]; Windows "C:\\a" → ["C:", "a"]. */
function segmentsOf(abs: string): string[] {
  return abs.split(sep === '\\' ? /[/\\]/ : '/').filter((s, i) => s !== '' || i === 0);
}

/**
 * Source files among `known` modified since the scan that now need work. Their modification time
 * is updated when they still need nothing, so each edit is read once.
 */
export function changedKnownFiles(
  known: Map<string, number>,
  needsWork: (path: string, bytes: Buffer) => boolean,
): string[] {
  const changed: string[] = [];
  for (const [path, mtime] of known) {
    let now: number;
    try {
      now = statSync(path).mtimeMs;
    } catch {
      continue; // deleted: nothing to load
    }
    if (now === mtime) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      continue;
    }
    if (needsWork(path, bytes)) changed.push(path);
    else known.set(path, now);
  }
  return changed;
}

/** A scanned directory: its scanned subdirectories, and the names of its entries known to need nothing. */
interface DirNode {
  dirs: Map<string, DirNode>;
  names: Set<string>;
}

function hasAstral(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

/** The node of an absolute directory path, creating the chain of its ancestors. */
function nodeAt(tree: DirNode, abs: string): DirNode | undefined {
  let node = tree;
  const segments = segmentsOf(abs);
  if (segments.length > MAX_DEPTH) return undefined;
  for (const s of segments) {
    if (hasAstral(s) || s.length > MAX_NAME) return undefined;
    let child = node.dirs.get(s);
    if (!child) node.dirs.set(s, (child = { dirs: new Map(), names: new Set() }));
    node = child;
  }
  return node;
}

/**
 * What may follow a directory: one of its scanned subdirectories and what may follow it, or a
 * segment that is neither a scanned subdirectory, nor a known file, nor `node_modules`, then
 * either the end (a file) or anything without `node_modules` (an unscanned directory).
 */
function dirPattern(node: DirNode, never: readonly string[], free: string): string {
  const parts: string[] = [];
  for (const [name, child] of node.dirs)
    parts.push(`${escapeRegExp(name)}${SEP}${dirPattern(child, never, free)}`);
  const excluded = [...node.dirs.keys(), ...node.names, ...never];
  parts.push(`${segmentNotIn(excluded)}(?:${SEP}${free})?`);
  return `(?:${parts.join('|')})`;
}
