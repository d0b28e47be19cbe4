import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprintSeed } from './internal/fingerprint.js';

// The bench's id shape: distinct, realistic-looking conversation ids.
const ids = Array.from({ length: 1_000_000 }, (_, i) => `conv-${(Math.imul(i + 1, 2654435761) >>> 0).toString(16).padStart(8, '0')}-${i.toString(36)}`);

function lanes(seedKey: string): { a: Int32Array; b: Int32Array } {
  const seedA = fingerprintSeed(seedKey, 0);
  const seedB = fingerprintSeed(seedKey, 1);
  const out = new Int32Array(2);
  const a = new Int32Array(ids.length);
  const b = new Int32Array(ids.length);
  ids.forEach((id, i) => {
    fingerprint(seedA, seedB, id, out);
    a[i] = out[0] as number;
    b[i] = out[1] as number;
  });
  return { a, b };
}

/** Number of pairs of equal values. */
function equalPairs(values: Int32Array): number {
  const sorted = values.slice().sort();
  let pairs = 0;
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) run++;
    else {
      pairs += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return pairs;
}

describe('unit fingerprint (sticky store key)', () => {
  const { a, b } = lanes('support-persona');

  it('each lane collides like a uniform 32-bit hash, and no two of 1,000,000 ids share both lanes', () => {
    // Expected equal pairs for a uniform 32-bit hash: n(n-1)/2 / 2^32 ≈ 116.4, Poisson (sd ≈ 10.8).
    const expected = (ids.length * (ids.length - 1)) / 2 / 2 ** 32;
    for (const lane of [a, b]) {
      const pairs = equalPairs(lane);
      expect(Math.abs(pairs - expected), `lane pairs ${pairs}`).toBeLessThan(5 * Math.sqrt(expected));
    }
    // Both lanes at once (64 bits): sort by (lane A, lane B) and count equal neighbours.
    const order = Array.from(a.keys()).sort((x, y) => (a[x] as number) - (a[y] as number) || (b[x] as number) - (b[y] as number));
    let both = 0;
    for (let i = 1; i < order.length; i++) {
      const x = order[i - 1] as number;
      const y = order[i] as number;
      if (a[x] === a[y] && b[x] === b[y]) both++;
    }
    expect(both).toBe(0);
  });

  it('the low bits of lane A (the probe position) are uniform: chi-square over 1,024 cells', () => {
    const counts = new Float64Array(1024);
    for (const value of a) counts[value & 1023] = (counts[value & 1023] as number) + 1;
    const expected = ids.length / 1024;
    let chi = 0;
    for (const count of counts) chi += (count - expected) ** 2 / expected;
    // df = 1023: the 0.999 quantile is 1168.5 (scipy.stats.chi2.ppf(0.999, 1023)).
    expect(chi).toBeLessThan(1168.5);
  });

  it('lanes A and B are not correlated (equal low bits no more often than chance)', () => {
    let agree = 0;
    for (let i = 0; i < a.length; i++) if (((a[i] as number) & 0xff) === ((b[i] as number) & 0xff)) agree++;
    // Binomial(n, 1/256): mean 3906, sd ≈ 62.4.
    expect(Math.abs(agree - ids.length / 256)).toBeLessThan(5 * Math.sqrt((ids.length / 256) * (255 / 256)));
  });

  it('depends on the experiment key, every code unit and the length', () => {
    const out = new Int32Array(2);
    const print = (key: string, id: string): string => {
      fingerprint(fingerprintSeed(key, 0), fingerprintSeed(key, 1), id, out);
      return `${out[0]}:${out[1]}`;
    };
    const samples = ['', 'a', 'a\u0000', 'ab', 'ba', 'héllo-😀', 'héllo-😁', '日本語', 'conv-1', 'conv-2'];
    const seen = new Set(samples.map((id) => print('exp', id)));
    expect(seen.size).toBe(samples.length);
    expect(print('exp', 'conv-1')).not.toBe(print('other', 'conv-1'));
  });
});
