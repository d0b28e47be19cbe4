import { diag } from '@opentelemetry/api';
import type { AssignmentStore, StoredAssignment } from '@abtel/core';
import type { Redis } from 'ioredis';

/** Options of `RedisAssignmentStore`. */
export interface RedisAssignmentStoreOptions {
  /** An ioredis client the application owns (and closes). */
  client: Redis;
  /** Prefix of every key; default `abtel:assignment:`. Keys are `<prefix><experiment>:<unit id>`. */
  keyPrefix?: string;
  /** Idle time after which an assignment expires, in ms; refreshed on every touch. Default 7 days. */
  ttlMs?: number;
}

// Each assignment is a hash (variation, version, assignedAt, lastActiveAt, migrated, exposed).
// The scripts run atomically inside Redis, so two instances racing on one new unit agree: the
// first HSET wins and the second gets the winner back.
const SET_IF_ABSENT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return redis.call('HGETALL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {}
`;
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'lastActiveAt') or '0')
if tonumber(ARGV[2]) > last then redis.call('HSET', KEYS[1], 'lastActiveAt', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;
const OVERWRITE = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

const DEFAULT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * A sticky `AssignmentStore` shared by several instances of an agent through Redis (ioredis).
 * First writer wins atomically; the TTL counts from the latest activity. Errors reject the
 * returned promise; abtel then falls back to stateless assignment and reports through diag.
 * @example
 * import { Redis } from 'ioredis';
 * const store = new RedisAssignmentStore({ client: new Redis(process.env.REDIS_URL!), ttlMs: 86_400_000 });
 * configureAbtel({ experiments, store });
 */
export class RedisAssignmentStore implements AssignmentStore {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly ttlMs: number;

  constructor(options: RedisAssignmentStoreOptions) {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError(`ttlMs must be a positive integer of milliseconds (got ${ttlMs})`);
    this.#client = options.client;
    this.#prefix = options.keyPrefix ?? 'abtel:assignment:';
    this.ttlMs = ttlMs;
  }

  /** The Redis key of one assignment. */
  keyOf(experimentKey: string, unitId: string): string {
    return `${this.#prefix}${experimentKey}:${unitId}`;
  }

  async get(experimentKey: string, unitId: string): Promise<StoredAssignment | undefined> {
    const fields = await this.#client.hgetall(this.keyOf(experimentKey, unitId));
    return fromFields(fields, this.keyOf(experimentKey, unitId));
  }

  async setIfAbsent(experimentKey: string, unitId: string, value: StoredAssignment): Promise<StoredAssignment> {
    const key = this.keyOf(experimentKey, unitId);
    const reply = (await this.#client.eval(SET_IF_ABSENT, 1, key, this.ttlMs, ...toFields(value))) as string[];
    if (reply.length === 0) return value;
    return fromFields(pairs(reply), key) ?? value;
  }

  async touch(experimentKey: string, unitId: string, at: number): Promise<void> {
    await this.#client.eval(TOUCH, 1, this.keyOf(experimentKey, unitId), this.ttlMs, Math.round(at));
  }

  async set(experimentKey: string, unitId: string, value: StoredAssignment): Promise<void> {
    await this.#client.eval(OVERWRITE, 1, this.keyOf(experimentKey, unitId), this.ttlMs, ...toFields(value));
  }
}

function toFields(value: StoredAssignment): string[] {
  const fields = [
    'variation',
    value.variation,
    'version',
    String(value.version),
    'assignedAt',
    String(Math.round(value.assignedAt)),
    'lastActiveAt',
    String(Math.round(value.lastActiveAt)),
  ];
  if (value.migrated !== undefined) fields.push('migrated', value.migrated ? '1' : '0');
  if (value.exposed !== undefined) fields.push('exposed', value.exposed ? '1' : '0');
  return fields;
}

function pairs(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) fields[flat[index] as string] = flat[index + 1] as string;
  return fields;
}

function fromFields(fields: Record<string, string>, key: string): StoredAssignment | undefined {
  if (Object.keys(fields).length === 0) return undefined;
  const version = Number(fields['version']);
  const assignedAt = Number(fields['assignedAt']);
  const lastActiveAt = Number(fields['lastActiveAt']);
  const variation = fields['variation'];
  if (variation === undefined || variation === '' || !Number.isInteger(version) || !Number.isFinite(assignedAt) || !Number.isFinite(lastActiveAt)) {
    diag.warn(`@abtel/node: Redis key ${key} does not hold an abtel assignment; treating it as absent`);
    return undefined;
  }
  const value: StoredAssignment = { variation, version, assignedAt, lastActiveAt };
  if (fields['migrated'] !== undefined) value.migrated = fields['migrated'] === '1';
  if (fields['exposed'] !== undefined) value.exposed = fields['exposed'] === '1';
  return value;
}
