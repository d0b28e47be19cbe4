import { probabilityBest } from './bayes.js';
import { seededRandom } from './internal/random.js';
import { assertProbability } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { BanditAllocation, BanditSimulationResult, BetaPrior, BinaryArm } from './types.js';

/**
 * Thompson sampling allocation for binary rewards in batch form: each arm's weight is its posterior
 * probability of being best (Thompson 1933; Scott 2010, "A modern Bayesian look at the multi-armed
 * bandit", Appl. Stoch. Models Bus. Ind. 26:639–658, randomised probability matching), computed
 * exactly by quadrature, then floored: w_i = floor + (1 − k·floor)·P(best_i), so every arm keeps at
 * least `floor` (default 1%) of traffic and the weights still sum to 1.
 * @example
 * thompsonAllocation([{ n: 200, successes: 20 }, { n: 200, successes: 30 }]).weights; // ≈ [0.05, 0.95]
 */
export function thompsonAllocation(arms: readonly BinaryArm[], options: { floor?: number; prior?: BetaPrior } = {}): BanditAllocation {
  const floor = options.floor ?? 0.01;
  if (!(floor >= 0 && floor * arms.length <= 1)) {
    throw new StatsError(`floor must be ≥ 0 and at most 1/arms = ${(1 / Math.max(1, arms.length)).toFixed(4)} (got ${floor})`);
  }
  const best = probabilityBest(arms, options.prior === undefined ? {} : { prior: options.prior });
  const total = best.reduce((a, b) => a + b, 0);
  const weights = best.map((p) => floor + (1 - arms.length * floor) * (p / total));
  return { probabilityBest: best, weights };
}

/**
 * Simulates batched Thompson sampling against a fixed equal split on the SAME seeded units: unit u
 * has one uniform draw U_u and would convert on arm a iff U_u < rate_a, so both policies face
 * identical outcomes and the comparison isolates the allocation. The fixed split assigns units
 * round-robin. Regret is expected regret Σ (max rate − rate of the assigned arm).
 * @example
 * const sim = simulateBandit({ rates: [0.1, 0.12], horizon: 20000, seed: 7 });
 * sim.banditRegret < sim.fixedRegret; // true for a real difference
 */
export function simulateBandit(input: {
  rates: readonly number[];
  horizon: number;
  batchSize?: number;
  seed?: number;
  floor?: number;
  prior?: BetaPrior;
}): BanditSimulationResult {
  const { rates, horizon } = input;
  const batchSize = input.batchSize ?? 500;
  if (rates.length < 2) throw new StatsError(`simulateBandit needs at least 2 arm rates (got ${rates.length})`);
  rates.forEach((rate, index) => assertProbability(`rates[${index}]`, rate));
  if (!Number.isInteger(horizon) || horizon < 1) throw new StatsError(`horizon must be a positive integer (got ${horizon})`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new StatsError(`batchSize must be a positive integer (got ${batchSize})`);
  const outcomeDraw = seededRandom(input.seed ?? 1);
  const assignmentDraw = seededRandom((input.seed ?? 1) ^ 0x9e3779b9);
  const bestRate = Math.max(...rates);
  const k = rates.length;
  const posterior = rates.map(() => ({ n: 0, successes: 0 }));
  const pulls = new Array<number>(k).fill(0);
  let weights = new Array<number>(k).fill(1 / k);
  let banditRegret = 0;
  let fixedRegret = 0;
  let banditRewards = 0;
  let fixedRewards = 0;
  const options = { ...(input.floor === undefined ? {} : { floor: input.floor }), ...(input.prior === undefined ? {} : { prior: input.prior }) };
  for (let start = 0; start < horizon; start += batchSize) {
    const end = Math.min(horizon, start + batchSize);
    for (let unit = start; unit < end; unit++) {
      const u = outcomeDraw();
      const fixedArm = unit % k;
      fixedRegret += bestRate - rates[fixedArm]!;
      if (u < rates[fixedArm]!) fixedRewards += 1;
      let pick = assignmentDraw();
      let arm = 0;
      while (arm < k - 1 && pick >= weights[arm]!) {
        pick -= weights[arm]!;
        arm++;
      }
      pulls[arm]! += 1;
      banditRegret += bestRate - rates[arm]!;
      const converted = u < rates[arm]!;
      if (converted) banditRewards += 1;
      const state = posterior[arm]!;
      posterior[arm] = { n: state.n + 1, successes: state.successes + (converted ? 1 : 0) };
    }
    weights = [...thompsonAllocation(posterior, options).weights];
  }
  return { horizon, banditRegret, fixedRegret, banditRewards, fixedRewards, banditPulls: pulls, finalWeights: weights };
}
