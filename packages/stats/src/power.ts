import { normalQuantile } from './internal/distributions.js';
import { bisect } from './internal/integrate.js';
import { assertProbability } from './internal/validate.js';
import { ratioVariance } from './ratio.js';
import { StatsError } from './errors.js';
import type { MdeResult, RatioArm, SampleSizeResult } from './types.js';

/** Options shared by every sample size calculation. */
export interface PowerOptions {
  /** Two-sided significance level (default 0.05). */
  readonly alpha?: number;
  /** Power 1 − β (default 0.8). */
  readonly power?: number;
  /** Allocation weights, control first (default equal over `arms`). */
  readonly allocation?: readonly number[];
  /** Number of arms including control (default 2, or the allocation's length). */
  readonly arms?: number;
  /** Exposed units per day, to report the days needed. */
  readonly dailyUnits?: number;
}

function design(options: PowerOptions): { zAlpha: number; zBeta: number; weights: number[] } {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  assertProbability('alpha', alpha);
  assertProbability('power', power);
  const arms = options.arms ?? options.allocation?.length ?? 2;
  if (!Number.isInteger(arms) || arms < 2) throw new StatsError(`arms must be an integer ≥ 2 (got ${arms})`);
  const raw = options.allocation ?? new Array<number>(arms).fill(1);
  if (raw.length !== arms) throw new StatsError(`allocation has ${raw.length} weights but there are ${arms} arms; give one weight per arm, control first`);
  raw.forEach((w, index) => {
    if (!(w > 0) || !Number.isFinite(w)) throw new StatsError(`allocation weight ${index + 1} must be positive (got ${w})`);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  if (options.dailyUnits !== undefined && !(options.dailyUnits > 0)) throw new StatsError(`dailyUnits must be positive (got ${options.dailyUnits})`);
  return { zAlpha: normalQuantile(1 - alpha / 2), zBeta: normalQuantile(power), weights: raw.map((w) => w / total) };
}

function finish(totalUnits: number, weights: number[], dailyUnits: number | undefined): SampleSizeResult {
  // Rounding each arm up (with a guard against 1470.0000000002-style float noise) keeps every
  // pairwise comparison at or above the required size.
  const perArm = weights.map((w) => Math.ceil(w * totalUnits - 1e-9));
  const total = perArm.reduce((a, b) => a + b, 0);
  return { perArm, total, allocation: weights, days: dailyUnits === undefined ? undefined : Math.ceil(total / dailyUnits) };
}

/** Total units N (continuous) for one control-vs-treatment proportion comparison. */
function proportionsTotal(pc: number, pt: number, wc: number, wt: number, zAlpha: number, zBeta: number): number {
  const pooled = (wc * pc + wt * pt) / (wc + wt);
  const null0 = Math.sqrt(pooled * (1 - pooled) * (1 / wc + 1 / wt));
  const alt = Math.sqrt((pc * (1 - pc)) / wc + (pt * (1 - pt)) / wt);
  const root = (zAlpha * null0 + zBeta * alt) / (pt - pc);
  return root * root;
}

/**
 * Sample size for a difference in proportions by the normal approximation, pooled variance under
 * H0 and unpooled under H1 (Fleiss, Levin & Paik 2003, "Statistical Methods for Rates and
 * Proportions", 3rd ed., eq. 4.14, generalised to allocation weights w):
 *   N = [z_{1−α/2}·√(p̄(1−p̄)(1/w_c + 1/w_t)) + z_{1−β}·√(p_c(1−p_c)/w_c + p_t(1−p_t)/w_t)]² / δ²,
 * p̄ = (w_c·p_c + w_t·p_t)/(w_c + w_t), n_arm = ⌈w_arm·N⌉. With more than two arms each treatment is
 * compared with control at the same α (no multiplicity correction) and the largest N is used.
 * (0.60, +0.05) → 1,471 per arm, 2,942 total; (0.60, +0.02) → 9,336 per arm, 18,672 total.
 * @example
 * sampleSizeProportions({ baseline: 0.6, mde: 0.05 }).total; // 2942
 */
export function sampleSizeProportions(input: { baseline: number; mde: number } & PowerOptions): SampleSizeResult {
  const { zAlpha, zBeta, weights } = design(input);
  assertProbability('baseline', input.baseline);
  const pt = input.baseline + input.mde;
  if (input.mde === 0 || !(pt > 0 && pt < 1)) {
    throw new StatsError(`mde must be non-zero and keep baseline + mde strictly between 0 and 1 (baseline ${input.baseline}, mde ${input.mde})`);
  }
  const wc = weights[0]!;
  let total = 0;
  for (const wt of weights.slice(1)) total = Math.max(total, proportionsTotal(input.baseline, pt, wc, wt, zAlpha, zBeta));
  return finish(total, weights, input.dailyUnits);
}

/**
 * Sample size for a difference in means with known per-unit standard deviation σ (normal
 * approximation; Chow, Shao & Wang 2008, "Sample Size Calculations in Clinical Research", §3.2):
 * N = (z_{1−α/2} + z_{1−β})²·σ²·(1/w_c + 1/w_t)/δ².
 * @example
 * sampleSizeMeans({ sd: 10, mde: 1 }).perArm; // [1570, 1570]
 */
export function sampleSizeMeans(input: { sd: number; mde: number } & PowerOptions): SampleSizeResult {
  const { zAlpha, zBeta, weights } = design(input);
  if (!(input.sd > 0)) throw new StatsError(`sd must be positive (got ${input.sd})`);
  if (!(input.mde !== 0 && Number.isFinite(input.mde))) throw new StatsError(`mde must be a non-zero number (got ${input.mde})`);
  const wc = weights[0]!;
  const z = zAlpha + zBeta;
  let total = 0;
  for (const wt of weights.slice(1)) total = Math.max(total, (z * z * input.sd * input.sd * (1 / wc + 1 / wt)) / (input.mde * input.mde));
  return finish(total, weights, input.dailyUnits);
}

/**
 * Sample size for a ratio metric from a pilot: the per-unit variance n·var(R) of the delta method
 * (see `ratioVariance`) plays the role of σ² in {@link sampleSizeMeans}; `mde` is on the ratio scale.
 * @example
 * sampleSizeRatio({ pilot: pilotSums, mde: 25 }); // e.g. 25 ms per call
 */
export function sampleSizeRatio(input: { pilot: RatioArm; mde: number } & PowerOptions): SampleSizeResult {
  const { variance } = ratioVariance(input.pilot, 'pilot');
  return sampleSizeMeans({ ...input, sd: Math.sqrt(variance * input.pilot.n) });
}

function unitsPerArm(n: number, weights: number[]): number[] {
  return weights.map((w) => Math.floor(w * n));
}

/**
 * Minimum detectable effect for proportions with `n` total units: the δ > 0 for which
 * {@link sampleSizeProportions}' N equals n (solved by bisection, since the H1 variance depends on
 * δ). For more than two arms, the control-vs-smallest-arm comparison decides.
 * @example
 * mdeProportions({ baseline: 0.6, n: 5000 }).absolute; // ≈ 0.0383
 */
export function mdeProportions(input: { baseline: number; n: number } & PowerOptions): MdeResult {
  const { zAlpha, zBeta, weights } = design(input);
  assertProbability('baseline', input.baseline);
  if (!(input.n > 0) || !Number.isFinite(input.n)) throw new StatsError(`n must be a positive number of units (got ${input.n})`);
  const wc = weights[0]!;
  const wt = Math.min(...weights.slice(1));
  const upper = 1 - input.baseline;
  const needed = (delta: number) => proportionsTotal(input.baseline, input.baseline + delta, wc, wt, zAlpha, zBeta);
  if (needed(upper * (1 - 1e-12)) > input.n) {
    throw new StatsError(`n = ${input.n} is too small to detect any increase from baseline ${input.baseline} at this α and power`);
  }
  const absolute = bisect((delta) => needed(delta) - input.n, 1e-12, upper * (1 - 1e-12), 1e-14);
  return { absolute, relative: absolute / input.baseline, perArm: unitsPerArm(input.n, weights), allocation: weights };
}

/**
 * Minimum detectable difference in means with `n` total units and per-unit σ:
 * δ = (z_{1−α/2} + z_{1−β})·σ·√((1/w_c + 1/w_t)/n). `relative` is δ/baseline when a baseline mean is given.
 * @example
 * mdeMeans({ sd: 10, n: 3140 }).absolute; // ≈ 1.0
 */
export function mdeMeans(input: { sd: number; n: number; baseline?: number } & PowerOptions): MdeResult {
  const { zAlpha, zBeta, weights } = design(input);
  if (!(input.sd > 0)) throw new StatsError(`sd must be positive (got ${input.sd})`);
  if (!(input.n > 0) || !Number.isFinite(input.n)) throw new StatsError(`n must be a positive number of units (got ${input.n})`);
  const wc = weights[0]!;
  const wt = Math.min(...weights.slice(1));
  const absolute = (zAlpha + zBeta) * input.sd * Math.sqrt((1 / wc + 1 / wt) / input.n);
  return {
    absolute,
    relative: input.baseline === undefined || input.baseline === 0 ? Number.NaN : absolute / input.baseline,
    perArm: unitsPerArm(input.n, weights),
    allocation: weights,
  };
}
