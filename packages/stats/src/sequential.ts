import { normalCdf, normalQuantile, normalSf } from './internal/distributions.js';
import { bisect } from './internal/integrate.js';
import { assertProbability } from './internal/validate.js';
import { StatsError } from './errors.js';
import type { Boundaries, BoundaryLook, ConfidenceSequenceResult, SequentialDecision } from './types.js';

/**
 * Cumulative two-sided α spent by information fraction t under the Lan–DeMets spending function of
 * O'Brien–Fleming type (Lan & DeMets 1983, Biometrika 70:659–663), applied to each side with α/2 —
 * α₁(t) = 2 − 2Φ(z_{1−α/4}/√t) per side, so α(t) = 2·α₁(t) in total. This is the convention of
 * Jennison & Turnbull (2000, §7.2), gsDesign `sfLDOF` and rpact `asOF` for symmetric two-sided
 * designs, and the one whose published boundaries (4.3326, 2.9631, 2.3590, 2.0141) the tests use.
 * @example
 * obrienFlemingSpending(1, 0.05); // 0.05
 */
export function obrienFlemingSpending(fraction: number, alpha: number): number {
  if (fraction <= 0) return 0;
  const perSide = 2 * normalSf(normalQuantile(1 - alpha / 4) / Math.sqrt(fraction));
  return Math.min(alpha, 2 * perSide);
}

/** Values of a sub-density on a uniform Simpson grid over (−bound, bound) of the score scale. */
interface GridDensity {
  readonly points: Float64Array;
  readonly weights: Float64Array; // Simpson weights × density, so Σ weights·g(x) ≈ ∫ density·g
}

function simpsonGrid(bound: number, spacing: number): { points: Float64Array; simpson: Float64Array } {
  let intervals = Math.max(2, Math.ceil((2 * bound) / spacing));
  if (intervals % 2 === 1) intervals += 1;
  intervals = Math.min(intervals, 6000);
  const h = (2 * bound) / intervals;
  const points = new Float64Array(intervals + 1);
  const simpson = new Float64Array(intervals + 1);
  for (let i = 0; i <= intervals; i++) {
    points[i] = -bound + i * h;
    simpson[i] = (h / 3) * (i === 0 || i === intervals ? 1 : i % 2 === 1 ? 4 : 2);
  }
  return { points, simpson };
}

/**
 * Two-sided group-sequential efficacy boundaries for any information fractions, with the α spent
 * at each look given by the Lan–DeMets O'Brien–Fleming spending function. The crossing
 * probabilities are computed by exact recursive numerical integration over the continuation region
 * (Armitage, McPherson & Rowe 1969, JRSS A 132:235–244; Jennison & Turnbull 2000, "Group Sequential
 * Methods with Applications to Clinical Trials", ch. 19): on the score scale S_k = Z_k·√t_k the
 * increments are independent N(0, t_k − t_{k−1}); the sub-density of S_k on |S_k| < b_k is carried
 * from look to look on a Simpson grid, and b_k is found by bisection so that the probability of
 * first crossing at look k equals α(t_k) − α(t_{k−1}). Four equally spaced looks at α = 0.05 give
 * z = 4.3326, 2.9631, 2.3590, 2.0141 (the values tabulated by gsDesign `sfLDOF` and rpact `asOF`).
 * @example
 * groupSequentialBoundaries([0.25, 0.5, 0.75, 1], { alpha: 0.05 }).looks.map((look) => look.z);
 * // [4.3326, 2.9631, 2.3590, 2.0141] (rounded)
 */
export function groupSequentialBoundaries(fractions: readonly number[], options: { alpha?: number } = {}): Boundaries {
  const alpha = options.alpha ?? 0.05;
  assertProbability('alpha', alpha);
  if (fractions.length === 0) throw new StatsError('boundaries need at least one look (information fraction)');
  fractions.forEach((t, index) => {
    if (!(t > 0 && t <= 1)) throw new StatsError(`information fraction ${index + 1} must be in (0, 1] (got ${t})`);
    if (index > 0 && !(t > fractions[index - 1]!)) throw new StatsError(`information fractions must increase strictly (look ${index + 1}: ${t} after ${fractions[index - 1]})`);
  });
  const looks: BoundaryLook[] = [];
  let density: GridDensity | undefined;
  let previousFraction = 0;
  let previousSpent = 0;
  let previousBound = 0;
  for (const fraction of fractions) {
    const spent = obrienFlemingSpending(fraction, alpha);
    const target = spent - previousSpent;
    let z: number;
    let bound: number;
    if (density === undefined) {
      // First look: S_1 ~ N(0, t_1), so the boundary is a normal quantile.
      z = target > 0 ? -normalQuantile(target / 2) : Infinity;
      bound = z * Math.sqrt(fraction);
    } else {
      const current = density;
      const sd = Math.sqrt(fraction - previousFraction);
      const crossing = (b: number): number => {
        let total = 0;
        for (let i = 0; i < current.points.length; i++) {
          const u = current.points[i]!;
          total += current.weights[i]! * (normalCdf((u - b) / sd) + normalCdf((-b - u) / sd));
        }
        return total;
      };
      bound = target > 0 ? bisect((b) => crossing(b) - target, 0, previousBound + 12 * sd, 1e-12) : Infinity;
      z = bound / Math.sqrt(fraction);
    }
    looks.push({ fraction, z, nominalPValue: Number.isFinite(z) ? 2 * normalSf(z) : 0, cumulativeAlpha: spent, incrementalAlpha: target });
    // Carry the sub-density of S_k on the continuation region to the next look.
    const last = looks.length === fractions.length;
    if (Number.isFinite(bound) && !last) {
      const sd = Math.sqrt(fraction - previousFraction);
      // Simpson's error is O(h⁴): this spacing keeps boundaries within ~1e-9 of the Genz–Bretz reference.
      const spacing = Math.min(0.006, sd / 30);
      const { points, simpson } = simpsonGrid(bound, spacing);
      const weights = new Float64Array(points.length);
      for (let j = 0; j < points.length; j++) {
        const s = points[j]!;
        let value: number;
        if (density === undefined) {
          value = Math.exp((-s * s) / (2 * fraction)) / Math.sqrt(2 * Math.PI * fraction);
        } else {
          value = 0;
          for (let i = 0; i < density.points.length; i++) {
            const d = (s - density.points[i]!) / sd;
            value += density.weights[i]! * Math.exp(-0.5 * d * d);
          }
          value /= sd * Math.sqrt(2 * Math.PI);
        }
        weights[j] = value * simpson[j]!;
      }
      density = { points, weights };
    }
    previousFraction = fraction;
    previousSpent = spent;
    previousBound = Number.isFinite(bound) ? bound : previousBound;
  }
  return { alpha, spending: 'obrien-fleming', looks };
}

/**
 * The decision at look `look` (1-based) for an observed z statistic: stop for efficacy when
 * |z| reaches the boundary, otherwise continue (at the last look, "continue" means the experiment
 * ends without a significant difference).
 * @example
 * const plan = groupSequentialBoundaries([0.25, 0.5, 0.75, 1]);
 * sequentialDecision(plan, 2, 3.1); // 'stop_efficacy'
 */
export function sequentialDecision(boundaries: Boundaries, look: number, z: number): SequentialDecision {
  const boundary = boundaries.looks[look - 1];
  if (!Number.isInteger(look) || boundary === undefined) {
    throw new StatsError(`look must be an integer from 1 to ${boundaries.looks.length} (got ${look})`);
  }
  if (!Number.isFinite(z)) throw new StatsError(`z must be a finite number (got ${z})`);
  return Math.abs(z) >= boundary.z ? 'stop_efficacy' : 'continue';
}

/**
 * Always-valid confidence sequence for a difference, safe to look at after every unit: the
 * asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas (2024, "Time-uniform
 * central limit theory and asymptotic confidence sequences", Ann. Statist.; arXiv:2103.06476,
 * Theorem 2.2 with the normal-mixture boundary), tuned as GrowthBook's gbstats does:
 *   ρ = √((−2 ln α + ln(−2 ln α + 1)) / n*),   s² = SE²·N,
 *   half-width = √s² · √( 2(Nρ² + 1)/(N²ρ²) · ln(√(Nρ² + 1)/α) ),
 * where N is the number of units so far (both arms), SE the usual standard error of the difference
 * and n* the expected sample size (`expectedSampleSize`, the N at which the width is smallest
 * relative to a fixed-n interval).
 * @example
 * confidenceSequence({ estimate: 0.02, standardError: 0.008 }, 5000, { expectedSampleSize: 10000 });
 */
export function confidenceSequence(
  comparison: { readonly estimate: number; readonly standardError: number },
  units: number,
  options: { alpha?: number; expectedSampleSize?: number } = {},
): ConfidenceSequenceResult {
  const alpha = options.alpha ?? 0.05;
  const tuning = options.expectedSampleSize ?? 5000;
  assertProbability('alpha', alpha);
  if (!(tuning > 0)) throw new StatsError(`expectedSampleSize must be positive (got ${tuning})`);
  if (!(units > 0)) throw new StatsError(`units must be positive (got ${units})`);
  if (!(comparison.standardError >= 0)) throw new StatsError(`standardError must be ≥ 0 (got ${comparison.standardError})`);
  const logAlpha = Math.log(alpha);
  const rho = Math.sqrt((-2 * logAlpha + Math.log(-2 * logAlpha + 1)) / tuning);
  const s2 = comparison.standardError * comparison.standardError * units;
  const nr2 = units * rho * rho;
  const halfWidth = Math.sqrt(s2) * Math.sqrt(((2 * (nr2 + 1)) / (units * units * rho * rho)) * Math.log(Math.sqrt(nr2 + 1) / alpha));
  const interval: [number, number] = [comparison.estimate - halfWidth, comparison.estimate + halfWidth];
  return { estimate: comparison.estimate, interval, halfWidth, rho, significant: interval[0] > 0 || interval[1] < 0 };
}
