/**
 * One metric of one comparison: maps the data layer's per-arm sufficient statistics onto the
 * @abtel/stats test the statistics contract names for the metric's kind, and the result onto the
 * report's `MetricResult`.
 */
import type { MetricDefinition, MetricResult, MetricRole } from '@abtel/core';
import type { ArmStatsInput } from './inputs.js';
import {
  bayesBinary,
  compareBinary,
  compareCuped,
  compareMeans,
  compareQuantileArms,
  compareQuantiles,
  compareRatios,
  type Comparison,
  type QuantileComparison,
} from './inference.js';

/**
 * A number for JSON: finite, or null.
 * @example
 * finite(Number.NaN); // null
 */
export function finite(value: number | undefined | null): number | null {
  return value === undefined || value === null || !Number.isFinite(value) ? null : value;
}

/**
 * The point value of one arm for a metric kind, from its sufficient statistics.
 * @example
 * armValue({ kind: 'binary' }, { variation: 'control', units: 10, n: 10, sum: 4, sumSquares: 4 }); // 0.4
 */
export function armValue(metric: Pick<MetricDefinition, 'kind'>, arm: ArmStatsInput | undefined): number | null {
  if (!arm) return null;
  switch (metric.kind) {
    case 'ratio':
      return arm.denomSum ? finite(arm.sum / arm.denomSum) : null;
    case 'quantile':
      return finite(arm.quantile);
    default:
      return arm.n > 0 ? finite(arm.sum / arm.n) : null;
  }
}

/**
 * The test each metric kind uses (statistics contract in DESIGN.md).
 * @example
 * testName('mean'); // 'Welch t'
 */
export function testName(kind: MetricDefinition['kind']): string {
  switch (kind) {
    case 'binary':
      return 'two-proportion z (pooled), unpooled Wald interval';
    case 'ratio':
      return 'delta-method z over units';
    case 'quantile':
      return 'unit-clustered quantile difference, z';
    default:
      return 'Welch t';
  }
}

/**
 * Runs the contract's test for the metric kind, or says why it cannot (arms too small, data missing).
 * @example
 * const outcome = compareArms(resolved, controlArm, treatmentArm);
 * if (!('note' in outcome)) console.log(outcome.pValue);
 */
export function compareArms(metric: MetricDefinition, baseline: ArmStatsInput, variant: ArmStatsInput): Comparison | { note: string } {
  try {
    return runTest(metric, baseline, variant);
  } catch (error) {
    // Data the test cannot take (e.g. a "binary" outcome reported as 2) loses this one metric's
    // inference, never the whole report; the note says what was wrong.
    return { note: `not computed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function runTest(metric: MetricDefinition, baseline: ArmStatsInput, variant: ArmStatsInput): Comparison | { note: string } {
  switch (metric.kind) {
    case 'binary':
      if (baseline.n < 1 || variant.n < 1) return { note: 'an arm has no units' };
      if (baseline.n < 2 || variant.n < 2) return { note: 'an arm has fewer than 2 units' };
      return compareBinary({ n: baseline.n, successes: baseline.sum }, { n: variant.n, successes: variant.sum });
    case 'ratio': {
      if (baseline.n < 2 || variant.n < 2) return { note: 'an arm has fewer than 2 units with events' };
      if (baseline.denomSum === undefined || variant.denomSum === undefined) return { note: 'ratio statistics missing from the data' };
      return compareRatios(ratioArm(baseline), ratioArm(variant));
    }
    case 'quantile': {
      // The asymptotic interval from DuckDB's sufficient statistics when both arms have them; the
      // data layer reads event values only for arms the unit bootstrap must handle.
      const bootstrap = metric.interval === 'bootstrap';
      if (!bootstrap && baseline.quantileArm && variant.quantileArm) return compareQuantileArms(baseline.quantileArm, variant.quantileArm);
      if (!baseline.samples || !variant.samples) return { note: 'per-unit values were not collected; no interval' };
      if (baseline.samples.length < 2 || variant.samples.length < 2) return { note: 'an arm has fewer than 2 units with events' };
      return compareQuantiles(baseline.samples, variant.samples, metric.quantile ?? 0.5, bootstrap ? 'bootstrap' : 'auto');
    }
    default:
      if (baseline.n < 2 || variant.n < 2) return { note: 'an arm has fewer than 2 units with a value' };
      return compareMeans(
        { n: baseline.n, sum: baseline.sum, sumSquares: baseline.sumSquares },
        { n: variant.n, sum: variant.sum, sumSquares: variant.sumSquares },
      );
  }
}

function ratioArm(arm: ArmStatsInput) {
  return {
    n: arm.n,
    sumY: arm.sum,
    sumYSquares: arm.sumSquares,
    sumN: arm.denomSum ?? 0,
    sumNSquares: arm.denomSumSquares ?? 0,
    sumYN: arm.crossSum ?? 0,
  };
}

/**
 * True when a difference points in the metric's good direction; null when it is zero or unknown.
 * @example
 * isBetter('decrease', -12); // true
 */
export function isBetter(direction: 'increase' | 'decrease', difference: number | null): boolean | null {
  if (difference === null || difference === 0) return null;
  return direction === 'increase' ? difference > 0 : difference < 0;
}

/**
 * The report entry of one metric in one comparison, before multiple-testing adjustment
 * (`pAdjustedBH`/`pAdjustedHolm` are filled by the caller over the comparison's non-primary metrics).
 * @example
 * const result = metricResult(resolved, 'primary', controlArm, warmArm, 0.05);
 */
export function metricResult(
  metric: MetricDefinition,
  role: MetricRole,
  baseline: ArmStatsInput | undefined,
  variant: ArmStatsInput | undefined,
  alpha: number,
): { result: MetricResult; comparison?: Comparison } {
  const empty: ArmStatsInput = { variation: '', units: 0, n: 0, sum: 0, sumSquares: 0 };
  const base = baseline ?? empty;
  const variantArm = variant ?? empty;
  const outcome = compareArms(metric, base, variantArm);
  const comparison = 'note' in outcome ? undefined : outcome;
  const pointDiff = (() => {
    const b = armValue(metric, baseline);
    const v = armValue(metric, variant);
    return b === null || v === null ? null : v - b;
  })();
  const absoluteDiff = comparison ? finite(comparison.estimate) : pointDiff;
  const baselineValue = armValue(metric, baseline);
  const result: MetricResult = {
    name: metric.name,
    role,
    kind: metric.kind,
    direction: metric.direction,
    test: testName(metric.kind),
    baseline: { n: base.n, units: base.units, value: baselineValue },
    variant: { n: variantArm.n, units: variantArm.units, value: armValue(metric, variant) },
    absoluteDiff,
    ci95: comparison ? [finite(comparison.ci95[0]), finite(comparison.ci95[1])] : [null, null],
    relativeLift: comparison
      ? finite(comparison.relativeLift)
      : baselineValue && absoluteDiff !== null
        ? finite(absoluteDiff / baselineValue)
        : null,
    relativeCi95: comparison ? [finite(comparison.relativeCi95[0]), finite(comparison.relativeCi95[1])] : [null, null],
    pValue: comparison ? finite(comparison.pValue) : null,
    pAdjustedBH: null,
    pAdjustedHolm: null,
    significant: role === 'primary' && comparison !== undefined && comparison.pValue < alpha,
    better: isBetter(metric.direction, absoluteDiff),
  };
  if ('note' in outcome) result.note = outcome.note;
  const caveat = comparison ? relativeIntervalCaveat(comparison) : undefined;
  if (caveat) result.note = caveat;
  if (comparison && metric.kind === 'binary') {
    // A difference of rates lies in [-1, 1]; the Wald interval can reach past it in small arms.
    const [lo, hi] = result.ci95;
    const clipped = (lo !== null && lo < -1) || (hi !== null && hi > 1);
    if (clipped) result.ci95 = [lo === null ? null : Math.max(-1, lo), hi === null ? null : Math.min(1, hi)];
    const small = smallSampleNote(base, variantArm, clipped);
    if (small) {
      result.note = result.note === undefined ? small : `${small}; ${result.note}`;
      // The z-test's normal approximation does not hold: its p-value is no evidence to act on.
      result.significant = false;
    }
  }
  if (comparison && isQuantileComparison(comparison)) {
    result.interval = comparison.method;
    result.test = quantileTestName(comparison.method);
  }

  if (metric.covariate && comparison && metric.kind !== 'binary' && metric.kind !== 'ratio' && metric.kind !== 'quantile') {
    const covariate = metric.covariate.outcome ?? metric.covariate.attribute ?? 'covariate';
    const cuped = hasCovariate(base) && hasCovariate(variantArm) ? attempt(() => compareCuped(covariateArm(base), covariateArm(variantArm))) : undefined;
    if (cuped) {
      result.cuped = {
        covariate,
        theta: finite(cuped.theta),
        varianceReduction: finite(cuped.varianceReduction),
        absoluteDiff: finite(cuped.estimate),
        ci95: [finite(cuped.ci95[0]), finite(cuped.ci95[1])],
        pValue: finite(cuped.pValue),
      };
    }
  }
  const bayes = metric.kind === 'binary' && comparison ? attempt(() => bayesBinary({ n: base.n, successes: base.sum }, { n: variantArm.n, successes: variantArm.sum })) : undefined;
  if (bayes) {
    // The stats function speaks of "variant higher"; for a metric where lower is better the
    // chance to beat is the complement and the two losses swap roles.
    const increase = metric.direction === 'increase';
    result.bayes = {
      chanceToBeat: finite(increase ? bayes.chanceToBeat : 1 - bayes.chanceToBeat),
      expectedLoss: finite(increase ? bayes.expectedLossVariant : bayes.expectedLossBaseline),
      expectedLossControl: finite(increase ? bayes.expectedLossBaseline : bayes.expectedLossVariant),
    };
  }
  return comparison ? { result, comparison } : { result };
}

/** Successes and failures each arm needs before the binary z-test and Wald interval are read. */
export const MIN_BINARY_EVENTS = 5;

/** The start of the note of a binary metric too small for its z-test: such a result is never significant. */
export const SMALL_SAMPLE_NOTE = 'too few events for the z-test';

/** The note of a metric read from the calls when no exposed unit has a call. */
export const NOT_MEASURED_NOTE = 'not measured: none of the exposed units has a gen_ai call in the data read';

/** True for a result whose metric was never measured (see NOT_MEASURED_NOTE and valuesRead): its numbers are cleared. */
export function isNotMeasured(result: Pick<MetricResult, 'note'>): boolean {
  return result.note?.startsWith('not measured:') === true;
}

/** True for a binary result too small for its z-test (see smallSampleNote): never significant, not adjusted with the others. */
export function isTooSmallForTest(result: Pick<MetricResult, 'note'>): boolean {
  return result.note?.startsWith(SMALL_SAMPLE_NOTE) === true;
}

/** The smallest count of successes or failures in either arm of a binary comparison. */
function fewestEvents(baseline: Pick<ArmStatsInput, 'n' | 'sum'>, variant: Pick<ArmStatsInput, 'n' | 'sum'>): number {
  return Math.min(baseline.sum, baseline.n - baseline.sum, variant.sum, variant.n - variant.sum);
}

/** True when a binary comparison has fewer than MIN_BINARY_EVENTS successes or failures in an arm (see smallSampleNote). */
export function tooFewEvents(baseline: Pick<ArmStatsInput, 'n' | 'sum'>, variant: Pick<ArmStatsInput, 'n' | 'sum'>): boolean {
  return fewestEvents(baseline, variant) < MIN_BINARY_EVENTS;
}

/**
 * Why a binary comparison is too small for the contract's z-test and Wald interval, or undefined:
 * their normal approximation needs about 5 successes and 5 failures in each arm (the textbook
 * np ≥ 5, n(1 − p) ≥ 5 rule; below it the interval can be of zero width or reach past ±100 pp,
 * and 0 of 2 against 2 of 2 gives p = 0.046).
 * @example
 * smallSampleNote({ n: 2, sum: 0 }, { n: 2, sum: 2 }, false); // 'too few events for the z-test: …'
 */
export function smallSampleNote(baseline: Pick<ArmStatsInput, 'n' | 'sum'>, variant: Pick<ArmStatsInput, 'n' | 'sum'>, clipped: boolean): string | undefined {
  const fewest = fewestEvents(baseline, variant);
  if (fewest >= MIN_BINARY_EVENTS) return undefined;
  return (
    `${SMALL_SAMPLE_NOTE}: an arm has ${fewest} ${fewest === 1 ? 'unit' : 'units'} on one side of the outcome, and the test's normal approximation needs at least ` +
    `${MIN_BINARY_EVENTS} successes and ${MIN_BINARY_EVENTS} failures per arm; the interval is approximate${clipped ? ' (clipped to ±100 pp)' : ''} and the result is not read as significant`
  );
}

/**
 * Fieller's g above which the delta-method relative interval is flagged: the baseline's own 95%
 * half-width is then more than √0.1 ≈ 32% of its value, and the symmetric delta-method interval
 * departs visibly from Fieller's exact, asymmetric one (Fieller 1954; Hirschberg & Lye 2010,
 * "A geometric comparison of the delta and Fieller confidence intervals", Am. Stat. 64).
 */
export const RELATIVE_INTERVAL_MAX_G = 0.1;

/**
 * Why the relative-lift interval should not be read, or undefined. The interval is the contract's
 * delta method, computed correctly; with a small or noisy baseline it is still a poor
 * approximation, and can cross 0 while the absolute interval and the test clearly do not.
 * @example
 * relativeIntervalCaveat(compareBinary({ n: 20, successes: 6 }, { n: 20, successes: 18 }));
 * // 'relative interval unreliable: the baseline's 95% interval is ±67% of its value …'
 */
export function relativeIntervalCaveat(comparison: Comparison): string | undefined {
  const [lo, hi] = comparison.relativeCi95;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return undefined;
  const read = 'read the absolute difference, its interval and p';
  const g = comparison.relativeFiellerG;
  if (g !== undefined && Number.isFinite(g) && g > RELATIVE_INTERVAL_MAX_G) {
    return `relative interval unreliable: the baseline's 95% interval is ±${Number((Math.sqrt(g) * 100).toPrecision(2))}% of its value, too wide for the delta method; ${read}`;
  }
  const [absLo, absHi] = comparison.ci95;
  const excludesZero = (a: number, b: number): boolean => a > 0 || b < 0;
  if (excludesZero(absLo, absHi) !== excludesZero(lo, hi)) {
    return `relative interval unreliable: it and the absolute interval disagree about 0 (delta-method approximation); ${read}`;
  }
  return undefined;
}

function isQuantileComparison(comparison: Comparison): comparison is QuantileComparison {
  return comparison.kind === 'quantile' && 'method' in comparison;
}

/** The quantile test's text with the method of its interval, e.g. '…, z: unit bootstrap interval'. */
function quantileTestName(method: QuantileComparison['method']): string {
  return `${testName('quantile')}: ${method === 'asymptotic' ? 'asymptotic interval (Deng, Knoblich & Lu 2018)' : 'unit bootstrap interval'}`;
}

/** The value, or undefined when the computation rejects its input (the main test already noted why). */
function attempt<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}

function hasCovariate(arm: ArmStatsInput): boolean {
  return arm.covariateSum !== undefined && arm.covariateSumSquares !== undefined && arm.covariateCrossSum !== undefined;
}

function covariateArm(arm: ArmStatsInput) {
  return {
    n: arm.n,
    sum: arm.sum,
    sumSquares: arm.sumSquares,
    sumX: arm.covariateSum ?? 0,
    sumXSquares: arm.covariateSumSquares ?? 0,
    sumXY: arm.covariateCrossSum ?? 0,
  };
}
