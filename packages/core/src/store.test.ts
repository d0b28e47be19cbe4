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
          } else if (store.get('exp', id)?.variation !== model.get(id)) return false;
          if (store.size !== model.size) return false;
        }
        return [...model].every(([id, variation]) => store.get('exp', id)?.variation === variation);
      }),
      { numRuns: 200 },
    );
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
