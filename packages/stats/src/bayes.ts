import { betaCdf, betaPdf } from './internal/distributions.js';
import { integrate } from './internal/integrate.js';
import { assertCount } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { BayesianBinaryResult, BetaPrior, BinaryArm } from './types.js';

const UNIFORM: BetaPrior = { alpha: 1, beta: 1 };

function posterior(where: string, arm: BinaryArm, prior: BetaPrior): BetaPrior {
  // n = 0 is allowed here: with no data the posterior is the prior (a bandit's first batch).
  assertCount(`${where}.n`, arm.n);
  assertCount(`${where}.successes`, arm.successes);
  if (arm.successes > arm.n) throw new StatsError(`${where}.successes (${arm.successes}) cannot exceed ${where}.n (${arm.n})`);
  if (!(prior.alpha > 0 && prior.beta > 0)) throw new StatsError(`prior alpha and beta must be positive (got ${prior.alpha}, ${prior.beta})`);
  return { alpha: prior.alpha + arm.successes, beta: prior.beta + arm.n - arm.successes };
}

/**
 * The part of [0, 1] where a Beta density is not negligible: mean ± 40 sd, clipped. Beyond 40 sd the
 * Beta tail mass is far below 1e-15 for every posterior with a, b ≥ 1, and narrowing the range lets
 * the quadrature resolve sharp posteriors from large samples.
 */
function support(p: BetaPrior): [number, number] {
  const total = p.alpha + p.beta;
  const mean = p.alpha / total;
  const sd = Math.sqrt((p.alpha * p.beta) / (total * total * (total + 1)));
  return [Math.max(0, mean - 40 * sd), Math.min(1, mean + 40 * sd)];
}

/**
 * Bayesian comparison of a binary metric with Beta priors (default Beta(1, 1)) and binomial
 * likelihoods, so the posteriors are Beta(α + x, β + n − x). Exact, no Monte Carlo: with whole
 * posterior parameters (the default prior) and up to 200,000 of them by Miller's (2015) finite
 * sums (see `greaterBySum`), otherwise by adaptive Gauss–Kronrod quadrature (tolerance 1e-13):
 * - chance to beat control P(p_t > p_c) = ∫ f_t(x)·F_c(x) dx;
 * - expected loss of choosing the variant E[max(p_c − p_t, 0)]
 *   = ∫ f_t(x)·[μ_c·(1 − I_x(α_c + 1, β_c)) − x·(1 − I_x(α_c, β_c))] dx, using
 *   ∫ₓ¹ c·f_c(c) dc = μ_c·(1 − I_x(α_c + 1, β_c)); symmetric for the baseline.
 * Checked against the closed form of Miller (2015, "Formulas for Bayesian A/B testing") and scipy
 * quad, and the two ways of computing against each other. Both losses are on the absolute rate scale.
 * @example
 * const result = bayesianBinary({ n: 1000, successes: 100 }, { n: 1000, successes: 120 });
 * result.chanceToBeat; // ≈ 0.92
 */
export function bayesianBinary(baseline: BinaryArm, variant: BinaryArm, options: { prior?: BetaPrior } = {}): BayesianBinaryResult {
  const prior = options.prior ?? UNIFORM;
  const c = posterior('baseline', baseline, prior);
  const t = posterior('variant', variant, prior);
  const chanceToBeat = probabilityGreater(t, c);
  return {
    chanceToBeat,
    expectedLossVariant: expectedShortfall(t, c),
    expectedLossBaseline: expectedShortfall(c, t),
    baselinePosterior: c,
    variantPosterior: t,
  };
}

/**
 * Largest α + β of a posterior whose finite sum is used: a sum costs a logarithm and an exponential
 * per unit of α + β. Measured per comparison (five sums): 0.45 ms at 6,600 units per arm against
 * 4.7 ms by quadrature, 6.8 ms at 66,000 against 103 ms; the bound keeps a sum near 20 ms.
 */
const SUM_MAX_TERMS = 200_000;

const whole = (p: BetaPrior): boolean => Number.isInteger(p.alpha) && Number.isInteger(p.beta);

/** Whether the finite sums apply: whole parameters, and the smaller α + β (plus `extra`) within SUM_MAX_TERMS. */
const summable = (x: BetaPrior, y: BetaPrior, extra = 0): boolean =>
  whole(x) && whole(y) && Math.min(x.alpha + x.beta, y.alpha + y.beta) + extra <= SUM_MAX_TERMS;

/**
 * P(X > Y) for X ~ Beta(ax, bx) with whole ax and bx, Y ~ Beta(ay, by), by Miller's (2015) sum
 *   Σ_{i<ax} B(ay + i, by + bx) / ((bx + i)·B(1 + i, bx)·B(ay, by)).
 * Term 0 is B(ay, by + bx) / B(ay, by) = Π_{k<bx} (by + k)/(ay + by + k), and each next term is
 * the previous one times (ay + i)/(ay + by + bx + i) · (bx + i)/(1 + i). Terms are carried as
 * logarithms: with large samples the first ones lie far below the smallest double while the sum
 * is of order 1. Every term is positive, so the sum loses no precision.
 */
function greaterBySum(x: BetaPrior, y: BetaPrior): number {
  let logTerm = 0;
  for (let k = 0; k < x.beta; k++) logTerm += Math.log1p(-y.alpha / (y.alpha + y.beta + k));
  const total = y.alpha + y.beta + x.beta;
  let sum = 0;
  for (let i = 0; i < x.alpha; i++) {
    sum += Math.exp(logTerm);
    logTerm += Math.log(((y.alpha + i) / (total + i)) * ((x.beta + i) / (1 + i)));
  }
  return sum;
}

/** P(X > Y) for X ~ Beta(x), Y ~ Beta(y): a finite sum when one applies, else quadrature over the support of X. */
function probabilityGreater(x: BetaPrior, y: BetaPrior): number {
  let value: number;
  if (summable(x, y)) {
    // Sum over the smaller posterior; P(X > Y) = 1 − P(Y > X) (ties have probability zero).
    value = x.alpha + x.beta <= y.alpha + y.beta ? greaterBySum(x, y) : 1 - greaterBySum(y, x);
  } else {
    const [lo, hi] = support(x);
    value = integrate((u) => betaPdf(u, x.alpha, x.beta) * betaCdf(u, y.alpha, y.beta), lo, hi);
  }
  return Math.min(1, Math.max(0, value));
}

/** E[max(Y − X, 0)] for X ~ Beta(x) (chosen) and Y ~ Beta(y) (the alternative). */
function expectedShortfall(x: BetaPrior, y: BetaPrior): number {
  const meanX = x.alpha / (x.alpha + x.beta);
  const meanY = y.alpha / (y.alpha + y.beta);
  // The sums below read the posteriors with α + 1: those must qualify too.
  if (summable(x, y, 1)) {
    // E[Y·1(Y > X)] − E[X·1(Y > X)] with v·f(v) = mean·f⁺(v), f⁺ the Beta(α + 1, β) density
    // (Stucchio 2015): μ_Y·P(Y⁺ > X) − μ_X·P(Y > X⁺).
    const value =
      meanY * probabilityGreater({ alpha: y.alpha + 1, beta: y.beta }, x) - meanX * probabilityGreater(y, { alpha: x.alpha + 1, beta: x.beta });
    return Math.max(0, value);
  }
  const [lo, hi] = support(x);
  const value = integrate(
    (u) => betaPdf(u, x.alpha, x.beta) * (meanY * (1 - betaCdf(u, y.alpha + 1, y.beta)) - u * (1 - betaCdf(u, y.alpha, y.beta))),
    lo,
    hi,
  );
  return Math.max(0, value);
}

/**
 * Probability that each arm has the highest rate, P(arm i best) = ∫ f_i(x)·Π_{j≠i} F_j(x) dx, by
 * quadrature (exact to ~1e-10; ties have probability zero for continuous posteriors). Arms are in
 * input order; the result sums to 1 up to quadrature error.
 * @example
 * probabilityBest([{ n: 100, successes: 10 }, { n: 100, successes: 15 }, { n: 100, successes: 12 }]);
 */
export function probabilityBest(arms: readonly BinaryArm[], options: { prior?: BetaPrior } = {}): number[] {
  const prior = options.prior ?? UNIFORM;
  if (arms.length < 2) throw new StatsError(`probabilityBest needs at least 2 arms (got ${arms.length})`);
  const posteriors = arms.map((arm, index) => posterior(`arms[${index}]`, arm, prior));
  return posteriors.map((own, i) => {
    const [lo, hi] = support(own);
    const value = integrate(
      (u) => {
        let product = betaPdf(u, own.alpha, own.beta);
        for (let j = 0; j < posteriors.length && product > 0; j++) {
          if (j !== i) product *= betaCdf(u, posteriors[j]!.alpha, posteriors[j]!.beta);
        }
        return product;
      },
      lo,
      hi,
    );
    return Math.min(1, Math.max(0, value));
  });
}
