/**
 * The asymptotic quantile interval's sufficient statistics written out from their definition
 * (Deng, Knoblich & Lu 2018), without @abtel/stats: the independent computation the quantile
 * statistics of the data layer and of `analyze` are tested against.
 */
import type { QuantileArm } from '@abtel/stats';

/** Type-7 quantile of sorted values (numpy's default, DuckDB quantile_cont). */
export function typeSeven(sorted: readonly number[], level: number): number {
  const h = (sorted.length - 1) * level;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!);
}

/**
 * Per unit with events I_i = its events at or below the arm's type-7 quantile and N_i = its events;
 * σ_p² = (var_I − 2p̂·cov_IN + p̂²·var_N)/(n·mean_N²) with ddof = 1; the outer values are the type-7
 * quantiles at q ± 1.959964·σ_p (clamped to [0, 1]).
 */
export function independentQuantileArm(perUnit: readonly (readonly number[])[], q: number): QuantileArm {
  const withEvents = perUnit.filter((unit) => unit.length > 0);
  const sorted = withEvents.flat().sort((a, b) => a - b);
  const value = typeSeven(sorted, q);
  const I = withEvents.map((unit) => unit.filter((v) => v <= value).length);
  const N = withEvents.map((unit) => unit.length);
  const n = withEvents.length;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cov = (xs: number[], ys: number[]) => {
    const [mx, my] = [mean(xs), mean(ys)];
    return xs.reduce((acc, x, i) => acc + (x - mx) * (ys[i]! - my), 0) / (xs.length - 1);
  };
  const p = I.reduce((a, b) => a + b, 0) / sorted.length;
  const sigma = Math.sqrt((cov(I, I) - 2 * p * cov(I, N) + p * p * cov(N, N)) / (n * mean(N) ** 2));
  const z = 1.959963984540054;
  return {
    q,
    n,
    events: sorted.length,
    value,
    sumI: I.reduce((a, b) => a + b, 0),
    sumISquares: I.reduce((a, b) => a + b * b, 0),
    sumNSquares: N.reduce((a, b) => a + b * b, 0),
    sumIN: I.reduce((acc, x, i) => acc + x * N[i]!, 0),
    lower: typeSeven(sorted, Math.max(0, q - z * sigma)),
    upper: typeSeven(sorted, Math.min(1, q + z * sigma)),
  };
}
