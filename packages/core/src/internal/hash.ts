/**
 * The assignment hash, `abtel-hash-v1`: FNV-1a 32-bit over the UTF-8 bytes of
 * `salt + ":" + unitId`, then the MurmurHash3 32-bit finaliser (fmix32) so that every output bit
 * depends on every input byte (plain FNV-1a leaves the top bits weakly mixed for ids that differ
 * only in their last characters). bucket = hash / 2^32, uniform in [0, 1).
 *
 * It is written for speed: no string concatenation, no TextEncoder, no allocation; UTF-8 is
 * encoded inline from UTF-16 code units (lone surrogates as U+FFFD, exactly like TextEncoder).
 */

export const FNV_OFFSET_BASIS = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;
const COLON = 0x3a;

/** FNV-1a state after feeding the UTF-8 bytes of `text` to `state`. */
export function fnv1aUpdate(state: number, text: string): number {
  let h = state;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
        continue;
      }
      c = 0xfffd; // a lone surrogate has no UTF-8 form; TextEncoder writes U+FFFD
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h;
}

/** FNV-1a state after `salt + ":"`; cache it per experiment so each unit only hashes its own id. */
export function saltState(salt: string): number {
  return Math.imul(fnv1aUpdate(FNV_OFFSET_BASIS, salt) ^ COLON, FNV_PRIME);
}

/** MurmurHash3's 32-bit finaliser; returns an unsigned 32-bit integer. */
export function fmix32(state: number): number {
  let h = state;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 2^32, the number of distinct hash values. */
export const HASH_SPACE = 4294967296;
