import { zComparison } from './internal/comparison.js';
import { seededRandom } from './internal/random.js';
import { assertFinite } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { Comparison, UnitValues } from './types.js';

function checkLevel(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new StatsError(`quantile level must be in [0, 1] (got ${q}); use 0.95 for p95`);
}

/** Type-7 quantile of already sorted values. */
function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Quantile by linear interpolation between order statistics (Hyndman & Fan 1996 type 7; the same as
 * DuckDB `quantile_cont`, numpy's default and R's default).
 * @example
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 */
export function quantile(values: readonly number[], q: number): number {
  checkLevel(q);
  if (values.length === 0) throw new StatsError('quantile of an empty list: at least one value is needed');
  values.forEach((value, index) => assertFinite(`values[${index}]`, value));
  const sorted = Float64Array.from(values).sort();
  return sortedQuantile(sorted, q);
}

/** Events of one arm sorted once, each with the index of its unit. */
interface SortedEvents {
  readonly values: Float64Array;
  readonly unitOf: Int32Array;
  readonly units: number;
}

function sortEvents(where: string, units: UnitValues): SortedEvents {
  let count = 0;
  for (const events of units) count += events.length;
  if (count === 0) throw new StatsError(`${where} has no events: a quantile needs at least one value`);
  if (units.length < 2) throw new StatsError(`${where} needs at least 2 units for a clustered interval (got ${units.length})`);
  // Typed arrays and an index sort instead of one object per event: this runs over every event of
  // an arm (a million calls in a large experiment), so no per-event allocation or string building.
  const raw = new Float64Array(count);
  const rawUnit = new Int32Array(count);
  let at = 0;
  for (let unit = 0; unit < units.length; unit++) {
    const events = units[unit]!;
    for (let index = 0; index < events.length; index++) {
      const value = events[index]!;
      if (!Number.isFinite(value)) assertFinite(`${where}[${unit}][${index}]`, value);
      raw[at] = value;
      rawUnit[at] = unit;
      at++;
    }
  }
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => raw[a]! - raw[b]!);
  const values = new Float64Array(count);
  const unitOf = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    values[i] = raw[order[i]!]!;
    unitOf[i] = rawUnit[order[i]!]!;
  }
  return { values, unitOf, units: units.length };
}

/**
 * Type-7 quantile of the resample in which unit u appears `copies[u]` times, without materialising
 * it: walk the sorted events accumulating copies until the order statistics at positions ⌊h⌋ and
 * ⌊h⌋+1 (0-based) of the resample are reached.
 */
function resampledQuantile(events: SortedEvents, copies: Int32Array, q: number): number {
  let total = 0;
  for (let i = 0; i < events.values.length; i++) total += copies[events.unitOf[i]!]!;
  if (total === 0) return Number.NaN;
  const h = (total - 1) * q;
  const lo = Math.floor(h);
  let seen = 0;
  let low = Number.NaN;
  for (let i = 0; i < events.values.length; i++) {
    seen += copies[events.unitOf[i]!]!;
    if (Number.isNaN(low) && seen > lo) low = events.values[i]!;
    if (seen > lo + 1 || (seen > lo && lo + 1 >= total)) {
      const high = seen > lo + 1 ? events.values[i]! : low;
      return low + (h - lo) * (high - low);
    }
  }
  return low;
}

function bootstrapVariance(events: SortedEvents, q: number, resamples: number, random: () => number): number {
  const copies = new Int32Array(events.units);
  let mean = 0;
  let m2 = 0;
  let count = 0;
  for (let r = 0; r < resamples; r++) {
    copies.fill(0);
    for (let i = 0; i < events.units; i++) copies[Math.floor(random() * events.units)]! += 1;
    const value = resampledQuantile(events, copies, q);
    if (Number.isNaN(value)) continue; // every drawn unit had no events; rare and uninformative
    count += 1;
    const delta = value - mean;
    mean += delta / count;
    m2 += delta * (value - mean);
  }
  return count > 1 ? m2 / (count - 1) : Number.NaN;
}

/**
 * Compares a quantile (p50/p95/p99 latency) of event values between arms while respecting that
 * events cluster inside units (conversations). Point estimates: type-7 quantile over all events of
 * the arm. Interval: unit-level (cluster) bootstrap — resample whole units with replacement within
 * each arm (Davison & Hinkley 1997, "Bootstrap Methods and their Application", §3.8, two-stage
 * sampling with the first stage resampled), `resamples` times from a fixed `seed`; the bootstrap
 * variance of each arm's quantile gives a normal 95% interval and z test on the difference, and the
 * delta-method relative interval. Deterministic for a given seed.
 * @example
 * const result = compareQuantiles([[120, 340], [95]], [[110], [90, 80, 400]], { q: 0.95 });
 * result.estimate; // p95 difference
 */
export function compareQuantiles(
  baseline: UnitValues,
  variant: UnitValues,
  options: { q: number; resamples?: number; seed?: number },
): Comparison {
  const { q } = options;
  checkLevel(q);
  const resamples = options.resamples ?? 1000;
  if (!Number.isInteger(resamples) || resamples < 50) throw new StatsError(`resamples must be an integer ≥ 50 (got ${resamples})`);
  const random = seededRandom(options.seed ?? 20_140_603);
  const c = sortEvents('baseline', baseline);
  const t = sortEvents('variant', variant);
  const valueC = sortedQuantile(c.values, q);
  const valueT = sortedQuantile(t.values, q);
  const varC = bootstrapVariance(c, q, resamples, random);
  const varT = bootstrapVariance(t, q, resamples, random);
  return zComparison('quantile', { n: baseline.length, value: valueC }, { n: variant.length, value: valueT }, varC, varT);
}
