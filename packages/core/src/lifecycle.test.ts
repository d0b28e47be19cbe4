import { describe, expect, it } from 'vitest';
import {
  EXPERIMENT_STATES,
  ExperimentSet,
  MemoryAssignmentStore,
  StickyRouter,
  canTransition,
  isAbtelError,
  route,
  transition,
  type AssignmentStore,
  type ExperimentDefinition,
  type RouteResult,
  type StoredAssignment,
} from './index.js';
import { definition } from './testing/definitions.js';

const stored = (variation: string, extra: Partial<StoredAssignment> = {}): StoredAssignment => ({ variation, version: 1, assignedAt: 1, lastActiveAt: 1, ...extra });
const pick = (result: RouteResult) => ({ variation: result.variation, exposed: result.exposed, migrated: result.migrated, reason: result.reason, store: result.store });

describe('route: new units in every state', () => {
  const winnerDef = (state: ExperimentDefinition['state']) => definition({ state, winner: state === 'shipped' || state === 'archived' ? 'warm' : undefined });
  const expected: Record<ExperimentDefinition['state'], { variation: string; exposed: boolean; reason: string; store: boolean }> = {
    draft: { variation: 'neutral', exposed: false, reason: 'draft', store: false },
    paused: { variation: 'neutral', exposed: false, reason: 'paused', store: true },
    rolled_back: { variation: 'neutral', exposed: false, reason: 'rolled_back', store: false },
    shipped: { variation: 'warm', exposed: false, reason: 'shipped', store: false },
    inconclusive: { variation: 'neutral', exposed: false, reason: 'inconclusive', store: false },
    archived: { variation: 'warm', exposed: false, reason: 'archived', store: false },
    running: { variation: '(planned)', exposed: true, reason: 'assigned', store: true },
  };
  for (const state of EXPERIMENT_STATES) {
    it(state, () => {
      const def = winnerDef(state);
      // Many units: non-running states must ignore the planned allocation entirely.
      const variations = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const result = route(def, { id: `conv-${i}` });
        variations.add(result.variation);
        const want = expected[state];
        expect(pick(result)).toEqual({ ...want, variation: state === 'running' ? result.variation : want.variation, migrated: false });
        expect(result.inExperiment).toBe(state === 'running');
      }
      expect(variations.size).toBe(state === 'running' ? 2 : 1);
    });
  }

  it('running, outside targeting: control, not exposed, stored so a later change never switches it', () => {
    const def = definition({ targeting: { all: [{ attribute: 'plan', equals: 'pro' }] } });
    expect(pick(route(def, { id: 'conv-1', attributes: { plan: 'free' } }))).toEqual({ variation: 'neutral', exposed: false, migrated: false, reason: 'not_targeted', store: true });
  });
});

describe('route: active (already assigned) units in every state', () => {
  type Case = [state: ExperimentDefinition['state'], policy: Record<string, string> | undefined, storedVariation: string, atBoundary: boolean, want: ReturnType<typeof pick>];
  const cases: Case[] = [
    ['running', undefined, 'warm', false, { variation: 'warm', exposed: true, migrated: false, reason: 'sticky', store: false }],
    ['paused', undefined, 'warm', false, { variation: 'warm', exposed: false, migrated: false, reason: 'paused_keep', store: false }],
    ['paused', { paused: 'keep' }, 'warm', false, { variation: 'warm', exposed: false, migrated: false, reason: 'paused_keep', store: false }],
    ['paused', { paused: 'freeze_to_control' }, 'warm', false, { variation: 'neutral', exposed: false, migrated: true, reason: 'paused_frozen', store: false }],
    ['paused', { paused: 'freeze_to_control' }, 'neutral', false, { variation: 'neutral', exposed: false, migrated: false, reason: 'paused_keep', store: false }],
    ['rolled_back', undefined, 'warm', false, { variation: 'neutral', exposed: false, migrated: true, reason: 'rolled_back_migrated', store: true }],
    ['rolled_back', undefined, 'neutral', false, { variation: 'neutral', exposed: false, migrated: false, reason: 'rolled_back', store: false }],
    ['rolled_back', { rolled_back: 'migrate_at_boundary' }, 'warm', false, { variation: 'warm', exposed: false, migrated: false, reason: 'rolled_back_awaiting_boundary', store: false }],
    ['rolled_back', { rolled_back: 'migrate_at_boundary' }, 'warm', true, { variation: 'neutral', exposed: false, migrated: true, reason: 'rolled_back_migrated', store: true }],
    ['shipped', undefined, 'neutral', false, { variation: 'neutral', exposed: false, migrated: false, reason: 'shipped_finishing', store: false }],
    ['shipped', { shipped: 'keep' }, 'neutral', true, { variation: 'neutral', exposed: false, migrated: false, reason: 'shipped_finishing', store: false }],
    ['shipped', { shipped: 'migrate_at_boundary' }, 'neutral', false, { variation: 'neutral', exposed: false, migrated: false, reason: 'shipped_finishing', store: false }],
    ['shipped', { shipped: 'migrate_at_boundary' }, 'neutral', true, { variation: 'warm', exposed: false, migrated: true, reason: 'shipped_migrated', store: true }],
    ['shipped', { shipped: 'migrate_at_boundary' }, 'warm', true, { variation: 'warm', exposed: false, migrated: false, reason: 'shipped_finishing', store: false }],
    ['inconclusive', undefined, 'warm', false, { variation: 'warm', exposed: false, migrated: false, reason: 'inconclusive_finishing', store: false }],
    ['inconclusive', { inconclusive: 'migrate_to_control' }, 'warm', false, { variation: 'neutral', exposed: false, migrated: true, reason: 'inconclusive_migrated', store: true }],
    ['inconclusive', { inconclusive: 'migrate_at_boundary' }, 'warm', false, { variation: 'warm', exposed: false, migrated: false, reason: 'inconclusive_finishing', store: false }],
    ['inconclusive', { inconclusive: 'migrate_at_boundary' }, 'warm', true, { variation: 'neutral', exposed: false, migrated: true, reason: 'inconclusive_migrated', store: true }],
    ['draft', undefined, 'warm', false, { variation: 'neutral', exposed: false, migrated: true, reason: 'draft', store: false }],
    ['archived', undefined, 'warm', false, { variation: 'warm', exposed: false, migrated: false, reason: 'archived', store: false }],
    ['archived', undefined, 'neutral', false, { variation: 'warm', exposed: false, migrated: true, reason: 'archived', store: false }],
  ];
  it.each(cases)('%s %j, stored %s, at boundary %s', (state, policy, storedVariation, atBoundary, want) => {
    const def = definition({ state, activeConversationPolicy: policy, winner: state === 'shipped' || state === 'archived' ? 'warm' : undefined });
    expect(pick(route(def, { id: 'conv-1' }, stored(storedVariation), { atBoundary }))).toEqual(want);
  });

  it('a unit held out of exposure (stored exposed: false) is never counted, even when running', () => {
    const result = route(definition(), { id: 'conv-1' }, stored('neutral', { exposed: false }));
    expect(result).toMatchObject({ variation: 'neutral', exposed: false, inExperiment: false, reason: 'sticky' });
  });

  it('an already migrated unit stays migrated', () => {
    const def = definition({ state: 'rolled_back' });
    expect(pick(route(def, { id: 'conv-1' }, stored('neutral', { migrated: true })))).toMatchObject({ variation: 'neutral', migrated: true, store: false });
  });

  it('a stored variation that no longer exists falls back to control, marked migrated', () => {
    expect(pick(route(definition(), { id: 'conv-1' }, stored('gone')))).toEqual({ variation: 'neutral', exposed: false, migrated: true, reason: 'variation_removed', store: true });
  });
});

describe('transitions', () => {
  it('allows only legal transitions', () => {
    expect(canTransition('draft', 'running')).toBe(true);
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(true);
    expect(canTransition('running', 'shipped')).toBe(true);
    expect(canTransition('shipped', 'running')).toBe(false);
    expect(canTransition('rolled_back', 'running')).toBe(false);
    expect(canTransition('archived', 'draft')).toBe(false);
    expect(canTransition('draft', 'shipped')).toBe(false);
  });

  it('returns the new definition and a decision record', () => {
    const def = definition();
    const { definition: shipped, record } = transition(def, 'shipped', { by: 'ana@example.com', reason: 'warm wins on resolution', winner: 'warm', at: '2026-11-22T08:00:00Z' });
    expect(record).toEqual({ experiment: 'support-persona', from: 'running', to: 'shipped', at: '2026-11-22T08:00:00.000Z', by: 'ana@example.com', reason: 'warm wins on resolution', winner: 'warm' });
    expect(shipped).toMatchObject({ state: 'shipped', winner: 'warm' });
    expect(def.state).toBe('running');
  });

  it('rejects illegal transitions and shipping without a valid winner, with the legal options', () => {
    const shipped = definition({ state: 'shipped', winner: 'warm' });
    let error: unknown;
    try {
      transition(shipped, 'running', { by: 'ana', reason: 'retry' });
    } catch (caught) {
      error = caught;
    }
    expect(isAbtelError(error, 'invalid_transition')).toBe(true);
    expect((error as Error).message).toMatch(/cannot go from shipped to running; .* archived/);
    expect(() => transition(definition(), 'shipped', { by: 'ana', reason: 'x' })).toThrow(/winner/);
    expect(() => transition(definition(), 'shipped', { by: 'ana', reason: 'x', winner: 'nope' })).toThrow(/winner/);
    expect(() => transition(definition(), 'paused', { by: '', reason: 'x' })).toThrow(/by/);
    // Bad input is an abtel error with the fix, not a JavaScript TypeError or RangeError.
    for (const decision of [{ by: 'ana' }, { by: 'ana', reason: 'x', at: 'yesterday-ish' }] as never[]) {
      let caught: unknown;
      try {
        transition(definition(), 'paused', decision);
      } catch (error) {
        caught = error;
      }
      expect(isAbtelError(caught, 'invalid_transition'), String(caught)).toBe(true);
    }
  });

  it('only a shipped experiment keeps a winner: a rolled-back one, once archived, serves control', () => {
    const running = { ...definition(), winner: 'warm' } as ExperimentDefinition; // built in code, past validation
    const { definition: rolledBack } = transition(running, 'rolled_back', { by: 'ana', reason: 'guardrail' });
    expect(rolledBack.winner).toBeUndefined();
    const { definition: archived } = transition(rolledBack, 'archived', { by: 'ana', reason: 'done' });
    expect(route(archived, { id: 'zz' }).variation).toBe('neutral');
    const { definition: shipped } = transition(definition(), 'shipped', { by: 'ana', reason: 'wins', winner: 'warm' });
    const { definition: archivedAfterShip } = transition(shipped, 'archived', { by: 'ana', reason: 'done' });
    expect(route(archivedAfterShip, { id: 'zz' }).variation).toBe('warm');
    // In a definition file, a winner on any other state is refused with the fix.
    expect(() => definition({ state: 'running', winner: 'warm' })).toThrow(/winner[\s\S]*only for a shipped experiment/);
    expect(() => definition({ state: 'draft', winner: 'warm' })).toThrow(/only for a shipped experiment/);
    expect(definition({ state: 'archived', winner: 'warm' }).winner).toBe('warm');
  });

  it('refuses an experiment salt in the layer salts\' namespace', () => {
    expect(() => definition({ salt: 'layer:bot' })).toThrow(/must not start with .*layer:/);
    expect(definition({ salt: 'bot-2026' }).salt).toBe('bot-2026');
  });

  it('starting sets startedAt', () => {
    const { definition: running } = transition(definition({ state: 'draft' }), 'running', { by: 'ana', reason: 'launch', at: '2026-11-22T08:00:00Z' });
    expect(running.startedAt).toBe('2026-11-22T08:00:00.000Z');
  });
});

describe('StickyRouter', () => {
  const routeAll = (router: StickyRouter, key: string, ids: string[]) => ids.map((id) => router.route(key, { id }) as RouteResult);
  const ids = Array.from({ length: 20_000 }, (_, i) => `conv-${i}`);

  it('ramping coverage 10% → 50% → 100% and changing weights never moves an assigned unit', () => {
    const store = new MemoryAssignmentStore({ maxEntries: 100_000 });
    const first = new Map<string, string>();
    const phases = [
      definition({ coverage: 0.1 }),
      definition({ coverage: 0.5 }),
      definition({ coverage: 1 }),
      definition({ coverage: 1, variations: [{ key: 'neutral', weight: 1 }, { key: 'warm', weight: 9 }] }),
      definition({ coverage: 1, version: 2, variations: [{ key: 'neutral', weight: 9 }, { key: 'warm', weight: 1 }] }),
    ];
    let newlyEnrolled = 0;
    phases.forEach((def, phase) => {
      const router = new StickyRouter({ experiments: new ExperimentSet([def]), store });
      // Each phase sees the old units again plus a fresh slice.
      const seen = ids.slice(0, 4000 * (phase + 1));
      routeAll(router, def.key, seen).forEach((result, index) => {
        const id = seen[index] as string;
        const before = first.get(id);
        if (before === undefined) {
          first.set(id, result.variation);
          if (result.exposed) newlyEnrolled++;
        } else if (before !== result.variation) {
          throw new Error(`phase ${phase}: ${id} moved from ${before} to ${result.variation}`);
        }
      });
    });
    expect(newlyEnrolled).toBeGreaterThan(4000 * 3);
    // Units that arrived while coverage was 10% and were left out stay out (not exposed) later.
    const router = new StickyRouter({ experiments: new ExperimentSet([phases[2] as ExperimentDefinition]), store });
    const earlyOut = ids.slice(0, 4000).filter((id) => store.get('support-persona', id)?.exposed === false);
    expect(earlyOut.length).toBeGreaterThan(3000);
    expect(earlyOut.every((id) => (router.route('support-persona', { id }) as RouteResult).exposed === false)).toBe(true);
  });

  it('pause then resume: paused arrivals stay on control and are never exposed; assigned units keep their arm', () => {
    const store = new MemoryAssignmentStore();
    const running = definition();
    const paused = transition(running, 'paused', { by: 'ops', reason: 'latency spike' }).definition;
    const resumed = transition(paused, 'running', { by: 'ops', reason: 'fixed' }).definition;
    const early = routeAll(new StickyRouter({ experiments: new ExperimentSet([running]), store }), running.key, ids.slice(0, 1000));
    const during = routeAll(new StickyRouter({ experiments: new ExperimentSet([paused]), store }), running.key, ids.slice(0, 2000));
    expect(during.every((result) => !result.exposed)).toBe(true);
    expect(during.slice(1000).every((result) => result.variation === 'neutral')).toBe(true);
    const after = routeAll(new StickyRouter({ experiments: new ExperimentSet([resumed]), store }), running.key, ids.slice(0, 2000));
    after.slice(0, 1000).forEach((result, index) => expect(result.variation).toBe(early[index]!.variation));
    expect(after.slice(1000).every((result) => result.variation === 'neutral' && !result.exposed)).toBe(true);
  });

  it('rollback persists the migration, and a shipped experiment sends new units to the winner', () => {
    const store = new MemoryAssignmentStore();
    const running = definition();
    routeAll(new StickyRouter({ experiments: new ExperimentSet([running]), store }), running.key, ids.slice(0, 500));
    const treated = ids.slice(0, 500).filter((id) => store.get(running.key, id)?.variation === 'warm');
    const rolledBack = transition(running, 'rolled_back', { by: 'ops', reason: 'guardrail breach' }).definition;
    const router = new StickyRouter({ experiments: new ExperimentSet([rolledBack]), store });
    for (const id of treated) expect(router.route(running.key, { id })).toMatchObject({ variation: 'neutral', migrated: true, exposed: false });
    expect(treated.every((id) => store.get(running.key, id)?.migrated === true)).toBe(true);
    const shipped = transition(running, 'shipped', { by: 'pm', reason: 'win', winner: 'warm' }).definition;
    expect(new StickyRouter({ experiments: new ExperimentSet([shipped]) }).route(running.key, { id: 'brand-new' })).toMatchObject({ variation: 'warm', exposed: false });
  });

  it('works with an asynchronous store and follows the first writer on a race', async () => {
    const inner = new MemoryAssignmentStore();
    const asyncStore: AssignmentStore = {
      get: async (key, id) => inner.get(key, id),
      setIfAbsent: async (key, id, value) => {
        // Another process wrote first.
        inner.setIfAbsent(key, id, { ...value, variation: value.variation === 'warm' ? 'neutral' : 'warm' });
        return inner.setIfAbsent(key, id, value);
      },
      touch: async (key, id, at) => inner.touch(key, id, at),
    };
    const router = new StickyRouter({ experiments: new ExperimentSet([definition()]), store: asyncStore });
    const pending = router.route('support-persona', { id: 'conv-1' });
    expect(pending).toBeInstanceOf(Promise);
    const result = await pending;
    expect(result.variation).toBe(inner.get('support-persona', 'conv-1')?.variation);
    expect(result.reason).toBe('sticky');
  });

  it('touches on a sticky hit through get + touch when the store has no getAndTouch', () => {
    const inner = new MemoryAssignmentStore({ now: () => 5_000 });
    const touches: number[] = [];
    const plain: AssignmentStore = {
      get: (key, id) => inner.get(key, id),
      setIfAbsent: (key, id, value) => inner.setIfAbsent(key, id, value),
      touch: (key, id, at) => {
        touches.push(at);
        inner.touch(key, id, at);
      },
    };
    let clock = 1_000;
    const router = new StickyRouter({ experiments: new ExperimentSet([definition()]), store: plain, now: () => clock });
    const first = router.route('support-persona', { id: 'conv-1' }) as RouteResult;
    clock = 2_000;
    const again = router.route('support-persona', { id: 'conv-1' }) as RouteResult;
    expect(again.variation).toBe(first.variation);
    expect(touches).toEqual([2_000]);
    expect(inner.get('support-persona', 'conv-1')).toMatchObject({ assignedAt: 1_000, lastActiveAt: 2_000 });
  });

  it('a sticky hit with the in-memory store returns one frozen result per variation and stored flags', () => {
    const store = new MemoryAssignmentStore();
    const def = definition();
    const router = new StickyRouter({ experiments: new ExperimentSet([def]), store });
    const first = router.route(def.key, { id: 'conv-1' }) as RouteResult;
    expect(first).toMatchObject({ reason: 'assigned', exposed: true, store: true });
    const again = router.route(def.key, { id: 'conv-1' }) as RouteResult;
    expect(pick(again)).toEqual({ variation: first.variation, exposed: true, migrated: false, reason: 'sticky', store: false });
    expect(Object.isFrozen(again)).toBe(true);
    // Another unit on the same arm shares the object; flags that differ do not.
    const sameArm = ids.find((id) => id !== 'conv-1' && route(def, { id }).variation === first.variation) as string;
    router.route(def.key, { id: sameArm });
    expect(router.route(def.key, { id: sameArm })).toBe(again);
    store.setIfAbsent(def.key, 'held-out', stored(first.variation, { exposed: false, assignedAt: Date.now(), lastActiveAt: Date.now() }));
    store.setIfAbsent(def.key, 'moved', stored(first.variation, { migrated: true, assignedAt: Date.now(), lastActiveAt: Date.now() }));
    expect(pick(router.route(def.key, { id: 'held-out' }) as RouteResult)).toEqual({ variation: first.variation, exposed: false, migrated: false, reason: 'sticky', store: false });
    expect(pick(router.route(def.key, { id: 'moved' }) as RouteResult)).toEqual({ variation: first.variation, exposed: true, migrated: true, reason: 'sticky', store: false });
    // The fast path gives what the pure route gives for the stored assignment.
    for (const id of ids.slice(0, 300)) {
      const routed = router.route(def.key, { id }) as RouteResult;
      const again2 = router.route(def.key, { id }) as RouteResult;
      expect(pick(again2)).toEqual(pick(route(def, { id }, store.get(def.key, id))));
      expect(again2.variation).toBe(routed.variation);
    }
  });

  it('a subclass of the in-memory store keeps its overrides (no fast path)', () => {
    const reads: string[] = [];
    class CountingStore extends MemoryAssignmentStore {
      override getAndTouch(key: string, id: string, at: number): StoredAssignment | undefined {
        reads.push(id);
        return super.getAndTouch(key, id, at);
      }
    }
    const router = new StickyRouter({ experiments: new ExperimentSet([definition()]), store: new CountingStore() });
    router.route('support-persona', { id: 'conv-1' });
    expect(router.route('support-persona', { id: 'conv-1' })).toMatchObject({ reason: 'sticky' });
    expect(reads).toEqual(['conv-1', 'conv-1']);
  });

  it('the sticky fast path keeps experiments apart when they are routed alternately', () => {
    const store = new MemoryAssignmentStore();
    const a = definition();
    const b = definition({ key: 'support-model', salt: 'support-model', variations: [{ key: 'small', weight: 1 }, { key: 'large', weight: 1 }], control: 'small' });
    const router = new StickyRouter({ experiments: new ExperimentSet([a, b]), store });
    for (let pass = 0; pass < 2; pass++) {
      for (const id of ids.slice(0, 200)) {
        const left = router.route(a.key, { id }) as RouteResult;
        const right = router.route(b.key, { id }) as RouteResult;
        expect(left).toMatchObject({ experiment: a.key, variation: route(a, { id }).variation, reason: pass === 0 ? 'assigned' : 'sticky' });
        expect(right).toMatchObject({ experiment: b.key, variation: route(b, { id }).variation, reason: pass === 0 ? 'assigned' : 'sticky' });
      }
    }
  });

  it('the sticky fast path touches the unit, and a removed variation still migrates and persists', () => {
    let clock = 10_000;
    const store = new MemoryAssignmentStore({ now: () => clock });
    const def = definition();
    const router = new StickyRouter({ experiments: new ExperimentSet([def]), store, now: () => clock });
    router.route(def.key, { id: 'conv-1' });
    clock = 12_000;
    router.route(def.key, { id: 'conv-1' });
    expect(store.get(def.key, 'conv-1')).toMatchObject({ assignedAt: 10_000, lastActiveAt: 12_000 });
    store.set(def.key, 'conv-2', stored('retired-arm', { assignedAt: clock, lastActiveAt: clock }));
    expect(pick(router.route(def.key, { id: 'conv-2' }) as RouteResult)).toEqual({ variation: 'neutral', exposed: false, migrated: true, reason: 'variation_removed', store: true });
    expect(store.get(def.key, 'conv-2')).toMatchObject({ variation: 'neutral', migrated: true, assignedAt: 12_000 });
    // A new definition object (a reload) is honoured: paused units keep their arm, not exposed.
    const paused = transition(def, 'paused', { by: 'ops', reason: 'incident' }).definition;
    const pausedRouter = new StickyRouter({ experiments: new ExperimentSet([paused]), store, now: () => clock });
    expect(pausedRouter.route(def.key, { id: 'conv-1' })).toMatchObject({ reason: 'paused_keep', exposed: false });
  });

  it('is synchronous with the in-memory store and throws not_found for an unknown experiment', () => {
    const router = new StickyRouter({ experiments: new ExperimentSet([definition()]), store: new MemoryAssignmentStore() });
    expect(router.route('support-persona', { id: 'conv-1' })).not.toBeInstanceOf(Promise);
    expect(() => router.route('nope', { id: 'conv-1' })).toThrow(/"nope" is not defined \(known: support-persona\)/);
  });
});
