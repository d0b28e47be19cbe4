import { zComparison } from './internal/comparison.js';
import { assertFinite, sampleCovariance, sampleVariance } from './internal/validate.js';
import { meanAndVariance, welchFromMoments } from './internal/welch.js';
import { StatsError } from './errors.js';
import type { CovariateArm, CupedComparison, Comparison, Stratum } from './types.js';

/**
 * CUPED (Deng, Xu, Kohavi & Walker 2013, "Improving the sensitivity of online controlled experiments
 * by utilizing pre-experiment data", WSDM): θ = cov(Y, X)/var(X) over both arms pooled (ddof = 1),
 * Y_adj = Y − θ(X − mean X) with the pooled mean of X, then Welch's test on Y_adj. Per arm the
 * adjusted variance is var_Y − 2θ·cov_XY + θ²·var_X (ddof = 1 within the arm), which is exactly the
 * sample variance of the adjusted values. Reports θ and the variance reduction
 * 1 − SE²_adjusted/SE²_unadjusted. `baseline`/`variant` values are the adjusted means.
 * @example
 * const result = compareCuped(controlSums, treatmentSums);
 * result.theta; result.varianceReduction; // e.g. 0.8, 0.45
 */
export function compareCuped(baseline: CovariateArm, variant: CovariateArm): CupedComparison {
  const unadjusted = welchFromMoments('mean', { n: baseline.n, ...meanAndVariance('baseline', baseline) }, { n: variant.n, ...meanAndVariance('variant', variant) });
  for (const [where, arm] of [['baseline', baseline], ['variant', variant]] as const) {
    for (const key of ['sumX', 'sumXSquares', 'sumXY'] as const) assertFinite(`${where}.${key}`, arm[key]);
  }
  const n = baseline.n + variant.n;
  const sumX = baseline.sumX + variant.sumX;
  const varX = sampleVariance(n, sumX, baseline.sumXSquares + variant.sumXSquares);
  const covXY = sampleCovariance(n, sumX, baseline.sum + variant.sum, baseline.sumXY + variant.sumXY);
  // A constant covariate carries no information: θ = 0 leaves Y unchanged.
  const theta = varX > 0 ? covXY / varX : 0;
  const meanX = sumX / n;
  const adjusted = (arm: CovariateArm) => {
    const vy = sampleVariance(arm.n, arm.sum, arm.sumSquares);
    const vx = sampleVariance(arm.n, arm.sumX, arm.sumXSquares);
    const cxy = sampleCovariance(arm.n, arm.sumX, arm.sum, arm.sumXY);
    return {
      n: arm.n,
      mean: arm.sum / arm.n - theta * (arm.sumX / arm.n - meanX),
      variance: Math.max(0, vy - 2 * theta * cxy + theta * theta * vx),
    };
  };
  const result = welchFromMoments('cuped', adjusted(baseline), adjusted(variant));
  const unadjustedVar = unadjusted.standardError ** 2;
  return {
    ...result,
    kind: 'cuped',
    theta,
    varianceReduction: unadjustedVar > 0 ? 1 - result.standardError ** 2 / unadjustedVar : 0,
    unadjusted,
  };
}

/**
 * Sufficient statistics for CUPED from per-unit (y, x) pairs.
 * @example
 * covariateArmFromValues([{ y: 3, x: 2 }, { y: 5, x: 4 }]);
 */
export function covariateArmFromValues(units: readonly { readonly y: number; readonly x: number }[]): CovariateArm {
  let sum = 0;
  let sumSquares = 0;
  let sumX = 0;
  let sumXSquares = 0;
  let sumXY = 0;
  units.forEach(({ y, x }, index) => {
    assertFinite(`units[${index}].y`, y);
    assertFinite(`units[${index}].x`, x);
    sum += y;
    sumSquares += y * y;
    sumX += x;
    sumXSquares += x * x;
    sumXY += x * y;
  });
  return { n: units.length, sum, sumSquares, sumX, sumXSquares, sumXY };
}

/**
 * Post-stratification on a pre-treatment attribute, for brand-new conversations with no history to
 * use as a CUPED covariate. Stratum weights w_s = (n_c,s + n_t,s)/N over both arms; arm estimate
 * Σ w_s·ȳ_s; variance Σ w_s²·s²_s/n_s per arm (conditional on the stratum sizes; Miratrix, Sekhon &
 * Yu 2013, JRSS B 75:369–396, eq. 3); normal 95% interval and z test on the difference.
 * @example
 * comparePostStratified([
 *   { name: 'mobile', baseline: { n: 50, sum: 100, sumSquares: 260 }, variant: { n: 48, sum: 110, sumSquares: 300 } },
 *   { name: 'desktop', baseline: { n: 30, sum: 90, sumSquares: 300 }, variant: { n: 33, sum: 105, sumSquares: 370 } },
 * ]);
 */
export function comparePostStratified(strata: readonly Stratum[]): Comparison {
  if (strata.length === 0) throw new StatsError('comparePostStratified needs at least one stratum');
  const total = strata.reduce((acc, s) => acc + s.baseline.n + s.variant.n, 0);
  let meanC = 0;
  let meanT = 0;
  let varC = 0;
  let varT = 0;
  let nC = 0;
  let nT = 0;
  for (const stratum of strata) {
    const c = meanAndVariance(`strata["${stratum.name}"].baseline`, stratum.baseline);
    const t = meanAndVariance(`strata["${stratum.name}"].variant`, stratum.variant);
    const weight = (stratum.baseline.n + stratum.variant.n) / total;
    meanC += weight * c.mean;
    meanT += weight * t.mean;
    varC += (weight * weight * c.variance) / stratum.baseline.n;
    varT += (weight * weight * t.variance) / stratum.variant.n;
    nC += stratum.baseline.n;
    nT += stratum.variant.n;
  }
  return zComparison('poststratified', { n: nC, value: meanC }, { n: nT, value: meanT }, varC, varT);
}
