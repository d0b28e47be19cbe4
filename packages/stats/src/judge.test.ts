import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { binomialTest, cohensKappa, meanTInterval, spearman, wilsonInterval, windowMeans } from './judge.js';
import { expectClose, reference } from '../test/helpers.js';

describe('Cohen’s kappa', () => {
  test('textbook 2×2: p_o = 0.7, p_e = 0.5 → κ = 0.4', () => {
    const result = cohensKappa([[20, 5], [10, 15]]);
    expect(result.kappa).toBeCloseTo(0.4, 14);
    expect(result.agreement).toBeCloseTo(0.7, 14);
  });
  // Independent values: numpy implementation of κ and of the Fleiss–Cohen–Everitt (1969) variance.
  test.each(reference.kappa as any[])('matches numpy ($weights) #%#', (ref) => {
    const result = cohensKappa(ref.table, { weights: ref.weights });
    expectClose(result.kappa, ref.kappa, 1e-9);
    expectClose(result.standardError, ref.standardError, 1e-9);
    expectClose(result.agreement, ref.agreement, 1e-12);
    expect(result.ci95[0]).toBeLessThan(result.kappa);
    // Formula-free check: the spread of κ over 20,000 multinomial resamples of the table.
    expectClose(result.standardError, ref.simulatedStandardError, 0.06);
  });
  test('rejects non-square tables', () => {
    expect(() => cohensKappa([[1, 2, 3], [4, 5, 6]])).toThrow(/must be 2 × 2/);
  });
});

describe('exact binomial test', () => {
  test.each(reference.binomialTest as any[])('matches scipy.stats.binomtest($successes, $n, $p)', (ref) => {
    expectClose(binomialTest(ref.successes, ref.n, ref.p).pValue, ref.pValue, 1e-9);
  });
});

describe('Spearman', () => {
  test('textbook: [1..5] vs [5, 6, 7, 8, 7] → ρ = 0.8208 (scipy docs example)', () => {
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).rho).toBeCloseTo(0.8207826816681233, 12);
  });
  test.each(reference.spearman as any[])('matches scipy.stats.spearmanr #%#', (ref) => {
    const result = spearman(ref.x, ref.y);
    expectClose(result.rho, ref.rho, 1e-9);
    expectClose(result.pValue, ref.pValue, 1e-9);
  });
  test('property: symmetric in x and y and invariant to pair order', () => {
    const pairs = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })), { minLength: 4, maxLength: 40 });
    fc.assert(
      fc.property(pairs, (p) => {
        const a = spearman(p.map((q) => q[0]), p.map((q) => q[1]));
        if (Number.isNaN(a.rho)) return;
        const b = spearman(p.map((q) => q[1]), p.map((q) => q[0]));
        const r = [...p].reverse();
        const c = spearman(r.map((q) => q[0]), r.map((q) => q[1]));
        expect(b.rho).toBeCloseTo(a.rho, 12);
        expect(c.pValue).toBeCloseTo(a.pValue, 12);
        expect(a.pValue).toBeGreaterThanOrEqual(0);
        expect(a.pValue).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('Wilson interval and t intervals', () => {
  test('published: 81/263 → 0.2553 to 0.3662 (Newcombe 1998, Table I, method 3)', () => {
    const [lo, hi] = wilsonInterval(81, 263);
    expect(lo).toBeCloseTo(0.2553, 4);
    expect(hi).toBeCloseTo(0.3662, 4);
  });
  test.each(reference.wilson as any[])('matches scipy binomtest().proportion_ci(method="wilson") for $successes/$n', (ref) => {
    const [lo, hi] = wilsonInterval(ref.successes, ref.n);
    expect(Math.abs(lo - ref.ci95[0])).toBeLessThan(1e-12);
    expect(Math.abs(hi - ref.ci95[1])).toBeLessThan(1e-12);
  });
  test.each(reference.meanTInterval as any[])('matches scipy.stats.t.interval #%#', (ref) => {
    const result = meanTInterval(ref.arm);
    expectClose(result.mean, ref.mean, 1e-12);
    expectClose(result.ci95[0], ref.ci95[0], 1e-9);
    expectClose(result.ci95[1], ref.ci95[1], 1e-9);
  });
  test('window means come back in window order with gaps kept', () => {
    const result = windowMeans([
      { window: 2, n: 3, sum: 9, sumSquares: 29 },
      { window: 1, n: 1, sum: 4, sumSquares: 16 },
    ]);
    expect(result.map((w) => w.window)).toEqual([1, 2]);
    expect(Number.isNaN(result[0]!.ci95[0])).toBe(true);
    expect(result[1]!.mean).toBe(3);
  });
});
