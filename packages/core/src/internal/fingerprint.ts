/**
 * The 64-bit unit fingerprint that keys the in-memory sticky store (not the bucketing hash: it
 * never decides a variation, so it can be changed freely and is not part of the documented
 * algorithm). Two 32-bit lanes come out of one pass over the UTF-16 code units, four code units
 * per step, in the structure of MurmurHash3_x86_128 reduced to two lanes: each lane mixes its own
 * 32-bit block with MurmurHash3's block step, then adds the other lane, and the ending mixes in the
 * length (so a trailing U+0000 is not the end of the string) and finalises both lanes. Storing the
 * fingerprint instead of the id string makes the store's compare two integers: no pointer chase to
 * a stored string and no character compare. Two distinct ids collide with probability about 2^-64,
 * so among n stored units of one experiment some pair collides with probability about
 * n² / 2^65 (3e-8 for a million units).
 */

/**
 * One lane's seed for an experiment, from its key (equal ids in two experiments differ).
 * @example
 * const seedA = fingerprintSeed('support-persona', 0);
 */
export function fingerprintSeed(experimentKey: string, lane: 0 | 1): number {
  const out = new Int32Array(2);
  fingerprint(lane === 0 ? 0x2f6b1d3 : 0x61c88647, lane === 0 ? 0x7f4a7c15 : 0x165667b1, experimentKey, out);
  return out[lane] as number;
}

/**
 * Writes the two fingerprint lanes of `text` under the given seeds into `out[0]` and `out[1]`
 * (an out-parameter: returning a pair would allocate on every lookup).
 * @example
 * const out = new Int32Array(2);
 * fingerprint(fingerprintSeed('exp', 0), fingerprintSeed('exp', 1), 'conv-1', out); // out = [laneA, laneB]
 */
export function fingerprint(seedA: number, seedB: number, text: string, out: Int32Array): void {
  let a = seedA;
  let b = seedB;
  const length = text.length;
  const blocks = length & ~3;
  let i = 0;
  // Four code units a step (fewer operations per character than two lanes over every unit): lane
  // A takes the first two, lane B the next two, each with MurmurHash3's x86 block step (other
  // constants in B), then each lane adds the other, so both depend on every code unit (the
  // structure of MurmurHash3_x86_128, with two lanes instead of four).
  for (; i < blocks; i += 4) {
    let k = Math.imul(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16), 0xcc9e2d51);
    let m = Math.imul(text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16), 0x85ebca77);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    m = Math.imul((m << 16) | (m >>> 16), 0x27d4eb2f);
    a ^= k;
    b ^= m;
    a = (a << 13) | (a >>> 19);
    b = (b << 17) | (b >>> 15);
    a = (a + b) | 0;
    // 0xe6546b64 and 0x561ccd1b as signed constants: an unsigned one would make the addition a
    // float one.
    a = (Math.imul(a, 5) - 0x19ab949c) | 0;
    b = (b + a) | 0;
    b = (Math.imul(b, 5) + 0x561ccd1b) | 0;
  }
  // The tail (0 to 3 code units): the first two into lane A, the third into lane B.
  const rest = length - i;
  if (rest > 0) {
    const k = Math.imul(text.charCodeAt(i) | (rest > 1 ? text.charCodeAt(i + 1) << 16 : 0), 0xcc9e2d51);
    a ^= Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    if (rest > 2) {
      const m = Math.imul(text.charCodeAt(i + 2), 0x85ebca77);
      b ^= Math.imul((m << 16) | (m >>> 16), 0x27d4eb2f);
    }
  }
  // Length into both lanes, cross-add, fmix32 each, cross-add (MurmurHash3_x86_128's ending).
  a ^= length;
  b ^= length;
  a = (a + b) | 0;
  b = (b + a) | 0;
  a = fmix(a);
  b = fmix(b);
  a = (a + b) | 0;
  b = (b + a) | 0;
  out[0] = a;
  out[1] = b;
}

/** MurmurHash3's 32-bit finaliser, signed. */
function fmix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x;
}
