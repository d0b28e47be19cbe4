import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { capValues, compareMeans, meanArmFromValues, percentileCap } from './means.js';
import { expectClose, reference } from '../test/helpers.js';

describe('compareMeans (Welch)', () => {
  // Independent values: scipy.stats.ttest_ind(equal_var=False) on the raw values, including its
  // Welch–Satterthwaite df and confidence_interval().
  test.each(reference.welch as any[])('matches scipy ttest_ind(equal_var=False) #%#', (ref) => {
    const result = compareMeans(ref.baseline, ref.variant);
    expectClose(result.estimate, ref.estimate, 1e-9);
    expectClose(result.statistic, ref.statistic, 1e-9);
    expectClose(result.df!, ref.df, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
    expectClose(result.ci95[0], ref.ci95[0], 1e-9);
    expectClose(result.ci95[1], ref.ci95[1], 1e-9);
    expectClose(result.relativeLift, ref.relativeLift, 1e-9);
    expectClose(result.relativeCi95[0], ref.relativeCi95[0], 1e-9);
    expectClose(result.relativeCi95[1], ref.relativeCi95[1], 1e-9);
  });

  test('rejects arms with fewer than two units', () => {
    expect(() => compareMeans({ n: 1, sum: 3, sumSquares: 9 }, { n: 5, sum: 10, sumSquares: 30 })).toThrow(/baseline.n must be at least 2/);
  });

  test('tiny and huge variances: the same degrees of freedom, p-value and interval (scaled) as the same data at ordinary scale', () => {
    // Welch's t and degrees of freedom do not change when every value is multiplied by one
    // factor; the interval scales with it. Found by the property below: variances near 1e-162
    // squared to 0 and the degrees of freedom came out as 0/0.
    const ordinary = compareMeans(meanArmFromValues([0, 0, 5.014742720742717, 0]), meanArmFromValues([0, 0]));
    expect(ordinary.df).toBeCloseTo(3, 9); // the second arm has no variance: df = n - 1 of the first
    for (const scale of [1e-81, 1e-150, 1e150]) {
      const scaled = compareMeans(meanArmFromValues([0, 0, 5.014742720742717 * scale, 0]), meanArmFromValues([0, 0]));
      expect(scaled.df).toBeCloseTo(ordinary.df!, 6);
      expect(scaled.pValue).toBeCloseTo(ordinary.pValue, 9);
      expect(scaled.ci95[0] / scale).toBeCloseTo(ordinary.ci95[0], 6);
      expect(scaled.ci95[1] / scale).toBeCloseTo(ordinary.ci95[1], 6);
    }
  });

  const values = fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 2, maxLength: 60 });
  test('properties: p in [0, 1], interval contains the estimate, symmetric in arms, invariant to input order', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const ab = compareMeans(meanArmFromValues(a), meanArmFromValues(b));
        const ba = compareMeans(meanArmFromValues(b), meanArmFromValues(a));
        const shuffled = compareMeans(meanArmFromValues([...a].reverse()), meanArmFromValues([...b].reverse()));
        if (Number.isNaN(ab.pValue)) return;
        expect(ab.pValue).toBeGreaterThanOrEqual(0);
        expect(ab.pValue).toBeLessThanOrEqual(1);
        expect(ab.ci95[0]).toBeLessThanOrEqual(ab.estimate + 1e-9);
        expect(ab.ci95[1]).toBeGreaterThanOrEqual(ab.estimate - 1e-9);
        expect(ba.estimate).toBeCloseTo(-ab.estimate, 6);
        expect(ba.pValue).toBeCloseTo(ab.pValue, 6);
        expect(shuffled.pValue).toBeCloseTo(ab.pValue, 6);
      }),
    );
  });
});

describe('capping', () => {
  test('absolute caps clamp both sides', () => {
    expect(capValues([-5, 1, 5, 1000], { lower: 0, upper: 100 })).toEqual([0, 1, 5, 100]);
  });
  test('percentile cap is computed over both arms (numpy.quantile linear)', () => {
    // numpy.quantile([1..10] ∪ [11..20], 0.9, method='linear') = 18.1
    const a = Array.from({ length: 10 }, (_, i) => i + 1);
    const b = Array.from({ length: 10 }, (_, i) => i + 11);
    expect(percentileCap(a, b, 0.9)).toBeCloseTo(18.1, 12);
    expect(() => percentileCap(a, b, 99)).toThrow(/percentile must be in \(0, 1\]/);
  });
});
