import { StatsError } from './errors.js';
import type { AdjustmentMethod } from './types.js';

function checkPValues(pValues: readonly number[]): void {
  pValues.forEach((p, index) => {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new StatsError(`pValues[${index}] must be in [0, 1] (got ${String(p)})`);
  });
}

/** Indices of `pValues` in ascending order of p (stable, so ties keep input order). */
function ascendingOrder(pValues: readonly number[]): number[] {
  return pValues.map((_, index) => index).sort((a, b) => pValues[a]! - pValues[b]! || a - b);
}

/**
 * Bonferroni adjusted p-values min(1, m·p) (Dunn 1961).
 * @example
 * bonferroni([0.01, 0.04]); // [0.02, 0.08]
 */
export function bonferroni(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  return pValues.map((p) => Math.min(1, p * pValues.length));
}

/**
 * Holm step-down adjusted p-values: for the i-th smallest (1-based), max over j ≤ i of
 * min(1, (m − j + 1)·p_(j)) (Holm 1979, Scand. J. Statist. 6:65–70; Wright 1992, Biometrics
 * 48:1005–1013 for adjusted p-values; R `p.adjust(method = "holm")`).
 * @example
 * holm([0.01, 0.04, 0.03]); // [0.03, 0.06, 0.06]
 */
export function holm(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 0;
  ascendingOrder(pValues).forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[index]!));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Benjamini–Hochberg adjusted p-values (q-values): for the i-th smallest, min over j ≥ i of
 * min(1, m·p_(j)/j) (Benjamini & Hochberg 1995, JRSS B 57:289–300; R `p.adjust(method = "BH")`,
 * scipy.stats.false_discovery_control).
 * @example
 * benjaminiHochberg([0.01, 0.04, 0.03]); // [0.03, 0.04, 0.04]
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  const order = ascendingOrder(pValues);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank]!;
    running = Math.min(running, (m * pValues[index]!) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
}

/**
 * Adjusted p-values by method name. The contract applies Holm and BH over the non-primary metrics
 * of a comparison; the primary metric is decided unadjusted, so leave it out of `pValues`.
 * @example
 * adjustPValues([0.01, 0.2, 0.03], 'bh');
 */
export function adjustPValues(pValues: readonly number[], method: AdjustmentMethod): number[] {
  switch (method) {
    case 'bonferroni':
      return bonferroni(pValues);
    case 'holm':
      return holm(pValues);
    case 'bh':
      return benjaminiHochberg(pValues);
    default:
      throw new StatsError(`unknown adjustment method "${String(method)}"; use bonferroni, holm or bh`);
  }
}
