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
  ConfidenceSequenceResult,
  CovariateArm,
  CupedComparison,
  GuardrailObservation,
  GuardrailReport,
  GuardrailThreshold,
  MeanArm,
  MeanInterval,
  MultipleExposureResult,
  QuantileArm,
  QuantileComparison,
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
  QuantileArm,
  QuantileComparison,
  RatioArm,
  SegmentComparisonInput,
  SegmentMixResult,
  SimpsonResult,
  SrmResult,
  UnitValues,
};

/**
 * Pooled two-proportion z test, unpooled Wald interval, delta-method relative interval.
 * @example
 * compareBinary({ n: 1000, successes: 400 }, { n: 1000, successes: 450 }).pValue; // ≈ 0.0237
 */
export function compareBinary(baseline: BinaryArm, variant: BinaryArm): Comparison {
  return stats.compareBinary(baseline, variant);
}
/**
 * Welch t test with a Welch–Satterthwaite interval.
 * @example
 * compareMeans({ n: 800, sum: 3120, sumSquares: 13135 }, { n: 820, sum: 3321, sumSquares: 14269 });
 */
export function compareMeans(baseline: MeanArm, variant: MeanArm): Comparison {
  return stats.compareMeans(baseline, variant);
}
/**
 * Delta-method z test of a ratio of sums over units.
 * @example
 * compareRatios(controlRatioArm, treatmentRatioArm).ci95;
 */
export function compareRatios(baseline: RatioArm, variant: RatioArm): Comparison {
  return stats.compareRatios(baseline, variant);
}
/**
 * Difference of quantiles with a unit-clustered interval from per-unit event values: `auto` takes
 * the asymptotic interval when both arms are large enough for it, the unit bootstrap otherwise;
 * `bootstrap` always resamples. The result's `method` says which.
 * @example
 * compareQuantiles([[120, 340], [95]], [[110], [90, 80, 400]], 0.95).estimate;
 */
export function compareQuantiles(baseline: UnitValues, variant: UnitValues, quantile: number, method: 'auto' | 'bootstrap' = 'auto'): QuantileComparison {
  return stats.compareQuantiles(baseline, variant, { q: quantile, method, resamples: bootstrapResamples(baseline, variant) });
}

/**
 * Difference of quantiles with the asymptotic cluster-robust interval (Deng, Knoblich & Lu 2018)
 * from the arms' sufficient statistics (computed in DuckDB).
 * @example
 * compareQuantileArms(controlQuantileArm, treatmentQuantileArm).ci95;
 */
export function compareQuantileArms(baseline: QuantileArm, variant: QuantileArm): QuantileComparison {
  return stats.compareQuantileArms(baseline, variant);
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
/**
 * CUPED with θ pooled over both arms.
 * @example
 * compareCuped(controlCovariateArm, treatmentCovariateArm).theta;
 */
export function compareCuped(baseline: CovariateArm, variant: CovariateArm): CupedComparison {
  return stats.compareCuped(baseline, variant);
}
/**
 * Beta(1, 1) posterior chance to beat and expected losses.
 * @example
 * bayesBinary({ n: 1000, successes: 400 }, { n: 1000, successes: 450 }).chanceToBeat; // ≈ 0.988
 */
export function bayesBinary(baseline: BinaryArm, variant: BinaryArm): BayesianBinaryResult {
  return stats.bayesianBinary(baseline, variant);
}
/**
 * Lan–DeMets O'Brien–Fleming boundaries at the given information fractions.
 * @example
 * sequentialBoundaries([0.25, 0.5, 0.75, 1], 0.05).looks.map((look) => look.z); // 4.33, 2.96, 2.36, 2.01
 */
export function sequentialBoundaries(looks: readonly number[], alpha: number): Boundaries {
  return stats.groupSequentialBoundaries(looks, { alpha });
}
/**
 * The look-by-look decision for a z statistic (1-based look).
 * @example
 * sequentialDecision(sequentialBoundaries([0.5, 1], 0.05), 1, 3.1); // 'stop_efficacy'
 */
export function sequentialDecision(boundaries: Boundaries, look: number, z: number): 'continue' | 'stop_efficacy' {
  return stats.sequentialDecision(boundaries, look, z);
}
/**
 * Always-valid confidence sequence of a difference after `units` units (both arms).
 * @example
 * alwaysValidInterval({ estimate: 0.02, standardError: 0.008 }, 5000, 10_000, 0.05).interval;
 */
export function alwaysValidInterval(
  comparison: { readonly estimate: number; readonly standardError: number },
  units: number,
  expectedSampleSize: number,
  alpha: number,
): ConfidenceSequenceResult {
  return stats.confidenceSequence(comparison, units, { alpha, expectedSampleSize });
}
/**
 * Sample ratio mismatch against planned weights.
 * @example
 * sampleRatioMismatch([1000, 1200], [1, 1]).flagged; // true (p ≈ 2e-5)
 */
export function sampleRatioMismatch(observed: readonly number[], weights: readonly number[]): SrmResult {
  return stats.checkSrm(observed, weights);
}
/**
 * Share of units seen in more than one variation.
 * @example
 * multipleExposure(150, 10_000).status; // 'warn'
 */
export function multipleExposure(multiExposedUnits: number, totalUnits: number): MultipleExposureResult {
  return stats.checkMultipleExposure({ multiExposedUnits, totalUnits });
}
/**
 * Chi-square test of independence of segment × arm; `table[segment][arm]`.
 * @example
 * segmentMixTest([[300, 700], [700, 300]]).flagged; // true
 */
export function segmentMixTest(table: readonly (readonly number[])[]): SegmentMixResult {
  return stats.checkSegmentMix(table);
}
/**
 * Adjusted p-values in the input order.
 * @example
 * adjustPValues([0.01, 0.04, 0.3], 'holm'); // [0.03, 0.08, 0.3]
 */
export function adjustPValues(pValues: readonly number[], method: 'holm' | 'bh'): number[] {
  return [...stats.adjustPValues(pValues, method)];
}
/**
 * Alerts on every breached window; actions when a streak reaches its count.
 * @example
 * monitorGuardrails(observations, [{ metric: 'error_rate', direction: 'above', value: 0.05, consecutiveWindows: 2, action: 'rollback' }]).actions;
 */
export function monitorGuardrails(observations: readonly GuardrailObservation[], thresholds: readonly GuardrailThreshold[]): GuardrailReport {
  return stats.monitorGuardrails(observations, thresholds);
}
/**
 * Simpson reversal: the pooled direction contradicts every eligible segment.
 * @example
 * simpsonCheck(segments, 30).reversal;
 */
export function simpsonCheck(segments: readonly SegmentComparisonInput[], minUnitsPerArm: number): SimpsonResult {
  return stats.simpsonCheck(segments, { minUnitsPerArm });
}
/**
 * Mean with its t interval from n, mean and standard deviation.
 * @example
 * meanInterval(40, 0.8, 0.1).ci95;
 */
export function meanInterval(n: number, mean: number, sd: number): MeanInterval {
  // Back to sufficient statistics: Σy = n·mean, Σy² = (n − 1)·sd² + n·mean².
  return stats.meanTInterval({ n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean });
}
