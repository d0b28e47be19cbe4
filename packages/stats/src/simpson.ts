import { assertCount, assertFinite } from './internal/validate.js';
import type { SegmentComparisonInput, SimpsonResult } from './types.js';

/**
 * Simpson's paradox check: per-segment differences (variant − baseline) against the pooled
 * difference, pooling arm values weighted by units (Σ n·value / Σ n). `reversal` is true when the
 * pooled difference has the opposite sign of EVERY eligible segment's difference, where a segment
 * is eligible when both arms have at least `minUnitsPerArm` (default 30) units, and there are at
 * least two eligible segments (Simpson 1951, JRSS B 13:238–241; the classic example is the UC
 * Berkeley admissions data, Bickel, Hammel & O'Connell 1975).
 * @example
 * simpsonCheck([
 *   { segment: 'short', baseline: { n: 87, value: 0.931 }, variant: { n: 270, value: 0.867 } },
 *   { segment: 'long', baseline: { n: 263, value: 0.730 }, variant: { n: 80, value: 0.688 } },
 * ]).reversal; // true (kidney stones, Charig et al. 1986)
 */
export function simpsonCheck(segments: readonly SegmentComparisonInput[], options: { minUnitsPerArm?: number } = {}): SimpsonResult {
  const minUnits = options.minUnitsPerArm ?? 30;
  let baselineUnits = 0;
  let variantUnits = 0;
  let baselineTotal = 0;
  let variantTotal = 0;
  const rows = segments.map((s, index) => {
    assertCount(`segments[${index}].baseline.n`, s.baseline.n);
    assertCount(`segments[${index}].variant.n`, s.variant.n);
    assertFinite(`segments[${index}].baseline.value`, s.baseline.value);
    assertFinite(`segments[${index}].variant.value`, s.variant.value);
    baselineUnits += s.baseline.n;
    variantUnits += s.variant.n;
    baselineTotal += s.baseline.n * s.baseline.value;
    variantTotal += s.variant.n * s.variant.value;
    return { segment: s.segment, difference: s.variant.value - s.baseline.value, eligible: s.baseline.n >= minUnits && s.variant.n >= minUnits };
  });
  const pooledDifference = variantUnits > 0 && baselineUnits > 0 ? variantTotal / variantUnits - baselineTotal / baselineUnits : Number.NaN;
  const eligible = rows.filter((row) => row.eligible);
  const sign = Math.sign(pooledDifference);
  const reversal = sign !== 0 && !Number.isNaN(sign) && eligible.length >= 2 && eligible.every((row) => Math.sign(row.difference) === -sign);
  return { pooledDifference, segments: rows, reversal };
}
