/**
 * The stage catalog (docs/CATALOG.md): per build, every instrumented function and every explicit
 * `step`/`enter` site, with its name, kind, file, line, column and (for steps) the actions written
 * literally at the site. Plugins describe their AST nodes to the helpers here; the format, the
 * kinds, the order and the file writing are decided once, so the catalogs of the Babel plugin,
 * the TypeScript transformer and the esbuild plugin are identical for the same sources.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Catalog, CatalogKind, CatalogSite } from '../runtime/catalog.js';
import {
  isRewrittenCall,
  isRewrittenScopeMethod,
  REWRITTEN_CALLS,
  REWRITTEN_SCOPE_METHODS,
} from './constants.js';

export type { Catalog, CatalogKind, CatalogSite };

/** Catalog format version (`stepmark_catalog` field); the runtime's `loadCatalog` checks it. */
export const CATALOG_VERSION = 1;

/**
 * The kind of an instrumented function from its name and whether the plugin found it as a class or
 * object-literal member (its location is then the key): getters, setters and constructors are
 * recognisable by the name the shared naming rules gave them.
 */
export function functionKind(name: string, member: boolean): CatalogKind {
  if (!member) return 'function';
  if (name.endsWith('.constructor')) return 'constructor';
  // `A.get g`, `A.set g` (docs/NAMING.md row 7); an object literal bound to nothing: `get g`
  if (/(?:^|\.)get /.test(name)) return 'getter';
  if (/(?:^|\.)set /.test(name)) return 'setter';
  return 'method';
}

/**
 * Kind and argument position of the action for an explicit call, by the API function called
 * (`step`, `enter`, …) or, on a `scope(kind)` object, by its method (`scope.step`).
 */
export function callSiteShape(
  api: string,
  onScope: boolean,
): { kind: 'step' | 'enter'; call: string; actionIndex: number | undefined } | undefined {
  if (onScope) {
    if (!isRewrittenScopeMethod(api)) return undefined;
    return api === 'step'
      ? { kind: 'step', call: 'scope.step', actionIndex: 1 }
      : { kind: 'enter', call: 'scope.enter', actionIndex: undefined };
  }
  if (!isRewrittenCall(api)) return undefined;
  switch (api) {
    case 'step':
      return { kind: 'step', call: 'step', actionIndex: 0 };
    case 'stepEntity':
      return { kind: 'step', call: 'stepEntity', actionIndex: 1 };
    default:
      return { kind: 'enter', call: api, actionIndex: undefined };
  }
}

/** ABI method → [API name, called on a scope object]. */
const API_OF_ABI = new Map<string, readonly [string, boolean]>([
  ...Object.entries(REWRITTEN_CALLS).map(([api, abi]) => [abi, [api, false]] as const),
  ...Object.entries(REWRITTEN_SCOPE_METHODS).map(([api, abi]) => [abi, [api, true]] as const),
]);

/** {@link callSiteShape} from the ABI method a plugin rewrote a call to (`step`, `enterUser`, `scopeStep`, …). */
export function callSiteShapeOfAbi(abiMethod: string): ReturnType<typeof callSiteShape> {
  const api = API_OF_ABI.get(abiMethod);
  return api === undefined ? undefined : callSiteShape(api[0], api[1]);
}

/**
 * `record(stage, action, meta?)` and `recordEntity(id, stage, action, meta?)`: where the stage and
 * the action are. Their stage is written by the user (as in Go Stepmark), so a record site is
 * listed under that stage when it is written literally.
 */
export function recordSiteShape(
  api: string,
): { call: string; stageIndex: number; actionIndex: number } | undefined {
  if (api === 'record') return { call: 'record', stageIndex: 0, actionIndex: 1 };
  if (api === 'recordEntity') return { call: 'recordEntity', stageIndex: 1, actionIndex: 2 };
  return undefined;
}

/** A host's description of an action expression, one level deep. */
export type ActionShape<N> =
  /** a string literal, or a template literal without substitutions */
  | { readonly type: 'string'; readonly value: string }
  /** `c ? a : b` (the two results), `a || b`, `a ?? b` (both sides) */
  | { readonly type: 'branches'; readonly parts: readonly N[] }
  /** anything else: only known at run time */
  | { readonly type: 'other' };

/**
 * The actions an expression can produce, as far as they are written literally: string literals,
 * through conditionals and `||`/`??`. `describe` tells, for one host node, which case it is
 * (after looking through parentheses and TypeScript's `as`/`!`/`satisfies`).
 */
export function literalActions<N>(
  node: N | undefined,
  describe: (node: N) => ActionShape<N>,
): { actions: string[]; dynamic: boolean } {
  const found = new Set<string>();
  let dynamic = false;
  const visit = (n: N | undefined, depth: number): void => {
    if (n === undefined || depth > 32) {
      dynamic = true;
      return;
    }
    const shape = describe(n);
    if (shape.type === 'string') found.add(shape.value);
    else if (shape.type === 'branches') for (const p of shape.parts) visit(p, depth + 1);
    else dynamic = true;
  };
  visit(node, 0);
  return { actions: [...found].sort(), dynamic };
}

/** Collects the sites of one file; plugins add what they instrument and rewrite. */
export class FileCatalog {
  readonly file: string;
  readonly sites: CatalogSite[] = [];

  constructor(relativePath: string) {
    this.file = relativePath;
  }

  /** An instrumented function. */
  addFunction(name: string, member: boolean, line: number, column: number): void {
    this.sites.push({ name, kind: functionKind(name, member), file: this.file, line, column });
  }

  /**
   * A `record`/`recordEntity` call whose arguments are `args` (host nodes), when its stage is one
   * string written literally (else nothing: the stage is only known at run time).
   */
  addRecord<N>(
    api: string,
    args: readonly (N | undefined)[],
    isSpread: (node: N) => boolean,
    describe: (node: N) => ActionShape<N>,
    line: number,
    column: number,
  ): void {
    const shape = recordSiteShape(api);
    if (shape === undefined) return;
    const upTo = args.slice(0, shape.actionIndex + 1);
    if (upTo.some((a) => a !== undefined && isSpread(a))) return;
    const stage = literalActions(args[shape.stageIndex], describe);
    if (stage.dynamic || stage.actions.length !== 1) return;
    const actions = literalActions(args[shape.actionIndex], describe);
    this.sites.push({
      name: stage.actions[0]!,
      kind: 'record',
      file: this.file,
      line,
      column,
      call: shape.call,
      actions: actions.actions,
      dynamic: actions.dynamic,
    });
  }

  /**
   * An explicit call (`step`, `enter`, …) that is (or, in strip mode, would be) rewritten to
   * `abiMethod`, with its arguments as the user wrote them (host nodes): a step's actions are read
   * from its action argument, unless a spread at or before it hides which argument that is.
   */
  addCall<N>(
    name: string,
    abiMethod: string,
    args: readonly N[],
    isSpread: (node: N) => boolean,
    describe: (node: N) => ActionShape<N>,
    line: number,
    column: number,
  ): void {
    const shape = callSiteShapeOfAbi(abiMethod);
    if (shape === undefined) return;
    if (shape.kind === 'enter') {
      this.sites.push({ name, kind: 'enter', file: this.file, line, column, call: shape.call });
      return;
    }
    const at = shape.actionIndex!;
    const spread = args.slice(0, at + 1).some(isSpread);
    const { actions, dynamic } = literalActions(spread ? undefined : args[at], describe);
    this.sites.push({
      name,
      kind: 'step',
      file: this.file,
      line,
      column,
      call: shape.call,
      actions,
      dynamic,
    });
  }
}

function compareSites(a: CatalogSite, b: CatalogSite): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0);
}

/** A catalog from the sites of many files, in a fixed order (file, line, column, kind), with keys in a fixed order. */
export function buildCatalog(sites: Iterable<CatalogSite>): Catalog {
  const list = [...sites].map(canonicalSite).sort(compareSites);
  return { stepmark_catalog: CATALOG_VERSION, sites: list };
}

function canonicalSite(s: CatalogSite): CatalogSite {
  const out: Record<string, unknown> = {
    name: s.name,
    kind: s.kind,
    file: s.file,
    line: s.line,
    column: s.column,
  };
  if (s.call !== undefined) out.call = s.call;
  if (s.actions !== undefined) out.actions = [...s.actions];
  if (s.dynamic !== undefined) out.dynamic = s.dynamic;
  return out as unknown as CatalogSite;
}

/**
 * Accumulates the per-file catalogs of one build (or process) into a catalog file. A file seen
 * again (watch mode, a second compile) replaces its earlier sites. Written on `flush()` (the
 * esbuild plugin calls it at the end of each build), and otherwise shortly after the last change
 * and at process exit (hosts that compile file by file: Babel, TypeScript, load-time hooks).
 */
export class CatalogWriter {
  readonly path: string;
  private readonly files = new Map<string, FileCatalog>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dirty = false;

  constructor(path: string) {
    this.path = path;
  }

  /** The sites of `file` replace its earlier ones; setting the one already listed changes nothing. */
  set(file: FileCatalog): void {
    if (this.files.get(file.file) === file) return;
    this.files.set(file.file, file);
    this.changed();
  }

  /**
   * A file (path relative to root) was compiled again and has no sites now (its marker and stepmark
   * calls were removed while a watcher or dev server ran): its earlier sites go. A file the writer
   * never listed costs one map lookup.
   */
  forget(relativePath: string): void {
    if (this.files.delete(relativePath)) this.changed();
  }

  private changed(): void {
    this.dirty = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), 50);
      this.timer.unref?.();
    }
  }

  catalog(): Catalog {
    return buildCatalog([...this.files.values()].flatMap((file) => file.sites));
  }

  /** Writes the catalog now (atomically: a temporary file renamed over it). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.catalog(), null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}

const writers = new Map<string, CatalogWriter>();
let exitHook = false;

/** The process-wide writer of the catalog file `path` (relative paths against `root`), flushed at exit. */
export function catalogWriter(path: string, root: string): CatalogWriter {
  const abs = resolve(root, path);
  let w = writers.get(abs);
  if (w === undefined) {
    w = new CatalogWriter(abs);
    writers.set(abs, w);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const writer of writers.values()) {
          try {
            writer.flush();
          } catch {}
        }
      });
    }
  }
  return w;
}
