import { describe, expect, test } from 'vitest';
import { confidenceSequence, groupSequentialBoundaries, obrienFlemingSpending, sequentialDecision } from './sequential.js';
import { normalDraws, seededRandom } from './internal/random.js';
import { expectClose, reference } from '../test/helpers.js';

describe('group-sequential boundaries (Lan–DeMets O’Brien–Fleming)', () => {
  test('reproduces the published four-look boundaries 4.3326, 2.9631, 2.3590, 2.0141', () => {
    // Published for Lan–DeMets O'Brien–Fleming spending, K = 4 equally spaced, two-sided α = 0.05:
    // gsDesign::gsDesign(k = 4, test.type = 2, sfu = sfLDOF) and rpact getDesignGroupSequential(
    // typeOfDesign = "asOF", sided = 2); Jennison & Turnbull (2000) §7.2.
    const looks = groupSequentialBoundaries([0.25, 0.5, 0.75, 1], { alpha: 0.05 }).looks;
    expect(looks.map((look) => Number(look.z.toFixed(4)))).toEqual([4.3326, 2.9631, 2.359, 2.0141]);
    expect(looks.at(-1)!.cumulativeAlpha).toBeCloseTo(0.05, 15);
    expect(looks[0]!.nominalPValue).toBeCloseTo(1.4734e-5, 8);
  });

  // Independent values: the reference script finds each boundary by root-finding on multivariate
  // normal rectangle probabilities (scipy's Genz–Bretz integration, tolerance 1e-8), an entirely
  // different method from the recursive grid integration here.
  test.each(reference.boundaries as any[])('matches multivariate-normal root finding for $fractions at α=$alpha', (ref) => {
    const looks = groupSequentialBoundaries(ref.fractions, { alpha: ref.alpha }).looks;
    looks.forEach((look, i) => expectClose(look.z, ref.z[i], 1e-6));
  });

  test('simulation: 200,000 seeded four-look trials under H0 cross the boundaries with frequency α', () => {
    const z = groupSequentialBoundaries([0.25, 0.5, 0.75, 1]).looks.map((look) => look.z);
    const normal = normalDraws(seededRandom(2024));
    const trials = 200_000;
    let crossed = 0;
    for (let i = 0; i < trials; i++) {
      let score = 0;
      for (let k = 1; k <= 4; k++) {
        score += normal() * Math.sqrt(0.25);
        if (Math.abs(score) / Math.sqrt(k / 4) >= z[k - 1]!) {
          crossed += 1;
          break;
        }
      }
    }
    // Binomial SE at 200,000 trials is 0.00049: allow 4 SE.
    expect(Math.abs(crossed / trials - 0.05)).toBeLessThan(0.002);
  });

  test('a single look at t = 1 is the fixed-sample test', () => {
    expect(groupSequentialBoundaries([1]).looks[0]!.z).toBeCloseTo(1.959963985, 8);
    expect(obrienFlemingSpending(1, 0.05)).toBeCloseTo(0.05, 15);
  });

  test('decisions look by look', () => {
    const plan = groupSequentialBoundaries([0.25, 0.5, 0.75, 1]);
    expect(sequentialDecision(plan, 1, 3.5)).toBe('continue');
    expect(sequentialDecision(plan, 2, -3.1)).toBe('stop_efficacy');
    expect(sequentialDecision(plan, 4, 2.0)).toBe('continue');
    expect(() => sequentialDecision(plan, 5, 2)).toThrow(/look must be an integer from 1 to 4/);
  });

  test('rejects fractions that do not increase', () => {
    expect(() => groupSequentialBoundaries([0.5, 0.5, 1])).toThrow(/must increase strictly/);
    expect(() => groupSequentialBoundaries([0.5, 1.2])).toThrow(/must be in \(0, 1\]/);
  });
});

describe('confidence sequences', () => {
  test('formula of Waudby-Smith et al. as tuned in GrowthBook', () => {
    // ρ and the half-width written out for α = 0.05, n* = 5000, N = 5000, SE = 0.01.
    const alpha = 0.05;
    const rho = Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / 5000);
    const s2 = 0.01 ** 2 * 5000;
    const expected = Math.sqrt(s2) * Math.sqrt(((2 * (5000 * rho ** 2 + 1)) / (5000 ** 2 * rho ** 2)) * Math.log(Math.sqrt(5000 * rho ** 2 + 1) / alpha));
    const result = confidenceSequence({ estimate: 0.04, standardError: 0.01 }, 5000, { expectedSampleSize: 5000 });
    expectClose(result.halfWidth, expected, 1e-12);
    expect(result.halfWidth).toBeGreaterThan(1.96 * 0.01); // wider than a fixed-n interval
    expect(result.significant).toBe(true);
  });

  test('simulation: peeking after every batch keeps the false-positive rate ≤ α; naive peeking does not', () => {
    // A/A test, 400 seeded experiments, 2,000 units each, a look every 50 units (40 looks).
    const alpha = 0.05;
    const random = seededRandom(424242);
    const normal = normalDraws(random);
    let naiveRejections = 0;
    let sequenceRejections = 0;
    const experiments = 400;
    for (let e = 0; e < experiments; e++) {
      let n = [0, 0];
      let sum = [0, 0];
      let sumSquares = [0, 0];
      let naive = false;
      let sequence = false;
      for (let unit = 1; unit <= 2000; unit++) {
        const arm = unit % 2;
        const y = normal();
        n = arm === 0 ? [n[0]! + 1, n[1]!] : [n[0]!, n[1]! + 1];
        sum[arm]! += y;
        sumSquares[arm]! += y * y;
        if (unit % 50 !== 0) continue;
        const variance = (k: number) => (sumSquares[k]! - sum[k]! ** 2 / n[k]!) / (n[k]! - 1);
        const estimate = sum[1]! / n[1]! - sum[0]! / n[0]!;
        const standardError = Math.sqrt(variance(0) / n[0]! + variance(1) / n[1]!);
        if (Math.abs(estimate / standardError) > 1.959963985) naive = true;
        if (confidenceSequence({ estimate, standardError }, unit, { alpha, expectedSampleSize: 2000 }).significant) sequence = true;
      }
      if (naive) naiveRejections += 1;
      if (sequence) sequenceRejections += 1;
      sum = [0, 0];
      sumSquares = [0, 0];
    }
    const naiveRate = naiveRejections / experiments;
    const sequenceRate = sequenceRejections / experiments;
    expect(naiveRate).toBeGreaterThan(0.12); // ≈ 0.25 expected for 40 looks
    expect(sequenceRate).toBeLessThanOrEqual(alpha);
  });
});
