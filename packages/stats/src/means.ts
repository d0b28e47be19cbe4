import { meanAndVariance, welchFromMoments } from './internal/welch.js';
import { assertFinite } from './internal/validate.js';
import { quantile } from './quantile.js';
import { StatsError } from './errors.js';
import type { Comparison, MeanArm } from './types.js';

/**
 * Compares a per-unit mean metric with Welch's t-test; the 95% interval uses the
 * Welch–Satterthwaite degrees of freedom ν = (s_c²/n_c + s_t²/n_t)² / Σ (s²/n)²/(n − 1)
 * (Welch 1947, Biometrika 34:28–35; scipy.stats.ttest_ind(equal_var=False)). Relative lift uses the
 * delta method with var(mean) = s²/n.
 * @example
 * const result = compareMeans({ n: 3, sum: 6, sumSquares: 14 }, { n: 3, sum: 9, sumSquares: 29 });
 * result.estimate; // 1
 */
export function compareMeans(baseline: MeanArm, variant: MeanArm): Comparison {
  const c = meanAndVariance('baseline', baseline);
  const t = meanAndVariance('variant', variant);
  return welchFromMoments('mean', { n: baseline.n, ...c }, { n: variant.n, ...t });
}

/**
 * Sufficient statistics of a list of per-unit values.
 * @example
 * meanArmFromValues([1, 2, 3]); // { n: 3, sum: 6, sumSquares: 14 }
 */
export function meanArmFromValues(values: readonly number[]): MeanArm {
  let sum = 0;
  let sumSquares = 0;
  values.forEach((value, index) => {
    assertFinite(`values[${index}]`, value);
    sum += value;
    sumSquares += value * value;
  });
  return { n: values.length, sum, sumSquares };
}

/**
 * Caps (winsorises) values at an absolute lower and/or upper bound, to keep a few extreme units
 * (a runaway agent loop, a 10-minute call) from dominating a mean.
 * @example
 * capValues([1, 5, 1000], { upper: 100 }); // [1, 5, 100]
 */
export function capValues(values: readonly number[], bounds: { lower?: number; upper?: number }): number[] {
  const lower = bounds.lower ?? -Infinity;
  const upper = bounds.upper ?? Infinity;
  if (lower > upper) throw new StatsError(`cap lower bound (${lower}) must not exceed the upper bound (${upper})`);
  return values.map((value) => Math.min(upper, Math.max(lower, value)));
}

/**
 * The cap for percentile capping, computed over BOTH arms together so that the cap does not depend
 * on the treatment (a per-arm cap would bias the comparison). Linear interpolation (type 7).
 * @example
 * const cap = percentileCap(controlValues, treatmentValues, 0.99);
 * const capped = capValues(treatmentValues, { upper: cap });
 */
export function percentileCap(baselineValues: readonly number[], variantValues: readonly number[], percentile: number): number {
  if (!(percentile > 0 && percentile <= 1)) throw new StatsError(`percentile must be in (0, 1] (got ${percentile}); use 0.99 for the 99th percentile`);
  return quantile([...baselineValues, ...variantValues], percentile);
}
