/**
 * Sticky assignments: once a unit is routed, the store remembers the variation so that weight
 * changes, ramps and state changes never move it unless a lifecycle rule says so.
 */

/** What the store keeps per (experiment, unit). */
export interface StoredAssignment {
  /** The variation the unit is served while the experiment lives (after a migration: the new one). */
  variation: string;
  /** The definition version the assignment was made under. */
  version: number;
  /** Epoch milliseconds of the first routing. */
  assignedAt: number;
  /** Epoch milliseconds of the latest routing; the TTL counts from here. */
  lastActiveAt: number;
  /** True once a lifecycle rule moved the unit off the variation it was first assigned. */
  migrated?: boolean;
  /**
   * False when the unit was routed outside randomisation (it first arrived while the experiment
   * was paused, or it was outside targeting, layer or coverage): it must never count as exposed.
   */
  exposed?: boolean;
}

/** A value or a promise of it: in-memory stores answer synchronously, remote ones do not. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Where sticky assignments live. Implementations may be synchronous (in memory) or asynchronous
 * (Redis, a database); `StickyRouter` stays synchronous when the store is.
 * @example
 * const store: AssignmentStore = new MemoryAssignmentStore({ maxEntries: 100_000, ttlMs: 7 * 86_400_000 });
 */
export interface AssignmentStore {
  get(experimentKey: string, unitId: string): MaybePromise<StoredAssignment | undefined>;
  /** First writer wins: stores `value` unless an assignment exists, and returns the stored one. */
  setIfAbsent(experimentKey: string, unitId: string, value: StoredAssignment): MaybePromise<StoredAssignment>;
  /** Records activity at `at` (epoch ms), extending the TTL. */
  touch(experimentKey: string, unitId: string, at: number): MaybePromise<void>;
  /** Overwrites an assignment; used only to persist a lifecycle migration. Optional. */
  set?(experimentKey: string, unitId: string, value: StoredAssignment): MaybePromise<void>;
}

/** Options of the in-memory store. */
export interface MemoryAssignmentStoreOptions {
  /** Upper bound on stored assignments across all experiments (default 100,000). */
  maxEntries?: number;
  /** Idle time after which an assignment is forgotten, in ms (default 7 days). */
  ttlMs?: number;
  /** Clock in epoch ms (tests pass their own). */
  now?: () => number;
}

interface Entry {
  readonly value: StoredAssignment;
  /** CLOCK "second chance" bit: set on every read or touch, cleared by the eviction hand. */
  referenced: boolean;
}

/**
 * A bounded in-memory `AssignmentStore`. Eviction is CLOCK (LRU-like, without reordering a map on
 * every read): when full, entries are examined oldest-first; a recently read or touched entry gets
 * a second chance, the first one without is evicted. Idle entries older than `ttlMs` are dropped on
 * access. The returned objects are the stored ones: `touch` updates their `lastActiveAt`.
 * @example
 * const store = new MemoryAssignmentStore({ maxEntries: 50_000, ttlMs: 86_400_000 });
 * store.setIfAbsent('support-persona', 'conv-1', { variation: 'warm', version: 1, assignedAt: Date.now(), lastActiveAt: Date.now() });
 * store.get('support-persona', 'conv-1')?.variation; // 'warm'
 */
export class MemoryAssignmentStore implements AssignmentStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly experiments = new Map<string, Map<string, Entry>>();
  private count = 0;
  // The router reads then touches the same key; remembering the last entry read saves a lookup.
  private lastExperiment: string | undefined;
  private lastUnit: string | undefined;
  private lastEntry: Entry | undefined;

  constructor(options: MemoryAssignmentStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    const ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60 * 1000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0 (got ${ttlMs})`);
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.now = options.now ?? Date.now;
  }

  /** Number of stored assignments (expired ones included until they are accessed or evicted). */
  get size(): number {
    return this.count;
  }

  get(experimentKey: string, unitId: string): StoredAssignment | undefined {
    const entry = this.lookup(experimentKey, unitId);
    if (entry === undefined) return undefined;
    entry.referenced = true;
    this.lastExperiment = experimentKey;
    this.lastUnit = unitId;
    this.lastEntry = entry;
    return entry.value;
  }

  setIfAbsent(experimentKey: string, unitId: string, value: StoredAssignment): StoredAssignment {
    const existing = this.lookup(experimentKey, unitId);
    if (existing !== undefined) return existing.value;
    this.insert(experimentKey, unitId, value);
    return value;
  }

  set(experimentKey: string, unitId: string, value: StoredAssignment): void {
    const units = this.experiments.get(experimentKey);
    if (units?.has(unitId)) {
      units.set(unitId, { value, referenced: true });
      if (this.lastExperiment === experimentKey && this.lastUnit === unitId) this.lastEntry = undefined;
      return;
    }
    this.insert(experimentKey, unitId, value);
  }

  touch(experimentKey: string, unitId: string, at: number): void {
    const entry =
      this.lastEntry !== undefined && this.lastUnit === unitId && this.lastExperiment === experimentKey
        ? this.lastEntry
        : this.experiments.get(experimentKey)?.get(unitId);
    if (entry === undefined) return;
    entry.referenced = true;
    if (at > entry.value.lastActiveAt) entry.value.lastActiveAt = at;
  }

  /** Forgets one assignment. */
  delete(experimentKey: string, unitId: string): boolean {
    const units = this.experiments.get(experimentKey);
    if (!units?.delete(unitId)) return false;
    this.count--;
    this.lastEntry = undefined;
    return true;
  }

  /** Forgets everything. */
  clear(): void {
    this.experiments.clear();
    this.count = 0;
    this.lastEntry = undefined;
  }

  private lookup(experimentKey: string, unitId: string): Entry | undefined {
    const units = this.experiments.get(experimentKey);
    if (units === undefined) return undefined;
    const entry = units.get(unitId);
    if (entry === undefined) return undefined;
    if (this.now() - entry.value.lastActiveAt > this.ttlMs) {
      units.delete(unitId);
      this.count--;
      if (this.lastEntry === entry) this.lastEntry = undefined;
      return undefined;
    }
    return entry;
  }

  private insert(experimentKey: string, unitId: string, value: StoredAssignment): void {
    let units = this.experiments.get(experimentKey);
    if (units === undefined) {
      units = new Map();
      this.experiments.set(experimentKey, units);
    }
    if (this.count >= this.maxEntries) this.evictOne();
    units.set(unitId, { value, referenced: false });
    this.count++;
  }

  private evictOne(): void {
    // Evict from the largest experiment so one busy experiment cannot starve the others.
    let victim: Map<string, Entry> | undefined;
    for (const units of this.experiments.values()) if (victim === undefined || units.size > victim.size) victim = units;
    if (victim === undefined) return;
    const now = this.now();
    // Every entry gets at most one second chance, so this loop ends within size + 1 steps.
    for (;;) {
      const first = victim.entries().next();
      if (first.done) return;
      const [unitId, entry] = first.value;
      victim.delete(unitId);
      if (entry.referenced && now - entry.value.lastActiveAt <= this.ttlMs) {
        entry.referenced = false;
        victim.set(unitId, entry);
        continue;
      }
      this.count--;
      if (this.lastEntry === entry) this.lastEntry = undefined;
      return;
    }
  }
}
