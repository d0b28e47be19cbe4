import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareQuantiles, quantile } from './quantile.js';
import { expectClose, reference } from '../test/helpers.js';

describe('quantile (type 7, as DuckDB quantile_cont)', () => {
  test.each(reference.quantilePlain as any[])('matches numpy.quantile(method="linear") at q=$q', (ref) => {
    expectClose(quantile(ref.values, ref.q), ref.expected, 1e-12);
  });
  test('rejects empty input and bad levels', () => {
    expect(() => quantile([], 0.5)).toThrow(/empty/);
    expect(() => quantile([1], 95)).toThrow(/quantile level must be in \[0, 1\]/);
  });
  test('property: between min and max, monotone in q, order-invariant', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const value = quantile(values, q);
        expect(value).toBeGreaterThanOrEqual(Math.min(...values));
        expect(value).toBeLessThanOrEqual(Math.max(...values));
        expect(quantile([...values].reverse(), q)).toBe(value);
        expect(quantile(values, Math.min(1, q + 0.1))).toBeGreaterThanOrEqual(value);
      }),
    );
  });
});

describe('compareQuantiles (unit-level cluster bootstrap)', () => {
  // Point estimates: numpy.quantile over all events. Standard error: an independent numpy cluster
  // bootstrap (4,000 resamples of whole units, separate generator); Monte Carlo error of both
  // bootstraps is a few percent, so the SE is compared at 12%.
  test.each(reference.quantile as any[])('matches numpy for q=$q', (ref) => {
    const result = compareQuantiles(ref.baseline, ref.variant, { q: ref.q, resamples: 2000, seed: 11 });
    expectClose(result.baseline.value, ref.baselineValue, 1e-12);
    expectClose(result.variant.value, ref.variantValue, 1e-12);
    expectClose(result.estimate, ref.variantValue - ref.baselineValue, 1e-9);
    expectClose(result.standardError, ref.standardError, 0.12);
    expect(result.baseline.n).toBe(ref.baseline.length);
  });

  test('deterministic for a seed', () => {
    const [ref] = reference.quantile as any[];
    const a = compareQuantiles(ref.baseline, ref.variant, { q: 0.5, seed: 3 });
    const b = compareQuantiles(ref.baseline, ref.variant, { q: 0.5, seed: 3 });
    expect(a).toEqual(b);
  });

  test('clustering widens the interval: duplicating events inside units is not new information', () => {
    const units = Array.from({ length: 200 }, (_, i) => [100 + ((i * 37) % 200)]);
    const tripled = units.map((events) => [...events, ...events, ...events]);
    const single = compareQuantiles(units, units, { q: 0.5, seed: 5 });
    const clustered = compareQuantiles(tripled, tripled, { q: 0.5, seed: 5 });
    // Same units, same information: the cluster bootstrap must not shrink the SE by √3.
    expect(clustered.standardError / single.standardError).toBeGreaterThan(0.8);
  });
});
