import { zComparison } from './internal/comparison.js';
import { assertAtLeast, assertCount, assertFinite, sampleCovariance, sampleVariance } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { Comparison, RatioArm } from './types.js';

/**
 * The ratio R = ΣY/ΣN of an arm and its delta-method variance over units
 * var(R) = (var_Y − 2R·cov_YN + R²·var_N) / (n·mean_N²), with sample (co)variances (ddof = 1) over
 * the n units that have at least one event (Deng, Knoblich & Lu 2018, "Applying the delta method in
 * metric analytics", KDD, §3; the unit of randomisation is the unit of independence).
 * @example
 * ratioVariance({ n: 3, sumY: 6, sumYSquares: 14, sumN: 3, sumNSquares: 3, sumYN: 6 }); // { ratio: 2, variance: 1/3 }
 */
export function ratioVariance(arm: RatioArm, where = 'arm'): { ratio: number; variance: number } {
  assertCount(`${where}.n`, arm.n);
  assertAtLeast(`${where}.n`, arm.n, 2, 'a variance needs at least two units with events');
  for (const key of ['sumY', 'sumYSquares', 'sumN', 'sumNSquares', 'sumYN'] as const) assertFinite(`${where}.${key}`, arm[key]);
  if (!(arm.sumN > 0)) throw new StatsError(`${where}.sumN must be positive (got ${arm.sumN}): count only units with at least one event`);
  const ratio = arm.sumY / arm.sumN;
  const meanN = arm.sumN / arm.n;
  const varY = sampleVariance(arm.n, arm.sumY, arm.sumYSquares);
  const varN = sampleVariance(arm.n, arm.sumN, arm.sumNSquares);
  const cov = sampleCovariance(arm.n, arm.sumY, arm.sumN, arm.sumYN);
  const variance = Math.max(0, (varY - 2 * ratio * cov + ratio * ratio * varN) / (arm.n * meanN * meanN));
  return { ratio, variance };
}

/**
 * Compares a ratio metric (events inside units, e.g. latency per call): R per arm, delta-method
 * variance over units (see {@link ratioVariance}), normal 95% interval and z test on R_t − R_c,
 * relative lift by the delta method.
 * @example
 * const result = compareRatios(controlSums, treatmentSums);
 * result.estimate; // R_t − R_c, e.g. ms per call
 */
export function compareRatios(baseline: RatioArm, variant: RatioArm): Comparison {
  const c = ratioVariance(baseline, 'baseline');
  const t = ratioVariance(variant, 'variant');
  return zComparison('ratio', { n: baseline.n, value: c.ratio }, { n: variant.n, value: t.ratio }, c.variance, t.variance);
}

/**
 * Sufficient statistics of a ratio metric from per-unit totals; units with N = 0 are skipped, as the
 * contract requires.
 * @example
 * ratioArmFromUnits([{ y: 120, n: 2 }, { y: 300, n: 3 }, { y: 0, n: 0 }]); // n = 2
 */
export function ratioArmFromUnits(units: readonly { readonly y: number; readonly n: number }[]): RatioArm {
  let n = 0;
  let sumY = 0;
  let sumYSquares = 0;
  let sumN = 0;
  let sumNSquares = 0;
  let sumYN = 0;
  units.forEach((unit, index) => {
    assertFinite(`units[${index}].y`, unit.y);
    assertFinite(`units[${index}].n`, unit.n);
    if (unit.n <= 0) return;
    n += 1;
    sumY += unit.y;
    sumYSquares += unit.y * unit.y;
    sumN += unit.n;
    sumNSquares += unit.n * unit.n;
    sumYN += unit.y * unit.n;
  });
  return { n, sumY, sumYSquares, sumN, sumNSquares, sumYN };
}
