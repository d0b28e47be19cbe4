import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedMap, BoundedSet } from './bounded.js';

describe('BoundedMap', () => {
  it('never exceeds its capacity and behaves like an LRU cache (checked against a reference model)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 })), { maxLength: 200 }), (capacity, operations) => {
        const map = new BoundedMap<number, number>(capacity);
        const model: number[] = []; // keys, least recently used first
        for (const [isSet, key] of operations) {
          if (isSet) {
            map.set(key, key * 10);
            const at = model.indexOf(key);
            if (at >= 0) model.splice(at, 1);
            model.push(key);
            if (model.length > capacity) model.shift();
          } else {
            const value = map.get(key);
            expect(value).toBe(model.includes(key) ? key * 10 : undefined);
            if (model.includes(key)) {
              model.splice(model.indexOf(key), 1);
              model.push(key);
            }
          }
          expect(map.size).toBe(model.length);
          expect(map.size).toBeLessThanOrEqual(capacity);
        }
      }),
    );
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new BoundedMap(0)).toThrow('capacity must be a positive integer (got 0)');
  });
});

describe('BoundedSet', () => {
  it('reports new keys and forgets the least recently added beyond capacity', () => {
    const set = new BoundedSet<string>(2);
    expect([set.add('a'), set.add('b'), set.add('a'), set.add('c'), set.add('b'), set.has('a')]).toEqual([true, true, false, true, true, false]);
  });
});
