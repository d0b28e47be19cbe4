/**
 * Reusable buffers for request bodies and the lines written from them. Every request used to
 * allocate two or three fresh buffers of its body's size (outside the JavaScript heap); at a few
 * hundred requests per second that external memory made V8 run a full garbage collection every
 * few dozen requests. Buffers handed back are reused by later requests instead.
 *
 * A buffer from `take` belongs to the caller until it is given back with `give`; it must not be
 * read or written after that. Buffers that did not come from this pool are ignored by `give`.
 */

const GRANULE = 64 * 1024;

export class BufferPool {
  /** Backing stores of this pool currently taken (only these are accepted by `give`, once). */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;

  /**
   * @param maxFreeBytes bytes kept for reuse at most (memory held while idle)
   * @example
   * const pool = new BufferPool(16 << 20);
   * const body = pool.take(600_000);
   * pool.give(body);
   */
  constructor(private readonly maxFreeBytes: number) {}

  /** A buffer of exactly `size` bytes (uninitialised) over a reused or new backing store. */
  take(size: number): Buffer {
    const free = this.free;
    // The smallest free store that fits and wastes less than half of itself.
    let best = -1;
    for (let index = 0; index < free.length; index++) {
      const capacity = free[index]!.byteLength;
      if (capacity >= size && capacity <= size * 2 + GRANULE && (best === -1 || capacity < free[best]!.byteLength)) best = index;
    }
    if (best !== -1) {
      const store = free[best]!;
      free[best] = free[free.length - 1]!;
      free.pop();
      this.freeBytes -= store.byteLength;
      this.lent.add(store);
      return Buffer.from(store, 0, size);
    }
    if (size * 4 > this.maxFreeBytes) return Buffer.allocUnsafeSlow(size); // too large to keep
    const store = new ArrayBuffer(Math.ceil(Math.max(size, 1) / GRANULE) * GRANULE);
    this.lent.add(store);
    return Buffer.from(store, 0, size);
  }

  /** Hands a buffer from `take` back for reuse (others are left to the garbage collector). */
  give(buffer: Buffer | undefined): void {
    if (buffer === undefined) return;
    const store = buffer.buffer;
    if (!(store instanceof ArrayBuffer) || !this.lent.has(store)) return;
    // Accepted once per take: a second give of the same buffer is ignored.
    this.lent.delete(store);
    if (this.freeBytes + store.byteLength > this.maxFreeBytes) return;
    this.free.push(store);
    this.freeBytes += store.byteLength;
  }
}
