/**
 * The stage catalog at run time (docs/CATALOG.md): a build plugin writes, per build, every
 * instrumented function and every explicit `step`/`enter` site; loaded here, it lets a trace show
 * not only the stages a request went through but those it never reached, and lets tests assert
 * that decision points were covered.
 *
 * The loaded catalog is process-wide (shared like the runtime's state, global.ts), so a
 * catalog loaded through one copy of the runtime serves every copy. No Node API is used: the
 * catalog object (or its JSON text) is passed in; reading the file is the caller's business.
 */
import { shared } from './global.js';
import { escapeForTerminal } from './render.js';
import type { Trace, TraceEvent } from './types.js';

/** Catalog format version (`stepmark_catalog`). */
export const CATALOG_VERSION = 1;

/** What a site is: an instrumented function (by its shape) or an explicit call. */
export type CatalogKind =
  | 'function'
  | 'method'
  | 'constructor'
  | 'getter'
  | 'setter'
  | 'step'
  | 'enter'
  | 'record';

export interface CatalogSite {
  /**
   * Span name of a function; stage of a `step`/`enter` call (its enclosing function's name); the
   * stage written literally in a `record`/`recordEntity` call.
   */
  readonly name: string;
  readonly kind: CatalogKind;
  /** Project-relative path with `/` separators, as in span locations. */
  readonly file: string;
  /** 1-based line and column: a function's location, a call's start. */
  readonly line: number;
  readonly column: number;
  /** Steps and records only: the actions written literally at the site, sorted. */
  readonly actions?: readonly string[];
  /** Steps and records only: the action is (also) computed at run time, so `actions` may be incomplete. */
  readonly dynamic?: boolean;
  /** Calls only: the API called (`step`, `stepEntity`, `scope.step`, `enter`, `enterEntity`, `scope.enter`, `record`, `recordEntity`). */
  readonly call?: string;
}

export interface Catalog {
  readonly stepmark_catalog: 1;
  readonly sites: readonly CatalogSite[];
}

const KINDS: ReadonlySet<string> = new Set([
  'function',
  'method',
  'constructor',
  'getter',
  'setter',
  'step',
  'enter',
  'record',
]);

/** Thrown by {@link loadCatalog} for something that is not a catalog of a supported version. */
export class StepmarkCatalogError extends Error {
  override name = 'StepmarkCatalogError';
}

interface CatalogState {
  sites: Map<string, CatalogSite>;
}
/** The loaded catalogs' sites, shared by every copy of the runtime (global.ts). */
const CATALOG: CatalogState = shared(
  'stepmark.catalog.v2',
  () => ({ sites: new Map() }),
  (c) => typeof c.sites?.get === 'function',
);

function siteKey(s: CatalogSite): string {
  return `${s.file}:${s.line}:${s.column}:${s.kind}`;
}

/** Validates a catalog (object or JSON text) without loading it. */
export function parseCatalog(input: Catalog | string): Catalog {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new StepmarkCatalogError(`stepmark: the catalog is not valid JSON: ${(error as Error).message}`);
    }
  }
  const c = value as Partial<Catalog> | null;
  if (c === null || typeof c !== 'object' || !('stepmark_catalog' in c)) {
    throw new StepmarkCatalogError('stepmark: not a stage catalog (no "stepmark_catalog" field)');
  }
  if (c.stepmark_catalog !== CATALOG_VERSION) {
    throw new StepmarkCatalogError(
      `stepmark: stage catalog version ${String(c.stepmark_catalog)} is not supported by this runtime (supports ${CATALOG_VERSION}); rebuild with matching stepmark versions`,
    );
  }
  if (!Array.isArray(c.sites)) throw new StepmarkCatalogError('stepmark: the catalog has no "sites" array');
  c.sites.forEach((s, i) => {
    if (
      s === null ||
      typeof s !== 'object' ||
      typeof s.name !== 'string' ||
      !KINDS.has(s.kind) ||
      typeof s.file !== 'string' ||
      !Number.isInteger(s.line) ||
      !Number.isInteger(s.column)
    ) {
      throw new StepmarkCatalogError(`stepmark: catalog site ${i} is malformed: ${JSON.stringify(s)}`);
    }
  });
  return c as Catalog;
}

/**
 * Loads a stage catalog (the object, or the JSON text of the file a plugin wrote with its
 * `catalog` option) for {@link stageCoverage} and {@link formatCoverage}. Loading several
 * catalogs (one per build: server and worker bundles) merges them; the same site twice counts
 * once. Returns the merged catalog.
 *
 * @example
 * import { readFileSync } from 'node:fs';
 * stepmark.loadCatalog(readFileSync('dist/stepmark-catalog.json', 'utf8'));
 */
export function loadCatalog(input: Catalog | string): Catalog {
  const c = parseCatalog(input);
  const sites = CATALOG.sites;
  for (const s of c.sites) sites.set(siteKey(s), s);
  return loadedCatalog()!;
}

/** Several builds' catalogs (objects or JSON texts) as one, each validated; the same site twice counts once. */
export function mergeCatalogs(inputs: readonly (Catalog | string)[]): Catalog {
  const sites = new Map<string, CatalogSite>();
  for (const input of inputs) for (const s of parseCatalog(input).sites) sites.set(siteKey(s), s);
  return { stepmark_catalog: CATALOG_VERSION, sites: [...sites.values()] };
}

/** The catalog loaded so far, or undefined when none was loaded. */
export function loadedCatalog(): Catalog | undefined {
  const sites = CATALOG.sites;
  if (sites.size === 0) return undefined;
  return { stepmark_catalog: CATALOG_VERSION, sites: [...sites.values()] };
}

/** Forgets every loaded catalog (tests). */
export function clearCatalog(): void {
  CATALOG.sites.clear();
}

export interface CoverageOptions {
  /** The catalog to compare with (default: the loaded one). */
  catalog?: Catalog;
  /**
   * Only what happened to this entity: its events, and spans opened for it. For "which stages did
   * order_42 never reach" (combine with `sites` to leave out stages that are not about orders).
   */
  entity?: string;
  /** Keeps only some sites (e.g. `(s) => s.file.startsWith('src/orders/')`). */
  sites?: (site: CatalogSite) => boolean;
}

export interface SiteCoverage {
  readonly site: CatalogSite;
  /** A span of this function / explicit `enter` ran, or (steps) one of its actions was recorded at this stage. */
  readonly reached: boolean;
  /** Spans of this function / `enter`; events of this step or record site (its literal actions, and for a dynamic one the computed ones). */
  readonly count: number;
  /** Steps: each literal action, whether it was recorded and how often. */
  readonly actions?: readonly { readonly action: string; readonly seen: boolean; readonly count: number }[];
}

export interface Coverage {
  readonly sites: readonly SiteCoverage[];
  /** Names of stages (functions, step stages) reached / never reached, sorted, each once. */
  readonly reached: readonly string[];
  readonly unreached: readonly string[];
}

/**
 * How often each span and each event happened, over one trace or many: what coverage is
 * computed from. `spans`: name → location (`""` when it has none) → count; `events`: stage →
 * action → count (`entered`/`exited` left out: spans count those).
 */
export interface Tally {
  readonly spans: Map<string, Map<string, number>>;
  readonly events: Map<string, Map<string, number>>;
}

export function newTally(): Tally {
  return { spans: new Map(), events: new Map() };
}

/** Distinct actions kept per stage (locations per span name); more are counted under one key. */
const MAX_DISTINCT = 10_000;
/** That key: an action (location) that is none of the kept ones. */
const OTHER = '\u0000other';

/**
 * Adds `n` to `map[key][sub]`. Actions computed from data (`step(\`charged ${id}\`)`) would grow
 * a tally of a day of traces without end: past MAX_DISTINCT per key, new ones count together.
 */
export function bump(map: Map<string, Map<string, number>>, key: string, sub: string, n = 1): void {
  let m = map.get(key);
  if (m === undefined) map.set(key, (m = new Map()));
  const k = m.size >= MAX_DISTINCT && !m.has(sub) ? OTHER : sub;
  m.set(k, (m.get(k) ?? 0) + n);
}

/** Counts a trace's spans and events into `tally`; with `entity`, only its events and the spans opened for it. */
export function tallyTrace(tally: Tally, trace: Trace, entity?: string): Tally {
  const events: TraceEvent[] = [];
  const spans = Array.isArray(trace.spans) ? trace.spans : [];
  const entities = trace.entities && typeof trace.entities === 'object' ? trace.entities : {};
  if (entity !== undefined) {
    const e = Object.hasOwn(entities, entity) ? entities[entity] : undefined;
    if (e && Array.isArray(e.events)) events.push(...e.events);
  } else {
    if (Array.isArray(trace.events)) events.push(...trace.events);
    for (const e of Object.values(entities)) if (e && Array.isArray(e.events)) events.push(...e.events);
  }
  for (const s of spans) {
    if (!s || typeof s.name !== 'string' || (entity !== undefined && s.entity_id !== entity)) continue;
    bump(tally.spans, s.name, typeof s.location === 'string' ? s.location : '');
  }
  for (const ev of events) {
    if (!ev || ev.action === 'entered' || ev.action === 'exited') continue;
    bump(tally.events, String(ev.stage), String(ev.action));
  }
  return tally;
}

const where = (s: CatalogSite) => `${s.file}:${s.line}:${s.column}`;

/**
 * Each site of `sites` against a tally. A function or `enter` site counts the spans with its
 * name at its location, and those with its name at no site's location (no location, another
 * build); a step or record site the events at its stage with one of its literal actions and, when
 * its action is computed (`dynamic`), those with an action no site of that stage writes literally.
 */
export function siteCoverage(sites: readonly CatalogSite[], tally: Tally): SiteCoverage[] {
  const located = new Map<string, Set<string>>();
  const literals = new Map<string, Set<string>>();
  for (const s of sites) {
    const isCall = s.kind === 'step' || s.kind === 'record';
    const map = isCall ? literals : located;
    let set = map.get(s.name);
    if (set === undefined) map.set(s.name, (set = new Set()));
    if (isCall) for (const a of s.actions ?? []) set.add(a);
    else set.add(where(s));
  }
  return sites.map((site): SiteCoverage => {
    if (site.kind === 'step' || site.kind === 'record') {
      const seen = tally.events.get(site.name) ?? new Map<string, number>();
      const actions = (site.actions ?? []).map((action) => {
        const count = seen.get(action) ?? 0;
        return { action, seen: count > 0, count };
      });
      let count = actions.reduce((n, a) => n + a.count, 0);
      if (site.dynamic === true) {
        // Computed actions: what was recorded at this stage that no site of the stage writes literally.
        const literal = literals.get(site.name)!;
        for (const [action, n] of seen) if (!literal.has(action)) count += n;
      }
      return { site, reached: count > 0, count, actions };
    }
    const byLocation = tally.spans.get(site.name);
    let count = byLocation?.get(where(site)) ?? 0;
    const own = located.get(site.name)!;
    for (const [location, n] of byLocation ?? []) if (!own.has(location)) count += n;
    return { site, reached: count > 0, count };
  });
}

/**
 * Compares a trace with the catalog: which instrumented functions and step sites it reached,
 * which it never did, and which literal actions of each step were recorded.
 *
 * A stage counts as reached when any site with its name was; so a name appears in `reached` or
 * in `unreached`, never both.
 */
export function stageCoverage(trace: Trace, options: CoverageOptions = {}): Coverage {
  const catalog = options.catalog ?? loadedCatalog();
  if (catalog === undefined) {
    throw new StepmarkCatalogError(
      'stepmark: no stage catalog loaded (call loadCatalog, or pass options.catalog)',
    );
  }
  const selected = options.sites ? catalog.sites.filter(options.sites) : catalog.sites;
  const sites = siteCoverage(selected, tallyTrace(newTally(), trace, options.entity));
  const reachedNames = new Set<string>();
  for (const s of sites) if (s.reached) reachedNames.add(s.site.name);
  const reached = [...reachedNames].sort();
  const unreached = [...new Set(selected.map((s) => s.name))].filter((n) => !reachedNames.has(n)).sort();
  return { sites, reached, unreached };
}

/**
 * A readable report of {@link stageCoverage}: one line per stage, reached ones first marked `✓`,
 * the others `✗ never reached`, with the literal actions of step sites (`✓ accepted ✗ rejected`).
 *
 * @example
 * console.log(stepmark.formatCoverage(trace, { entity: 'order_42' }));
 * // stages reached: 2 of 5 (order_42)
 * //   ✓ OrderService.validate   src/order.ts:12:3
 * //   ✓ FraudService.check      src/fraud.ts:8:3    ✓ flagged  ✗ cleared
 * //   ✗ Inventory.reserve       src/inventory.ts:4:3   never reached
 */
export function formatCoverage(trace: Trace, options: CoverageOptions = {}): string {
  const cov = stageCoverage(trace, options);
  interface Row {
    name: string;
    where: string;
    reached: boolean;
    actions: Map<string, boolean>;
  }
  const rows = new Map<string, Row>();
  for (const { site, reached, actions } of cov.sites) {
    let row = rows.get(site.name);
    if (row === undefined) {
      row = {
        name: escapeForTerminal(site.name),
        where: escapeForTerminal(`${site.file}:${site.line}:${site.column}`),
        reached: false,
        actions: new Map(),
      };
      rows.set(site.name, row);
    }
    row.reached ||= reached;
    for (const a of actions ?? []) row.actions.set(a.action, (row.actions.get(a.action) ?? false) || a.seen);
  }
  const list = [...rows.values()].sort((a, b) => Number(b.reached) - Number(a.reached));
  const nameWidth = Math.max(0, ...list.map((r) => r.name.length));
  const whereWidth = Math.max(0, ...list.map((r) => r.where.length));
  const head = `stages reached: ${cov.reached.length} of ${rows.size}${options.entity !== undefined ? ` (${escapeForTerminal(options.entity)})` : ''}`;
  const lines = list.map((r) => {
    const actions = [...r.actions]
      .map(([a, seen]) => `${seen ? '✓' : '✗'} ${escapeForTerminal(a)}`)
      .join('  ');
    const tail = r.reached ? actions : 'never reached';
    return `  ${r.reached ? '✓' : '✗'} ${r.name.padEnd(nameWidth)}  ${r.where.padEnd(whereWidth)}${tail ? `  ${tail}` : ''}`.trimEnd();
  });
  return [head, ...lines].join('\n');
}
