/**
 * Fixed-capacity maps and sets with least-recently-used eviction. They bound every piece of
 * per-unit memory the instrumentation keeps (exposure dedupe, response id → span context), so a
 * process that sees millions of conversations keeps a flat heap.
 *
 * A JavaScript `Map` iterates in insertion order; re-inserting a key on access moves it to the
 * end, so the first key is always the least recently used one.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
    }
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get capacity(): number {
    return this.#capacity;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }
}

/** A set of at most `capacity` keys; `add` reports whether the key was new. */
export class BoundedSet<K> {
  readonly #map: BoundedMap<K, true>;

  constructor(capacity: number) {
    this.#map = new BoundedMap(capacity);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Adds the key; returns true when it was not present (and refreshes it either way). */
  add(key: K): boolean {
    const isNew = !this.#map.has(key);
    this.#map.set(key, true);
    return isNew;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }
}
