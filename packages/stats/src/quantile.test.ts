import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compareQuantiles, quantile } from './quantile.js';
import { zComparison } from './internal/comparison.js';
import { seededRandom } from './internal/random.js';
import { expectClose, reference } from '../test/helpers.js';
import type { Comparison, UnitValues } from './types.js';

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

describe('compareQuantiles, method: bootstrap (unit-level cluster bootstrap)', () => {
  // Point estimates: numpy.quantile over all events. Standard error: an independent numpy cluster
  // bootstrap (4,000 resamples of whole units, separate generator); Monte Carlo error of both
  // bootstraps is a few percent, so the SE is compared at 12%.
  test.each(reference.quantile as any[])('matches numpy for q=$q', (ref) => {
    const result = compareQuantiles(ref.baseline, ref.variant, { q: ref.q, resamples: 2000, seed: 11, method: 'bootstrap' });
    expectClose(result.baseline.value, ref.baselineValue, 1e-12);
    expectClose(result.variant.value, ref.variantValue, 1e-12);
    expectClose(result.estimate, ref.variantValue - ref.baselineValue, 1e-9);
    expectClose(result.standardError, ref.standardError, 0.12);
    expect(result.baseline.n).toBe(ref.baseline.length);
  });

  test('deterministic for a seed', () => {
    const [ref] = reference.quantile as any[];
    const a = compareQuantiles(ref.baseline, ref.variant, { q: 0.5, seed: 3, method: 'bootstrap' });
    const b = compareQuantiles(ref.baseline, ref.variant, { q: 0.5, seed: 3, method: 'bootstrap' });
    expect(a).toEqual(b);
  });

  test('clustering widens the interval: duplicating events inside units is not new information', () => {
    const units = Array.from({ length: 200 }, (_, i) => [100 + ((i * 37) % 200)]);
    const tripled = units.map((events) => [...events, ...events, ...events]);
    const single = compareQuantiles(units, units, { q: 0.5, seed: 5, method: 'bootstrap' });
    const clustered = compareQuantiles(tripled, tripled, { q: 0.5, seed: 5, method: 'bootstrap' });
    // Same units, same information: the cluster bootstrap must not shrink the SE by √3.
    expect(clustered.standardError / single.standardError).toBeGreaterThan(0.8);
  });
});

// A straightforward cluster bootstrap, kept here to pin the fast one down: draw units with the same
// generator in the same order (all baseline resamples, then all variant resamples), materialise
// each resample, sort it and take its type-7 quantile. The fast path never materialises a resample
// (it walks sorted events weighting each by its unit's copies, from whichever end is nearer), so
// any difference in the draws, the order statistics or the arithmetic shows up as a changed bit.
function referenceTypeSeven(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
function referenceVariance(units: UnitValues, q: number, resamples: number, random: () => number): number {
  let mean = 0;
  let m2 = 0;
  let count = 0;
  for (let r = 0; r < resamples; r++) {
    const copies = new Array<number>(units.length).fill(0);
    for (let i = 0; i < units.length; i++) copies[Math.floor(random() * units.length)]! += 1;
    const resample: number[] = [];
    units.forEach((events, unit) => {
      for (let copy = 0; copy < copies[unit]!; copy++) resample.push(...events);
    });
    if (resample.length === 0) continue;
    resample.sort((a, b) => a - b);
    const value = referenceTypeSeven(resample, q);
    count += 1;
    const delta = value - mean;
    mean += delta / count;
    m2 += delta * (value - mean);
  }
  return count > 1 ? m2 / (count - 1) : Number.NaN;
}
function referenceCompare(baseline: UnitValues, variant: UnitValues, q: number, resamples: number, seed: number): Comparison & { method: 'bootstrap' } {
  const random = seededRandom(seed);
  const value = (units: UnitValues) => referenceTypeSeven(units.flat().sort((a, b) => a - b), q);
  const varC = referenceVariance(baseline, q, resamples, random);
  const varT = referenceVariance(variant, q, resamples, random);
  return { ...zComparison('quantile', { n: baseline.length, value: value(baseline) }, { n: variant.length, value: value(variant) }, varC, varT), method: 'bootstrap' };
}

/** Units with 0..maxEvents events each; `levels` > 0 rounds values to that many distinct levels (ties). */
function makeUnits(count: number, maxEvents: number, seed: number, levels = 0): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: Math.floor(random() * (maxEvents + 1)) }, () => {
      const value = Math.exp(5 + random() * 2);
      return levels > 0 ? Math.floor(random() * levels) * 10 : value;
    }),
  );
}

function signedUnits(count: number, seed: number): number[][] {
  const levels = [-1e9, -3.5, -1, -0, 0, 0, 2, 7.25];
  // Values near −100 and +100 that differ only in the low 32 bits of their IEEE-754 pattern.
  const close = (unit: number, index: number) => (unit % 3 === 0 ? 1 : -1) * (100 + ((unit * 13 + index) % 17) * 2 ** -40);
  return makeUnits(count, 8, seed).map((events, unit) =>
    events.map((value, index) => [levels[(unit * 7 + index) % levels.length]!, close(unit, index), value - 1200][(unit + index) % 3]!),
  );
}

describe('compareQuantiles is bit-identical to a materialise-and-sort bootstrap', () => {
  const arms: Record<string, [UnitValues, UnitValues]> = {
    tiny: [[[], [5]], [[3, 3], [1], [7]]],
    'tiny, all ties': [[[2, 2], [2]], [[2], [2, 2, 2]]],
    'ties and empty units': [makeUnits(60, 4, 1, 7), makeUnits(80, 4, 2, 5)],
    'one event per unit': [makeUnits(300, 1, 3).map((events) => (events.length ? events : [1])), makeUnits(250, 1, 4).map((events) => (events.length ? events : [2]))],
    large: [makeUnits(1500, 12, 5), makeUnits(1700, 12, 6, 400)],
    // Above the radix-sort threshold, with negative values, −0 and +0 and heavy ties.
    'signed, ±0, ties': [signedUnits(1200, 8), signedUnits(1300, 9)],
  };
  const seeds = [1, 11, 20_140_603, 4_294_967_295];
  for (const [name, [baseline, variant]] of Object.entries(arms)) {
    test.each([0.05, 0.5, 0.9, 0.95, 0.99, 0, 1])(`${name}, q=%s`, (q) => {
      const big = baseline.length > 1000;
      const resamples = big ? 50 : 200;
      for (const seed of big ? seeds.slice(1, 3) : seeds) {
        expect(compareQuantiles(baseline, variant, { q, resamples, seed, method: 'bootstrap' })).toStrictEqual(referenceCompare(baseline, variant, q, resamples, seed));
      }
    });
  }

  test('the same control array compared twice, then changed in place, still matches the reference', () => {
    const control = makeUnits(200, 6, 7);
    const first = makeUnits(210, 6, 8);
    const second = makeUnits(190, 6, 9, 30);
    for (const variant of [first, second]) {
      expect(compareQuantiles(control, variant, { q: 0.95, resamples: 100, seed: 3, method: 'bootstrap' })).toStrictEqual(referenceCompare(control, variant, 0.95, 100, 3));
    }
    const changed = control.find((events) => events.length > 0)!;
    changed[0] = 1e6; // a new largest value: a stale sort would miss it
    control[control.length - 1]!.push(2e6);
    expect(compareQuantiles(control, first, { q: 0.99, resamples: 100, seed: 3, method: 'bootstrap' })).toStrictEqual(referenceCompare(control, first, 0.99, 100, 3));
    control[0] = [Number.NaN];
    expect(() => compareQuantiles(control, first, { q: 0.5 })).toThrow(/baseline\[0\]\[0\]/);
  });
});
