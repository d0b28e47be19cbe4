import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  compareQuantileArms,
  quantileAsymptoticIssue,
  quantileOuterLevels,
  QUANTILE_ASYMPTOTIC_MIN_EVENTS,
  QUANTILE_ASYMPTOTIC_MIN_UNITS,
} from './quantile-asymptotic.js';
import { compareQuantiles, quantile, quantileArmFromUnits } from './quantile.js';
import { ratioVariance } from './ratio.js';
import { seededRandom } from './internal/random.js';
import { normalQuantile } from './internal/distributions.js';
import { expectClose } from '../test/helpers.js';
import type { QuantileArm, UnitValues } from './types.js';

/** Written by test/reference/quantile_asymptotic.py (numpy/scipy, independent of this code). */
const reference: { cases: any[] } = JSON.parse(readFileSync(new URL('../test/reference/quantile-asymptotic.json', import.meta.url), 'utf8'));

describe('the delta-method variance of p̂ = ΣI/ΣN over units', () => {
  test("GrowthBook's published vector: cluster variance 0.5625", () => {
    // gbstats' QuantileClusteredStatistic unit test: main sums 10, 52; denominator sums 4, 10;
    // cross sum 22; 2 clusters → cluster variance of the proportion 0.5625.
    const { variance } = ratioVariance({ n: 2, sumY: 10, sumYSquares: 52, sumN: 4, sumNSquares: 10, sumYN: 22 });
    expect(variance).toBeCloseTo(0.5625, 12);
    const levels = quantileOuterLevels({ q: 0.9, n: 2, events: 4, sumI: 10, sumISquares: 52, sumNSquares: 10, sumIN: 22 });
    expect(levels.standardError).toBeCloseTo(0.75, 12);
    expect(levels.clamped).toBe(true);
  });

  test("GrowthBook's published QuantileStatistic vector: the outer width gives variance 10.0864 per event", () => {
    // gbstats: n = 11,054 events, ν = 0.9, outer values 7.098780136176828 and 7.217194843758751;
    // its per-observation variance (n − 1)·((upper − lower)/(2z))² is 10.0864 (to 2 decimals).
    const n = 11_054;
    const sumI = Math.round(0.9 * n);
    const arm = { q: 0.9, n, events: n, value: 7.157987489967789, sumI, sumISquares: sumI, sumNSquares: n, sumIN: sumI, lower: 7.098780136176828, upper: 7.217194843758751 };
    const armStandardError = compareQuantileArms(arm, arm).standardError / Math.SQRT2;
    expect((n - 1) * armStandardError ** 2).toBeCloseTo(10.0864, 2);
  });

  test('one event per unit: σ_p² is the binomial p̂(1 − p̂)/n, up to the ddof = 1 factor n/(n − 1)', () => {
    // With N_i = 1 the ratio variance reduces to the sample variance of the 0/1 indicators over n.
    const n = 1000;
    const sumI = 950;
    const levels = quantileOuterLevels({ q: 0.95, n, events: n, sumI, sumISquares: sumI, sumNSquares: n, sumIN: sumI });
    expectClose(levels.standardError ** 2, ((0.95 * 0.05) / n) * (n / (n - 1)), 1e-12);
    expectClose(levels.upper - 0.95, normalQuantile(0.975) * levels.standardError, 1e-12);
  });
});

describe.each(reference.cases)('asymptotic quantile interval: $name (numpy/scipy reference)', (ref) => {
  const fields = ['n', 'events', 'sumI', 'sumISquares', 'sumNSquares', 'sumIN'] as const;
  test('sufficient statistics and outer levels from per-unit values', () => {
    for (const [units, expected] of [
      [ref.baseline, ref.baselineArm],
      [ref.variant, ref.variantArm],
    ] as const) {
      const arm = quantileArmFromUnits(units, ref.q);
      for (const key of fields) expect(arm[key]).toBe(expected[key]);
      expectClose(arm.value, expected.value, 1e-12);
      const levels = quantileOuterLevels(arm);
      expectClose(levels.proportion, expected.proportion, 1e-12);
      expectClose(levels.standardError, expected.sigmaP, 1e-9);
      expectClose(levels.lower, expected.lowerLevel, 1e-9);
      expectClose(levels.upper, expected.upperLevel, 1e-9);
      expectClose(arm.lower, expected.lower, 1e-9);
      expectClose(arm.upper, expected.upper, 1e-9);
    }
  });

  test('comparison: estimate, interval, p-value and relative interval', () => {
    const result = compareQuantiles(ref.baseline, ref.variant, { q: ref.q });
    expect(result.method).toBe('asymptotic');
    expectClose(result.estimate, ref.estimate, 1e-9, 1e-9);
    expectClose(result.standardError, ref.standardError, 1e-9);
    expectClose(result.ci95[0], ref.ci95[0], 1e-9, 1e-9);
    expectClose(result.ci95[1], ref.ci95[1], 1e-9, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-7);
    expectClose(result.relativeLift, ref.relativeLift, 1e-9, 1e-9);
    expectClose(result.relativeCi95[0], ref.relativeCi95[0], 1e-9, 1e-9);
    expectClose(result.relativeCi95[1], ref.relativeCi95[1], 1e-9, 1e-9);
  });

  test('agrees with a numpy cluster bootstrap (3,000 resamples) to 12%', () => {
    expectClose(compareQuantiles(ref.baseline, ref.variant, { q: ref.q }).standardError, ref.bootstrapStandardError, 0.12);
  });
});

/** Standard normal draws (Box–Muller) from the seeded uniform generator. */
function normals(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * An arm of units with 1–8 events each; log value = μ + unit effect + event noise, so the events
 * of a unit are correlated, and (event counts independent of the effects) every event's log value
 * is N(μ, unitSd² + eventSd²): the true quantile is exp(μ + z_q·√(unitSd² + eventSd²)).
 */
function simulateArm(units: number, mu: number, unitSd: number, eventSd: number, random: () => number, normal: () => number): number[][] {
  return Array.from({ length: units }, () => {
    const effect = unitSd * normal();
    return Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.exp(mu + effect + eventSd * normal()));
  });
}

describe('coverage of the true quantile difference (simulated experiments, seeded)', () => {
  test('≈ 95% of intervals cover it; an interval that ignores clustering covers far less', () => {
    const random = seededRandom(6);
    const normal = normals(random);
    const [unitSd, eventSd, shift, q] = [0.7, 0.4, 0.1, 0.95];
    const truth = (mu: number): number => Math.exp(mu + normalQuantile(q) * Math.hypot(unitSd, eventSd));
    const trueDifference = truth(6 + shift) - truth(6);
    const experiments = 300;
    let covered = 0;
    let coveredIid = 0;
    for (let run = 0; run < experiments; run++) {
      const baseline = simulateArm(300, 6, unitSd, eventSd, random, normal);
      const variant = simulateArm(300, 6 + shift, unitSd, eventSd, random, normal);
      const result = compareQuantiles(baseline, variant, { q });
      expect(result.method).toBe('asymptotic');
      if (result.ci95[0] <= trueDifference && trueDifference <= result.ci95[1]) covered += 1;
      // The same interval treating every event as its own unit (the mistake the method avoids).
      const iid = compareQuantiles(baseline.flat().map((v) => [v]), variant.flat().map((v) => [v]), { q });
      if (iid.ci95[0] <= trueDifference && trueDifference <= iid.ci95[1]) coveredIid += 1;
    }
    // Binomial sd of the coverage over 300 runs ≈ 1.3 points.
    expect(covered / experiments).toBeGreaterThan(0.92);
    expect(covered / experiments).toBeLessThan(0.98);
    expect(coveredIid / experiments).toBeLessThan(0.85);
  }, 20_000);
});

describe('when the asymptotic interval applies, and the bootstrap fallback', () => {
  const random = seededRandom(12);
  const normal = normals(random);
  const big = simulateArm(200, 5, 0.5, 0.5, random, normal);
  const fewUnits = simulateArm(QUANTILE_ASYMPTOTIC_MIN_UNITS - 1, 5, 0.5, 0.5, random, normal).map((unit) => [...unit, ...unit, ...unit, ...unit, ...unit]);
  const fewEvents = Array.from({ length: 60 }, (_, i) => [100 + i, 200 + ((i * 7) % 60)]);

  test(`documented minimum: ${QUANTILE_ASYMPTOTIC_MIN_UNITS} units and ${QUANTILE_ASYMPTOTIC_MIN_EVENTS} events per arm`, () => {
    expect(QUANTILE_ASYMPTOTIC_MIN_UNITS).toBe(50);
    expect(QUANTILE_ASYMPTOTIC_MIN_EVENTS).toBe(200);
    expect(quantileAsymptoticIssue(quantileArmFromUnits(big, 0.95))).toBeUndefined();
    expect(quantileAsymptoticIssue(quantileArmFromUnits(fewUnits, 0.95))).toMatch(/fewer than 50 units with events \(49\)/);
    expect(fewEvents.flat().length).toBeLessThan(200);
    expect(quantileAsymptoticIssue(quantileArmFromUnits(fewEvents, 0.5))).toMatch(/fewer than 200 events \(120\)/);
  });

  test('p99 of 300 events: the outer level would pass 1, so the interval does not apply', () => {
    const units = simulateArm(100, 5, 0.3, 0.5, random, normal).map((unit) => unit.slice(0, 3));
    const arm = quantileArmFromUnits(units, 0.99);
    expect(arm.events).toBeGreaterThanOrEqual(200);
    expect(quantileOuterLevels(arm).clamped).toBe(true);
    expect(quantileAsymptoticIssue(arm)).toMatch(/too few events beyond the 0.99 quantile/);
  });

  test('auto: below the minimum in either arm, the bootstrap (identical to method: bootstrap)', () => {
    for (const small of [fewUnits, fewEvents]) {
      const auto = compareQuantiles(big, small, { q: 0.5, seed: 4 });
      expect(auto.method).toBe('bootstrap');
      expect(auto).toStrictEqual(compareQuantiles(big, small, { q: 0.5, seed: 4, method: 'bootstrap' }));
    }
    expect(compareQuantiles(big, big, { q: 0.5 }).method).toBe('asymptotic');
    // The minimum and maximum have no outer interval.
    expect(compareQuantiles(big, big, { q: 1 }).method).toBe('bootstrap');
    expect(compareQuantiles(big, big, { q: 0 }).method).toBe('bootstrap');
  });

  test('compareQuantileArms refuses arms below the minimum with a message naming the fallback', () => {
    const small = quantileArmFromUnits(fewUnits, 0.95);
    const large = quantileArmFromUnits(big, 0.95);
    expect(() => compareQuantileArms(large, small)).toThrow(/variant: the asymptotic quantile interval needs more data: fewer than 50 units.*method: 'bootstrap'/);
    expect(compareQuantileArms(large, small, { minUnits: 2 }).method).toBe('asymptotic');
    expect(() => compareQuantileArms(large, quantileArmFromUnits(big, 0.5))).toThrow(/quantile levels differ/);
    expect(() => compareQuantileArms(large, { ...large, upper: Number.NaN })).toThrow(/variant\.upper/);
  });

  test('method: asymptotic is forced even for small arms when minimums allow, and bad methods are rejected', () => {
    expect(() => compareQuantiles(big, fewUnits, { q: 0.95, method: 'asymptotic' })).toThrow(/needs more data/);
    expect(() => compareQuantiles(big, big, { q: 0.95, method: 'fast' as never })).toThrow(/method must be/);
  });
});

describe('quantileArmFromUnits', () => {
  test('units without events are not counted; I counts events at or below the estimate, ties included', () => {
    const units: UnitValues = [[1, 2, 2], [], [2, 3], [5]];
    const arm: QuantileArm = quantileArmFromUnits(units, 0.5);
    expect(arm.value).toBe(quantile([1, 2, 2, 2, 3, 5], 0.5));
    expect(arm.value).toBe(2);
    expect(arm).toMatchObject({ n: 3, events: 6, sumI: 4, sumISquares: 9 + 1 + 0, sumNSquares: 9 + 4 + 1, sumIN: 9 + 2 + 0 });
  });
});
