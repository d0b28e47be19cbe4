import { describe, expect, test } from 'vitest';
import { mdeMeans, mdeProportions, sampleSizeMeans, sampleSizeProportions, sampleSizeRatio } from './power.js';
import { reference } from '../test/helpers.js';

describe('sample size for proportions', () => {
  test('published: 0.60 → +0.05 needs 2,942 and +0.02 needs 18,672 in total at α 0.05, power 0.8', () => {
    // Normal approximation pooled under H0, unpooled under H1 (Fleiss, Levin & Paik 2003, eq. 4.14),
    // as in the acceptance values.
    expect(sampleSizeProportions({ baseline: 0.6, mde: 0.05 })).toMatchObject({ perArm: [1471, 1471], total: 2942 });
    expect(sampleSizeProportions({ baseline: 0.6, mde: 0.02 })).toMatchObject({ perArm: [9336, 9336], total: 18672 });
  });

  test.each(reference.sampleSizeProportions as any[])('matches the formula written in numpy for $baseline $mde $allocation', (ref) => {
    const result = sampleSizeProportions({ baseline: ref.baseline, mde: ref.mde, alpha: ref.alpha, power: ref.power, allocation: ref.allocation });
    expect(result.perArm).toEqual(ref.perArm);
  });

  test('more arms: each treatment vs control, per-arm sizes follow the allocation; days from daily units', () => {
    const result = sampleSizeProportions({ baseline: 0.6, mde: 0.05, arms: 3, dailyUnits: 500 });
    expect(result.perArm).toEqual([1471, 1471, 1471]);
    expect(result.total).toBe(4413);
    expect(result.days).toBe(9);
  });

  test('bad inputs say what is wrong', () => {
    expect(() => sampleSizeProportions({ baseline: 0.6, mde: 0.5 })).toThrow(/baseline \+ mde strictly between 0 and 1/);
    expect(() => sampleSizeProportions({ baseline: 0.6, mde: 0.05, allocation: [1, 1], arms: 3 })).toThrow(/2 weights but there are 3 arms/);
    expect(() => sampleSizeProportions({ baseline: 0.6, mde: 0.05, alpha: 5 })).toThrow(/alpha must be strictly between 0 and 1/);
  });
});

describe('sample size for means and ratios', () => {
  test.each(reference.sampleSizeMeans as any[])('matches the closed form (σ = $sd, δ = $mde)', (ref) => {
    expect(sampleSizeMeans({ sd: ref.sd, mde: ref.mde }).perArm).toEqual(ref.perArm);
  });
  test('ratio uses n·var(R) from the pilot as σ²', () => {
    const pilot = { n: 100, sumY: 20000, sumYSquares: 4_500_000, sumN: 100, sumNSquares: 100, sumYN: 20000 };
    // With one event per unit, n·var(R) is the sample variance of Y: (4.5e6 − 4e6)/99.
    const sd = Math.sqrt(500_000 / 99);
    expect(sampleSizeRatio({ pilot, mde: 10 }).perArm).toEqual(sampleSizeMeans({ sd, mde: 10 }).perArm);
  });
});

describe('minimum detectable effect', () => {
  test('inverts the sample size: the MDE at the computed n needs exactly that n', () => {
    const mde = mdeProportions({ baseline: 0.6, n: 5000 });
    expect(mde.absolute).toBeGreaterThan(0.035);
    expect(mde.absolute).toBeLessThan(0.04);
    const size = sampleSizeProportions({ baseline: 0.6, mde: mde.absolute });
    expect(Math.abs(size.total - 5000)).toBeLessThanOrEqual(2);
    const means = mdeMeans({ sd: 10, n: 3140, baseline: 50 });
    expect(sampleSizeMeans({ sd: 10, mde: means.absolute }).total).toBe(3140);
    expect(means.relative).toBeCloseTo(means.absolute / 50, 15);
  });
  test('too few units is an error, not a nonsense MDE', () => {
    expect(() => mdeProportions({ baseline: 0.6, n: 5 })).toThrow(/too small/);
  });
});
