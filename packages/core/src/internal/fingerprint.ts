/**
 * The 64-bit unit fingerprint that keys the in-memory sticky store (not the bucketing hash: it
 * never decides a variation, so it can be changed freely and is not part of the documented
 * algorithm). Two independent 32-bit lanes come out of one pass over the UTF-16 code units, two
 * code units per step:
 * - lane A: MurmurHash3's 32-bit block step, then its finaliser (fmix32);
 * - lane B: xxHash32's round step (other constants, add-rotate-multiply instead of
 *   xor-rotate-multiply), then xxHash32's avalanche.
 * Both lanes mix in the length, so a trailing U+0000 is not the end of the string. Storing the
 * fingerprint instead of the id string makes a sticky hit one cache line: no pointer chase to a
 * stored string and no character compare. Two distinct ids collide with probability about 2^-64,
 * so among n stored units of one experiment some pair collides with probability about
 * n² / 2^65 (3e-8 for a million units).
 */

/** One lane's seed for an experiment, from its key (equal ids in two experiments differ). */
export function fingerprintSeed(experimentKey: string, lane: 0 | 1): number {
  const out = new Int32Array(2);
  fingerprint(lane === 0 ? 0x2f6b1d3 : 0x61c88647, lane === 0 ? 0x7f4a7c15 : 0x165667b1, experimentKey, out);
  return out[lane] as number;
}

/**
 * Writes the two fingerprint lanes of `text` under the given seeds into `out[0]` and `out[1]`
 * (an out-parameter: returning a pair would allocate on every lookup).
 */
export function fingerprint(seedA: number, seedB: number, text: string, out: Int32Array): void {
  let a = seedA;
  let b = seedB;
  const length = text.length;
  const even = length & ~1;
  let i = 0;
  for (; i < even; i += 2) {
    const word = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    let k = Math.imul(word, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a ^= Math.imul(k, 0x1b873593);
    a = (a << 13) | (a >>> 19);
    // 0xe6546b64 as a signed 32-bit constant: an unsigned one would make the addition a float one.
    a = (Math.imul(a, 5) - 0x19ab949c) | 0;
    b = (b + Math.imul(word, 0x85ebca77)) | 0;
    b = Math.imul((b << 13) | (b >>> 19), 0x9e3779b1);
  }
  if (i < length) {
    const word = text.charCodeAt(i);
    let k = Math.imul(word, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a ^= Math.imul(k, 0x1b873593);
    b = (b + Math.imul(word, 0x27d4eb2f)) | 0;
    b = Math.imul((b << 17) | (b >>> 15), 0x165667b1);
  }
  a ^= length;
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b = (b + length) | 0;
  b ^= b >>> 15;
  b = Math.imul(b, 0x85ebca77);
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae3d);
  b ^= b >>> 16;
  out[0] = a;
  out[1] = b;
}
