import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** Reference values written by test/reference/generate.py (numpy/scipy). */
export const reference: any = JSON.parse(readFileSync(new URL('./reference/values.json', import.meta.url), 'utf8'));

/** Asserts |actual − expected| ≤ rel·max(|expected|, floor). */
export function expectClose(actual: number, expected: number, rel: number, floor = 1e-300): void {
  const tolerance = rel * Math.max(Math.abs(expected), floor);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    expect.fail(`expected ${actual} to be within ${rel} (relative) of ${expected}; difference ${actual - expected}`);
  }
}
