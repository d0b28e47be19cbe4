import { coarseNow } from './internal/clock.js';
import { fingerprint, fingerprintSeed } from './internal/fingerprint.js';

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

/**
 * A replacement for the store's 64-bit unit fingerprint: write two 32-bit halves of `unitId`'s
 * fingerprint into `out[0]` and `out[1]`. Units with equal fingerprints are the same unit to the
 * store, so this exists to test that behaviour with deliberate collisions.
 * @example
 * // Every id of the same length collides: 'ab' and 'cd' are one unit to this store.
 * const store = new MemoryAssignmentStore({ fingerprint: (id, out) => { out[0] = id.length; out[1] = 0; } });
 */
export type UnitFingerprint = (unitId: string, out: Int32Array) => void;

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
  /**
   * Replaces the 64-bit unit fingerprint (default: a 64-bit hash of the id in two 32-bit lanes, seeded
   * by the experiment key). For tests that need fingerprint collisions; leave unset otherwise.
   */
  fingerprint?: UnitFingerprint;
}

const REFERENCED = 1;
const MIGRATED = 2;
const NOT_EXPOSED = 4;
const FLAG_BITS = 8;
// Probe index entries, 4 bytes: the top 8 bits of fingerprint lane A (a tag that rules out
// almost every other unit without reading its record) and slot + 1 in the low 24 bits. 0 is an
// empty position, -1 a deleted one (slot + 1 stays below 2^24 - 1: see MAX_UNITS). Four bytes a
// position keep a million-unit index at 8 MB (random reads into it are what a sticky hit waits
// for; the smaller it is, the more of it stays in cache while ids and records stream past).
const EMPTY = 0;
const TOMBSTONE = -1;
const SLOT_BITS = 0xffffff;
/** Units one store can hold (slot + 1 < 2^24 - 1); `maxEntries` may not exceed it. */
const MAX_UNITS = 0xfffffd;
// Record layout, 32 bytes (two records per cache line). Int32 view: [0] fingerprint lane A,
// [1] lane B, [2] (variation id + 1) × 8 + flags (0: free slot), [3] version index; Float64 view:
// [2] lastActiveAt, [3] assignedAt. A sticky hit reads the first 24 bytes.
const INTS = 8;
const FLOATS = 4;
const FP_A = 0;
const FP_B = 1;
const PACKED = 2;
const VERSION = 3;
const LAST_ACTIVE_AT = 2;
const ASSIGNED_AT = 3;
// Records live in pages of 65,536 units (2 MB) so that growing never copies a large array or
// leaves one behind for the garbage collector (large buffers count as external memory, whose
// growth triggers full collections); the first page starts small and doubles.
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
  // The last name looked up: stores write one experiment's few variation names over and over.
  private lastName: string | undefined;
  private lastId = 0;

  id(name: string): number {
    if (name === this.lastName) return this.lastId;
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    this.lastName = name;
    this.lastId = id;
    return id;
  }
}

/**
 * One experiment's assignments: an open-addressing hash table (linear probing over an Int32Array
 * of (tag, slot) entries, load <= 0.75) in front of flat records by slot. Units are
 * identified by a 64-bit fingerprint, not by their id string: a sticky hit hashes the id once,
 * reads one probe position and one record, and compares two integers (no stored string to chase
 * and compare character by character). Slots are given out in order of first arrival (freed
 * slots are reused), so units that arrive in that order read their records sequentially.
 */
class Table {
  readonly seedA: number;
  readonly seedB: number;
  pages: Float64Array[] = [new Float64Array(64 * FLOATS)];
  ints: Int32Array[] = [new Int32Array((this.pages[0] as Float64Array).buffer)];
  /** By position: tag << 24 | slot + 1, EMPTY or TOMBSTONE. */
  private index = new Int32Array(128);
  /** Number of index positions minus one. */
  private mask = 127;
  private readonly free: number[] = [];
  /** Slots ever used (records beyond are unused). */
  next = 0;
  live = 0;
  private tombstones = 0;
  /** CLOCK hand over slots. */
  hand = 0;
  /** Definition versions by index (an experiment has few), so a record holds a small integer. */
  private readonly versions: number[] = [];
  private readonly versionIndex = new Map<number, number>();
  private lastVersion = Number.NaN;
  private lastVersionId = 0;
  /** The fingerprint of the last `find` (lanes A and B). */
  readonly print = new Int32Array(2);

  constructor(
    experimentKey: string,
    private readonly variations: VariationNames,
    private readonly custom: UnitFingerprint | undefined,
  ) {
    this.seedA = fingerprintSeed(experimentKey, 0);
    this.seedB = fingerprintSeed(experimentKey, 1);
  }

  /** The slot of `unitId`, or -1; leaves its fingerprint in `print`. */
  find(unitId: string): number {
    const print = this.print;
    if (this.custom === undefined) fingerprint(this.seedA, this.seedB, unitId, print);
    else this.custom(unitId, print);
    const a = print[0] as number;
    const b = print[1] as number;
    const index = this.index;
    const mask = this.mask;
    const tag = a >>> 24;
    let i = a & mask;
    for (;;) {
      const entry = index[i] as number;
      if (entry === EMPTY) return -1;
      if (entry >>> 24 === tag && entry !== TOMBSTONE) {
        const slot = (entry & SLOT_BITS) - 1;
        const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
        const record = (slot & PAGE_MASK) * INTS;
        if (ints[record + FP_B] === b && ints[record + FP_A] === a) return slot;
      }
      i = (i + 1) & mask;
    }
  }

  /** Stores a unit known to be absent, with fingerprint lanes `a` and `b`. */
  insert(a: number, b: number, value: StoredAssignment): void {
    // Linear probing stays short up to a load of 0.75 (a probe compares the tag inside the index);
    // a smaller index stays in cache longer.
    if ((this.live + this.tombstones + 1) * 4 > (this.mask + 1) * 3) this.rehash();
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.next++;
      this.reserve(slot);
    }
    const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
    const base = (slot & PAGE_MASK) * INTS;
    ints[base + FP_A] = a;
    ints[base + FP_B] = b;
    this.write(slot, value);
    let i = a & this.mask;
    while (this.index[i] !== EMPTY && this.index[i] !== TOMBSTONE) i = (i + 1) & this.mask;
    if (this.index[i] === TOMBSTONE) this.tombstones--;
    this.index[i] = ((a >>> 24) << 24) | (slot + 1);
    this.live++;
  }

  remove(slot: number): void {
    const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
    const base = (slot & PAGE_MASK) * INTS;
    let i = (ints[base + FP_A] as number) & this.mask;
    const entry = (((ints[base + FP_A] as number) >>> 24) << 24) | (slot + 1);
    while (this.index[i] !== entry) i = (i + 1) & this.mask;
    this.index[i] = TOMBSTONE;
    this.tombstones++;
    ints[base + PACKED] = 0;
    this.free.push(slot);
    this.live--;
  }

  isFree(slot: number): boolean {
    return (this.ints[slot >>> PAGE_BITS] as Int32Array)[(slot & PAGE_MASK) * INTS + PACKED] === 0;
  }

  write(slot: number, value: StoredAssignment): void {
    const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
    const floats = this.pages[slot >>> PAGE_BITS] as Float64Array;
    const base = (slot & PAGE_MASK) * INTS;
    ints[base + PACKED] = (this.variations.id(value.variation) + 1) * FLAG_BITS + (value.migrated === true ? MIGRATED : 0) + (value.exposed === false ? NOT_EXPOSED : 0);
    ints[base + VERSION] = this.version(value.version);
    floats[(slot & PAGE_MASK) * FLOATS + LAST_ACTIVE_AT] = value.lastActiveAt;
    floats[(slot & PAGE_MASK) * FLOATS + ASSIGNED_AT] = value.assignedAt;
  }

  read(slot: number): StoredAssignment {
    const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
    const floats = this.pages[slot >>> PAGE_BITS] as Float64Array;
    const base = (slot & PAGE_MASK) * INTS;
    const packed = ints[base + PACKED] as number;
    return {
      variation: this.variations.names[(packed >>> 3) - 1] as string,
      version: this.versions[ints[base + VERSION] as number] as number,
      assignedAt: floats[(slot & PAGE_MASK) * FLOATS + ASSIGNED_AT] as number,
      lastActiveAt: floats[(slot & PAGE_MASK) * FLOATS + LAST_ACTIVE_AT] as number,
      migrated: (packed & MIGRATED) !== 0,
      exposed: (packed & NOT_EXPOSED) === 0,
    };
  }

  mark(slot: number): void {
    const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
    const at = (slot & PAGE_MASK) * INTS + PACKED;
    ints[at] = (ints[at] as number) | REFERENCED;
  }

  /** Clears the CLOCK bit; returns whether it was set. */
  secondChance(slot: number): boolean {
    const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
    const at = (slot & PAGE_MASK) * INTS + PACKED;
    const packed = ints[at] as number;
    if ((packed & REFERENCED) === 0) return false;
    ints[at] = packed - REFERENCED;
    return true;
  }

  lastActiveAt(slot: number): number {
    return (this.pages[slot >>> PAGE_BITS] as Float64Array)[(slot & PAGE_MASK) * FLOATS + LAST_ACTIVE_AT] as number;
  }

  setLastActiveAt(slot: number, at: number): void {
    (this.pages[slot >>> PAGE_BITS] as Float64Array)[(slot & PAGE_MASK) * FLOATS + LAST_ACTIVE_AT] = at;
  }

  private version(version: number): number {
    if (version === this.lastVersion) return this.lastVersionId;
    let id = this.versionIndex.get(version);
    if (id === undefined) {
      id = this.versions.length;
      this.versions.push(version);
      this.versionIndex.set(version, id);
    }
    this.lastVersion = version;
    this.lastVersionId = id;
    return id;
  }

  /** Makes room for the record of a new slot. */
  private reserve(slot: number): void {
    const page = slot >>> PAGE_BITS;
    if (page === this.pages.length) {
      this.pages.push(new Float64Array(PAGE_UNITS * FLOATS));
    } else if (page === 0 && slot * FLOATS >= (this.pages[0] as Float64Array).length) {
      const grown = new Float64Array(Math.min((this.pages[0] as Float64Array).length * 2, PAGE_UNITS * FLOATS));
      grown.set(this.pages[0] as Float64Array);
      this.pages[0] = grown;
    } else {
      return;
    }
    this.ints[page] = new Int32Array((this.pages[page] as Float64Array).buffer);
  }

  /**
   * Rebuilds the probe index (dropping tombstones), doubling it when live units need the room.
   * It walks the records in slot order (sequential reads): an index entry holds only the top 8
   * bits of the lane A that places it.
   */
  private rehash(): void {
    let size = this.mask + 1;
    while ((this.live + 1) * 2 > size) size *= 2;
    const index = new Int32Array(size);
    const mask = size - 1;
    for (let slot = 0; slot < this.next; slot++) {
      const ints = this.ints[slot >>> PAGE_BITS] as Int32Array;
      const record = (slot & PAGE_MASK) * INTS;
      if (ints[record + PACKED] === 0) continue;
      const a = ints[record + FP_A] as number;
      let i = a & mask;
      while (index[i] !== EMPTY) i = (i + 1) & mask;
      index[i] = ((a >>> 24) << 24) | (slot + 1);
    }
    this.index = index;
    this.mask = mask;
    this.tombstones = 0;
  }
}

/**
 * A bounded in-memory `AssignmentStore`. Compact (typed arrays, no object and no id string kept
 * per unit) so that a million sticky assignments cost about 40 MB and no garbage-collection
 * pauses. Units are identified by a 64-bit fingerprint of (experiment, unit id): two distinct
 * units of one experiment share one with probability about n² / 2^65 among n stored units (3e-8
 * for a million), and then the later one is served the earlier one's assignment. Eviction is
 * CLOCK (LRU-like, without reordering on every read): when full, units are examined roughly
 * oldest-first; a unit read or touched since the last pass gets a second chance, the first one
 * without is evicted. Idle units older than `ttlMs` are dropped on access. `get` returns a
 * snapshot.
 * @example
 * const store = new MemoryAssignmentStore({ maxEntries: 50_000, ttlMs: 86_400_000 });
 * store.setIfAbsent('support-persona', 'conv-1', { variation: 'warm', version: 1, assignedAt: Date.now(), lastActiveAt: Date.now() });
 * store.get('support-persona', 'conv-1')?.variation; // 'warm'
 */
export class MemoryAssignmentStore implements AssignmentStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly fingerprint: UnitFingerprint | undefined;
  private readonly tables = new Map<string, Table>();
  private readonly variations = new VariationNames();
  private count = 0;
  // The table of the last experiment key looked up: callers route one experiment many times in a
  // row, and comparing the key saves a Map lookup per call.
  private recentKey: string | undefined;
  private recentTable: Table | undefined;
  // The router reads, then touches the same unit: remembering the last slot read saves the
  // second lookup.
  private lastTable: Table | undefined;
  private lastUnit: string | undefined;
  private lastSlot = -1;
  // The router misses, then stores the same unit: remembering the miss saves a hash and a probe.
  private missTable: Table | undefined;
  private missUnit: string | undefined;
  private missA = 0;
  private missB = 0;

  constructor(options: MemoryAssignmentStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    const ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60 * 1000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`);
    if (maxEntries > MAX_UNITS) {
      throw new RangeError(`maxEntries must be at most ${MAX_UNITS} for the in-memory store (got ${maxEntries}); keep more assignments in a shared store such as Redis`);
    }
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0 (got ${ttlMs})`);
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.now = options.now ?? coarseNow;
    this.fingerprint = options.fingerprint;
  }

  /** Number of stored assignments (expired ones included until they are accessed or evicted). */
  get size(): number {
    return this.count;
  }

  get(experimentKey: string, unitId: string): StoredAssignment | undefined {
    const table = this.existing(experimentKey);
    if (table === undefined) return undefined;
    const slot = this.live(table, unitId);
    if (slot < 0) return undefined;
    table.mark(slot);
    this.lastTable = table;
    this.lastUnit = unitId;
    this.lastSlot = slot;
    return table.read(slot);
  }

  getAndTouch(experimentKey: string, unitId: string, at: number): StoredAssignment | undefined {
    const table = this.existing(experimentKey);
    if (table === undefined) return undefined;
    const slot = this.live(table, unitId);
    if (slot < 0) return undefined;
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
    const table = this.existing(experimentKey);
    if (table === undefined) return -1;
    const slot = table.find(unitId);
    if (slot < 0) {
      this.rememberMiss(table, unitId);
      return -1;
    }
    const floats = table.pages[slot >>> PAGE_BITS] as Float64Array;
    const ints = table.ints[slot >>> PAGE_BITS] as Int32Array;
    const record = slot & PAGE_MASK;
    const lastActiveAt = floats[record * FLOATS + LAST_ACTIVE_AT] as number;
    if (this.now() - lastActiveAt > this.ttlMs) {
      this.remove(table, slot);
      this.rememberMiss(table, unitId);
      return -1;
    }
    // Write only what changed: with a coarse clock most hits write nothing.
    const packed = ints[record * INTS + PACKED] as number;
    if ((packed & REFERENCED) === 0) ints[record * INTS + PACKED] = packed | REFERENCED;
    if (at > lastActiveAt) floats[record * FLOATS + LAST_ACTIVE_AT] = at;
    return packed >> 1;
  }

  /**
   * The variation of a `hit` code.
   * @example
   * store.hitVariation(store.hit('support-persona', 'conv-1', Date.now())); // 'warm'
   */
  hitVariation(code: number): string {
    return this.variations.names[(code >> 2) - 1] as string;
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
    if (table !== this.missTable || unitId !== this.missUnit) {
      const existing = this.live(table, unitId);
      if (existing >= 0) return table.read(existing);
      this.rememberMiss(table, unitId);
    }
    // Known absent: nothing was written since that miss (every write forgets it).
    this.insert(table, this.missA, this.missB, value);
    return value;
  }

  set(experimentKey: string, unitId: string, value: StoredAssignment): void {
    const table = this.table(experimentKey);
    const slot = table.find(unitId);
    if (slot >= 0) {
      table.write(slot, value);
      table.mark(slot);
      return;
    }
    this.insert(table, table.print[0] as number, table.print[1] as number, value);
  }

  touch(experimentKey: string, unitId: string, at: number): void {
    const table = this.existing(experimentKey);
    if (table === undefined) return;
    const slot = table === this.lastTable && unitId === this.lastUnit ? this.lastSlot : table.find(unitId);
    if (slot < 0) return;
    table.mark(slot);
    if (at > table.lastActiveAt(slot)) table.setLastActiveAt(slot, at);
  }

  /** Forgets one assignment. */
  delete(experimentKey: string, unitId: string): boolean {
    const table = this.existing(experimentKey);
    if (table === undefined) return false;
    const slot = table.find(unitId);
    if (slot < 0) return false;
    this.remove(table, slot);
    return true;
  }

  /** Forgets everything. */
  clear(): void {
    this.lastTable = undefined;
    this.missTable = undefined;
    this.recentKey = undefined;
    this.recentTable = undefined;
    this.tables.clear();
    this.count = 0;
  }

  /** The experiment's table if it has one (no Map lookup when the key is the previous one). */
  private existing(experimentKey: string): Table | undefined {
    if (experimentKey === this.recentKey) return this.recentTable;
    const table = this.tables.get(experimentKey);
    if (table !== undefined) {
      this.recentKey = experimentKey;
      this.recentTable = table;
    }
    return table;
  }

  private table(experimentKey: string): Table {
    let table = this.existing(experimentKey);
    if (table === undefined) {
      table = new Table(experimentKey, this.variations, this.fingerprint);
      this.tables.set(experimentKey, table);
    }
    return table;
  }

  private rememberMiss(table: Table, unitId: string): void {
    this.missTable = table;
    this.missUnit = unitId;
    this.missA = table.print[0] as number;
    this.missB = table.print[1] as number;
  }

  /** The unit's slot when it is stored and not idle for longer than the TTL, else -1. */
  private live(table: Table, unitId: string): number {
    const slot = table.find(unitId);
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

  private insert(table: Table, a: number, b: number, value: StoredAssignment): void {
    this.missTable = undefined;
    if (this.count >= this.maxEntries) this.evictOne();
    table.insert(a, b, value);
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
      if (victim.isFree(slot)) continue;
      if (now - victim.lastActiveAt(slot) <= this.ttlMs && victim.secondChance(slot)) continue;
      this.remove(victim, slot);
      return;
    }
  }
}
