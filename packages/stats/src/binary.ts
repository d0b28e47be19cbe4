import { normalSf } from './internal/distributions.js';
import { Z95, relativeLift } from './internal/comparison.js';
import { assertCount } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { BinaryArm, Comparison } from './types.js';

/** Validates a binary arm and returns its rate. */
function checkBinaryArm(where: string, arm: BinaryArm): number {
  assertCount(`${where}.n`, arm.n);
  assertCount(`${where}.successes`, arm.successes);
  if (arm.successes > arm.n) {
    throw new StatsError(`${where}.successes (${arm.successes}) cannot exceed ${where}.n (${arm.n})`);
  }
  if (arm.n === 0) throw new StatsError(`${where}.n must be at least 1 (got 0): an arm without exposed units cannot be compared`);
  return arm.successes / arm.n;
}

/**
 * Compares a binary metric: rates per arm; absolute difference with a 95% Wald interval using the
 * unpooled variance p(1−p)/n per arm; two-sided p-value of the pooled two-proportion z-test
 * (z = (p_t − p_c)/√(p̄(1−p̄)(1/n_c + 1/n_t)), p̄ = pooled rate); relative lift with the
 * delta-method interval var_rel = var_t/p_c² + p_t²·var_c/p_c⁴. `statistic` is the pooled z,
 * `standardError` the unpooled one (so the interval and the test can disagree at the margin,
 * exactly as in Agresti, "Categorical Data Analysis", 3rd ed., §2.2.3 and §3.1).
 * @example
 * const result = compareBinary({ n: 1000, successes: 600 }, { n: 1000, successes: 650 });
 * result.estimate; // 0.05
 * result.pValue;   // pooled z-test
 */
export function compareBinary(baseline: BinaryArm, variant: BinaryArm): Comparison {
  const pc = checkBinaryArm('baseline', baseline);
  const pt = checkBinaryArm('variant', variant);
  const varC = (pc * (1 - pc)) / baseline.n;
  const varT = (pt * (1 - pt)) / variant.n;
  const estimate = pt - pc;
  const standardError = Math.sqrt(varC + varT);
  const pooled = (baseline.successes + variant.successes) / (baseline.n + variant.n);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / baseline.n + 1 / variant.n));
  // With all-zero or all-one outcomes there is no evidence of a difference at all.
  const statistic = pooledSe > 0 ? estimate / pooledSe : 0;
  const pValue = Math.min(1, 2 * normalSf(Math.abs(statistic)));
  const half = Z95 * standardError;
  const relative = relativeLift(pc, pt, varC, varT);
  return {
    kind: 'binary',
    estimate,
    standardError,
    ci95: [estimate - half, estimate + half],
    pValue,
    statistic,
    df: undefined,
    relativeLift: relative.lift,
    relativeCi95: relative.ci,
    relativeFiellerG: relative.fiellerG,
    baseline: { n: baseline.n, value: pc },
    variant: { n: variant.n, value: pt },
  };
}
