import { StatsError } from '../errors.js';

/** Throws unless `value` is a finite number. */
export function assertFinite(where: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new StatsError(`${where} must be a finite number (got ${String(value)})`);
  }
}

/** Throws unless `value` is a non-negative integer count. */
export function assertCount(where: string, value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new StatsError(`${where} must be a non-negative integer (got ${String(value)})`);
  }
}

/** Throws unless `value` is in the open interval (0, 1). */
export function assertProbability(where: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new StatsError(`${where} must be strictly between 0 and 1 (got ${String(value)})`);
  }
}

/** Throws unless `value` is ≥ `min`. */
export function assertAtLeast(where: string, value: number, min: number, hint = ''): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new StatsError(`${where} must be at least ${min} (got ${String(value)})${hint ? `; ${hint}` : ''}`);
  }
}

/** Sample variance (ddof = 1) from n, Σx, Σx², clamped at 0 against rounding. */
export function sampleVariance(n: number, sum: number, sumSquares: number): number {
  if (n < 2) return Number.NaN;
  return Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1));
}

/** Sample covariance (ddof = 1) from n, Σx, Σy, Σxy. */
export function sampleCovariance(n: number, sumX: number, sumY: number, sumXY: number): number {
  if (n < 2) return Number.NaN;
  return (sumXY - (sumX * sumY) / n) / (n - 1);
}
