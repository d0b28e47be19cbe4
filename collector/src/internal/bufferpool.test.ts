import { describe, expect, it } from 'vitest';
import { BufferPool } from './bufferpool.js';

describe('BufferPool', () => {
  it('reuses a given-back backing store for a later request of a similar size', () => {
    const pool = new BufferPool(16 << 20);
    const first = pool.take(600_000);
    expect(first.length).toBe(600_000);
    pool.give(first);
    const second = pool.take(590_000);
    expect(second.length).toBe(590_000);
    expect(second.buffer).toBe(first.buffer);
  });

  it('never hands one store to two takers: a second give of the same buffer is ignored', () => {
    const pool = new BufferPool(16 << 20);
    const buffer = pool.take(100_000);
    pool.give(buffer);
    pool.give(buffer);
    pool.give(buffer.subarray(10));
    const a = pool.take(100_000);
    const b = pool.take(100_000);
    expect(a.buffer).toBe(buffer.buffer);
    expect(b.buffer).not.toBe(a.buffer);
  });

  it('ignores buffers it did not create and does not reuse stores far larger than needed', () => {
    const pool = new BufferPool(16 << 20);
    const foreign = Buffer.alloc(200_000);
    pool.give(foreign);
    expect(pool.take(200_000).buffer).not.toBe(foreign.buffer);
    const big = pool.take(3_000_000);
    pool.give(big);
    expect(pool.take(10_000).buffer).not.toBe(big.buffer);
  });

  it('keeps at most maxFreeBytes for reuse and does not pool buffers over a quarter of it', () => {
    const pool = new BufferPool(1 << 20);
    const taken = [pool.take(200_000), pool.take(200_000), pool.take(200_000), pool.take(200_000), pool.take(200_000), pool.take(200_000)];
    for (const buffer of taken) pool.give(buffer);
    const reused = new Set(taken.map((buffer) => buffer.buffer));
    const again = Array.from({ length: 6 }, () => pool.take(200_000));
    const hits = again.filter((buffer) => reused.has(buffer.buffer)).length;
    // 256 KiB stores: four fit into 1 MiB.
    expect(hits).toBe(4);
    const huge = pool.take(300_000);
    pool.give(huge);
    expect(pool.take(300_000).buffer).not.toBe(huge.buffer);
  });
});
