import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAssignmentStore, type StoredAssignment } from './index.js';

// Epoch-ms times: the default clock is Date.now, so 'at' must be recent for the TTL.
const value = (variation: string, at = Date.now()): StoredAssignment => ({ variation, version: 1, assignedAt: at, lastActiveAt: at });

describe('MemoryAssignmentStore', () => {
  it('first writer wins', () => {
    const store = new MemoryAssignmentStore();
    const first = value('warm');
    expect(store.setIfAbsent('exp', 'conv-1', first)).toBe(first);
    expect(store.setIfAbsent('exp', 'conv-1', value('neutral'))).toMatchObject(first);
    expect(store.get('exp', 'conv-1')?.variation).toBe('warm');
    expect(store.get('other', 'conv-1')).toBeUndefined();
    expect(store.size).toBe(1);
  });

  it('forgets an assignment idle for longer than the TTL, and touch extends it', () => {
    let now = 1_000;
    const store = new MemoryAssignmentStore({ ttlMs: 100, now: () => now });
    store.setIfAbsent('exp', 'idle', value('warm', now));
    store.setIfAbsent('exp', 'active', value('warm', now));
    now = 1_080;
    store.touch('exp', 'active', now);
    now = 1_150;
    expect(store.get('exp', 'idle')).toBeUndefined();
    expect(store.get('exp', 'active')?.lastActiveAt).toBe(1_080);
    expect(store.size).toBe(1);
  });

  it('getAndTouch reads and extends the TTL in one step', () => {
    let now = 1_000;
    const store = new MemoryAssignmentStore({ ttlMs: 100, now: () => now });
    store.setIfAbsent('exp', 'conv-1', value('warm', now));
    now = 1_090;
    expect(store.getAndTouch('exp', 'conv-1', now)).toMatchObject({ variation: 'warm', lastActiveAt: 1_090 });
    now = 1_180;
    expect(store.get('exp', 'conv-1')?.variation).toBe('warm');
    now = 1_300;
    expect(store.getAndTouch('exp', 'conv-1', now)).toBeUndefined();
    expect(store.getAndTouch('other', 'conv-1', now)).toBeUndefined();
  });

  it('stays within maxEntries and evicts entries that were not used recently first', () => {
    const store = new MemoryAssignmentStore({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) store.setIfAbsent('exp', `conv-${i}`, value('warm'));
    // conv-0..9 are read again: they get a second chance over conv-10..
    for (let i = 0; i < 10; i++) store.get('exp', `conv-${i}`);
    for (let i = 100; i < 150; i++) store.setIfAbsent('exp', `conv-${i}`, value('warm'));
    expect(store.size).toBe(100);
    for (let i = 0; i < 10; i++) expect(store.get('exp', `conv-${i}`), `conv-${i}`).toBeDefined();
    expect(store.get('exp', 'conv-10')).toBeUndefined();
    expect(store.get('exp', 'conv-149')).toBeDefined();
  });

  it('evicts from the largest experiment so a small one keeps its units', () => {
    const store = new MemoryAssignmentStore({ maxEntries: 50 });
    for (let i = 0; i < 5; i++) store.setIfAbsent('small', `u-${i}`, value('a'));
    for (let i = 0; i < 200; i++) store.setIfAbsent('big', `u-${i}`, value('a'));
    expect(store.size).toBe(50);
    for (let i = 0; i < 5; i++) expect(store.get('small', `u-${i}`)).toBeDefined();
  });

  it('set overwrites; delete and clear forget', () => {
    const store = new MemoryAssignmentStore();
    store.setIfAbsent('exp', 'conv-1', value('warm'));
    store.set('exp', 'conv-1', { ...value('neutral'), migrated: true });
    expect(store.get('exp', 'conv-1')).toMatchObject({ variation: 'neutral', migrated: true });
    expect(store.delete('exp', 'conv-1')).toBe(true);
    expect(store.get('exp', 'conv-1')).toBeUndefined();
    store.setIfAbsent('exp', 'conv-2', value('warm'));
    store.clear();
    expect(store.size).toBe(0);
  });

  it('rejects nonsensical bounds', () => {
    expect(() => new MemoryAssignmentStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new MemoryAssignmentStore({ ttlMs: -1 })).toThrow(/ttlMs/);
  });

  it('behaves like a plain map under any sequence of operations (open addressing, tombstones, growth)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('setIfAbsent' as const), unit: fc.integer({ min: 0, max: 300 }), variation: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ kind: fc.constant('set' as const), unit: fc.integer({ min: 0, max: 300 }), variation: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ kind: fc.constant('delete' as const), unit: fc.integer({ min: 0, max: 300 }), variation: fc.constant('a') }),
      fc.record({ kind: fc.constant('get' as const), unit: fc.integer({ min: 0, max: 300 }), variation: fc.constant('a') }),
      fc.record({ kind: fc.constant('hit' as const), unit: fc.integer({ min: 0, max: 300 }), variation: fc.constant('a') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
        const store = new MemoryAssignmentStore({ maxEntries: 10_000 });
        const model = new Map<string, string>();
        for (const { kind, unit, variation } of ops) {
          const id = `unit-${unit}`;
          if (kind === 'setIfAbsent') {
            const kept = store.setIfAbsent('exp', id, value(variation)).variation;
            if (!model.has(id)) model.set(id, variation);
            if (kept !== model.get(id)) return false;
          } else if (kind === 'set') {
            store.set('exp', id, value(variation));
            model.set(id, variation);
          } else if (kind === 'delete') {
            if (store.delete('exp', id) !== model.delete(id)) return false;
          } else if (kind === 'hit') {
            const code = store.hit('exp', id, Date.now());
            if ((code < 0 ? undefined : store.hitVariation(code)) !== model.get(id)) return false;
          } else if (store.get('exp', id)?.variation !== model.get(id)) return false;
          if (store.size !== model.size) return false;
        }
        return [...model].every(([id, variation]) => store.get('exp', id)?.variation === variation);
      }),
      { numRuns: 200 },
    );
  });

  it('hit: one allocation-free lookup that decodes to the stored fields and extends the TTL', () => {
    let now = 1_000;
    const store = new MemoryAssignmentStore({ ttlMs: 100, now: () => now });
    store.setIfAbsent('exp', 'plain', value('warm', now));
    store.setIfAbsent('exp', 'moved', { ...value('neutral', now), migrated: true });
    store.setIfAbsent('exp', 'held-out', { ...value('neutral', now), exposed: false });
    store.setIfAbsent('other', 'plain', value('cold', now));
    const decode = (code: number) => (code < 0 ? undefined : { variation: store.hitVariation(code), migrated: store.hitMigrated(code), exposed: store.hitExposed(code) });
    now = 1_090;
    expect(decode(store.hit('exp', 'plain', now))).toEqual({ variation: 'warm', migrated: false, exposed: true });
    expect(decode(store.hit('exp', 'moved', now))).toEqual({ variation: 'neutral', migrated: true, exposed: true });
    expect(decode(store.hit('exp', 'held-out', now))).toEqual({ variation: 'neutral', migrated: false, exposed: false });
    expect(decode(store.hit('other', 'plain', now))).toEqual({ variation: 'cold', migrated: false, exposed: true });
    expect(store.hit('exp', 'absent', now)).toBe(-1);
    expect(store.hit('nope', 'plain', now)).toBe(-1);
    // The hits extended the TTL of the three 'exp' units; 'other' was hit too.
    expect(store.get('exp', 'plain')).toMatchObject({ assignedAt: 1_000, lastActiveAt: 1_090 });
    now = 1_180;
    expect(store.hit('exp', 'plain', now)).toBeGreaterThanOrEqual(0);
    // An idle unit expires on hit, and the miss can be followed by a fresh assignment.
    now = 1_400;
    expect(store.hit('exp', 'moved', now)).toBe(-1);
    expect(store.size).toBe(3);
    store.setIfAbsent('exp', 'moved', value('warm', now));
    expect(store.get('exp', 'moved')?.variation).toBe('warm');
    // A same-instant hit never moves lastActiveAt backwards.
    store.hit('exp', 'moved', now - 50);
    expect(store.get('exp', 'moved')?.lastActiveAt).toBe(1_400);
  });

  it('a hit counts as recent use for eviction', () => {
    const store = new MemoryAssignmentStore({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) store.setIfAbsent('exp', `conv-${i}`, value('warm'));
    for (let i = 0; i < 10; i++) store.hit('exp', `conv-${i}`, Date.now());
    for (let i = 100; i < 150; i++) store.setIfAbsent('exp', `conv-${i}`, value('warm'));
    for (let i = 0; i < 10; i++) expect(store.get('exp', `conv-${i}`), `conv-${i}`).toBeDefined();
    expect(store.get('exp', 'conv-10')).toBeUndefined();
  });

  it('hit codes stay valid across experiments and clear()', () => {
    const store = new MemoryAssignmentStore();
    store.setIfAbsent('a', 'u', value('x'));
    const before = store.hit('a', 'u', Date.now());
    store.clear();
    store.setIfAbsent('b', 'u', value('y'));
    store.setIfAbsent('b', 'v', value('x'));
    expect(store.hitVariation(store.hit('b', 'u', Date.now()))).toBe('y');
    expect(store.hit('b', 'v', Date.now())).toBe(before);
  });

  it('holds 200,000 units across growth and keeps every field', () => {
    const store = new MemoryAssignmentStore({ maxEntries: 200_000 });
    const at = Date.now();
    for (let i = 0; i < 200_000; i++) store.setIfAbsent('exp', `conv-${i}`, { variation: i % 3 === 0 ? 'warm' : 'neutral', version: 2, assignedAt: at, lastActiveAt: at, exposed: i % 7 !== 0, migrated: i % 11 === 0 });
    expect(store.size).toBe(200_000);
    for (let i = 0; i < 200_000; i += 997) {
      expect(store.get('exp', `conv-${i}`)).toEqual({ variation: i % 3 === 0 ? 'warm' : 'neutral', version: 2, assignedAt: at, lastActiveAt: at, exposed: i % 7 !== 0, migrated: i % 11 === 0 });
    }
    store.setIfAbsent('exp', 'one-more', value('warm'));
    expect(store.size).toBe(200_000);
  });
});

describe('MemoryAssignmentStore fingerprints', () => {
  it('treats units with equal 64-bit fingerprints as one unit (the documented collision behaviour)', () => {
    // Every id of the same length gets the same fingerprint: a forced collision.
    const store = new MemoryAssignmentStore({ fingerprint: (id, out) => ((out[0] = id.length), (out[1] = 7)) });
    expect(store.setIfAbsent('exp', 'ab', value('warm')).variation).toBe('warm');
    // 'cd' collides with 'ab': it is served the stored assignment, and nothing new is stored.
    expect(store.get('exp', 'cd')?.variation).toBe('warm');
    expect(store.setIfAbsent('exp', 'cd', value('neutral')).variation).toBe('warm');
    expect(store.hitVariation(store.hit('exp', 'cd', Date.now()))).toBe('warm');
    expect(store.size).toBe(1);
    // A different length is a different fingerprint, hence a different unit.
    expect(store.get('exp', 'abc')).toBeUndefined();
    // Deleting through either id forgets the one shared assignment.
    expect(store.delete('exp', 'cd')).toBe(true);
    expect(store.get('exp', 'ab')).toBeUndefined();
  });

  it('keeps units apart when only one fingerprint lane collides (one long probe run)', () => {
    // Lane A (the probe position) is equal for all units; lane B differs.
    const store = new MemoryAssignmentStore({ fingerprint: (id, out) => ((out[0] = 42), (out[1] = Number(id.slice(2)))) });
    for (let i = 0; i < 300; i++) store.setIfAbsent('exp', `u-${i}`, value(i % 2 === 0 ? 'even' : 'odd'));
    expect(store.size).toBe(300);
    for (let i = 0; i < 300; i += 3) expect(store.delete('exp', `u-${i}`)).toBe(true);
    for (let i = 0; i < 300; i++) {
      const stored = store.get('exp', `u-${i}`);
      if (i % 3 === 0) expect(stored, `u-${i}`).toBeUndefined();
      else expect(stored?.variation, `u-${i}`).toBe(i % 2 === 0 ? 'even' : 'odd');
    }
    expect(store.size).toBe(200);
  });

  it('keeps every version exactly, including ones beyond 32 bits', () => {
    const store = new MemoryAssignmentStore();
    const versions = [1, 7, 2 ** 40 + 3, 1];
    versions.forEach((version, i) => store.setIfAbsent('exp', `conv-${i}`, { ...value('warm'), version }));
    versions.forEach((version, i) => expect(store.get('exp', `conv-${i}`)?.version).toBe(version));
  });

  it('the same id in two experiments is two units', () => {
    const store = new MemoryAssignmentStore();
    store.setIfAbsent('a', 'conv-1', value('x'));
    store.setIfAbsent('b', 'conv-1', value('y'));
    expect(store.get('a', 'conv-1')?.variation).toBe('x');
    expect(store.get('b', 'conv-1')?.variation).toBe('y');
    expect(store.size).toBe(2);
  });
});

describe('MemoryAssignmentStore bounds', () => {
  it('rejects a maxEntries beyond what a 24-bit slot can address, naming the limit', () => {
    expect(() => new MemoryAssignmentStore({ maxEntries: 16_777_214 })).toThrow(/at most 16777213/);
    expect(() => new MemoryAssignmentStore({ maxEntries: 16_777_213 })).not.toThrow();
  });
});
