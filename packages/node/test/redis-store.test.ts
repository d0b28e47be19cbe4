import { Redis } from 'ioredis';
import { parseExperiments, StickyRouter } from '@abtel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAssignmentStore } from '../src/redis-store.js';
import { retrievalDefinition } from './helpers/definitions.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';

let redis: RedisProcess;
const clients: Redis[] = [];

function client(): Redis {
  const created = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: false, maxRetriesPerRequest: 1 });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await redis?.stop();
});

const assignment = (variation: string, at: number) => ({ variation, version: 2, assignedAt: at, lastActiveAt: at, exposed: true });

describe('RedisAssignmentStore against a real redis-server', () => {
  it('stores, reads back and keeps the first writer', async () => {
    const store = new RedisAssignmentStore({ client: client(), keyPrefix: 'test1:' });
    expect(await store.get('exp', 'u1')).toBeUndefined();
    expect(await store.setIfAbsent('exp', 'u1', assignment('a', 1000))).toEqual(assignment('a', 1000));
    expect(await store.setIfAbsent('exp', 'u1', assignment('b', 2000))).toEqual(assignment('a', 1000));
    expect(await store.get('exp', 'u1')).toEqual(assignment('a', 1000));
    await store.set('exp', 'u1', { ...assignment('control', 1000), migrated: true, exposed: true });
    expect(await store.get('exp', 'u1')).toEqual({ ...assignment('control', 1000), migrated: true });
  });

  it('lets exactly one of many racing instances win, and all of them agree', async () => {
    const stores = Array.from({ length: 8 }, () => new RedisAssignmentStore({ client: client(), keyPrefix: 'race:' }));
    const results = await Promise.all(stores.map((store, index) => store.setIfAbsent('exp', 'conv-race', assignment(`v${index}`, 5000 + index))));
    const winners = new Set(results.map((result) => result.variation));
    expect(winners.size).toBe(1);
    expect(await stores[0]!.get('exp', 'conv-race')).toEqual(results[0]);
  });

  it('makes two routers on different connections agree on a new unit', async () => {
    const experiments = parseExperiments([{ file: 'r.yaml', content: retrievalDefinition() }]);
    const routers = [0, 1].map(() => new StickyRouter({ experiments, store: new RedisAssignmentStore({ client: client(), keyPrefix: 'router:' }) }));
    for (let i = 0; i < 20; i += 1) {
      const [a, b] = await Promise.all(routers.map((router) => router.route('support-retrieval', { id: `user-${i}` })));
      expect(a!.variation).toBe(b!.variation);
    }
  });

  it('expires idle assignments and refreshes the TTL on touch', async () => {
    const redisClient = client();
    const store = new RedisAssignmentStore({ client: redisClient, keyPrefix: 'ttl:', ttlMs: 1000 });
    await store.setIfAbsent('exp', 'kept', assignment('a', 1000));
    await store.setIfAbsent('exp', 'idle', assignment('a', 1000));
    await new Promise((resolve) => setTimeout(resolve, 600));
    await store.touch('exp', 'kept', 9000);
    const ttl = await redisClient.pttl(store.keyOf('exp', 'kept'));
    expect(ttl).toBeGreaterThan(800);
    // idle expires at ~1000 ms; kept, touched at ~600 ms, lives until ~1600 ms.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await store.get('exp', 'idle')).toBeUndefined();
    expect(await store.get('exp', 'kept')).toEqual({ ...assignment('a', 1000), lastActiveAt: 9000 });
    // Touch never moves lastActiveAt backwards, and does not create missing keys.
    await store.touch('exp', 'kept', 10);
    await store.touch('exp', 'missing', 10);
    expect((await store.get('exp', 'kept'))?.lastActiveAt).toBe(9000);
    expect(await store.get('exp', 'missing')).toBeUndefined();
  });

  it('treats a foreign value under its key as absent', async () => {
    const redisClient = client();
    const store = new RedisAssignmentStore({ client: redisClient, keyPrefix: 'foreign:' });
    await redisClient.hset(store.keyOf('exp', 'u'), 'something', 'else');
    expect(await store.get('exp', 'u')).toBeUndefined();
  });
});
