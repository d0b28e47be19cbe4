import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { checkMultipleExposure, checkSegmentMix, checkSrm } from './health.js';
import { expectClose, reference } from '../test/helpers.js';

describe('SRM', () => {
  test.each(reference.srm as any[])('matches scipy.stats.chisquare for $observed', (ref) => {
    const result = checkSrm(ref.observed, ref.weights);
    expectClose(result.chiSquare, ref.chiSquare, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
    expect(result.df).toBe(ref.observed.length - 1);
    expect(result.flagged).toBe(ref.pValue < 0.001);
    expect(result.status).toBe(ref.pValue < 0.001 ? 'fail' : 'ok');
  });
  test('skipped with fewer than 8 units in an arm, however lopsided', () => {
    const result = checkSrm([7, 100], [0.5, 0.5]);
    expect(result.status).toBe('skipped');
    expect(result.flagged).toBe(false);
    expect(checkSrm([8, 100], [0.5, 0.5]).flagged).toBe(true);
  });
  test('mismatched weights are an input error', () => {
    expect(() => checkSrm([10, 10], [1])).toThrow(/one weight per arm/);
  });
  test('property: p in [0, 1]; permuting arms with their weights changes nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 2, maxLength: 5 }), (counts) => {
        const weights = counts.map((_, i) => i + 1);
        const a = checkSrm(counts, weights);
        const b = checkSrm([...counts].reverse(), [...weights].reverse());
        expect(a.pValue).toBeGreaterThanOrEqual(0);
        expect(a.pValue).toBeLessThanOrEqual(1);
        expect(b.pValue).toBeCloseTo(a.pValue, 12);
      }),
    );
  });
});

describe('segment mix', () => {
  test.each(reference.segmentMix as any[])('matches scipy.stats.chi2_contingency(correction=False) #%#', (ref) => {
    const result = checkSegmentMix(ref.counts);
    expectClose(result.chiSquare, ref.chiSquare, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
    expect(result.df).toBe(ref.df);
  });
});

describe('multiple exposure', () => {
  test('warn and fail thresholds', () => {
    expect(checkMultipleExposure({ totalUnits: 10_000, multiExposedUnits: 50 }).status).toBe('ok');
    expect(checkMultipleExposure({ totalUnits: 10_000, multiExposedUnits: 150 }).status).toBe('warn');
    expect(checkMultipleExposure({ totalUnits: 10_000, multiExposedUnits: 500 }).status).toBe('fail');
    expect(checkMultipleExposure({ totalUnits: 100, multiExposedUnits: 3 }, { warnShare: 0.05, failShare: 0.1 }).status).toBe('ok');
    expect(() => checkMultipleExposure({ totalUnits: 10, multiExposedUnits: 11 })).toThrow(/cannot exceed totalUnits/);
  });
});
