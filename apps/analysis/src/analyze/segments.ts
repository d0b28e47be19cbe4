/**
 * Segment readouts of the primary metric for pre-treatment attributes: per-segment comparisons,
 * the chi-square test of segment mix across arms, and the Simpson reversal flag.
 */
import type { MetricDefinition, SegmentResult } from '@abtel/core';
import type { ArmStatsInput, SegmentInput } from './inputs.js';
import { segmentMixTest, simpsonCheck } from './inference.js';
import { armValue, compareArms, finite, tooFewEvents } from './metrics.js';
import { formatDiff } from '../report/format.js';

/**
 * Readouts of one segment attribute, one entry per non-control variation.
 * @example
 * const results = evaluateSegment(resolved, localeInput, 'control', ['control', 'warm'], pooledDiffs, 30);
 */
export function evaluateSegment(
  metric: MetricDefinition,
  input: SegmentInput,
  control: string,
  arms: readonly string[],
  pooledDifference: ReadonlyMap<string, number | null>,
  minSegmentUnits: number,
): SegmentResult[] {
  const values = [...new Set([...input.mix.map((row) => row.value), ...input.stats.map((row) => row.segment ?? '')])].sort();
  const table = values.map((value) =>
    arms.map((variation) => input.mix.find((row) => row.value === value && row.variation === variation)?.units ?? 0),
  );
  // The mix test needs at least two segment values and two arms with units.
  const mix =
    values.length >= 2 && arms.length >= 2
      ? (() => {
          const test = segmentMixTest(table);
          return { statistic: finite(test.chiSquare), df: test.df, pValue: finite(test.pValue), flagged: test.flagged };
        })()
      : { statistic: null, df: 0, pValue: null, flagged: false };

  return arms
    .filter((variation) => variation !== control)
    .map((variation) => {
      const find = (value: string, arm: string): ArmStatsInput | undefined =>
        input.stats.find((row) => (row.segment ?? '') === value && row.variation === arm);
      const rows = values.map((value) => {
        const baseline = find(value, control);
        const variant = find(value, variation);
        // A binary segment too small for the z-test gets no interval and no p, as a metric with too few units.
        const tooSmall = metric.kind === 'binary' && baseline !== undefined && variant !== undefined && tooFewEvents(baseline, variant);
        const outcome = baseline && variant && !tooSmall ? compareArms(metric, baseline, variant) : undefined;
        const comparison = outcome === undefined || 'note' in outcome ? undefined : outcome;
        const b = armValue(metric, baseline);
        const v = armValue(metric, variant);
        return {
          value,
          baseline: { n: baseline?.n ?? 0, units: baseline?.units ?? 0, value: b },
          variant: { n: variant?.n ?? 0, units: variant?.units ?? 0, value: v },
          absoluteDiff: comparison ? finite(comparison.estimate) : b !== null && v !== null ? v - b : null,
          ci95: (comparison ? [finite(comparison.ci95[0]), finite(comparison.ci95[1])] : [null, null]) as [number | null, number | null],
          pValue: comparison ? finite(comparison.pValue) : null,
        };
      });
      const usable = rows.filter((row) => row.baseline.value !== null && row.variant.value !== null);
      let simpson: SegmentResult['simpson'] = { flagged: false, pooledDiff: pooledDifference.get(variation) ?? null };
      if (usable.length >= 2) {
        const check = simpsonCheck(
          usable.map((row) => ({
            segment: row.value,
            baseline: { n: row.baseline.n, value: row.baseline.value! },
            variant: { n: row.variant.n, value: row.variant.value! },
          })),
          minSegmentUnits,
        );
        simpson = { flagged: check.reversal, pooledDiff: finite(check.pooledDifference) };
        if (check.reversal) {
          simpson.note = `the pooled difference (${formatDiff(metric, check.pooledDifference)}) points the other way than every segment of ${input.segment} with at least ${minSegmentUnits} units per arm`;
        }
      }
      return { segment: input.segment, metric: metric.name, variation, baseline: control, mix, simpson, rows };
    });
}

