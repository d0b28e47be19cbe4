import { describe, expect, it } from 'vitest';
import { formatP, formatPText, freshnessValue } from './format.js';

describe('p-values next to a threshold', () => {
  it('two significant digits when they read correctly against the threshold', () => {
    expect(formatP(0.02371, 0.05)).toBe('0.024');
    expect(formatP(0.52, 0.05)).toBe('0.52');
    expect(formatP(0.00002, 0.05)).toBe('<0.0001');
    expect(formatPText(0.00002, 0.05)).toBe('2.0e-5');
    expect(formatP(null, 0.05)).toBe('—');
    expect(formatPText(null, 0.05)).toBe('n/a');
  });

  it('more digits where two would round onto or across the threshold', () => {
    for (const format of [formatP, formatPText]) {
      expect(format(0.0497, 0.05)).toBe('0.0497');
      expect(format(0.04996, 0.05)).toBe('0.04996');
      expect(format(0.0503, 0.05)).toBe('0.0503');
      expect(format(0.0101, 0.01)).toBe('0.0101');
      expect(format(0.000999, 0.001)).toBe('0.000999');
      // without a threshold, or exactly at it, two digits
      expect(format(0.0497)).toBe('0.05');
      expect(format(0.05, 0.05)).toBe('0.05');
    }
  });

  it('the rounded text is always on the same side of the threshold as p', () => {
    for (let i = 1; i < 2000; i += 1) {
      const p = 0.03 + i * 0.00001 + 1e-9;
      const shown = Number(formatPText(p, 0.05));
      expect(shown < 0.05, `${p} shown as ${shown}`).toBe(p < 0.05);
      expect(shown).not.toBe(0.05);
    }
  });
});

describe('freshness as people read it', () => {
  const at = '2026-11-20T11:50:00.000Z';
  it('seconds under a minute, minutes under two hours, hours after', () => {
    expect(freshnessValue({ lastEventTime: at, ageMinutes: 0.00517, stale: false })).toBe(`${at} (0 s ago)`);
    expect(freshnessValue({ lastEventTime: at, ageMinutes: 0.5, stale: false })).toBe(`${at} (30 s ago)`);
    expect(freshnessValue({ lastEventTime: at, ageMinutes: 10, stale: false })).toBe(`${at} (10 min ago)`);
    expect(freshnessValue({ lastEventTime: at, ageMinutes: 119, stale: false })).toBe(`${at} (119 min ago)`);
    expect(freshnessValue({ lastEventTime: at, ageMinutes: 180, stale: true })).toBe(`${at} (3 h ago)`);
  });
});
