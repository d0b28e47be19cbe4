import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareCuped, comparePostStratified, covariateArmFromValues } from './cuped.js';
import { expectClose, reference } from '../test/helpers.js';

describe('CUPED', () => {
  // Independent values: θ from numpy.cov over both arms pooled, adjusted raw values
  // y − θ(x − x̄), then scipy.stats.ttest_ind(equal_var=False) (Deng et al. 2013).
  test.each(reference.cuped as any[])('matches numpy/scipy on raw values #%#', (ref) => {
    const result = compareCuped(ref.baseline, ref.variant);
    expectClose(result.theta, ref.theta, 1e-9);
    expectClose(result.estimate, ref.estimate, 1e-9);
    expectClose(result.statistic, ref.statistic, 1e-9);
    expectClose(result.df!, ref.df, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
    expectClose(result.varianceReduction, ref.varianceReduction, 1e-9);
    expect(result.kind).toBe('cuped');
  });

  test('a covariate unrelated to the outcome reduces nothing; a perfect one removes the noise', () => {
    const units = Array.from({ length: 200 }, (_, i) => ({ x: (i * 7919) % 101, y: 0 }));
    const perfect = units.map((u, i) => ({ x: u.x, y: 3 * u.x + (i % 2) * 0.001 }));
    const result = compareCuped(covariateArmFromValues(perfect.slice(0, 100)), covariateArmFromValues(perfect.slice(100)));
    expect(result.theta).toBeCloseTo(3, 3);
    expect(result.varianceReduction).toBeGreaterThan(0.999);
    const constantX = compareCuped(
      covariateArmFromValues(Array.from({ length: 50 }, (_, i) => ({ x: 1, y: i }))),
      covariateArmFromValues(Array.from({ length: 50 }, (_, i) => ({ x: 1, y: i + 2 }))),
    );
    expect(constantX.theta).toBe(0);
    expect(constantX.varianceReduction).toBeCloseTo(0, 12);
  });
});

describe('post-stratification', () => {
  // Independent values: numpy over raw strata, Miratrix, Sekhon & Yu (2013) estimator.
  test('matches numpy on raw strata', () => {
    const ref = reference.postStratified;
    const result = comparePostStratified(ref.strata);
    expectClose(result.baseline.value, ref.baselineValue, 1e-9);
    expectClose(result.variant.value, ref.variantValue, 1e-9);
    expectClose(result.estimate, ref.estimate, 1e-9);
    expectClose(result.standardError, ref.standardError, 1e-9);
    expect(result.kind).toBe('poststratified');
  });
});

describe('CUPED properties', () => {
  test('swapping arms negates the estimate and keeps θ and p; unit order does not matter', () => {
    const unit = fc.record({ x: fc.double({ min: -100, max: 100, noNaN: true }), y: fc.double({ min: -100, max: 100, noNaN: true }) });
    const arm = fc.array(unit, { minLength: 3, maxLength: 40 });
    fc.assert(
      fc.property(arm, arm, (a, b) => {
        const ab = compareCuped(covariateArmFromValues(a), covariateArmFromValues(b));
        const ba = compareCuped(covariateArmFromValues(b), covariateArmFromValues(a));
        const reversed = compareCuped(covariateArmFromValues([...a].reverse()), covariateArmFromValues([...b].reverse()));
        if (!(ab.standardError > 1e-6)) return;
        expect(ba.estimate).toBeCloseTo(-ab.estimate, 6);
        expect(ba.theta).toBeCloseTo(ab.theta, 6);
        expect(ba.pValue).toBeCloseTo(ab.pValue, 6);
        expect(reversed.pValue).toBeCloseTo(ab.pValue, 6);
        expect(ab.pValue).toBeGreaterThanOrEqual(0);
        expect(ab.pValue).toBeLessThanOrEqual(1);
        expect(ab.ci95[0]).toBeLessThanOrEqual(ab.estimate);
        expect(ab.ci95[1]).toBeGreaterThanOrEqual(ab.estimate);
      }),
    );
  });
});
