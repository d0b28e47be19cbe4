/**
 * Lifecycle: the legal state transitions (each one a decision record) and `route`, which applies
 * the DESIGN.md table to new and already-assigned units in every state.
 *
 * | state        | new units                         | active (stored) units                                     |
 * |--------------|-----------------------------------|-----------------------------------------------------------|
 * | draft        | control, not exposed              | control                                                   |
 * | running      | planned allocation (exposed)      | keep the stored variation                                 |
 * | paused       | control, not exposed (stored)     | keep, or freeze to control (`paused` policy)              |
 * | rolled_back  | control, not exposed              | migrate to control now, or at the next boundary           |
 * | shipped      | winner, not exposed               | finish on the stored variation, or migrate at a boundary  |
 * | inconclusive | control, not exposed              | finish, migrate to control now or at a boundary           |
 * | archived     | winner if shipped, else control   | same as new                                               |
 *
 * Only `running` traffic counts as exposure.
 */
import { AbtelError } from './errors.js';
import { coarseNow } from './internal/clock.js';
import { assign, type UnitContext } from './assignment.js';
import type { ExperimentDefinition, ExperimentState } from './experiment.js';
import type { ExperimentSet } from './experiment-set.js';
import { MemoryAssignmentStore, type AssignmentStore, type MaybePromise, type StoredAssignment } from './store.js';

/** Why `route` chose the variation it returned. */
export type RouteReason =
  | 'assigned'
  | 'not_targeted'
  | 'outside_layer'
  | 'outside_coverage'
  | 'sticky'
  | 'variation_removed'
  | 'draft'
  | 'paused'
  | 'paused_keep'
  | 'paused_frozen'
  | 'rolled_back'
  | 'rolled_back_migrated'
  | 'rolled_back_awaiting_boundary'
  | 'shipped'
  | 'shipped_finishing'
  | 'shipped_migrated'
  | 'inconclusive'
  | 'inconclusive_finishing'
  | 'inconclusive_migrated'
  | 'archived';

/** The routing decision for one unit. */
export interface RouteResult {
  experiment: string;
  /** The variation to serve (never null: units outside the experiment get control or the winner). */
  variation: string;
  /** True when the unit is part of the randomised experiment population. */
  inExperiment: boolean;
  /** True when this routing counts as exposure (only running, randomised units). */
  exposed: boolean;
  reason: RouteReason;
  /** True when a lifecycle rule moved the unit off the variation it was assigned. */
  migrated: boolean;
  /** The unit's bucket, when it was computed (new units). */
  bucket?: number;
  /** Whether the caller should persist the result (a first assignment, or a migration). */
  store: boolean;
}

/** Options of `route`. */
export interface RouteOptions {
  /** The unit is at a natural boundary (e.g. a new session of the conversation): `migrate_at_boundary` policies apply now. */
  atBoundary?: boolean;
}

/** A state change with who decided it and why. */
export interface DecisionRecord {
  experiment: string;
  from: ExperimentState;
  to: ExperimentState;
  /** ISO 8601 time of the decision. */
  at: string;
  by: string;
  reason: string;
  winner?: string;
}

/**
 * Legal transitions. Decisions are final: nothing returns to running after a decision.
 * @example
 * TRANSITIONS.running; // ['paused', 'rolled_back', 'shipped', 'inconclusive']
 */
export const TRANSITIONS: Readonly<Record<ExperimentState, readonly ExperimentState[]>> = {
  draft: ['running', 'archived'],
  running: ['paused', 'rolled_back', 'shipped', 'inconclusive'],
  paused: ['running', 'rolled_back', 'shipped', 'inconclusive'],
  rolled_back: ['archived'],
  shipped: ['archived'],
  inconclusive: ['archived'],
  archived: [],
};

/**
 * True when an experiment may move from `from` to `to`.
 * @example
 * canTransition('running', 'paused'); // true
 * canTransition('shipped', 'running'); // false
 */
export function canTransition(from: ExperimentState, to: ExperimentState): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Applies a legal transition and returns the new definition (a copy) and its decision record.
 * Shipping needs a `winner`; starting sets `startedAt` when missing.
 * @throws AbtelError `invalid_transition` for an illegal transition or a missing/unknown winner.
 * @example
 * const { definition, record } = transition(def, 'shipped', { by: 'ana@example.com', reason: 'warm wins on resolution', winner: 'warm' });
 */
export function transition(
  def: ExperimentDefinition,
  to: ExperimentState,
  decision: { by: string; reason: string; at?: Date | string; winner?: string },
): { definition: ExperimentDefinition; record: DecisionRecord } {
  const from = def.state;
  if (!canTransition(from, to)) {
    const legal = TRANSITIONS[from];
    throw new AbtelError(
      'invalid_transition',
      `${def.key}: cannot go from ${from} to ${to}; from ${from} the legal next states are ${legal.length > 0 ? legal.join(', ') : 'none (archived is final)'}`,
    );
  }
  if (typeof decision?.by !== 'string' || typeof decision.reason !== 'string' || decision.by.trim() === '' || decision.reason.trim() === '') {
    throw new AbtelError('invalid_transition', `${def.key}: a decision needs "by" (who decided) and "reason" (why)`);
  }
  const keys = def.variations.map((variation) => variation.key);
  if (to === 'shipped' && (decision.winner === undefined || !keys.includes(decision.winner))) {
    throw new AbtelError('invalid_transition', `${def.key}: shipping needs "winner", one of ${keys.join(', ')} (got ${decision.winner ?? 'none'})`);
  }
  const when = decision.at === undefined ? new Date() : new Date(decision.at);
  if (Number.isNaN(when.getTime())) {
    throw new AbtelError('invalid_transition', `${def.key}: "at" must be a date or an ISO 8601 time (got ${JSON.stringify(String(decision.at))})`);
  }
  const at = when.toISOString();
  const definition: ExperimentDefinition = { ...def, state: to };
  if (to === 'shipped') definition.winner = decision.winner;
  // Only a shipped experiment has a winner, and an archived one keeps it only if it shipped:
  // archived routing serves the winner to everyone.
  else if (!(to === 'archived' && from === 'shipped')) delete definition.winner;
  if (to === 'running' && definition.startedAt === undefined) definition.startedAt = at;
  const record: DecisionRecord = { experiment: def.key, from, to, at, by: decision.by, reason: decision.reason };
  if (to === 'shipped') record.winner = decision.winner;
  return { definition, record };
}

function result(
  def: ExperimentDefinition,
  variation: string,
  reason: RouteReason,
  fields: { inExperiment?: boolean; exposed?: boolean; migrated?: boolean; store?: boolean; bucket?: number } = {},
): RouteResult {
  const routed: RouteResult = {
    experiment: def.key,
    variation,
    inExperiment: fields.inExperiment ?? false,
    exposed: fields.exposed ?? false,
    reason,
    migrated: fields.migrated ?? false,
    store: fields.store ?? false,
  };
  if (fields.bucket !== undefined) routed.bucket = fields.bucket;
  return routed;
}

function hasVariation(def: ExperimentDefinition, key: string): boolean {
  const variations = def.variations;
  for (let i = 0; i < variations.length; i++) if ((variations[i] as { key: string }).key === key) return true;
  return false;
}

/**
 * Routes one unit under the definition's state (DESIGN.md table). `stored` is the unit's sticky
 * assignment, if any; without it the unit is new. Pure: persisting is the caller's job (see
 * `result.store`, or use `StickyRouter`).
 * @example
 * const first = route(def, { id: 'conv-1' });                // running: planned allocation, exposed
 * const later = route(pausedDef, { id: 'conv-1' }, stored);  // paused: keep (or freeze), not exposed
 */
export function route(def: ExperimentDefinition, unit: UnitContext, stored?: StoredAssignment, options?: RouteOptions): RouteResult {
  // Hot path (a sticky hit while running): no closures, one object.
  if (stored !== undefined && def.state === 'running' && hasVariation(def, stored.variation)) {
    const wasIn = stored.exposed !== false;
    return { experiment: def.key, variation: stored.variation, inExperiment: wasIn, exposed: wasIn, reason: 'sticky', migrated: stored.migrated === true, store: false };
  }
  const control = def.control;
  const policies = def.activeConversationPolicy;
  if (stored !== undefined) {
    const wasIn = stored.exposed !== false;
    const alreadyMigrated = stored.migrated === true;
    // A variation deleted from the definition cannot be served: fall back to control.
    if (def.state !== 'archived' && def.state !== 'draft' && !hasVariation(def, stored.variation)) {
      return result(def, control, 'variation_removed', { inExperiment: wasIn, migrated: true, store: true });
    }
    const keep = (reason: RouteReason, exposed = false): RouteResult =>
      result(def, stored.variation, reason, { inExperiment: wasIn, exposed: exposed && wasIn, migrated: alreadyMigrated });
    const migrateTo = (target: string, reason: RouteReason): RouteResult =>
      target === stored.variation
        ? keep(reason)
        : result(def, target, reason, { inExperiment: wasIn, migrated: true, store: true });
    switch (def.state) {
      case 'running':
        return keep('sticky', true);
      case 'paused':
        if ((policies?.paused ?? 'keep') === 'freeze_to_control' && stored.variation !== control) {
          // Frozen only while paused: nothing is persisted, so resuming restores the assignment.
          return result(def, control, 'paused_frozen', { inExperiment: wasIn, migrated: true });
        }
        return keep('paused_keep');
      case 'rolled_back':
        if ((policies?.rolled_back ?? 'migrate_to_control') === 'migrate_at_boundary' && options?.atBoundary !== true) {
          return keep(stored.variation === control ? 'rolled_back' : 'rolled_back_awaiting_boundary');
        }
        return stored.variation === control ? keep('rolled_back') : migrateTo(control, 'rolled_back_migrated');
      case 'shipped': {
        const winner = def.winner ?? control;
        if ((policies?.shipped ?? 'keep') === 'migrate_at_boundary' && options?.atBoundary === true && stored.variation !== winner) {
          return migrateTo(winner, 'shipped_migrated');
        }
        return keep('shipped_finishing');
      }
      case 'inconclusive': {
        const policy = policies?.inconclusive ?? 'keep';
        if (stored.variation !== control && (policy === 'migrate_to_control' || (policy === 'migrate_at_boundary' && options?.atBoundary === true))) {
          return migrateTo(control, 'inconclusive_migrated');
        }
        return keep('inconclusive_finishing');
      }
      case 'draft':
        return result(def, control, 'draft', { migrated: stored.variation !== control });
      case 'archived': {
        const served = def.winner ?? control;
        return result(def, served, 'archived', { migrated: stored.variation !== served });
      }
    }
  }
  switch (def.state) {
    case 'running': {
      const assignment = assign(def, unit);
      if (assignment.inExperiment) {
        return result(def, assignment.variation as string, 'assigned', { inExperiment: true, exposed: true, store: true, bucket: assignment.bucket });
      }
      // Stored too, so that a later ramp of coverage or targeting never switches a conversation
      // that already started on control; it stays outside the exposed population.
      return result(def, control, assignment.reason as RouteReason, { store: true, bucket: assignment.bucket });
    }
    case 'paused':
      // Stored as not exposed: when the experiment resumes, this conversation stays on control.
      return result(def, control, 'paused', { store: true });
    case 'shipped':
      return result(def, def.winner ?? control, 'shipped');
    case 'archived':
      return result(def, def.winner ?? control, 'archived');
    default:
      return result(def, control, def.state);
  }
}

/**
 * The value to persist for a routing result that says `store: true`.
 * @example
 * if (routed.store) store.setIfAbsent(def.key, unit.id, storedFor(def, routed, Date.now()));
 */
export function storedFor(def: ExperimentDefinition, routed: RouteResult, at: number, previous?: StoredAssignment): StoredAssignment {
  const value: StoredAssignment = {
    variation: routed.variation,
    version: previous?.version ?? def.version,
    assignedAt: previous?.assignedAt ?? at,
    lastActiveAt: at,
    exposed: previous !== undefined ? previous.exposed !== false : routed.exposed,
  };
  if (routed.migrated) value.migrated = true;
  return value;
}

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** Options of `StickyRouter`. */
export interface StickyRouterOptions {
  experiments: ExperimentSet;
  /** Where sticky assignments live. Without a store, routing is deterministic but not sticky. */
  store?: AssignmentStore;
  /** Clock in epoch ms for assignment and activity times. Default: a coarse clock accurate to about 250 ms. */
  now?: () => number;
}

/**
 * Routes units with stickiness: reads the stored assignment, applies `route`, persists first
 * assignments and migrations, and touches the rest. Synchronous when the store is (no promise is
 * created on the in-memory fast path); returns a promise when the store is asynchronous.
 * @example
 * const router = new StickyRouter({ experiments: await loadExperiments('./experiments'), store: new MemoryAssignmentStore() });
 * const routed = router.route('support-persona', { id: conversationId }) as RouteResult;
 */
export class StickyRouter {
  private readonly experiments: ExperimentSet;
  private readonly store: AssignmentStore | undefined;
  private readonly memory: MemoryAssignmentStore | undefined;
  private readonly now: () => number;
  // The last experiment routed: services route one experiment many times in a row, and comparing
  // the key saves a Map lookup per call (an ExperimentSet is immutable).
  private recentKey: string | undefined;
  private recentDefinition: ExperimentDefinition | undefined;
  private recentRunning = false;
  // Sticky-hit results of the last definition routed, by `MemoryAssignmentStore.hit` code: a hit
  // while running depends only on the definition and the stored (variation, migrated, exposed).
  private hits: (RouteResult | undefined)[] = [];
  private readonly hitsByDefinition = new WeakMap<ExperimentDefinition, (RouteResult | undefined)[]>();

  constructor(options: StickyRouterOptions) {
    this.experiments = options.experiments;
    this.store = options.store;
    // Only the store itself: a subclass may override get/getAndTouch, which the fast path bypasses.
    this.memory = options.store !== undefined && Object.getPrototypeOf(options.store) === MemoryAssignmentStore.prototype ? (options.store as MemoryAssignmentStore) : undefined;
    this.now = options.now ?? coarseNow;
  }

  /**
   * Routes one unit. With the in-memory store, a sticky hit while running returns a shared,
   * frozen `RouteResult` (one per definition, variation and stored flags): treat results as
   * read-only.
   * @throws AbtelError `not_found` for an unknown experiment key.
   */
  route(experimentKey: string, unit: UnitContext, options?: RouteOptions): MaybePromise<RouteResult> {
    const def = experimentKey === this.recentKey ? (this.recentDefinition as ExperimentDefinition) : this.definition(experimentKey);
    const store = this.store;
    if (store === undefined) return route(def, unit, undefined, options);
    const at = this.now();
    const memory = this.memory;
    if (memory !== undefined && this.recentRunning) {
      // Fast path: one lookup, no snapshot, no new result object.
      const code = memory.hit(experimentKey, unit.id, at);
      if (code < 0) return this.settle(store, def, unit, undefined, options, at, true);
      const cached = this.hits[code];
      if (cached !== undefined) return cached;
      const routed = route(def, unit, { variation: memory.hitVariation(code), version: def.version, assignedAt: at, lastActiveAt: at, migrated: memory.hitMigrated(code), exposed: memory.hitExposed(code) }, options);
      if (routed.reason === 'sticky' && !routed.store) {
        this.hits[code] = Object.freeze(routed);
        return routed;
      }
      // Anything else (a removed variation) takes the general path, which persists migrations.
    }
    // With getAndTouch, a sticky hit is one store operation; otherwise get, then touch below.
    const touched = store.getAndTouch !== undefined;
    const stored = touched ? (store.getAndTouch as NonNullable<AssignmentStore['getAndTouch']>)(experimentKey, unit.id, at) : store.get(experimentKey, unit.id);
    if (isPromise(stored)) return stored.then((value) => this.settle(store, def, unit, value, options, at, touched));
    return this.settle(store, def, unit, stored, options, at, touched);
  }

  /** Looks a definition up and makes it the recent one (with its sticky-hit results). */
  private definition(experimentKey: string): ExperimentDefinition {
    const def = this.experiments.require(experimentKey);
    let hits = this.hitsByDefinition.get(def);
    if (hits === undefined) {
      hits = [];
      this.hitsByDefinition.set(def, hits);
    }
    this.recentKey = experimentKey;
    this.recentDefinition = def;
    this.recentRunning = def.state === 'running';
    this.hits = hits;
    return def;
  }

  private settle(
    store: AssignmentStore,
    def: ExperimentDefinition,
    unit: UnitContext,
    stored: StoredAssignment | undefined,
    options: RouteOptions | undefined,
    at: number,
    touched: boolean,
  ): MaybePromise<RouteResult> {
    const routed = route(def, unit, stored, options);
    if (stored !== undefined) {
      if (routed.store && store.set !== undefined) {
        const written = store.set(def.key, unit.id, storedFor(def, routed, at, stored));
        return isPromise(written) ? written.then(() => routed) : routed;
      }
      if (touched) return routed;
      const touching = store.touch(def.key, unit.id, at);
      return isPromise(touching) ? touching.then(() => routed) : routed;
    }
    if (!routed.store) return routed;
    const value = storedFor(def, routed, at);
    const winner = store.setIfAbsent(def.key, unit.id, value);
    if (isPromise(winner)) return winner.then((kept) => (kept === value || kept.variation === value.variation ? routed : route(def, unit, kept, options)));
    // Another writer got there first: follow its assignment so both agree.
    return winner === value || winner.variation === value.variation ? routed : route(def, unit, winner, options);
  }
}
