import { normalQuantile, normalSf } from './distributions.js';
import type { ArmSummary, Comparison, ComparisonKind, Interval } from '../types.js';

/** z for a two-sided 95% interval. */
export const Z95 = normalQuantile(0.975);

/**
 * Relative lift (t − c)/c with its delta-method interval, var_rel = var_t/c² + t²·var_c/c⁴
 * (first-order Taylor expansion of t/c; e.g. Deng, Knoblich & Lu 2018, "Applying the delta method
 * in metric analytics", eq. for the percent change).
 */
export function relativeLift(c: number, t: number, varC: number, varT: number): { lift: number; ci: Interval; fiellerG: number } {
  if (c === 0) return { lift: Number.NaN, ci: [Number.NaN, Number.NaN], fiellerG: Number.NaN };
  const lift = (t - c) / c;
  const variance = varT / (c * c) + (t * t * varC) / (c * c * c * c);
  const half = Z95 * Math.sqrt(variance);
  // Fieller's g = z²·var_c/c² (Fieller 1954, "Some problems in interval estimation", JRSS B 16):
  // the delta-method interval approximates Fieller's exact one only while g is small.
  return { lift, ci: [lift - half, lift + half], fiellerG: (Z95 * Z95 * varC) / (c * c) };
}

/** Builds a z-test comparison from arm values and the variances of those values. */
export function zComparison(
  kind: ComparisonKind,
  baseline: ArmSummary,
  variant: ArmSummary,
  varBaseline: number,
  varVariant: number,
): Comparison {
  const estimate = variant.value - baseline.value;
  const standardError = Math.sqrt(varBaseline + varVariant);
  const statistic = standardError > 0 ? estimate / standardError : estimate === 0 ? 0 : Math.sign(estimate) * Infinity;
  const pValue = Math.min(1, 2 * normalSf(Math.abs(statistic)));
  const half = Z95 * standardError;
  const relative = relativeLift(baseline.value, variant.value, varBaseline, varVariant);
  return {
    kind,
    estimate,
    standardError,
    ci95: [estimate - half, estimate + half],
    pValue,
    statistic,
    df: undefined,
    relativeLift: relative.lift,
    relativeCi95: relative.ci,
    relativeFiellerG: relative.fiellerG,
    baseline,
    variant,
  };
}
