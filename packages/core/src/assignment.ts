/**
 * Deterministic assignment: `bucketOf(salt, unitId)` → variation against cumulative normalised
 * weights, with state, targeting, layer and coverage applied first. Pure functions: the same
 * definition and unit give the same answer in every process (and, through `bucketSql`, in DuckDB).
 */
import type { Condition, ExperimentDefinition, Targeting } from './experiment.js';
import { FNV_OFFSET_BASIS, HASH_SPACE, fmix32, fnv1aUpdate, saltState } from './internal/hash.js';
import { isDecimal } from './internal/decimal.js';

/** The unit being assigned (normally a conversation) and the attributes targeting may read. */
export interface UnitContext {
  id: string;
  attributes?: Record<string, string | number | boolean | undefined>;
}

/** Why a unit got (or did not get) a variation. */
export type AssignmentReason = 'assigned' | 'not_running' | 'not_targeted' | 'outside_layer' | 'outside_coverage';

/** The pure assignment of one unit, before any stickiness or lifecycle rule. */
export interface Assignment {
  experiment: string;
  /** The planned variation, or null when the unit is not in the experiment. */
  variation: string | null;
  inExperiment: boolean;
  /** `bucketOf(def.salt, unit.id)`, always computed so that support can explain the decision. */
  bucket: number;
  reason: AssignmentReason;
}

/**
 * The unsigned 32-bit `abtel-hash-v1` of `salt + ":" + unitId`: FNV-1a 32 over the UTF-8 bytes,
 * then the MurmurHash3 fmix32 finaliser. See the package README for test vectors.
 * @example
 * hash32('support-persona', 'conv-1'); // 3919982141
 */
export function hash32(salt: string, unitId: string): number {
  return fmix32(fnv1aUpdate(saltState(salt), unitId));
}

/**
 * The unit's bucket in [0, 1): `hash32(salt, unitId) / 2^32`.
 * @example
 * bucketOf('support-persona', 'conv-1'); // 0.9126919650007039
 */
export function bucketOf(salt: string, unitId: string): number {
  return fmix32(fnv1aUpdate(saltState(salt), unitId)) / HASH_SPACE;
}

/** Precomputed, per-definition data for the hot path (definitions are treated as immutable). */
interface Compiled {
  readonly salt: number;
  readonly layerSalt: number;
  readonly keys: readonly string[];
  /** Cumulative normalised weights; the last is exactly 1. */
  readonly cumulative: Float64Array;
  readonly starts: Float64Array;
}

const compiledCache = new WeakMap<ExperimentDefinition, Compiled>();
// The last definition compiled: callers assign one experiment many times in a row, and an
// identity compare is cheaper than a WeakMap lookup per assignment.
let lastDefinition: ExperimentDefinition | undefined;
let lastCompiled: Compiled | undefined;

function compile(def: ExperimentDefinition): Compiled {
  if (def === lastDefinition) return lastCompiled as Compiled;
  let compiled = compiledCache.get(def);
  if (compiled === undefined) {
    const cumulative = cumulativeWeights(def);
    const starts = new Float64Array(cumulative.length);
    for (let i = 1; i < cumulative.length; i++) starts[i] = cumulative[i - 1] as number;
    compiled = {
      salt: saltState(def.salt ?? def.key),
      layerSalt: def.layer ? saltState(layerSalt(def.layer.name)) : FNV_OFFSET_BASIS,
      keys: def.variations.map((variation) => variation.key),
      cumulative,
      starts,
    };
    compiledCache.set(def, compiled);
  }
  lastDefinition = def;
  lastCompiled = compiled;
  return compiled;
}

/**
 * Cumulative normalised weights: variation i owns buckets [cumulative[i-1], cumulative[i]).
 * The running sum is forced to end at exactly 1 so that no bucket falls off the end.
 * @example
 * cumulativeWeights({ variations: [{ weight: 1 }, { weight: 3 }] }); // Float64Array [0.25, 1]
 */
export function cumulativeWeights(def: { variations: readonly { weight: number }[] }): Float64Array {
  let total = 0;
  for (const variation of def.variations) total += variation.weight;
  const cumulative = new Float64Array(def.variations.length);
  let running = 0;
  def.variations.forEach((variation, index) => {
    running += variation.weight;
    cumulative[index] = index === def.variations.length - 1 ? 1 : running / total;
  });
  return cumulative;
}

/**
 * The salt of a layer's buckets. Prefixed so that it never collides with an experiment salt.
 * @example
 * bucketOf(layerSalt('support-bot'), 'conv-1'); // 0.6632294403389096
 */
export function layerSalt(layerName: string): string {
  return `layer:${layerName}`;
}

function indexForBucket(cumulative: Float64Array, bucket: number): number {
  const last = cumulative.length - 1;
  for (let i = 0; i < last; i++) if (bucket < (cumulative[i] as number)) return i;
  return last;
}

/**
 * The variation owning `bucket` under the definition's cumulative normalised weights (ignores
 * state, targeting, layer and coverage). SQL: `variationSql(def, bucketSql(...))`.
 * @example
 * variationForBucket(def, 0.3); // 'neutral' for a 50/50 split whose first variation is 'neutral'
 */
export function variationForBucket(def: ExperimentDefinition, bucket: number): string {
  const compiled = compile(def);
  return compiled.keys[indexForBucket(compiled.cumulative, bucket)] as string;
}

/**
 * Assigns a unit: not running → not in the experiment; then targeting, layer, coverage; then the
 * variation owning the unit's bucket. Coverage keeps the first `coverage` share of each
 * variation's bucket range, so ramping coverage up never moves an enrolled unit to another arm.
 * @example
 * assign(def, { id: 'conv-1', attributes: { plan: 'pro' } });
 * // { experiment: 'support-persona', variation: 'warm', inExperiment: true, bucket: 0.91…, reason: 'assigned' }
 */
export function assign(def: ExperimentDefinition, unit: UnitContext): Assignment {
  const compiled = compile(def);
  const id = unit.id;
  const bucket = fmix32(fnv1aUpdate(compiled.salt, id)) / HASH_SPACE;
  if (def.state !== 'running') return { experiment: def.key, variation: null, inExperiment: false, bucket, reason: 'not_running' };
  if (def.targeting !== undefined && !matchesTargeting(def.targeting, unit.attributes)) {
    return { experiment: def.key, variation: null, inExperiment: false, bucket, reason: 'not_targeted' };
  }
  const layer = def.layer;
  if (layer !== undefined) {
    const layerBucket = fmix32(fnv1aUpdate(compiled.layerSalt, id)) / HASH_SPACE;
    if (layerBucket < layer.range[0] || layerBucket >= layer.range[1]) {
      return { experiment: def.key, variation: null, inExperiment: false, bucket, reason: 'outside_layer' };
    }
  }
  const index = indexForBucket(compiled.cumulative, bucket);
  if (def.coverage < 1) {
    const start = compiled.starts[index] as number;
    if (bucket >= start + ((compiled.cumulative[index] as number) - start) * def.coverage) {
      return { experiment: def.key, variation: null, inExperiment: false, bucket, reason: 'outside_coverage' };
    }
  }
  return { experiment: def.key, variation: compiled.keys[index] as string, inExperiment: true, bucket, reason: 'assigned' };
}

/**
 * True when the attributes satisfy the targeting: every `all` condition and, if `any` is given,
 * at least one `any` condition. Values given as strings (e.g. from `--attr k=v`) compare equal to
 * the same number or boolean written in the definition.
 * @example
 * matchesTargeting({ all: [{ attribute: 'plan', in: ['pro'] }] }, { plan: 'pro' }); // true
 */
export function matchesTargeting(targeting: Targeting, attributes: UnitContext['attributes']): boolean {
  const values = attributes ?? {};
  // Own properties only: `constructor` or `toString` are not attributes the unit has.
  const valueOf = (name: string) => (Object.hasOwn(values, name) ? values[name] : undefined);
  if (targeting.all !== undefined) {
    for (const condition of targeting.all) if (!matchesCondition(condition, valueOf(condition.attribute))) return false;
  }
  if (targeting.any !== undefined) {
    for (const condition of targeting.any) if (matchesCondition(condition, valueOf(condition.attribute))) return true;
    return false;
  }
  return true;
}

function sameValue(actual: string | number | boolean, expected: string | number | boolean): boolean {
  return actual === expected || String(actual) === String(expected);
}

/**
 * Evaluates one targeting condition against an attribute value (undefined = absent).
 * @example
 * matchesCondition({ attribute: 'seats', range: { min: 10 } }, '25'); // true
 */
export function matchesCondition(condition: Condition, value: string | number | boolean | undefined): boolean {
  if (condition.exists !== undefined) return (value !== undefined && value !== '') === condition.exists;
  if (value === undefined) return condition.not_in !== undefined;
  if (condition.equals !== undefined) return sameValue(value, condition.equals);
  if (condition.in !== undefined) return condition.in.some((expected) => sameValue(value, expected));
  if (condition.not_in !== undefined) return !condition.not_in.some((expected) => sameValue(value, expected));
  if (condition.range !== undefined) {
    const number = typeof value === 'number' ? value : typeof value === 'string' && isDecimal(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isFinite(number)) return false;
    const { min, max } = condition.range;
    return (min === undefined || number >= min) && (max === undefined || number <= max);
  }
  return false;
}
