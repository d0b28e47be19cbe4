import { createHash } from 'node:crypto';

/**
 * A uniform number in [0, 1) derived from the seed and the given parts. Every random choice of the
 * simulation goes through here, so the same seed and the same request content give the same
 * behaviour in every process and on every run.
 * @example
 * const u = uniform('42', 'T-000017', 'resolvable'); // 0.3719…
 */
export function uniform(seed: string, ...parts: readonly (string | number)[]): number {
  const digest = createHash('sha256').update([seed, ...parts].join('\u001f')).digest();
  // 48 bits fit exactly in a double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * A lower-case hex id of `length` characters derived from the seed and the given parts.
 * @example
 * hexId(24, '42', 'response', 'T-000017', 1); // 'a3f0…'
 */
export function hexId(length: number, seed: string, ...parts: readonly (string | number)[]): string {
  return createHash('sha256').update([seed, ...parts].join('\u001f')).digest('hex').slice(0, length);
}

/**
 * Picks one element by a uniform number in [0, 1).
 * @example
 * pick(['a', 'b', 'c'], 0.5); // 'b'
 */
export function pick<T>(items: readonly T[], u: number): T {
  const item = items[Math.min(items.length - 1, Math.floor(u * items.length))];
  if (item === undefined) throw new RangeError('pick() needs a non-empty list');
  return item;
}
