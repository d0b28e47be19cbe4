import { coarseNow } from './internal/clock.js';
import { hashFromState, saltState } from './internal/hash.js';

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
  /**
   * `get` and `touch` in one step (one lookup, or one round trip for a remote store). Optional:
   * `StickyRouter` uses it when present.
   */
  getAndTouch?(experimentKey: string, unitId: string, at: number): MaybePromise<StoredAssignment | undefined>;
}

/** Options of the in-memory store. */
export interface MemoryAssignmentStoreOptions {
  /** Upper bound on stored assignments across all experiments (default 100,000). */
  maxEntries?: number;
  /** Idle time after which an assignment is forgotten, in ms (default 7 days). */
  ttlMs?: number;
  /**
   * Clock in epoch ms. Default: a coarse clock accurate to about 250 ms (a precise clock read per
   * lookup costs more than the lookup itself); pass `Date.now` for millisecond precision.
   */
  now?: () => number;
}

const REFERENCED = 1;
const MIGRATED = 2;
const NOT_EXPOSED = 4;
const FLAG_BITS = 8;
const EMPTY = 0;
const TOMBSTONE = -1;
// Record layout (array of structs, 32 bytes: two records per cache line, never one record across
// two): variation id × 8 + flags, version, assignedAt, lastActiveAt. The unit's hash lives in the
// probe index.
const STRIDE = 4;
const PACKED = 0;
const VERSION = 1;
const ASSIGNED_AT = 2;
const LAST_ACTIVE_AT = 3;
// Records live in pages of 65,536 units (2 MB) so that growing never copies a large array or
// leaves one behind for the garbage collector; the first page starts small and doubles.
const PAGE_BITS = 16;
const PAGE_UNITS = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_UNITS - 1;


/**
 * Variation names by small integer id, shared by all experiments of one store and never
 * renumbered (not even by `clear()`), so that a router may cache results by id.
 */
class VariationNames {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }
}

/**
 * One experiment's assignments: an open-addressing hash table (linear probing over an
 * Int32Array of (hash, slot) pairs, so that a probe compares hashes without leaving the index)
 * in front of flat records. A sticky hit reads one probe position, one key and one record
 * instead of chasing a chain of heap objects, and a million stored units are typed arrays rather
 * than a million objects for the garbage collector.
 */
class Table {
  /** FNV-1a state after `experimentKey + ":"`: units are keyed by hash32(experimentKey, unitId). */
  readonly seed: number;
  keys: (string | undefined)[] = [];
  pages: Float64Array[] = [new Float64Array(64 * STRIDE)];
  /** Pairs: [2i] = hash | 0, [2i + 1] = slot + 1, EMPTY or TOMBSTONE. */
  private index = new Int32Array(2 * 128);
  /** Number of pair positions minus one. */
  private mask = 127;
  private readonly free: number[] = [];
  /** Slots ever used (records beyond are unused). */
  next = 0;
  live = 0;
  private tombstones = 0;
  /** CLOCK hand over slots. */
  hand = 0;

  constructor(
    experimentKey: string,
    private readonly variations: VariationNames,
  ) {
    this.seed = saltState(experimentKey);
  }

  hash(unitId: string): number {
    return hashFromState(this.seed, unitId);
  }

  find(unitId: string, hash: number): number {
    const index = this.index;
    const mask = this.mask;
    const signed = hash | 0;
    let i = hash & mask;
    for (;;) {
      const entry = index[2 * i + 1] as number;
      if (entry === EMPTY) return -1;
      if (entry > 0 && index[2 * i] === signed && this.keys[entry - 1] === unitId) return entry - 1;
      i = (i + 1) & mask;
    }
  }

  insert(unitId: string, hash: number, value: StoredAssignment): number {
    // Linear probing stays short up to a load of 0.75 (a probe compares hashes inside the index);
    // a smaller index stays in cache longer.
    if ((this.live + this.tombstones + 1) * 4 > (this.mask + 1) * 3) this.rehash();
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.next++;
      const page = slot >>> PAGE_BITS;
      if (page === this.pages.length) {
        this.pages.push(new Float64Array(PAGE_UNITS * STRIDE));
      } else if (page === 0 && slot * STRIDE >= (this.pages[0] as Float64Array).length) {
        const grown = new Float64Array(Math.min((this.pages[0] as Float64Array).length * 2, PAGE_UNITS * STRIDE));
        grown.set(this.pages[0] as Float64Array);
        this.pages[0] = grown;
      }
    }
    this.keys[slot] = unitId;
    this.write(slot, value);
    let i = hash & this.mask;
    while ((this.index[2 * i + 1] as number) > 0) i = (i + 1) & this.mask;
    if (this.index[2 * i + 1] === TOMBSTONE) this.tombstones--;
    this.index[2 * i] = hash | 0;
    this.index[2 * i + 1] = slot + 1;
    this.live++;
    return slot;
  }

  remove(slot: number): void {
    const hash = this.hash(this.keys[slot] as string);
    let i = hash & this.mask;
    while (this.index[2 * i + 1] !== slot + 1) i = (i + 1) & this.mask;
    this.index[2 * i + 1] = TOMBSTONE;
    this.tombstones++;
    this.keys[slot] = undefined;
    this.free.push(slot);
    this.live--;
  }

  write(slot: number, value: StoredAssignment): void {
    const records = this.pages[slot >>> PAGE_BITS] as Float64Array;
    const base = (slot & PAGE_MASK) * STRIDE;
    records[base + PACKED] = this.variations.id(value.variation) * FLAG_BITS + (value.migrated === true ? MIGRATED : 0) + (value.exposed === false ? NOT_EXPOSED : 0);
    records[base + VERSION] = value.version;
    records[base + ASSIGNED_AT] = value.assignedAt;
    records[base + LAST_ACTIVE_AT] = value.lastActiveAt;
  }

  read(slot: number): StoredAssignment {
    const records = this.pages[slot >>> PAGE_BITS] as Float64Array;
    const base = (slot & PAGE_MASK) * STRIDE;
    const packed = records[base + PACKED] as number;
    return {
      variation: this.variations.names[Math.floor(packed / FLAG_BITS)] as string,
      version: records[base + VERSION] as number,
      assignedAt: records[base + ASSIGNED_AT] as number,
      lastActiveAt: records[base + LAST_ACTIVE_AT] as number,
      migrated: (packed & MIGRATED) !== 0,
      exposed: (packed & NOT_EXPOSED) === 0,
    };
  }

  mark(slot: number): void {
    const records = this.pages[slot >>> PAGE_BITS] as Float64Array;
    const at = (slot & PAGE_MASK) * STRIDE + PACKED;
    records[at] = (records[at] as number) | REFERENCED;
  }

  /** Clears the CLOCK bit; returns whether it was set. */
  secondChance(slot: number): boolean {
    const records = this.pages[slot >>> PAGE_BITS] as Float64Array;
    const at = (slot & PAGE_MASK) * STRIDE + PACKED;
    const packed = records[at] as number;
    if ((packed & REFERENCED) === 0) return false;
    records[at] = packed - REFERENCED;
    return true;
  }

  lastActiveAt(slot: number): number {
    return (this.pages[slot >>> PAGE_BITS] as Float64Array)[(slot & PAGE_MASK) * STRIDE + LAST_ACTIVE_AT] as number;
  }

  setLastActiveAt(slot: number, at: number): void {
    (this.pages[slot >>> PAGE_BITS] as Float64Array)[(slot & PAGE_MASK) * STRIDE + LAST_ACTIVE_AT] = at;
  }

  /**
   * Rebuilds the probe index (dropping tombstones), doubling it when live units need the room.
   * It walks the old index in order, so the new one is written almost sequentially (a walk over
   * the slots would write a million random cache lines).
   */
  private rehash(): void {
    let size = this.mask + 1;
    while ((this.live + 1) * 2 > size) size *= 2;
    const old = this.index;
    const oldSize = this.mask + 1;
    const index = new Int32Array(2 * size);
    const mask = size - 1;
    for (let j = 0; j < oldSize; j++) {
      const entry = old[2 * j + 1] as number;
      if (entry <= 0) continue;
      const hash = old[2 * j] as number;
      let i = hash & mask;
      while (index[2 * i + 1] !== EMPTY) i = (i + 1) & mask;
      index[2 * i] = hash;
      index[2 * i + 1] = entry;
    }
    this.index = index;
    this.mask = mask;
    this.tombstones = 0;
  }

}

/**
 * A bounded in-memory `AssignmentStore`. Compact (typed arrays, no object per unit) so that a
 * million sticky assignments cost tens of megabytes and no garbage-collection pauses. Eviction is
 * CLOCK (LRU-like, without reordering on every read): when full, units are examined oldest-first;
 * a unit read or touched since the last pass gets a second chance, the first one without is
 * evicted. Idle units older than `ttlMs` are dropped on access. `get` returns a snapshot.
 * @example
 * const store = new MemoryAssignmentStore({ maxEntries: 50_000, ttlMs: 86_400_000 });
 * store.setIfAbsent('support-persona', 'conv-1', { variation: 'warm', version: 1, assignedAt: Date.now(), lastActiveAt: Date.now() });
 * store.get('support-persona', 'conv-1')?.variation; // 'warm'
 */
export class MemoryAssignmentStore implements AssignmentStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly tables = new Map<string, Table>();
  private readonly variations = new VariationNames();
  private count = 0;
  // The router reads, then touches the same unit: remembering the last slot read saves the
  // second lookup.
  private lastTable: Table | undefined;
  private lastUnit: string | undefined;
  private lastSlot = -1;
  // The router misses, then stores the same unit: remembering the miss saves a hash and a probe.
  private missTable: Table | undefined;
  private missUnit: string | undefined;
  private missHash = 0;

  constructor(options: MemoryAssignmentStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    const ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60 * 1000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0 (got ${ttlMs})`);
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.now = options.now ?? coarseNow;
  }

  /** Number of stored assignments (expired ones included until they are accessed or evicted). */
  get size(): number {
    return this.count;
  }

  get(experimentKey: string, unitId: string): StoredAssignment | undefined {
    const table = this.tables.get(experimentKey);
    if (table === undefined) return undefined;
    const hash = table.hash(unitId);
    const slot = this.live(table, unitId, hash);
    if (slot < 0) {
      this.missTable = table;
      this.missUnit = unitId;
      this.missHash = hash;
      return undefined;
    }
    table.mark(slot);
    this.lastTable = table;
    this.lastUnit = unitId;
    this.lastSlot = slot;
    return table.read(slot);
  }

  getAndTouch(experimentKey: string, unitId: string, at: number): StoredAssignment | undefined {
    const table = this.tables.get(experimentKey);
    if (table === undefined) return undefined;
    const hash = table.hash(unitId);
    const slot = this.live(table, unitId, hash);
    if (slot < 0) {
      this.missTable = table;
      this.missUnit = unitId;
      this.missHash = hash;
      return undefined;
    }
    table.mark(slot);
    if (at > table.lastActiveAt(slot)) table.setLastActiveAt(slot, at);
    return table.read(slot);
  }

  /**
   * The allocation-free sticky hit behind `StickyRouter`: `getAndTouch` that returns a small
   * integer instead of a snapshot, or -1 when the unit is not stored (or expired). Decode it with
   * `hitVariation`, `hitMigrated` and `hitExposed`. Codes are stable for the store's lifetime.
   * @example
   * const code = store.hit('support-persona', 'conv-1', Date.now());
   * if (code >= 0) store.hitVariation(code); // 'warm'
   */
  hit(experimentKey: string, unitId: string, at: number): number {
    const table = this.tables.get(experimentKey);
    if (table === undefined) return -1;
    const hash = table.hash(unitId);
    const slot = table.find(unitId, hash);
    if (slot < 0) {
      this.missTable = table;
      this.missUnit = unitId;
      this.missHash = hash;
      return -1;
    }
    const records = table.pages[slot >>> PAGE_BITS] as Float64Array;
    const base = (slot & PAGE_MASK) * STRIDE;
    const lastActiveAt = records[base + LAST_ACTIVE_AT] as number;
    if (this.now() - lastActiveAt > this.ttlMs) {
      this.remove(table, slot);
      this.missTable = table;
      this.missUnit = unitId;
      this.missHash = hash;
      return -1;
    }
    // Write only what changed: with a coarse clock most hits write nothing.
    const packed = records[base + PACKED] as number;
    if ((packed & REFERENCED) === 0) records[base + PACKED] = packed + REFERENCED;
    if (at > lastActiveAt) records[base + LAST_ACTIVE_AT] = at;
    return packed >> 1;
  }

  /**
   * The variation of a `hit` code.
   * @example
   * store.hitVariation(store.hit('support-persona', 'conv-1', Date.now())); // 'warm'
   */
  hitVariation(code: number): string {
    return this.variations.names[code >> 2] as string;
  }

  /**
   * Whether a `hit` code's unit was moved by a lifecycle rule (`StoredAssignment.migrated`).
   * @example
   * store.hitMigrated(code); // false
   */
  hitMigrated(code: number): boolean {
    return (code & (MIGRATED >> 1)) !== 0;
  }

  /**
   * Whether a `hit` code's unit counts as exposed (`StoredAssignment.exposed !== false`).
   * @example
   * store.hitExposed(code); // true
   */
  hitExposed(code: number): boolean {
    return (code & (NOT_EXPOSED >> 1)) === 0;
  }

  setIfAbsent(experimentKey: string, unitId: string, value: StoredAssignment): StoredAssignment {
    const table = this.table(experimentKey);
    let hash: number;
    if (table === this.missTable && unitId === this.missUnit) {
      // Known absent: nothing was written since that miss (every write clears it).
      hash = this.missHash;
    } else {
      hash = table.hash(unitId);
      const existing = this.live(table, unitId, hash);
      if (existing >= 0) return table.read(existing);
    }
    this.insert(table, unitId, hash, value);
    return value;
  }

  set(experimentKey: string, unitId: string, value: StoredAssignment): void {
    const table = this.table(experimentKey);
    const hash = table.hash(unitId);
    const slot = table.find(unitId, hash);
    if (slot >= 0) {
      table.write(slot, value);
      table.mark(slot);
      return;
    }
    this.insert(table, unitId, hash, value);
  }

  touch(experimentKey: string, unitId: string, at: number): void {
    const table = this.tables.get(experimentKey);
    if (table === undefined) return;
    const slot = table === this.lastTable && unitId === this.lastUnit ? this.lastSlot : table.find(unitId, table.hash(unitId));
    if (slot < 0) return;
    table.mark(slot);
    if (at > table.lastActiveAt(slot)) table.setLastActiveAt(slot, at);
  }

  /** Forgets one assignment. */
  delete(experimentKey: string, unitId: string): boolean {
    const table = this.tables.get(experimentKey);
    if (table === undefined) return false;
    const slot = table.find(unitId, table.hash(unitId));
    if (slot < 0) return false;
    this.remove(table, slot);
    return true;
  }

  /** Forgets everything. */
  clear(): void {
    this.lastTable = undefined;
    this.missTable = undefined;
    this.tables.clear();
    this.count = 0;
  }

  private table(experimentKey: string): Table {
    let table = this.tables.get(experimentKey);
    if (table === undefined) {
      table = new Table(experimentKey, this.variations);
      this.tables.set(experimentKey, table);
    }
    return table;
  }

  /** The unit's slot when it is stored and not idle for longer than the TTL, else -1. */
  private live(table: Table, unitId: string, hash: number): number {
    const slot = table.find(unitId, hash);
    if (slot < 0) return -1;
    if (this.now() - table.lastActiveAt(slot) > this.ttlMs) {
      this.remove(table, slot);
      return -1;
    }
    return slot;
  }

  private remove(table: Table, slot: number): void {
    if (table === this.lastTable && slot === this.lastSlot) this.lastTable = undefined;
    this.missTable = undefined;
    table.remove(slot);
    this.count--;
  }

  private insert(table: Table, unitId: string, hash: number, value: StoredAssignment): void {
    this.missTable = undefined;
    if (this.count >= this.maxEntries) this.evictOne();
    table.insert(unitId, hash, value);
    this.count++;
  }

  private evictOne(): void {
    // Evict from the largest experiment so one busy experiment cannot starve the others.
    let victim: Table | undefined;
    for (const table of this.tables.values()) if (victim === undefined || table.live > victim.live) victim = table;
    if (victim === undefined || victim.live === 0) return;
    const now = this.now();
    // CLOCK: the hand sweeps slots in order; a referenced, unexpired unit gets one second chance,
    // so this ends within two sweeps.
    for (;;) {
      if (victim.hand >= victim.next) victim.hand = 0;
      const slot = victim.hand++;
      if (victim.keys[slot] === undefined) continue;
      if (now - victim.lastActiveAt(slot) <= this.ttlMs && victim.secondChance(slot)) continue;
      this.remove(victim, slot);
      return;
    }
  }
}
