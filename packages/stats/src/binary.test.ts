import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareBinary } from './binary.js';
import { isStatsError } from './errors.js';
import { expectClose, reference } from '../test/helpers.js';

describe('compareBinary', () => {
  // Independent values: numpy formulas, and the pooled z-test p-value from scipy's 2×2 Pearson
  // chi-square without continuity correction (z² = χ², Agresti 2013 §3.1.4).
  test.each(reference.binary as any[])('matches scipy for $baseline.successes/$baseline.n vs $variant.successes/$variant.n', (ref) => {
    const result = compareBinary(ref.baseline, ref.variant);
    expectClose(result.estimate, ref.estimate, 1e-9);
    expectClose(result.standardError, ref.standardError, 1e-9);
    expectClose(result.ci95[0], ref.ci95[0], 1e-9);
    expectClose(result.ci95[1], ref.ci95[1], 1e-9);
    expectClose(result.statistic, ref.statistic, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
    expectClose(result.relativeLift, ref.relativeLift, 1e-9);
    expectClose(result.relativeCi95[0], ref.relativeCi95[0], 1e-9);
    expectClose(result.relativeCi95[1], ref.relativeCi95[1], 1e-9);
  });

  test('uses the pooled variance for the test but the unpooled one for the interval', () => {
    // Unequal n makes the two variances differ: 30/100 vs 300/600.
    const result = compareBinary({ n: 100, successes: 30 }, { n: 600, successes: 300 });
    const pooled = 330 / 700;
    expect(result.statistic).toBeCloseTo(0.2 / Math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 600)), 12);
    expect(result.standardError).toBeCloseTo(Math.sqrt((0.3 * 0.7) / 100 + (0.5 * 0.5) / 600), 12);
  });

  test('no difference at all gives p = 1 even with all-zero outcomes', () => {
    expect(compareBinary({ n: 50, successes: 0 }, { n: 60, successes: 0 }).pValue).toBe(1);
  });

  test('rejects impossible counts with a clear message', () => {
    expect(() => compareBinary({ n: 10, successes: 11 }, { n: 10, successes: 3 })).toThrow(/baseline.successes \(11\) cannot exceed baseline.n \(10\)/);
    try {
      compareBinary({ n: -1, successes: 0 }, { n: 10, successes: 3 });
    } catch (error) {
      expect(isStatsError(error)).toBe(true);
    }
  });

  const arm = fc.integer({ min: 1, max: 100_000 }).chain((n) => fc.record({ n: fc.constant(n), successes: fc.integer({ min: 0, max: n }) }));
  test('properties: p in [0, 1], intervals contain the estimate, swapping arms negates the difference', () => {
    fc.assert(
      fc.property(arm, arm, (a, b) => {
        const ab = compareBinary(a, b);
        const ba = compareBinary(b, a);
        expect(ab.pValue).toBeGreaterThanOrEqual(0);
        expect(ab.pValue).toBeLessThanOrEqual(1);
        expect(ab.ci95[0]).toBeLessThanOrEqual(ab.estimate);
        expect(ab.ci95[1]).toBeGreaterThanOrEqual(ab.estimate);
        if (Number.isFinite(ab.relativeLift)) {
          expect(ab.relativeCi95[0]).toBeLessThanOrEqual(ab.relativeLift);
          expect(ab.relativeCi95[1]).toBeGreaterThanOrEqual(ab.relativeLift);
        }
        expect(ba.estimate).toBeCloseTo(-ab.estimate, 12);
        expect(ba.pValue).toBeCloseTo(ab.pValue, 12);
        expect(ba.standardError).toBeCloseTo(ab.standardError, 12);
      }),
    );
  });
});

describe('compareBinary: Fieller g of the relative interval', () => {
  test('is z²·var_c/c², from the baseline alone', () => {
    const z = 1.959963984540054;
    const result = compareBinary({ n: 20, successes: 6 }, { n: 20, successes: 18 });
    expect(result.relativeFiellerG!).toBeCloseTo((z * z * (0.3 * 0.7)) / 20 / 0.09, 12);
    expect(compareBinary({ n: 20, successes: 0 }, { n: 20, successes: 3 }).relativeFiellerG).toBeNaN();
  });
});
