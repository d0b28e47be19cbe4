import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { bayesianBinary, probabilityBest } from './bayes.js';
import { expectClose, reference } from '../test/helpers.js';

describe('Bayesian binary (exact numerical integration)', () => {
  // Independent values: chance to beat from scipy.integrate.quad AND Miller's (2015) closed-form
  // sum; expected losses from Stucchio's (2015) closed form, cross-checked in the script by quad.
  test.each(reference.bayes as any[])('matches scipy for $baseline.successes/$baseline.n vs $variant.successes/$variant.n', (ref) => {
    const result = bayesianBinary(ref.baseline, ref.variant);
    expect(Math.abs(result.chanceToBeat - ref.chanceToBeat)).toBeLessThan(1e-6);
    expect(Math.abs(result.chanceToBeat - ref.chanceToBeatClosedForm)).toBeLessThan(1e-6);
    expect(Math.abs(result.expectedLossVariant - ref.expectedLossVariant)).toBeLessThan(1e-6);
    expect(Math.abs(result.expectedLossBaseline - ref.expectedLossBaseline)).toBeLessThan(1e-6);
    expectClose(result.expectedLossVariant, ref.expectedLossVariant, 1e-6, 1e-9);
  });

  test('probability of being best over three arms matches scipy quad and sums to 1', () => {
    const ref = reference.probabilityBest;
    const result = probabilityBest(ref.arms);
    result.forEach((p, i) => expect(Math.abs(p - ref.expected[i])).toBeLessThan(1e-6));
    expect(result.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 8);
  });

  test('the finite sums (whole posterior parameters) agree with the quadrature (barely fractional ones)', () => {
    const arm = fc.integer({ min: 1, max: 60_000 }).chain((n) => fc.record({ n: fc.constant(n), successes: fc.integer({ min: 0, max: n }) }));
    // A prior of 1 + 1e-9 moves every posterior mean by < 1e-9: the results may differ only by the methods' own error.
    const fractional = { prior: { alpha: 1 + 1e-9, beta: 1 + 1e-9 } };
    fc.assert(
      fc.property(arm, arm, (a, b) => {
        const sums = bayesianBinary(a, b);
        const quadrature = bayesianBinary(a, b, fractional);
        expect(Math.abs(sums.chanceToBeat - quadrature.chanceToBeat)).toBeLessThan(1e-7);
        // The statistics contract's 1e-6: at extreme rates the quadrature is off by ≈ 4e-8 (below), the sums are not.
        expect(Math.abs(sums.expectedLossVariant - quadrature.expectedLossVariant)).toBeLessThan(1e-6);
        expect(Math.abs(sums.expectedLossBaseline - quadrature.expectedLossBaseline)).toBeLessThan(1e-6);
      }),
      { numRuns: 20, seed: 20261122 },
    );
    // An extreme pair, against mpmath quad at 40 digits (Beta(128350, 11) vs Beta(11, 1)):
    // P = 0.000942213432316812, losses 0.0832476815697182 and 4.40474178156778e-8.
    const extreme = bayesianBinary({ n: 128_359, successes: 128_349 }, { n: 10, successes: 10 });
    expect(Math.abs(extreme.chanceToBeat - 0.000942213432316812)).toBeLessThan(1e-14);
    expect(Math.abs(extreme.expectedLossVariant - 0.0832476815697182)).toBeLessThan(1e-12);
    expect(Math.abs(extreme.expectedLossBaseline - 4.40474178156778e-8)).toBeLessThan(1e-14);
    // Beyond the sums' size bound (both posteriors over 200,000) the quadrature answers alone; near the bound, the sums.
    const big = bayesianBinary({ n: 300_000, successes: 90_000 }, { n: 300_000, successes: 90_600 });
    const near = bayesianBinary({ n: 199_000, successes: 59_700 }, { n: 300_000, successes: 90_600 });
    expect(big.chanceToBeat).toBeGreaterThan(0.9);
    expect(near.chanceToBeat).toBeGreaterThan(0.5);
  });

  test('identities: P(T > C) + P(C > T) = 1 and loss_T − loss_C = E[C] − E[T]', () => {
    const arm = fc.integer({ min: 1, max: 5000 }).chain((n) => fc.record({ n: fc.constant(n), successes: fc.integer({ min: 0, max: n }) }));
    fc.assert(
      fc.property(arm, arm, (a, b) => {
        const ab = bayesianBinary(a, b);
        const ba = bayesianBinary(b, a);
        expect(Math.abs(ab.chanceToBeat + ba.chanceToBeat - 1)).toBeLessThan(1e-8);
        const meanA = (a.successes + 1) / (a.n + 2);
        const meanB = (b.successes + 1) / (b.n + 2);
        expect(Math.abs(ab.expectedLossVariant - ab.expectedLossBaseline - (meanA - meanB))).toBeLessThan(1e-9);
      }),
      { numRuns: 40 },
    );
  });
});
