import { chisquareSf } from './internal/distributions.js';
import { assertCount } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { MultipleExposureResult, SegmentMixResult, SrmResult } from './types.js';

/**
 * The p-value below which a sample ratio mismatch is flagged by default (and against which reports
 * print SRM p-values).
 * @example
 * checkSrm(counts, weights).pValue < SRM_THRESHOLD; // flagged
 */
export const SRM_THRESHOLD = 0.001;

/**
 * Sample ratio mismatch: Pearson chi-square goodness of fit of exposed units per arm against the
 * normalised planned weights, df = k − 1, flagged (`status: 'fail'`) at p < `threshold` (0.001).
 * Skipped while any arm has fewer than `minUnitsPerArm` (8) units, where the chi-square
 * approximation is not trustworthy (Fabijan et al. 2019, "Diagnosing sample ratio mismatch in online
 * controlled experiments", KDD; scipy.stats.chisquare).
 * @example
 * checkSrm([5000, 5200], [0.5, 0.5]); // { flagged: false, pValue: 0.0477…, … }
 */
export function checkSrm(
  observed: readonly number[],
  weights: readonly number[],
  options: { threshold?: number; minUnitsPerArm?: number } = {},
): SrmResult {
  const threshold = options.threshold ?? SRM_THRESHOLD;
  const minUnits = options.minUnitsPerArm ?? 8;
  if (observed.length < 2) throw new StatsError(`SRM needs at least 2 arms (got ${observed.length})`);
  if (weights.length !== observed.length) throw new StatsError(`SRM: ${observed.length} observed counts but ${weights.length} weights; give one weight per arm`);
  observed.forEach((count, index) => assertCount(`observed[${index}]`, count));
  weights.forEach((weight, index) => {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new StatsError(`weights[${index}] must be positive (got ${weight})`);
  });
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const total = observed.reduce((a, b) => a + b, 0);
  const expected = weights.map((weight) => (total * weight) / totalWeight);
  const df = observed.length - 1;
  let chiSquare = 0;
  observed.forEach((count, index) => {
    const e = expected[index]!;
    if (e > 0) chiSquare += ((count - e) * (count - e)) / e;
  });
  const pValue = total > 0 ? chisquareSf(chiSquare, df) : 1;
  if (observed.some((count) => count < minUnits)) {
    return { status: 'skipped', flagged: false, chiSquare, df, pValue, observed: [...observed], expected, reason: `fewer than ${minUnits} units in an arm` };
  }
  const flagged = pValue < threshold;
  return { status: flagged ? 'fail' : 'ok', flagged, chiSquare, df, pValue, observed: [...observed], expected, reason: undefined };
}

/**
 * Share of units seen in more than one variation (e.g. a conversation that crossed a sticky-store
 * outage). `warn` at ≥ `warnShare` (default 1%), `fail` at ≥ `failShare` (default 5%).
 * @example
 * checkMultipleExposure({ totalUnits: 10000, multiExposedUnits: 150 }); // { status: 'warn', share: 0.015, … }
 */
export function checkMultipleExposure(
  counts: { totalUnits: number; multiExposedUnits: number },
  options: { warnShare?: number; failShare?: number } = {},
): MultipleExposureResult {
  const warnShare = options.warnShare ?? 0.01;
  const failShare = options.failShare ?? 0.05;
  assertCount('totalUnits', counts.totalUnits);
  assertCount('multiExposedUnits', counts.multiExposedUnits);
  if (counts.multiExposedUnits > counts.totalUnits) throw new StatsError(`multiExposedUnits (${counts.multiExposedUnits}) cannot exceed totalUnits (${counts.totalUnits})`);
  if (!(warnShare <= failShare)) throw new StatsError(`warnShare (${warnShare}) must not exceed failShare (${failShare})`);
  const share = counts.totalUnits > 0 ? counts.multiExposedUnits / counts.totalUnits : 0;
  const status = counts.totalUnits === 0 ? 'skipped' : share >= failShare ? 'fail' : share >= warnShare ? 'warn' : 'ok';
  return { status, share, multiExposedUnits: counts.multiExposedUnits, totalUnits: counts.totalUnits, warnShare, failShare };
}

/**
 * Segment-mix imbalance: Pearson chi-square test of independence of segment × arm on a contingency
 * table `counts[segment][arm]`, df = (r − 1)(c − 1) over rows and columns with a non-zero total, no
 * continuity correction (scipy.stats.chi2_contingency(correction=False)). A pre-treatment segment
 * should be mixed alike in every arm; `status: 'warn'` at p < `threshold` (0.001).
 * @example
 * checkSegmentMix([[480, 520], [520, 480]]);
 */
export function checkSegmentMix(counts: readonly (readonly number[])[], options: { threshold?: number } = {}): SegmentMixResult {
  const threshold = options.threshold ?? 0.001;
  const arms = counts[0]?.length ?? 0;
  counts.forEach((row, r) => {
    if (row.length !== arms) throw new StatsError(`counts[${r}] has ${row.length} arms but counts[0] has ${arms}; every segment row needs one count per arm`);
    row.forEach((count, c) => assertCount(`counts[${r}][${c}]`, count));
  });
  const rowTotals = counts.map((row) => row.reduce((a, b) => a + b, 0));
  const colTotals = Array.from({ length: arms }, (_, c) => counts.reduce((acc, row) => acc + row[c]!, 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const expected = counts.map((_, r) => colTotals.map((col) => (total > 0 ? (rowTotals[r]! * col) / total : 0)));
  const rows = rowTotals.filter((t) => t > 0).length;
  const cols = colTotals.filter((t) => t > 0).length;
  const df = (rows - 1) * (cols - 1);
  if (df < 1) return { status: 'skipped', flagged: false, chiSquare: 0, df: Math.max(0, df), pValue: 1, expected };
  let chiSquare = 0;
  counts.forEach((row, r) =>
    row.forEach((count, c) => {
      const e = expected[r]![c]!;
      if (e > 0) chiSquare += ((count - e) * (count - e)) / e;
    }),
  );
  const pValue = chisquareSf(chiSquare, df);
  const flagged = pValue < threshold;
  return { status: flagged ? 'warn' : 'ok', flagged, chiSquare, df, pValue, expected };
}
