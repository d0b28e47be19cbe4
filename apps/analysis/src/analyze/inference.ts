/**
 * The one place the analysis calls @abtel/stats. Every number in a report that is a test, an
 * interval, an adjusted p-value, a posterior or a boundary comes through here; nothing is
 * re-derived in the analysis.
 */
import * as stats from '@abtel/stats';
import type {
  BayesianBinaryResult,
  BinaryArm,
  Boundaries,
  Comparison,
  CovariateArm,
  CupedComparison,
  GuardrailObservation,
  GuardrailReport,
  GuardrailThreshold,
  MeanArm,
  MeanInterval,
  MultipleExposureResult,
  RatioArm,
  SegmentComparisonInput,
  SegmentMixResult,
  SimpsonResult,
  SrmResult,
  UnitValues,
} from '@abtel/stats';

export type {
  BayesianBinaryResult,
  BinaryArm,
  Boundaries,
  Comparison,
  CovariateArm,
  CupedComparison,
  GuardrailObservation,
  GuardrailReport,
  GuardrailThreshold,
  MeanArm,
  MeanInterval,
  MultipleExposureResult,
  RatioArm,
  SegmentComparisonInput,
  SegmentMixResult,
  SimpsonResult,
  SrmResult,
  UnitValues,
};

/** Pooled two-proportion z test, unpooled Wald interval, delta-method relative interval. */
export function compareBinary(baseline: BinaryArm, variant: BinaryArm): Comparison {
  return stats.compareBinary(baseline, variant);
}
/** Welch t test with a Welch–Satterthwaite interval. */
export function compareMeans(baseline: MeanArm, variant: MeanArm): Comparison {
  return stats.compareMeans(baseline, variant);
}
/** Delta-method z test of a ratio of sums over units. */
export function compareRatios(baseline: RatioArm, variant: RatioArm): Comparison {
  return stats.compareRatios(baseline, variant);
}
/** Difference of quantiles with a unit-clustered interval. */
export function compareQuantiles(baseline: UnitValues, variant: UnitValues, quantile: number): Comparison {
  return stats.compareQuantiles(baseline, variant, { q: quantile, resamples: bootstrapResamples(baseline, variant) });
}

/**
 * Bootstrap resamples for a quantile interval: 1000 while the arms hold up to 20,000 events, then
 * fewer (never below 200) so the cost stays near 2·10⁷ resampled events. The standard error of a
 * bootstrap standard error is about 1/√(2B): 2% at B = 1000, 5% at B = 200.
 */
export function bootstrapResamples(baseline: UnitValues, variant: UnitValues): number {
  let events = 0;
  for (const unit of baseline) events += unit.length;
  for (const unit of variant) events += unit.length;
  return events <= 20_000 ? 1000 : Math.max(200, Math.round(2e7 / events));
}
/** CUPED with θ pooled over both arms. */
export function compareCuped(baseline: CovariateArm, variant: CovariateArm): CupedComparison {
  return stats.compareCuped(baseline, variant);
}
/** Beta(1, 1) posterior chance to beat and expected losses. */
export function bayesBinary(baseline: BinaryArm, variant: BinaryArm): BayesianBinaryResult {
  return stats.bayesianBinary(baseline, variant);
}
/** Lan–DeMets O'Brien–Fleming boundaries at the given information fractions. */
export function sequentialBoundaries(looks: readonly number[], alpha: number): Boundaries {
  return stats.groupSequentialBoundaries(looks, { alpha });
}
/** The look-by-look decision for a z statistic (1-based look). */
export function sequentialDecision(boundaries: Boundaries, look: number, z: number): 'continue' | 'stop_efficacy' {
  return stats.sequentialDecision(boundaries, look, z);
}
/** Sample ratio mismatch against planned weights. */
export function sampleRatioMismatch(observed: readonly number[], weights: readonly number[]): SrmResult {
  return stats.checkSrm(observed, weights);
}
/** Share of units seen in more than one variation. */
export function multipleExposure(multiExposedUnits: number, totalUnits: number): MultipleExposureResult {
  return stats.checkMultipleExposure({ multiExposedUnits, totalUnits });
}
/** Chi-square test of independence of segment × arm; `table[segment][arm]`. */
export function segmentMixTest(table: readonly (readonly number[])[]): SegmentMixResult {
  return stats.checkSegmentMix(table);
}
/** Adjusted p-values in the input order. */
export function adjustPValues(pValues: readonly number[], method: 'holm' | 'bh'): number[] {
  return [...stats.adjustPValues(pValues, method)];
}
/** Alerts on every breached window; actions when a streak reaches its count. */
export function monitorGuardrails(observations: readonly GuardrailObservation[], thresholds: readonly GuardrailThreshold[]): GuardrailReport {
  return stats.monitorGuardrails(observations, thresholds);
}
/** Simpson reversal: the pooled direction contradicts every eligible segment. */
export function simpsonCheck(segments: readonly SegmentComparisonInput[], minUnitsPerArm: number): SimpsonResult {
  return stats.simpsonCheck(segments, { minUnitsPerArm });
}
/** Mean with its t interval from n, mean and standard deviation. */
export function meanInterval(n: number, mean: number, sd: number): MeanInterval {
  // Back to sufficient statistics: Σy = n·mean, Σy² = (n − 1)·sd² + n·mean².
  return stats.meanTInterval({ n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean });
}
