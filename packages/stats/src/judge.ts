import { binomialCdf, binomialPmf, normalQuantile, tCdf, tQuantile } from './internal/distributions.js';
import { Z95 } from './internal/comparison.js';
import { assertCount, assertFinite, assertProbability } from './internal/validate.js';
import { meanAndVariance } from './internal/welch.js';
import { StatsError } from './errors.js';
import type { BinomialTestResult, Interval, KappaResult, MeanArm, MeanInterval, SpearmanResult } from './types.js';

/**
 * Cohen's kappa between two raters (e.g. an LLM judge and a human, or two judge versions) from a
 * k × k table `counts[a][b]` (rater A said category a, rater B said b), unweighted or with quadratic
 * agreement weights w_ab = 1 − (a − b)²/(k − 1)² for ordinal scores (Cohen 1960; Cohen 1968,
 * Psychol. Bull. 70:213–220). κ = (p_o − p_e)/(1 − p_e) with p_o = Σ w·p_ab, p_e = Σ w·p_a·p_b.
 * Large-sample standard error of Fleiss, Cohen & Everitt (1969, Psychol. Bull. 72:323–327):
 * var = [Σ p_ab(w_ab − (w̄_a + w̄_b)(1 − κ))² − (κ − p_e(1 − κ))²] / (n(1 − p_e)²), where
 * w̄_a = Σ_b p_b·w_ab and w̄_b = Σ_a p_a·w_ab; 95% interval κ ± 1.96·SE. `agreement` is the raw share
 * of items on the diagonal.
 * @example
 * cohensKappa([[20, 5], [10, 15]]).kappa; // 0.4
 */
export function cohensKappa(counts: readonly (readonly number[])[], options: { weights?: 'none' | 'quadratic' } = {}): KappaResult {
  const weighting = options.weights ?? 'none';
  const k = counts.length;
  if (k < 2) throw new StatsError(`kappa needs a square table with at least 2 categories (got ${k} rows)`);
  counts.forEach((row, a) => {
    if (row.length !== k) throw new StatsError(`kappa table row ${a} has ${row.length} columns; the table must be ${k} × ${k} (same categories for both raters)`);
    row.forEach((count, b) => assertCount(`counts[${a}][${b}]`, count));
  });
  const n = counts.reduce((acc, row) => acc + row.reduce((x, y) => x + y, 0), 0);
  if (n === 0) throw new StatsError('kappa table is empty: at least one rated item is needed');
  const weight = (a: number, b: number): number => (weighting === 'quadratic' ? 1 - ((a - b) * (a - b)) / ((k - 1) * (k - 1)) : a === b ? 1 : 0);
  const p = counts.map((row) => row.map((count) => count / n));
  const rowShare = p.map((row) => row.reduce((x, y) => x + y, 0));
  const colShare = Array.from({ length: k }, (_, b) => p.reduce((acc, row) => acc + row[b]!, 0));
  let observed = 0;
  let expected = 0;
  let agreement = 0;
  for (let a = 0; a < k; a++) {
    agreement += p[a]![a]!;
    for (let b = 0; b < k; b++) {
      observed += weight(a, b) * p[a]![b]!;
      expected += weight(a, b) * rowShare[a]! * colShare[b]!;
    }
  }
  if (expected >= 1) throw new StatsError('kappa is undefined when both raters use a single category (chance agreement is 1)');
  const kappa = (observed - expected) / (1 - expected);
  const rowMeanWeight = Array.from({ length: k }, (_, a) => colShare.reduce((acc, share, b) => acc + share * weight(a, b), 0));
  const colMeanWeight = Array.from({ length: k }, (_, b) => rowShare.reduce((acc, share, a) => acc + share * weight(a, b), 0));
  let sum = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const term = weight(a, b) - (rowMeanWeight[a]! + colMeanWeight[b]!) * (1 - kappa);
      sum += p[a]![b]! * term * term;
    }
  }
  const tail = kappa - expected * (1 - kappa);
  const variance = Math.max(0, (sum - tail * tail) / (n * (1 - expected) * (1 - expected)));
  const standardError = Math.sqrt(variance);
  return { agreement, kappa, standardError, ci95: [kappa - Z95 * standardError, kappa + Z95 * standardError], weights: weighting, n };
}

/**
 * Exact two-sided binomial test of `successes` out of `n` against probability `p` (default 0.5, e.g.
 * position bias: how often the first-shown answer wins). The p-value sums the probabilities of all
 * outcomes no more likely than the observed one, with scipy's relative tolerance 1e-7 for ties
 * (scipy.stats.binomtest; Clopper & Pearson's "minimum likelihood" method, Hollander & Wolfe 1999).
 * @example
 * binomialTest(62, 100).pValue; // ≈ 0.0210
 */
export function binomialTest(successes: number, n: number, p = 0.5): BinomialTestResult {
  assertCount('n', n);
  assertCount('successes', successes);
  if (successes > n) throw new StatsError(`successes (${successes}) cannot exceed n (${n})`);
  assertProbability('p', p);
  const result = (pValue: number): BinomialTestResult => ({ successes, n, p, proportion: n > 0 ? successes / n : Number.NaN, pValue: Math.min(1, pValue) });
  if (n === 0) return result(1);
  const density = binomialPmf(successes, n, p);
  const limit = density * (1 + 1e-7);
  const mean = n * p;
  if (successes === mean) return result(1);
  if (successes < mean) {
    // Other tail: outcomes ≥ ⌈np⌉ no more likely than the observed one.
    let lo = Math.ceil(mean);
    let hi = n;
    if (binomialPmf(hi, n, p) > limit) return result(binomialCdf(successes, n, p));
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (binomialPmf(mid, n, p) <= limit) hi = mid;
      else lo = mid + 1;
    }
    return result(binomialCdf(successes, n, p) + (1 - binomialCdf(lo - 1, n, p)));
  }
  // successes > mean: outcomes ≤ ⌊np⌋ no more likely than the observed one.
  let lo = 0;
  let hi = Math.floor(mean);
  if (binomialPmf(0, n, p) > limit) return result(1 - binomialCdf(successes - 1, n, p));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (binomialPmf(mid, n, p) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return result(binomialCdf(lo, n, p) + (1 - binomialCdf(successes - 1, n, p)));
}

/** Ranks 1..n with ties given their average rank. */
function averageRanks(values: readonly number[]): Float64Array {
  const order = values.map((_, index) => index).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let m = i; m <= j; m++) ranks[order[m]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman rank correlation with average ranks for ties, and the two-sided p-value from
 * t = ρ·√((n − 2)/(1 − ρ²)) on n − 2 degrees of freedom (as scipy.stats.spearmanr; Zar 1972,
 * JASA 67:578–580). Use it for verbosity bias: judge score vs answer length.
 * @example
 * spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).rho; // 0.8207…
 */
export function spearman(x: readonly number[], y: readonly number[]): SpearmanResult {
  if (x.length !== y.length) throw new StatsError(`spearman needs paired values: x has ${x.length}, y has ${y.length}`);
  const n = x.length;
  if (n < 3) throw new StatsError(`spearman needs at least 3 pairs (got ${n})`);
  x.forEach((v, i) => assertFinite(`x[${i}]`, v));
  y.forEach((v, i) => assertFinite(`y[${i}]`, v));
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mean = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = rx[i]! - mean;
    const dy = ry[i]! - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return { rho: Number.NaN, pValue: Number.NaN, n };
  const rho = Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
  if (Math.abs(rho) === 1) return { rho, pValue: 0, n };
  const t = rho * Math.sqrt((n - 2) / (1 - rho * rho));
  return { rho, pValue: Math.min(1, 2 * tCdf(-Math.abs(t), n - 2)), n };
}

/**
 * Wilson score interval for a proportion (e.g. a win rate): (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²))
 * / (1 + z²/n) (Wilson 1927, JASA 22:209–212; Newcombe 1998, Stat. Med. 17:857–872, method 3).
 * @example
 * wilsonInterval(81, 263); // ≈ [0.2553, 0.3662]
 */
export function wilsonInterval(successes: number, n: number, options: { level?: number } = {}): Interval {
  assertCount('n', n);
  assertCount('successes', successes);
  if (successes > n) throw new StatsError(`successes (${successes}) cannot exceed n (${n})`);
  if (n === 0) throw new StatsError('a Wilson interval needs n ≥ 1');
  const level = options.level ?? 0.95;
  assertProbability('level', level);
  const z = normalQuantile(1 - (1 - level) / 2);
  const phat = successes / n;
  const z2 = z * z;
  const center = (phat + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/**
 * Mean with a Student t interval on n − 1 degrees of freedom (e.g. the mean judge score of one arm
 * in one time window).
 * @example
 * meanTInterval({ n: 4, sum: 14, sumSquares: 54 }); // mean 3.5
 */
export function meanTInterval(arm: MeanArm, options: { level?: number } = {}): MeanInterval {
  const level = options.level ?? 0.95;
  assertProbability('level', level);
  const { mean, variance } = meanAndVariance('arm', arm);
  const standardError = Math.sqrt(variance / arm.n);
  const half = tQuantile(1 - (1 - level) / 2, arm.n - 1) * standardError;
  return { n: arm.n, mean, standardError, ci95: [mean - half, mean + half] };
}

/**
 * Per-window means with t intervals, in window order; windows with fewer than 2 units are kept
 * with a NaN interval so that a gap stays visible.
 * @example
 * windowMeans([{ window: '2026-11-22T10:00Z', n: 12, sum: 40, sumSquares: 150 }]);
 */
export function windowMeans<W extends string | number>(
  windows: readonly ({ readonly window: W } & MeanArm)[],
): ({ readonly window: W } & MeanInterval)[] {
  return [...windows]
    .sort((a, b) => (a.window < b.window ? -1 : a.window > b.window ? 1 : 0))
    .map((w) => {
      if (w.n < 2) {
        const mean = w.n === 1 ? w.sum : Number.NaN;
        return { window: w.window, n: w.n, mean, standardError: Number.NaN, ci95: [Number.NaN, Number.NaN] as Interval };
      }
      return { window: w.window, ...meanTInterval(w) };
    });
}

