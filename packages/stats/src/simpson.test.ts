import { describe, expect, test } from 'vitest';
import { simpsonCheck } from './simpson.js';

describe('Simpson check', () => {
  test('kidney stone data (Charig et al. 1986, BMJ 292:879): B looks better pooled, A is better in every segment', () => {
    // Treatment A (open surgery) as the variant, B (PCNL) as the baseline.
    const result = simpsonCheck([
      { segment: 'small stones', baseline: { n: 270, value: 234 / 270 }, variant: { n: 87, value: 81 / 87 } },
      { segment: 'large stones', baseline: { n: 80, value: 55 / 80 }, variant: { n: 263, value: 192 / 263 } },
    ]);
    expect(result.pooledDifference).toBeCloseTo(273 / 350 - 289 / 350, 12);
    expect(result.segments.every((s) => s.difference > 0)).toBe(true);
    expect(result.reversal).toBe(true);
  });

  test('no reversal when directions agree, or when a small segment disagrees', () => {
    expect(
      simpsonCheck([
        { segment: 'a', baseline: { n: 100, value: 0.5 }, variant: { n: 100, value: 0.6 } },
        { segment: 'b', baseline: { n: 100, value: 0.4 }, variant: { n: 100, value: 0.45 } },
      ]).reversal,
    ).toBe(false);
    const smallIgnored = simpsonCheck(
      [
        { segment: 'a', baseline: { n: 270, value: 234 / 270 }, variant: { n: 87, value: 81 / 87 } },
        { segment: 'b', baseline: { n: 80, value: 55 / 80 }, variant: { n: 263, value: 192 / 263 } },
        { segment: 'tiny', baseline: { n: 5, value: 0.9 }, variant: { n: 5, value: 0.1 } },
      ],
      { minUnitsPerArm: 30 },
    );
    expect(smallIgnored.segments.find((s) => s.segment === 'tiny')?.eligible).toBe(false);
    expect(smallIgnored.reversal).toBe(true);
  });
});
