import { describe, expect, test } from 'vitest';
import type { MetricDefinition } from '@abtel/core';
import { metricResult } from './metrics.js';
import type { ArmStatsInput } from './inputs.js';
import { typeSeven } from '../../test/quantile-reference.js';

const p95: MetricDefinition = { name: 'latency_p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease' };

/**
 * 1,000 units of 5 events each; 750 units have all 5 events at or below the estimate, 250 have 4
 * (Σ I = 4,750, Σ I² = 22,750, Σ N² = 25,000, Σ I·N = 23,750): the outer levels stay well inside
 * (0, 1). The outer values are chosen by hand.
 */
function arm(variation: string, value: number, lower: number, upper: number): ArmStatsInput {
  return {
    variation,
    units: 1000,
    n: 1000,
    sum: 0,
    sumSquares: 0,
    quantile: value,
    quantileArm: { q: 0.95, n: 1000, events: 5000, value, sumI: 4750, sumISquares: 22_750, sumNSquares: 25_000, sumIN: 23_750, lower, upper },
  };
}

// Shared by the tests below: a binary metric, an arm of it, and z = scipy.stats.norm.ppf(0.975).
const resolved: MetricDefinition = { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' };
const binary = (variation: string, n: number, successes: number): ArmStatsInput => ({ variation, units: n, n, sum: successes, sumSquares: successes });
const z = 1.959963984540054;

describe('quantile metrics in the report: the asymptotic interval from sufficient statistics', () => {
  test('numbers equal the formula computed by hand (scipy for the p-value), and the method is named', () => {
    const { result } = metricResult(p95, 'secondary', arm('control', 800, 780, 830), arm('treatment', 760, 745, 790), 0.05);
    // SE of each arm = outer width / (2·z); z = scipy.stats.norm.ppf(0.975).
    const se = Math.hypot(50 / (2 * z), 45 / (2 * z));
    expect(se).toBeCloseTo(17.160550083055327, 10);
    expect(result.absoluteDiff).toBe(-40);
    expect(result.ci95[0]).toBeCloseTo(-40 - z * se, 9);
    expect(result.ci95[1]).toBeCloseTo(-40 + z * se, 9);
    expect(result.pValue).toBeCloseTo(0.019757177098021824, 9); // 2·scipy.stats.norm.sf(40 / se)
    expect(result.relativeCi95[0]).toBeCloseTo(-0.090894538525945, 9);
    expect(result.relativeCi95[1]).toBeCloseTo(-0.009105461474054999, 9);
    expect(result.interval).toBe('asymptotic');
    expect(result.test).toMatch(/asymptotic interval \(Deng, Knoblich & Lu 2018\)/);
    expect(result.better).toBe(true);
  });

  test('arms with event values only (below the minimum): the unit bootstrap, named as such', () => {
    const small = (variation: string, shift: number): ArmStatsInput => {
      const samples = Array.from({ length: 30 }, (_, i) => [100 + i + shift, 140 + ((i * 7) % 30) + shift]);
      const quantile = typeSeven(samples.flat().sort((a, b) => a - b), 0.95);
      return { variation, units: 30, n: 30, sum: 0, sumSquares: 0, samples, quantile };
    };
    const control = small('control', 0);
    const treatment = small('treatment', 5);
    const { result } = metricResult(p95, 'secondary', control, treatment, 0.05);
    expect(result.interval).toBe('bootstrap');
    expect(result.test).toMatch(/unit bootstrap/);
    expect(result.absoluteDiff).toBeCloseTo(treatment.quantile! - control.quantile!, 9);
    expect(result.ci95[0]).toBeLessThan(result.absoluteDiff!);
    expect(result.ci95[1]).toBeGreaterThan(result.absoluteDiff!);
  });

  test('interval: bootstrap is honoured even when the asymptotic statistics are there', () => {
    const withSamples = (base: ArmStatsInput, offset: number): ArmStatsInput => ({
      ...base,
      samples: Array.from({ length: 200 }, (_, i) => [500 + ((i * 37) % 400) + offset, 600 + ((i * 11) % 300) + offset]),
    });
    const metric: MetricDefinition = { ...p95, interval: 'bootstrap' };
    const { result } = metricResult(metric, 'secondary', withSamples(arm('control', 800, 780, 830), 0), withSamples(arm('treatment', 760, 745, 790), 10), 0.05);
    expect(result.interval).toBe('bootstrap');
    const auto = metricResult(p95, 'secondary', withSamples(arm('control', 800, 780, 830), 0), withSamples(arm('treatment', 760, 745, 790), 10), 0.05);
    expect(auto.result.interval).toBe('asymptotic');
  });

  test('no statistics and no values: no interval, and a note says why', () => {
    const bare: ArmStatsInput = { variation: 'control', units: 10, n: 10, sum: 0, sumSquares: 0, quantile: 5 };
    const { result } = metricResult(p95, 'secondary', bare, { ...bare, variation: 'treatment', quantile: 6 }, 0.05);
    expect(result.interval).toBeUndefined();
    expect(result.ci95).toEqual([null, null]);
    expect(result.note).toMatch(/per-unit values were not collected/);
  });
});

describe('relative lift over a small baseline: the delta-method interval is correct but unreliable, and says so', () => {
  test('6/20 vs 18/20: the interval equals the delta method by hand; Fieller excludes 0 where it does not; a note says so', () => {
    const { result } = metricResult(resolved, 'primary', binary('control', 20, 6), binary('warm', 20, 18), 0.05);
    const [c, t] = [0.3, 0.9];
    const [varC, varT] = [(c * (1 - c)) / 20, (t * (1 - t)) / 20];
    // Delta method (statistics contract): var_rel = var_t/c² + t²·var_c/c⁴ = 0.05 + 1.05 = 1.1.
    const half = z * Math.sqrt(varT / c ** 2 + (t ** 2 * varC) / c ** 4);
    expect(result.relativeLift!).toBeCloseTo(2, 12);
    expect(result.relativeCi95[0]!).toBeCloseTo(2 - half, 12);
    expect(result.relativeCi95[1]!).toBeCloseTo(2 + half, 12);
    expect(result.relativeCi95[0]!).toBeCloseTo(-0.0556, 4);
    expect(result.relativeCi95[1]!).toBeCloseTo(4.0556, 4);
    // The absolute interval (+36 pp to +84 pp) and the pooled test (p ≈ 0.0001) exclude 0.
    expect(result.ci95[0]!).toBeCloseTo(0.36, 2);
    expect(result.ci95[1]!).toBeCloseTo(0.84, 2);
    expect(result.pValue!).toBeLessThan(0.001);
    // Fieller: ρ = t/c solves (t − ρc)² = z²(var_t + ρ²var_c): a ρ² − b ρ + k = 0.
    const a = c ** 2 - z ** 2 * varC;
    const b = 2 * t * c;
    const k = t ** 2 - z ** 2 * varT;
    const root = Math.sqrt(b ** 2 - 4 * a * k);
    const fieller = [(b - root) / (2 * a) - 1, (b + root) / (2 * a) - 1];
    expect(fieller[0]!).toBeCloseTo(0.75, 2);
    expect(fieller[1]!).toBeCloseTo(8.12, 2);
    // g = z²·var_c/c² = 0.448: the baseline's 95% interval is ±67% of its value.
    // 18 of 20: two failures, too few for the z-test's normal approximation as well.
    expect(result.note).toBe(
      "too few events for the z-test: an arm has 2 units on one side of the outcome, and the test's normal approximation needs at least 5 successes and 5 failures per arm; the interval is approximate and the result is not read as significant; " +
        "relative interval unreliable: the baseline's 95% interval is ±67% of its value, too wide for the delta method; read the absolute difference, its interval and p",
    );
  });

  test('a large baseline sample: delta method and Fieller agree, no note', () => {
    const { result } = metricResult(resolved, 'primary', binary('control', 2000, 600), binary('warm', 2000, 690), 0.05);
    expect(result.note).toBeUndefined();
    expect(result.relativeCi95[0]!).toBeGreaterThan(0);
  });
});

describe('binary metrics in arms too small for the z-test: refused, clipped or noted, never significant', () => {
  test('an arm of one unit: no test, as for the other metric kinds', () => {
    const { result } = metricResult(resolved, 'primary', binary('control', 2, 1), binary('warm', 1, 1), 0.05);
    expect(result.note).toBe('an arm has fewer than 2 units');
    expect(result.ci95).toEqual([null, null]);
    expect(result.pValue).toBeNull();
    expect(result.significant).toBe(false);
  });

  test('1/2 vs 2/2: the Wald interval (0.5 ± 1.96·√(0.25/2) = -0.193 to 1.193) is clipped to +100 pp', () => {
    const { result } = metricResult(resolved, 'primary', binary('control', 2, 1), binary('warm', 2, 2), 0.05);
    const half = z * Math.sqrt(0.25 / 2);
    expect(0.5 + half).toBeGreaterThan(1);
    expect(result.ci95[0]).toBeCloseTo(0.5 - half, 12);
    expect(result.ci95[1]).toBe(1);
    expect(result.significant).toBe(false);
    expect(result.note).toMatch(/^too few events for the z-test: an arm has 0 units on one side of the outcome, .* the interval is approximate \(clipped to ±100 pp\) and the result is not read as significant(; |$)/);
  });

  test('0/2 vs 2/2 is not significant, although the pooled z-test gives p = 0.046 (z = 1 / √(0.5·0.5·(1/2 + 1/2)) = 2)', () => {
    const { result } = metricResult(resolved, 'primary', binary('control', 2, 0), binary('warm', 2, 2), 0.05);
    expect(result.pValue).toBeCloseTo(0.0455, 4);
    expect(result.ci95).toEqual([1, 1]);
    expect(result.significant).toBe(false);
    expect(result.note).toMatch(/^too few events for the z-test/);
  });

  test('5 successes and 5 failures in each arm: read as usual, no note', () => {
    const { result } = metricResult(resolved, 'primary', binary('control', 100, 5), binary('warm', 100, 95), 0.05);
    // (The relative interval over a 5 % baseline keeps its own caveat.)
    expect(result.note ?? '').not.toMatch(/too few events/);
    expect(result.significant).toBe(true);
    // One success fewer in the control: noted.
    expect(metricResult(resolved, 'primary', binary('control', 100, 4), binary('warm', 100, 95), 0.05).result.note).toMatch(/an arm has 4 units on one side/);
  });
});
