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
