import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { seededRandom } from '@abtel/stats';
import { compareQuantiles, rememberQuantileComparison } from './inference.js';
import { QuantileWorkers, packUnitValues, unpackUnitValues } from './quantile-workers.js';

/** Per-unit latencies: `units` units with 1–40 calls each, log-normal-ish values. */
function samples(seed: number, units: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: units }, () =>
    Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.round(200 * Math.exp(random() * 2) * 1000) / 1000),
  );
}

describe('quantile bootstraps on worker threads', () => {
  test('packing keeps every unit and value in order', () => {
    const units = [[3, 1, 2], [], [5.5], [7, 7]];
    const packed = packUnitValues(units);
    expect([...packed.offsets]).toEqual([0, 3, 3, 4, 6]);
    expect(unpackUnitValues(packed)).toEqual(units);
  });

  test('a remembered result is returned for exactly those arrays, other arrays are computed', () => {
    const control = samples(1, 60);
    const treatment = samples(2, 60);
    const expected = compareQuantiles(control, treatment, 0.9);
    const marker = { ...expected, estimate: 12345 };
    rememberQuantileComparison(control, treatment, 0.9, marker);
    expect(compareQuantiles(control, treatment, 0.9)).toBe(marker);
    expect(compareQuantiles(control, treatment, 0.5)).not.toBe(marker);
    expect(compareQuantiles(control.map((u) => [...u]), treatment, 0.9)).toEqual(expected);
  });

  // The worker is the compiled dist/analyze/bootstrap-worker.js (workers cannot run the TypeScript
  // sources): the package must be built first, as CI does before the tests.
  const compiled = fileURLToPath(new URL('../../dist/analyze/quantile-workers.js', import.meta.url));
  test('the compiled pool gives the result the main thread computes, for several comparisons at once', async () => {
    expect(existsSync(compiled), `${compiled} is missing: build @abtel/analysis first`).toBe(true);
    const { QuantileWorkers: Compiled } = (await import(compiled)) as { QuantileWorkers: typeof QuantileWorkers };
    const pool = Compiled.start(2);
    expect(pool).toBeDefined();
    try {
      const control = samples(3, 300);
      const arms = [samples(4, 280), samples(5, 320)];
      const results = await Promise.all(arms.map((arm) => pool!.compare(control, arm, 0.95)));
      arms.forEach((arm, index) => expect(results[index]).toEqual(compareQuantiles(control, arm, 0.95)));
      // Invalid input (a single unit) resolves to undefined: the main thread reports the error itself.
      expect(await pool!.compare([[1, 2]], arms[0]!, 0.95)).toBeUndefined();
    } finally {
      await pool!.close();
    }
  });

  test('from the TypeScript sources there is no compiled worker, and the caller computes inline', () => {
    expect(QuantileWorkers.start(2)).toBeUndefined();
  });
});
