import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { adjustPValues, benjaminiHochberg, bonferroni, holm } from './multiple.js';
import { expectClose, reference } from '../test/helpers.js';

describe('multiple testing', () => {
  // BH from scipy.stats.false_discovery_control; Holm from the step-down definition written
  // independently in the reference script. The second set is the 10 p-values of Benjamini &
  // Hochberg's (1995) worked example subset.
  test.each(reference.multiple as any[])('matches scipy / definition #%#', (ref) => {
    bonferroni(ref.pValues).forEach((p, i) => expectClose(p, ref.bonferroni[i], 1e-12));
    holm(ref.pValues).forEach((p, i) => expectClose(p, ref.holm[i], 1e-12));
    benjaminiHochberg(ref.pValues).forEach((p, i) => expectClose(p, ref.bh[i], 1e-12));
    expect(adjustPValues(ref.pValues, 'bh')).toEqual(benjaminiHochberg(ref.pValues));
  });

  test('rejects p-values outside [0, 1]', () => {
    expect(() => holm([0.1, 1.2])).toThrow(/pValues\[1\] must be in \[0, 1\]/);
  });

  test('properties: adjusted ≥ raw, ≤ 1, BH ≤ Holm ≤ Bonferroni, order-invariant', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }), (p) => {
        const h = holm(p);
        const b = benjaminiHochberg(p);
        const bonf = bonferroni(p);
        const reversedHolm = holm([...p].reverse()).reverse();
        p.forEach((raw, i) => {
          expect(h[i]).toBeGreaterThanOrEqual(raw);
          expect(b[i]).toBeGreaterThanOrEqual(raw - 1e-15);
          expect(h[i]).toBeLessThanOrEqual(1);
          expect(b[i]!).toBeLessThanOrEqual(h[i]! + 1e-15);
          expect(h[i]!).toBeLessThanOrEqual(bonf[i]! + 1e-15);
          expect(reversedHolm[i]).toBeCloseTo(h[i]!, 15);
        });
      }),
    );
  });
});
