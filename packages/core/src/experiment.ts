/**
 * The experiment definition: the single source of the `ExperimentDefinition` type. Files a user
 * writes are parsed here (by `loadExperiments`); everything downstream trusts the parsed value.
 */
import { z } from 'zod';
import { ASSIGNMENT_UNITS } from './names.js';
import { MetricDefinition, MetricName } from './metrics.js';
import { isRecord } from './internal/issues.js';

/**
 * Experiment, variation and layer keys: they end up in span attributes and SQL, so keep them plain.
 * @example
 * KEY_PATTERN.test('support-persona'); // true
 */
export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const Key = z.string().regex(KEY_PATTERN, 'must start with a letter or digit and contain only letters, digits, "_", "." or "-"');

/**
 * What an experiment changes.
 * @example
 * SURFACES.includes('persona'); // true
 */
export const SURFACES = ['prompt', 'model', 'retrieval', 'tool_policy', 'persona', 'cta', 'trigger', 'other'] as const;
export type Surface = (typeof SURFACES)[number];

/**
 * Decision states of an experiment (DESIGN.md, "Assignment and lifecycle").
 * @example
 * EXPERIMENT_STATES.filter((state) => canTransition(state, 'archived'));
 */
export const EXPERIMENT_STATES = ['draft', 'running', 'paused', 'rolled_back', 'shipped', 'inconclusive', 'archived'] as const;
export type ExperimentState = (typeof EXPERIMENT_STATES)[number];

/**
 * What happens to conversations that are already assigned when the experiment leaves `running`.
 * @example
 * ACTIVE_CONVERSATION_POLICIES.includes('migrate_at_boundary'); // true
 */
export const ACTIVE_CONVERSATION_POLICIES = ['keep', 'freeze_to_control', 'migrate_to_control', 'migrate_at_boundary'] as const;
export type ActiveConversationPolicyName = (typeof ACTIVE_CONVERSATION_POLICIES)[number];

const AttributeValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * One targeting condition on a context attribute. Exactly one operator per condition:
 * `equals`, `in`, `not_in`, `range` (`min`/`max` both inclusive, numbers only) or `exists`.
 * @example
 * Condition.parse({ attribute: 'plan', in: ['pro', 'enterprise'] });
 */
export const Condition = z
  .strictObject({
    attribute: z.string().min(1),
    equals: AttributeValue.optional(),
    in: z.array(AttributeValue).min(1).optional(),
    not_in: z.array(AttributeValue).min(1).optional(),
    range: z
      .strictObject({ min: z.number().optional(), max: z.number().optional() })
      .refine((range) => range.min !== undefined || range.max !== undefined, 'needs "min", "max" or both')
      .refine((range) => range.min === undefined || range.max === undefined || range.min <= range.max, '"min" must be <= "max"')
      .optional(),
    exists: z.boolean().optional(),
  })
  .superRefine((condition, ctx) => {
    const operators = CONDITION_OPERATORS.filter((operator) => condition[operator] !== undefined);
    if (operators.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          operators.length === 0
            ? `needs one operator: ${CONDITION_OPERATORS.join(', ')}`
            : `has ${operators.length} operators (${operators.join(', ')}); use one per condition and list several conditions under "all" instead`,
      });
    }
  });
export type Condition = z.infer<typeof Condition>;
/**
 * The operators a targeting condition may use.
 * @example
 * CONDITION_OPERATORS.filter((operator) => condition[operator] !== undefined).length === 1;
 */
export const CONDITION_OPERATORS = ['equals', 'in', 'not_in', 'range', 'exists'] as const;

/**
 * Who is eligible: every condition in `all` holds and, when `any` is given, at least one of `any`.
 * @example
 * Targeting.parse({ all: [{ attribute: 'locale', equals: 'en' }], any: [{ attribute: 'plan', in: ['pro'] }] });
 */
export const Targeting = z.strictObject({
  all: z.array(Condition).optional(),
  any: z.array(Condition).min(1).optional(),
});
export type Targeting = z.infer<typeof Targeting>;

/**
 * A mutual-exclusion layer: experiments in the same layer own disjoint ranges of the layer's
 * buckets (`bucketOf("layer:" + name, unitId)`), so no unit is in two of them.
 * @example
 * Layer.parse({ name: 'support-bot', range: [0, 0.5] });
 */
export const Layer = z.strictObject({
  name: Key,
  range: z
    .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
    .refine(([start, end]) => start < end, 'must be [start, end] with start < end (fractions of the layer, e.g. [0, 0.5])'),
});
export type Layer = z.infer<typeof Layer>;

/**
 * Per-state policy for conversations that were assigned while the experiment was running
 * (DESIGN.md table). Defaults: paused `keep`, rolled_back `migrate_to_control`, shipped `keep`,
 * inconclusive `keep`.
 * @example
 * ActiveConversationPolicy.parse({ paused: 'freeze_to_control', shipped: 'migrate_at_boundary' });
 */
export const ActiveConversationPolicy = z.strictObject({
  paused: z.enum(['keep', 'freeze_to_control']).optional(),
  rolled_back: z.enum(['migrate_to_control', 'migrate_at_boundary']).optional(),
  shipped: z.enum(['keep', 'migrate_at_boundary']).optional(),
  inconclusive: z.enum(['keep', 'migrate_to_control', 'migrate_at_boundary']).optional(),
});
export type ActiveConversationPolicy = z.infer<typeof ActiveConversationPolicy>;

/**
 * A small schema for variation `config`: field types and the required ones. Unknown fields are
 * rejected so that a typo in one variation is caught before launch.
 * @example
 * ConfigSchema.parse({ fields: { name: 'string', tone: 'string' }, required: ['name', 'tone'] });
 */
export const ConfigSchema = z.strictObject({
  fields: z.record(z.string(), z.enum(['string', 'number', 'boolean', 'object', 'array'])),
  required: z.array(z.string()).default([]),
});
export type ConfigSchema = z.infer<typeof ConfigSchema>;

/**
 * One arm. `weight` is relative: weights are normalised, so `1/1` and `50/50` are the same split.
 * @example
 * Variation.parse({ key: 'warm', weight: 1, config: { name: 'Ava', tone: 'warm' } });
 */
export const Variation = z.strictObject({
  key: Key,
  weight: z.number().positive().finite(),
  config: z.record(z.string(), z.unknown()).default({}),
  description: z.string().optional(),
});
export type Variation = z.infer<typeof Variation>;

/**
 * Metrics an experiment is judged on, by name. `definitions` adds experiment-local metrics to the
 * shared ones from `metrics.yaml`.
 * @example
 * ExperimentMetrics.parse({ primary: 'resolved', guardrails: ['latency_p95'] });
 */
export const ExperimentMetrics = z.strictObject({
  primary: MetricName,
  guardrails: z.array(MetricName).default([]),
  secondary: z.array(MetricName).default([]),
  definitions: z.array(MetricDefinition).default([]),
});
export type ExperimentMetrics = z.infer<typeof ExperimentMetrics>;

/**
 * The analysis plan, registered before exposure starts. `looks` are the information fractions
 * of the planned group-sequential looks (increasing, last one 1).
 * @example
 * AnalysisPlan.parse({ alpha: 0.05, power: 0.8, mde: 0.03, looks: [0.5, 1] });
 */
export const AnalysisPlan = z.strictObject({
  alpha: z.number().gt(0).lt(1).default(0.05),
  power: z.number().gt(0).lt(1).default(0.8),
  mde: z.number().positive().optional(),
  looks: z
    .array(z.number().gt(0).max(1))
    .min(1)
    .default([1])
    .refine((looks) => looks.every((look, index) => index === 0 || look > (looks[index - 1] as number)), 'must be strictly increasing information fractions, e.g. [0.5, 1]')
    .refine((looks) => looks[looks.length - 1] === 1, 'must end with 1 (the final look at the planned sample size)'),
  plannedUnits: z.number().int().positive().optional(),
  plannedEnd: z.iso.datetime({ offset: true }).optional(),
});
export type AnalysisPlan = z.infer<typeof AnalysisPlan>;

/**
 * Where exposures come from: abtel's own `abtel.exposure` events, or OpenFeature
 * `feature_flag.evaluation` events for `flagKey` (default: the experiment key).
 * @example
 * ExposureSource.parse({ source: 'feature_flag', flagKey: 'support-persona' });
 */
export const ExposureSource = z.strictObject({
  source: z.enum(['abtel', 'feature_flag']).default('abtel'),
  flagKey: z.string().min(1).optional(),
});
export type ExposureSource = z.infer<typeof ExposureSource>;

const ExperimentDefinitionObject = z
  .strictObject({
    key: Key,
    version: z.number().int().min(1),
    description: z.string().default(''),
    owner: z.string().min(1),
    surface: z.enum(SURFACES),
    unit: z.enum(ASSIGNMENT_UNITS).default('conversation'),
    /** Hash salt; defaults to the key. Changing it reshuffles every unit, so it is explicit. */
    salt: z
      .string()
      .min(1)
      .refine((salt) => !salt.startsWith('layer:'), { message: 'must not start with "layer:", which layer salts use (an experiment with its layer\'s salt sends every enrolled unit to one variation); choose another salt' })
      .optional(),
    variations: z.array(Variation).min(2),
    control: Key,
    state: z.enum(EXPERIMENT_STATES).default('draft'),
    winner: Key.optional(),
    coverage: z.number().min(0).max(1).default(1),
    targeting: Targeting.optional(),
    layer: Layer.optional(),
    activeConversationPolicy: ActiveConversationPolicy.optional(),
    configSchema: ConfigSchema.optional(),
    segments: z.array(z.string().min(1)).optional(),
    exposure: ExposureSource.optional(),
    metrics: ExperimentMetrics.optional(),
    analysis: AnalysisPlan.optional(),
    startedAt: z.iso.datetime({ offset: true }).optional(),
  })
  // Runs even when other fields are invalid (`when`), so that every problem is reported at once;
  // the value may therefore be partly unparsed and is read defensively.
  .superRefine((def, ctx) => crossFieldChecks(def as unknown as Record<string, unknown>, ctx), { when: (payload) => isRecord(payload.value) });

function crossFieldChecks(def: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const variations = Array.isArray(def.variations) ? def.variations.map((variation: unknown) => (isRecord(variation) ? variation : {})) : [];
  const keys = variations.map((variation) => variation.key).filter((key): key is string => typeof key === 'string');
  keys.forEach((key, index) => {
    if (keys.indexOf(key) !== index) {
      ctx.addIssue({ code: 'custom', path: ['variations', index, 'key'], message: `duplicates variation "${key}"; variation keys must be unique` });
    }
  });
  if (keys.length === 0) return;
  const known = keys.map((key) => `"${key}"`).join(', ');
  if (typeof def.control === 'string' && !keys.includes(def.control)) {
    ctx.addIssue({ code: 'custom', path: ['control'], message: `must be one of the variation keys ${known} (got "${def.control}")` });
  }
  if (typeof def.winner === 'string' && !keys.includes(def.winner)) {
    ctx.addIssue({ code: 'custom', path: ['winner'], message: `must be one of the variation keys ${known} (got "${def.winner}")` });
  }
  // A state of the wrong type is the schema's to report (and cannot be printed safely).
  const state = def.state ?? 'draft';
  if (def.winner !== undefined && typeof state === 'string' && state !== 'shipped' && state !== 'archived') {
    // Archived routing serves the winner: a stray one on a running (then rolled back, then
    // archived) experiment would serve a treatment that never shipped to everyone.
    ctx.addIssue({
      code: 'custom',
      path: ['winner'],
      message: `is only for a shipped experiment (or an archived one that shipped), not state "${state}"; remove it, and name the winner when shipping`,
    });
  }
  if (def.state === 'shipped' && def.winner === undefined) {
    ctx.addIssue({ code: 'custom', path: ['winner'], message: `is required when state is "shipped": name the variation that shipped (one of ${known})` });
  }
  const schema = ConfigSchema.safeParse(def.configSchema);
  if (def.configSchema !== undefined && schema.success) {
    variations.forEach((variation, index) => {
      const config = isRecord(variation.config) ? variation.config : {};
      for (const problem of configProblems(schema.data, config)) {
        ctx.addIssue({ code: 'custom', path: ['variations', index, 'config', ...problem.path], message: problem.message });
      }
    });
  }
}

/**
 * An experiment definition. Parse files with `loadExperiments`; parse a single object with
 * `ExperimentDefinition.parse` (the result always has `salt`, defaulting to the key).
 * @example
 * const def = ExperimentDefinition.parse({
 *   key: 'support-persona', version: 1, owner: 'support-ai', surface: 'persona', state: 'running',
 *   variations: [{ key: 'neutral', weight: 1 }, { key: 'warm', weight: 1 }], control: 'neutral',
 * });
 * def.salt; // 'support-persona'
 */
export const ExperimentDefinition = ExperimentDefinitionObject.transform((def) => ({ ...def, salt: def.salt ?? def.key }));
export type ExperimentDefinition = z.infer<typeof ExperimentDefinition>;
/** The shape a definition file may have before defaults are applied. */
export type ExperimentDefinitionInput = z.input<typeof ExperimentDefinition>;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Checks a variation's `config` against a `configSchema`; returns one problem per field.
 * @example
 * configProblems({ fields: { tone: 'string' }, required: ['tone'] }, { tone: 3 });
 * // [{ path: ['tone'], message: 'must be a string (got 3)' }]
 */
export function configProblems(schema: ConfigSchema, config: Record<string, unknown>): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  const fieldNames = Object.keys(schema.fields);
  for (const name of schema.required) {
    if (config[name] === undefined) problems.push({ path: [name], message: `is required by configSchema (a ${schema.fields[name] ?? 'value'}); add it to this variation's config` });
  }
  for (const [name, value] of Object.entries(config)) {
    const expected = schema.fields[name];
    if (expected === undefined) {
      problems.push({ path: [name], message: `is not a field of configSchema (known: ${fieldNames.join(', ') || 'none'}); fix the spelling or add it to configSchema.fields` });
      continue;
    }
    const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    if (actual !== expected) problems.push({ path: [name], message: `must be a${expected === 'array' || expected === 'object' ? 'n' : ''} ${expected} (got ${describeValue(value)})` });
  }
  return problems;
}

/**
 * The normalised weights of a definition's variations (they sum to 1).
 * @example
 * normalisedWeights(def); // [0.5, 0.5] for weights 1/1 or 50/50
 */
export function normalisedWeights(def: Pick<ExperimentDefinition, 'variations'>): number[] {
  const total = def.variations.reduce((sum, variation) => sum + variation.weight, 0);
  return def.variations.map((variation) => variation.weight / total);
}
