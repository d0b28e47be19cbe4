import { describe, expect, test } from 'vitest';
import { simulateBandit, thompsonAllocation } from './bandit.js';
import { probabilityBest } from './bayes.js';

describe('Thompson sampling', () => {
  test('weights are the probabilities of being best, floored at 1% and summing to 1', () => {
    const arms = [{ n: 2000, successes: 200 }, { n: 2000, successes: 300 }];
    const result = thompsonAllocation(arms);
    expect(result.probabilityBest).toEqual(probabilityBest(arms));
    expect(result.weights[0]).toBeGreaterThanOrEqual(0.01);
    expect(result.weights[0]).toBeLessThan(0.0101);
    expect(result.weights[0]! + result.weights[1]!).toBeCloseTo(1, 12);
    expect(() => thompsonAllocation(arms, { floor: 0.6 })).toThrow(/floor must be/);
  });

  test('seeded Monte Carlo check of P(best): frequency of each arm being the max of posterior draws', () => {
    // Independent of the quadrature: 200,000 draws from Beta posteriors via order statistics of
    // Gamma-free sampling is heavy, so use the normal approximation's ordering on large counts.
    const arms = [{ n: 5000, successes: 500 }, { n: 5000, successes: 530 }, { n: 5000, successes: 515 }];
    const exact = probabilityBest(arms);
    // Normal approximation to Beta(1 + x, 1 + n − x) is excellent at these counts.
    const means = arms.map((a) => (a.successes + 1) / (a.n + 2));
    const sds = arms.map((a, i) => Math.sqrt((means[i]! * (1 - means[i]!)) / (a.n + 3)));
    let state = 12345;
    const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
    const counts = [0, 0, 0];
    const draws = 100_000;
    for (let d = 0; d < draws; d++) {
      let best = 0;
      let bestValue = -Infinity;
      for (let i = 0; i < 3; i++) {
        const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
        const value = means[i]! + sds[i]! * z;
        if (value > bestValue) {
          bestValue = value;
          best = i;
        }
      }
      counts[best]! += 1;
    }
    counts.forEach((count, i) => expect(Math.abs(count / draws - exact[i]!)).toBeLessThan(0.01));
  });

  test('regret simulation: Thompson sampling beats a fixed 50/50 split on the same seeded units', () => {
    const result = simulateBandit({ rates: [0.1, 0.13], horizon: 20_000, batchSize: 500, seed: 7 });
    expect(result.fixedRegret).toBeCloseTo(20_000 * 0.5 * 0.03, 6);
    expect(result.banditRegret).toBeLessThan(result.fixedRegret / 3);
    expect(result.banditRewards).toBeGreaterThan(result.fixedRewards);
    expect(result.banditPulls.reduce((a, b) => a + b, 0)).toBe(20_000);
    // The floor keeps the losing arm explored.
    expect(result.finalWeights[0]).toBeGreaterThanOrEqual(0.01);
    expect(simulateBandit({ rates: [0.1, 0.13], horizon: 2_000, seed: 7 })).toEqual(simulateBandit({ rates: [0.1, 0.13], horizon: 2_000, seed: 7 }));
  });
});

describe('Thompson sampling with no data yet', () => {
  test('arms without units get equal weights from the prior', () => {
    const result = thompsonAllocation([{ n: 0, successes: 0 }, { n: 0, successes: 0 }]);
    expect(result.weights[0]).toBeCloseTo(0.5, 8);
  });
});
