import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, hash32 } from './index.js';

// Computed independently with Python (`(salt + ":" + unit).encode()`, FNV-1a 32, fmix32); the
// same table is in the package README for other implementations.
const VECTORS: [salt: string, unit: string, hash: number, bucket: number][] = [
  ['support-persona', 'conv-1', 3919982141, 0.9126919650007039],
  ['support-persona', 'conv-2', 699828428, 0.16294150333851576],
  ['support-persona', 'conv-3', 3493235846, 0.8133323504589498],
  ['retrieval-profile', 'c_9f8e7d', 1570087773, 0.36556454678066075],
  ['retrieval-profile', 'user@example.com', 3772790744, 0.8784212972968817],
  ['exp', 'héllo-😀', 4181592058, 0.9736027703620493],
  ['exp', '日本語', 3133059314, 0.7294722166843712],
  ['layer:support-bot', 'conv-1', 2848548756, 0.6632294403389096],
  ['', '', 1210769405, 0.28190421988256276],
  ['a', '', 4236151946, 0.9863059842027724],
];

/** A deliberately naive reference: TextEncoder bytes, BigInt arithmetic. */
function referenceHash(salt: string, unit: string): number {
  let h = 0x811c9dc5n;
  for (const byte of new TextEncoder().encode(`${salt}:${unit}`)) h = ((h ^ BigInt(byte)) * 0x01000193n) & 0xffffffffn;
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & 0xffffffffn;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & 0xffffffffn;
  h ^= h >> 16n;
  return Number(h);
}

describe('abtel-hash-v1', () => {
  it('matches the published test vectors', () => {
    for (const [salt, unit, hash, bucket] of VECTORS) {
      expect(hash32(salt, unit), `${salt}:${unit}`).toBe(hash);
      expect(bucketOf(salt, unit), `${salt}:${unit}`).toBe(bucket);
    }
  });

  it('equals a byte-level reference for any string, including astral characters and lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (salt, unit) => hash32(salt, unit) === referenceHash(salt, unit)),
      { numRuns: 2000 },
    );
    // Lone surrogates are encoded as U+FFFD, exactly like TextEncoder.
    expect(hash32('s', '\ud800x')).toBe(referenceHash('s', '\ud800x'));
    expect(hash32('s', 'x\udc00')).toBe(referenceHash('s', 'x\udc00'));
    expect(hash32('s', '\ud800x')).toBe(hash32('s', '\ufffdx'));
  });

  it('gives a bucket in [0, 1) that is deterministic', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'grapheme' }), (salt, unit) => {
        const bucket = bucketOf(salt, unit);
        return bucket >= 0 && bucket < 1 && bucket === bucketOf(salt, unit) && bucket === hash32(salt, unit) / 2 ** 32;
      }),
      { numRuns: 2000 },
    );
  });

  it('depends on where the salt ends (the ":" separator is hashed)', () => {
    expect(hash32('ab', 'c')).not.toBe(hash32('a', 'bc'));
  });

  it('gives the same buckets in another process', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `conv-${i}-${'é'.repeat(i % 3)}`);
    const script = `
      import { bucketOf } from ${JSON.stringify(new URL('../dist/assignment.js', import.meta.url).href)};
      const ids = JSON.parse(process.argv[1]);
      process.stdout.write(JSON.stringify(ids.map((id) => bucketOf('support-persona', id))));`;
    // Node 20 cannot import TypeScript, so the child runs the build (the test task depends on it).
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(ids)], {
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(ids.map((id) => bucketOf('support-persona', id)));
  });
});
