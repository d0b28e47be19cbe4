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
   * Replaces the 64-bit unit fingerprint (default: two independent 32-bit hashes of the id, seeded
   * by the experiment key). For tests that need fingerprint collisions; leave unset otherwise.
   */
  fingerprint?: UnitFingerprint;
}

const REFERENCED = 1;
const MIGRATED = 2;
const NOT_EXPOSED = 4;
const FLAG_BITS = 8;
// Entry layout, 16 bytes (four entries per 64-byte cache line, never one entry across two): all a
// sticky hit reads or writes. Fingerprint lanes A and B; packed (variation id + 1) × 8 + flags
// (0: empty); last activity in ticks since the table's time base.
const ENTRY = 4;
const FP_A = 0;
const FP_B = 1;
const PACKED = 2;
const TICK = 3;
const INITIAL_POSITIONS = 128;
const INITIAL_SLOTS = 64;
// Ticks are rebased before they pass 2^30, so that a tick never overflows 32 bits.
const REBASE_TICKS = 2 ** 30;

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
 * One experiment's assignments: an open-addressing hash table with linear probing whose 16-byte
 * entries hold the unit's 64-bit fingerprint next to its variation, flags and last activity, so a
 * sticky hit hashes the id once and reads one cache line (no stored id string to chase and
 * compare). Load stays <= 0.5 (a power-of-two table, doubled when half full), so most hits find
 * their entry at its home position. Deletion shifts the following entries back (no tombstones).
 *
 * Last activity in an entry is a 32-bit tick count since `base` (a tick is `tickMs`, 1 ms unless
 * the TTL needs more range), so that the entry stays 16 bytes; the precise time is kept with the
 * cold fields. Cold fields (version, assignedAt, precise lastActiveAt) live in arrays by slot: a
 * unit's slot is stable (reused after deletion), the CLOCK hand sweeps slots (roughly in order of
 * first arrival), `positions` maps a slot to its entry and `slots` an entry to its slot.
 */
class Table {
  readonly seedA: number;
  readonly seedB: number;
  ints = new Int32Array(INITIAL_POSITIONS * ENTRY);
  /** By entry position: the unit's slot. */
  slots = new Int32Array(INITIAL_POSITIONS);
  /** Number of entry positions minus one. */
  mask = INITIAL_POSITIONS - 1;
  /** By slot: the entry position, or -1 for a free slot. */
  positions = new Int32Array(INITIAL_SLOTS).fill(-1);
  /** By slot: the definition version (a float: versions are not bounded to 32 bits). */
  versions = new Float64Array(INITIAL_SLOTS);
  assignedAts = new Float64Array(INITIAL_SLOTS);
  /** By slot: the last activity written by a precise write (hits only advance the entry's tick). */
  lastActiveAts = new Float64Array(INITIAL_SLOTS);
  private readonly free: number[] = [];
  /** Slots ever used (slots beyond are unused). */
  next = 0;
  live = 0;
  /** CLOCK hand over slots. */
  hand = 0;
  /** Epoch ms of tick 0. */
  base: number;
  /** The fingerprint of the last `find` (lanes A and B). */
  readonly print = new Int32Array(2);

  constructor(
    experimentKey: string,
    private readonly variations: VariationNames,
    private readonly custom: UnitFingerprint | undefined,
    readonly tickMs: number,
    now: number,
  ) {
    this.seedA = fingerprintSeed(experimentKey, 0);
    this.seedB = fingerprintSeed(experimentKey, 1);
    this.base = now;
  }

  /** The entry position of `unitId`, or -1; leaves its fingerprint in `print`. */
  find(unitId: string): number {
    const print = this.print;
    if (this.custom === undefined) fingerprint(this.seedA, this.seedB, unitId, print);
    else this.custom(unitId, print);
    const a = print[0] as number;
    const b = print[1] as number;
    const ints = this.ints;
    const mask = this.mask;
    let position = a & mask;
    for (;;) {
      const entry = position * ENTRY;
      if (ints[entry + FP_A] === a && ints[entry + FP_B] === b && ints[entry + PACKED] !== 0) return position;
      if (ints[entry + PACKED] === 0) return -1;
      position = (position + 1) & mask;
    }
  }

  /** The tick of epoch-ms time `at` (rounded down; rebases first when `at` is out of range). */
  tick(at: number): number {
    const ticks = Math.floor((at - this.base) / this.tickMs);
    if (ticks < REBASE_TICKS) return ticks > -REBASE_TICKS ? ticks : -REBASE_TICKS;
    this.rebase(at);
    return Math.floor((at - this.base) / this.tickMs);
  }

  /**
   * Moves the time base to `at` (once per 2^30 ticks, about 12 days at 1 ms a tick). Ticks that
   * would fall below -2^30 are clamped: they are older than 2^30 ticks, beyond the TTL (the tick
   * length is chosen so), so they stay expired.
   */
  private rebase(at: number): void {
    const shift = Math.floor((at - this.base) / this.tickMs);
    const ints = this.ints;
    for (let entry = TICK; entry < ints.length; entry += ENTRY) {
      const moved = (ints[entry] as number) - shift;
      ints[entry] = moved > -REBASE_TICKS ? moved : -REBASE_TICKS;
    }
    this.base += shift * this.tickMs;
  }

  /** Stores a unit known to be absent, with the fingerprint lanes `a` and `b`; returns its position. */
  insert(a: number, b: number, value: StoredAssignment): number {
    if ((this.live + 1) * 2 > this.mask + 1) this.grow();
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.next++;
      if (slot === this.positions.length) this.growSlots();
    }
    const ints = this.ints;
    const mask = this.mask;
    let position = a & mask;
    while (ints[position * ENTRY + PACKED] !== 0) position = (position + 1) & mask;
    const entry = position * ENTRY;
    ints[entry + FP_A] = a;
    ints[entry + FP_B] = b;
    this.slots[position] = slot;
    this.positions[slot] = position;
    this.write(position, value);
    this.live++;
    return position;
  }

  /** Forgets the unit at `position`, shifting later entries of its probe run back into the gap. */
  remove(position: number): void {
    const ints = this.ints;
    const slots = this.slots;
    const mask = this.mask;
    const slot = slots[position] as number;
    this.positions[slot] = -1;
    this.free.push(slot);
    this.live--;
    let hole = position;
    let next = (position + 1) & mask;
    for (;;) {
      const entry = next * ENTRY;
      if (ints[entry + PACKED] === 0) break;
      const home = (ints[entry + FP_A] as number) & mask;
      // The entry may fill the hole when its home is not after the hole (cyclically): its probe
      // run from home then still passes the hole.
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        const to = hole * ENTRY;
        for (let k = 0; k < ENTRY; k++) ints[to + k] = ints[entry + k] as number;
        const moved = slots[next] as number;
        slots[hole] = moved;
        this.positions[moved] = hole;
        hole = next;
      }
      next = (next + 1) & mask;
    }
    ints.fill(0, hole * ENTRY, hole * ENTRY + ENTRY);
  }

  write(position: number, value: StoredAssignment): void {
    const entry = position * ENTRY;
    const slot = this.slots[position] as number;
    this.ints[entry + PACKED] = (this.variations.id(value.variation) + 1) * FLAG_BITS + (value.migrated === true ? MIGRATED : 0) + (value.exposed === false ? NOT_EXPOSED : 0);
    this.ints[entry + TICK] = this.tick(value.lastActiveAt);
    this.versions[slot] = value.version;
    this.assignedAts[slot] = value.assignedAt;
    this.lastActiveAts[slot] = value.lastActiveAt;
  }

  read(position: number): StoredAssignment {
    const packed = this.ints[position * ENTRY + PACKED] as number;
    const slot = this.slots[position] as number;
    return {
      variation: this.variations.names[(packed >>> 3) - 1] as string,
      version: this.versions[slot] as number,
      assignedAt: this.assignedAts[slot] as number,
      lastActiveAt: this.lastActiveAt(position),
      migrated: (packed & MIGRATED) !== 0,
      exposed: (packed & NOT_EXPOSED) === 0,
    };
  }

  mark(position: number): void {
    const at = position * ENTRY + PACKED;
    this.ints[at] = (this.ints[at] as number) | REFERENCED;
  }

  /** Clears the CLOCK bit; returns whether it was set. */
  secondChance(position: number): boolean {
    const at = position * ENTRY + PACKED;
    const packed = this.ints[at] as number;
    if ((packed & REFERENCED) === 0) return false;
    this.ints[at] = packed - REFERENCED;
    return true;
  }

  /** The precise last activity, or the entry's tick when a hit advanced it since. */
  lastActiveAt(position: number): number {
    const precise = this.lastActiveAts[this.slots[position] as number] as number;
    const tick = this.ints[position * ENTRY + TICK] as number;
    // A clamped tick only says "older than the TTL": the precise time is the answer then.
    if (tick === -REBASE_TICKS) return precise;
    const ticked = this.base + tick * this.tickMs;
    return ticked > precise ? ticked : precise;
  }

  setLastActiveAt(position: number, at: number): void {
    this.lastActiveAts[this.slots[position] as number] = at;
    this.ints[position * ENTRY + TICK] = this.tick(at);
  }

  /**
   * Doubles the table. It walks the old entries in order, so the new table is written almost
   * sequentially (a walk in slot order would write a million random cache lines).
   */
  private grow(): void {
    const old = this.ints;
    const oldSlots = this.slots;
    const oldSize = this.mask + 1;
    const size = oldSize * 2;
    const ints = new Int32Array(size * ENTRY);
    const slots = new Int32Array(size);
    const mask = size - 1;
    const positions = this.positions;
    for (let from = 0; from < oldSize; from++) {
      const entry = from * ENTRY;
      if (old[entry + PACKED] === 0) continue;
      let position = (old[entry + FP_A] as number) & mask;
      while (ints[position * ENTRY + PACKED] !== 0) position = (position + 1) & mask;
      const to = position * ENTRY;
      for (let k = 0; k < ENTRY; k++) ints[to + k] = old[entry + k] as number;
      const slot = oldSlots[from] as number;
      slots[position] = slot;
      positions[slot] = position;
    }
    this.ints = ints;
    this.slots = slots;
    this.mask = mask;
  }

  private growSlots(): void {
    const length = this.positions.length * 2;
    const positions = new Int32Array(length).fill(-1);
    positions.set(this.positions);
    this.positions = positions;
    this.versions = grown(this.versions, length);
    this.assignedAts = grown(this.assignedAts, length);
    this.lastActiveAts = grown(this.lastActiveAts, length);
  }
}

function grown(values: Float64Array<ArrayBuffer>, length: number): Float64Array<ArrayBuffer> {
  const copy = new Float64Array(length);
  copy.set(values);
  return copy;
}

/**
 * A bounded in-memory `AssignmentStore`. Compact (typed arrays, no object and no id string kept
 * per unit) so that a million sticky assignments cost about 75 MB and no garbage-collection
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
  /** The length of an entry's activity tick in ms. */
  private readonly tickMs: number;
  private readonly tables = new Map<string, Table>();
  private readonly variations = new VariationNames();
  private count = 0;
  // The table of the last experiment key looked up: callers route one experiment many times in a
  // row, and comparing the key saves a Map lookup per call.
  private recentKey: string | undefined;
  private recentTable: Table | undefined;
  // The router reads, then touches the same unit: remembering the last position read saves the
  // second lookup.
  private lastTable: Table | undefined;
  private lastUnit: string | undefined;
  private lastPosition = -1;
  // The router misses, then stores the same unit: remembering the miss saves a hash and a probe.
  private missTable: Table | undefined;
  private missUnit: string | undefined;
  private missA = 0;
  private missB = 0;

  constructor(options: MemoryAssignmentStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    const ttlMs = options.ttlMs ?? 7 * 24 * 60 * 60 * 1000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0 (got ${ttlMs})`);
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.now = options.now ?? coarseNow;
    this.fingerprint = options.fingerprint;
    // The longest TTL in 2^29 ticks of a power-of-two number of ms: 1 ms up to 6.2 days.
    let tickMs = 1;
    while (ttlMs / tickMs > 2 ** 29) tickMs *= 2;
    this.tickMs = tickMs;
  }

  /** Number of stored assignments (expired ones included until they are accessed or evicted). */
  get size(): number {
    return this.count;
  }

  get(experimentKey: string, unitId: string): StoredAssignment | undefined {
    const table = this.existing(experimentKey);
    if (table === undefined) return undefined;
    const position = this.live(table, unitId);
    if (position < 0) return undefined;
    table.mark(position);
    this.lastTable = table;
    this.lastUnit = unitId;
    this.lastPosition = position;
    return table.read(position);
  }

  getAndTouch(experimentKey: string, unitId: string, at: number): StoredAssignment | undefined {
    const table = this.existing(experimentKey);
    if (table === undefined) return undefined;
    const position = this.live(table, unitId);
    if (position < 0) return undefined;
    table.mark(position);
    if (at > table.lastActiveAt(position)) table.setLastActiveAt(position, at);
    return table.read(position);
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
    const position = table.find(unitId);
    if (position < 0) {
      this.rememberMiss(table, unitId);
      return -1;
    }
    // Before reading the entry: converting `at` may rebase the ticks.
    const atTick = table.tick(at);
    const ints = table.ints;
    const entry = position * ENTRY;
    const tick = ints[entry + TICK] as number;
    const now = this.now();
    // The tick rounds down, so it may say "expired" up to a tick early: the precise time decides.
    if (now - (table.base + tick * table.tickMs) > this.ttlMs && now - table.lastActiveAt(position) > this.ttlMs) {
      this.remove(table, position);
      this.rememberMiss(table, unitId);
      return -1;
    }
    // Write only what changed: with a coarse clock most hits write nothing.
    const packed = ints[entry + PACKED] as number;
    if ((packed & REFERENCED) === 0) ints[entry + PACKED] = packed | REFERENCED;
    if (atTick > tick) ints[entry + TICK] = atTick;
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
    const position = table.find(unitId);
    if (position >= 0) {
      table.write(position, value);
      table.mark(position);
      return;
    }
    this.insert(table, table.print[0] as number, table.print[1] as number, value);
  }

  touch(experimentKey: string, unitId: string, at: number): void {
    const table = this.existing(experimentKey);
    if (table === undefined) return;
    const position = table === this.lastTable && unitId === this.lastUnit ? this.lastPosition : table.find(unitId);
    if (position < 0) return;
    table.mark(position);
    if (at > table.lastActiveAt(position)) table.setLastActiveAt(position, at);
  }

  /** Forgets one assignment. */
  delete(experimentKey: string, unitId: string): boolean {
    const table = this.existing(experimentKey);
    if (table === undefined) return false;
    const position = table.find(unitId);
    if (position < 0) return false;
    this.remove(table, position);
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
      table = new Table(experimentKey, this.variations, this.fingerprint, this.tickMs, this.now());
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

  /** The unit's position when it is stored and not idle for longer than the TTL, else -1. */
  private live(table: Table, unitId: string): number {
    const position = table.find(unitId);
    if (position < 0) return -1;
    if (this.now() - table.lastActiveAt(position) > this.ttlMs) {
      this.remove(table, position);
      return -1;
    }
    return position;
  }

  private remove(table: Table, position: number): void {
    // Entries move on removal: forget every remembered position of this table.
    if (table === this.lastTable) this.lastTable = undefined;
    this.missTable = undefined;
    table.remove(position);
    this.count--;
  }

  private insert(table: Table, a: number, b: number, value: StoredAssignment): void {
    this.missTable = undefined;
    if (this.count >= this.maxEntries) this.evictOne();
    // Entries move when the table grows.
    if (table === this.lastTable) this.lastTable = undefined;
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
      const position = victim.positions[victim.hand++] as number;
      if (position < 0) continue;
      if (now - victim.lastActiveAt(position) <= this.ttlMs && victim.secondChance(position)) continue;
      this.remove(victim, position);
      return;
    }
  }
}
