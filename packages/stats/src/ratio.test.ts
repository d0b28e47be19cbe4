import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareRatios, ratioArmFromUnits, ratioVariance } from './ratio.js';
import { expectClose, reference } from '../test/helpers.js';

describe('ratio metrics (delta method over units)', () => {
  // Independent values: numpy.cov (ddof = 1) over the raw per-unit (Y, N) pairs, formula of
  // Deng, Knoblich & Lu (2018) as stated in the statistics contract.
  test.each(reference.ratio as any[])('matches numpy on raw units #%#', (ref) => {
    const c = ratioVariance(ref.baseline);
    expectClose(c.ratio, ref.baselineRatio, 1e-9);
    expectClose(c.variance, ref.baselineVariance, 1e-9);
    const result = compareRatios(ref.baseline, ref.variant);
    expectClose(result.estimate, ref.estimate, 1e-9);
    expectClose(result.standardError, ref.standardError, 1e-9);
    expectClose(result.statistic, ref.statistic, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
    // Building the sums from units gives the same statistics.
    const fromUnits = ratioArmFromUnits((ref.baselineUnits as [number, number][]).map(([y, n]) => ({ y, n })));
    expectClose(ratioVariance(fromUnits).variance, ref.baselineVariance, 1e-9);
  });

  test('units without events are excluded', () => {
    expect(ratioArmFromUnits([{ y: 10, n: 2 }, { y: 0, n: 0 }, { y: 4, n: 1 }]).n).toBe(2);
  });

  test('rejects arms with no events', () => {
    expect(() => ratioVariance({ n: 3, sumY: 0, sumYSquares: 0, sumN: 0, sumNSquares: 0, sumYN: 0 })).toThrow(/sumN must be positive/);
  });

  const units = fc.array(fc.record({ y: fc.double({ min: 0, max: 5000, noNaN: true }), n: fc.integer({ min: 1, max: 20 }) }), { minLength: 3, maxLength: 40 });
  test('properties: p in [0, 1], interval contains the estimate, symmetric, order-invariant', () => {
    fc.assert(
      fc.property(units, units, (a, b) => {
        const ab = compareRatios(ratioArmFromUnits(a), ratioArmFromUnits(b));
        const ba = compareRatios(ratioArmFromUnits(b), ratioArmFromUnits(a));
        const reversed = compareRatios(ratioArmFromUnits([...a].reverse()), ratioArmFromUnits([...b].reverse()));
        expect(ab.pValue).toBeGreaterThanOrEqual(0);
        expect(ab.pValue).toBeLessThanOrEqual(1);
        expect(ab.ci95[0]).toBeLessThanOrEqual(ab.estimate);
        expect(ab.ci95[1]).toBeGreaterThanOrEqual(ab.estimate);
        expect(ba.estimate).toBeCloseTo(-ab.estimate, 6);
        expect(ba.pValue).toBeCloseTo(ab.pValue, 6);
        expect(reversed.pValue).toBeCloseTo(ab.pValue, 6);
      }),
    );
  });
});
