import { tCdf, tQuantile } from './distributions.js';
import { relativeLift } from './comparison.js';
import { assertAtLeast, assertCount, assertFinite, sampleVariance } from './validate.js';
import type { Comparison, ComparisonKind, MeanArm } from '../types.js';

/** Validates a mean arm and returns its mean and sample variance (ddof = 1). */
export function meanAndVariance(where: string, arm: MeanArm): { mean: number; variance: number } {
  assertCount(`${where}.n`, arm.n);
  assertAtLeast(`${where}.n`, arm.n, 2, 'a variance needs at least two units');
  assertFinite(`${where}.sum`, arm.sum);
  assertFinite(`${where}.sumSquares`, arm.sumSquares);
  return { mean: arm.sum / arm.n, variance: sampleVariance(arm.n, arm.sum, arm.sumSquares) };
}

/** Welch test from means, sample variances and sizes (shared by mean, CUPED). */
export function welchFromMoments(
  kind: ComparisonKind,
  baseline: { n: number; mean: number; variance: number },
  variant: { n: number; mean: number; variance: number },
): Comparison {
  const varC = baseline.variance / baseline.n;
  const varT = variant.variance / variant.n;
  const estimate = variant.mean - baseline.mean;
  const se2 = varC + varT;
  const standardError = Math.sqrt(se2);
  // Welch–Satterthwaite degrees of freedom, (varC + varT)² / (varC²/(nC − 1) + varT²/(nT − 1)),
  // computed on each arm's share of se2: the same value, but the squares of tiny variances (below
  // ≈ 1e-154) no longer underflow to 0 (0/0) nor those of huge ones overflow (∞/∞).
  const df = se2 > 0 ? 1 / ((varC / se2) ** 2 / (baseline.n - 1) + (varT / se2) ** 2 / (variant.n - 1)) : baseline.n + variant.n - 2;
  const statistic = standardError > 0 ? estimate / standardError : estimate === 0 ? 0 : Math.sign(estimate) * Infinity;
  const pValue = Number.isFinite(statistic) ? Math.min(1, 2 * tCdf(-Math.abs(statistic), df)) : 0;
  const half = tQuantile(0.975, df) * standardError;
  const relative = relativeLift(baseline.mean, variant.mean, varC, varT);
  return {
    kind,
    estimate,
    standardError,
    ci95: [estimate - half, estimate + half],
    pValue,
    statistic,
    df,
    relativeLift: relative.lift,
    relativeCi95: relative.ci,
    relativeFiellerG: relative.fiellerG,
    baseline: { n: baseline.n, value: baseline.mean },
    variant: { n: variant.n, value: variant.mean },
  };
}

