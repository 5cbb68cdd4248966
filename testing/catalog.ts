/**
 * Stage coverage for tests: with the catalog a build plugin wrote (`catalog` option), assert
 * which decision points a test reached and which it never did (docs/CATALOG.md).
 *
 * @example
 * import { loadCatalog, unreachedStages } from 'stepmark/testing';
 * loadCatalog(readFileSync('dist/stepmark-catalog.json', 'utf8'));
 * const { trace } = await stepmark.capture(() => placeOrder(flaggedOrder));
 * expect(unreachedStages(trace, { entity: 'order_42' })).toEqual(['Inventory.reserve', 'Payment.charge']);
 */
import { type CoverageOptions, stageCoverage } from '../runtime/catalog.js';
import type { Trace } from '../runtime/types.js';

export {
  type Catalog,
  type CatalogSite,
  type Coverage,
  type CoverageOptions,
  clearCatalog,
  formatCoverage,
  loadCatalog,
  stageCoverage,
} from '../runtime/catalog.js';

/** Names of the catalog's stages the trace never reached (sorted). */
export function unreachedStages(trace: Trace | { trace: Trace }, options?: CoverageOptions): string[] {
  return [
    ...stageCoverage('trace' in trace && !('spans' in trace) ? trace.trace : (trace as Trace), options)
      .unreached,
  ];
}

/** For each step stage, the literal actions never recorded in the trace: `{ "FraudService.check": ["cleared"] }`. */
export function unseenActions(
  trace: Trace | { trace: Trace },
  options?: CoverageOptions,
): Record<string, string[]> {
  const cov = stageCoverage(
    'trace' in trace && !('spans' in trace) ? trace.trace : (trace as Trace),
    options,
  );
  const seen = new Map<string, Map<string, boolean>>();
  for (const s of cov.sites) {
    if (s.actions === undefined) continue;
    let m = seen.get(s.site.name);
    if (m === undefined) seen.set(s.site.name, (m = new Map()));
    for (const a of s.actions) m.set(a.action, (m.get(a.action) ?? false) || a.seen);
  }
  const out: Record<string, string[]> = {};
  for (const [stage, m] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const unseen = [...m].filter(([, v]) => !v).map(([a]) => a);
    if (unseen.length > 0) out[stage] = unseen;
  }
  return out;
}
