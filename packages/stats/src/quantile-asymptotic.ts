/**
 * The asymptotic cluster-robust interval of a quantile (Deng, Knoblich & Lu 2018, "Applying the
 * Delta Method in Metric Analytics: A Practical Guide with Novel Ideas", KDD 2018, section on
 * quantile metrics, the "outer" confidence interval). Pure functions over sufficient statistics:
 * DuckDB computes the sums and the two outer order statistics, this module turns them into a test.
 *
 * Why it works: for the arm's quantile estimate q̂ at level p, the share of events at or below q̂,
 * p̂ = Σ I_i / Σ N_i, is a ratio of sums over independent units, so its variance σ_p² comes from
 * the delta method over units (the same formula as a ratio metric; events inside a unit may be
 * correlated). By the Bahadur representation, P(q̂ ≤ Q(p + zσ_p)) ≈ P(p̂ ≤ p + zσ_p), so
 * [Q(p − zσ_p), Q(p + zσ_p)] is a 95% interval for the quantile, read off the arm's own order
 * statistics without estimating a density; its half-width / z is the standard error of q̂.
 */
import { Z95, zComparison } from './internal/comparison.js';
import { assertCount, assertFinite } from './internal/validate.js';
import { ratioVariance } from './ratio.js';
import { StatsError } from './errors.js';
import type { QuantileArm, QuantileComparison } from './types.js';

/**
 * Fewest units (with at least one event) per arm for the asymptotic interval. Below it the normal
 * approximation of p̂ over units is not trusted and `compareQuantiles` falls back to the bootstrap.
 * @example
 * arm.n >= QUANTILE_ASYMPTOTIC_MIN_UNITS; // 50
 */
export const QUANTILE_ASYMPTOTIC_MIN_UNITS = 50;
/**
 * Fewest events per arm for the asymptotic interval (see {@link QUANTILE_ASYMPTOTIC_MIN_UNITS}).
 * @example
 * arm.events >= QUANTILE_ASYMPTOTIC_MIN_EVENTS; // 200
 */
export const QUANTILE_ASYMPTOTIC_MIN_EVENTS = 200;

/**
 * The counts of a {@link QuantileArm} that fix its outer levels.
 * @example
 * const counts: QuantileCounts = { q: 0.95, n: 1000, events: 5000, sumI: 4750, sumISquares: 22_750, sumNSquares: 25_000, sumIN: 23_750 };
 */
export type QuantileCounts = Pick<QuantileArm, 'q' | 'n' | 'events' | 'sumI' | 'sumISquares' | 'sumNSquares' | 'sumIN'>;

/**
 * The outer levels of one arm: p ± z·σ_p, and what they came from.
 * @example
 * const { lower, upper }: QuantileOuterLevels = quantileOuterLevels(counts); // ≈ 0.9446, 0.9554
 */
export interface QuantileOuterLevels {
  /** p̂ = Σ I / Σ N: the share of events at or below the estimate (≥ p; equal without ties). */
  readonly proportion: number;
  /** σ_p: the delta-method standard error of p̂ over units. */
  readonly standardError: number;
  /** p − z·σ_p, clamped to [0, 1]. */
  readonly lower: number;
  /** p + z·σ_p, clamped to [0, 1]. */
  readonly upper: number;
  /** True when p ± z·σ_p left [0, 1]: too few events beyond the quantile for this interval. */
  readonly clamped: boolean;
}

function checkLevel(where: string, q: number): void {
  if (!(q > 0 && q < 1)) throw new StatsError(`${where}.q must be in (0, 1) for a quantile interval (got ${q}); use 0.95 for p95`);
}

/**
 * The two outer levels p ± z·σ_p (z = Φ⁻¹(0.975)) at which the arm's quantile is read to form its
 * 95% interval. σ_p² is the delta-method variance of the ratio Σ I / Σ N over units,
 * (var_I − 2p̂·cov_IN + p̂²·var_N) / (n·mean_N²) with sample (co)variances (ddof = 1): the
 * ratio-metric formula of the statistics contract, with Y = I.
 * @example
 * const levels = quantileOuterLevels({ q: 0.95, n: 1000, events: 5000, sumI: 4750, sumISquares: 25_000, sumNSquares: 30_000, sumIN: 27_000 });
 * // then, in SQL: quantile_cont(v, [levels.lower, levels.upper]) over the arm's events
 */
export function quantileOuterLevels(arm: QuantileCounts, where = 'arm'): QuantileOuterLevels {
  checkLevel(where, arm.q);
  assertCount(`${where}.events`, arm.events);
  const { ratio, variance } = ratioVariance(
    { n: arm.n, sumY: arm.sumI, sumYSquares: arm.sumISquares, sumN: arm.events, sumNSquares: arm.sumNSquares, sumYN: arm.sumIN },
    where,
  );
  const standardError = Math.sqrt(variance);
  const lower = arm.q - Z95 * standardError;
  const upper = arm.q + Z95 * standardError;
  return {
    proportion: ratio,
    standardError,
    lower: Math.max(0, lower),
    upper: Math.min(1, upper),
    clamped: lower < 0 || upper > 1,
  };
}

/**
 * Why the asymptotic interval does not apply to an arm, or undefined when it does: it needs at
 * least {@link QUANTILE_ASYMPTOTIC_MIN_UNITS} units and {@link QUANTILE_ASYMPTOTIC_MIN_EVENTS}
 * events, and outer levels inside [0, 1] (enough events beyond the quantile: for p99 that takes
 * roughly 400 events or more). Below that, use the bootstrap (`compareQuantiles` does so itself).
 * @example
 * quantileAsymptoticIssue({ q: 0.95, n: 20, events: 90, sumI: 86, sumISquares: 420, sumNSquares: 450, sumIN: 430 });
 * // 'fewer than 50 units with events (20)'
 */
export function quantileAsymptoticIssue(
  arm: QuantileCounts,
  options: { minUnits?: number; minEvents?: number } = {},
): string | undefined {
  const minUnits = options.minUnits ?? QUANTILE_ASYMPTOTIC_MIN_UNITS;
  const minEvents = options.minEvents ?? QUANTILE_ASYMPTOTIC_MIN_EVENTS;
  if (arm.n < Math.max(2, minUnits)) return `fewer than ${Math.max(2, minUnits)} units with events (${arm.n})`;
  if (arm.events < minEvents) return `fewer than ${minEvents} events (${arm.events})`;
  if (!(arm.events > 0)) return 'no events';
  if (quantileOuterLevels(arm).clamped) return `too few events beyond the ${arm.q} quantile for its outer interval (${arm.events} events)`;
  return undefined;
}

function armVariance(arm: QuantileArm, where: string, options: { minUnits?: number; minEvents?: number }): number {
  for (const key of ['value', 'lower', 'upper', 'sumI', 'sumISquares', 'sumNSquares', 'sumIN'] as const) assertFinite(`${where}.${key}`, arm[key]);
  const issue = quantileAsymptoticIssue(arm, options);
  if (issue) {
    throw new StatsError(`${where}: the asymptotic quantile interval needs more data: ${issue}; compare per-unit values with compareQuantiles(…, { method: 'bootstrap' }) instead`);
  }
  if (arm.lower > arm.upper) throw new StatsError(`${where}.lower (${arm.lower}) is above ${where}.upper (${arm.upper}): read them at quantileOuterLevels().lower and .upper`);
  const half = (arm.upper - arm.lower) / (2 * Z95);
  return half * half;
}

/**
 * Compares a quantile (p50/p95/p99 latency per call) between two arms from their sufficient
 * statistics, with the asymptotic cluster-robust interval of Deng, Knoblich & Lu (2018): each
 * arm's standard error is the half-width of its outer interval [Q(p − zσ_p), Q(p + zσ_p)] over z;
 * the difference gets the normal 95% interval with the summed variances and a z test, and the
 * relative lift its delta-method interval. Needs ≥ 50 units and ≥ 200 events per arm (see
 * {@link quantileAsymptoticIssue}; `minUnits`/`minEvents` lower the bar, at the caller's risk)
 * and throws a StatsError otherwise: with per-unit values at hand, `compareQuantiles` picks the
 * bootstrap for such arms by itself. Cost: O(1) here; O(events) once in SQL.
 * @example
 * const result = compareQuantileArms(controlArm, treatmentArm); // arms from SQL or quantileArmFromUnits
 * result.ci95; // 95% interval of the p95 difference
 */
export function compareQuantileArms(
  baseline: QuantileArm,
  variant: QuantileArm,
  options: { minUnits?: number; minEvents?: number } = {},
): QuantileComparison {
  if (baseline.q !== variant.q) throw new StatsError(`the arms' quantile levels differ (${baseline.q} vs ${variant.q}): compare the same quantile`);
  const varC = armVariance(baseline, 'baseline', options);
  const varT = armVariance(variant, 'variant', options);
  const comparison = zComparison('quantile', { n: baseline.n, value: baseline.value }, { n: variant.n, value: variant.value }, varC, varT);
  return { ...comparison, kind: 'quantile', method: 'asymptotic' };
}
