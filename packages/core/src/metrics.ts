/**
 * Metric definitions: what the analysis computes per unit and how it judges the direction of a
 * change. Definitions are shared by every experiment in a directory (`metrics.yaml`) or inlined in
 * one experiment (`metrics.definitions`); experiments reference them by name.
 */
import { z } from 'zod';

/**
 * Names are used as SQL identifiers' suffixes and in reports, so keep them simple.
 * @example
 * METRIC_NAME_PATTERN.test('latency_p95'); // true
 */
export const METRIC_NAME_PATTERN = /^[a-z][a-z0-9_.-]*$/;

/**
 * A metric name: lower-case letters, digits, `_`, `.`, `-`, starting with a letter.
 * @example
 * MetricName.parse('resolved');
 */
export const MetricName = z
  .string()
  .regex(METRIC_NAME_PATTERN, 'must start with a lower-case letter and contain only a-z, 0-9, "_", "." or "-"');

/**
 * The per-span values the analysis can read without any instrumentation beyond gen_ai spans.
 * @example
 * MetricDefinition.parse({ name: 'tokens', kind: 'sum', from: { span_value: SPAN_VALUES[5] }, direction: 'decrease' });
 */
export const SPAN_VALUES = ['duration_ms', 'error', 'input_tokens', 'output_tokens', 'total_tokens', 'cost_usd', 'calls'] as const;
export type SpanValue = (typeof SPAN_VALUES)[number];

/**
 * Kinds of metric; each maps to one test in the statistics contract (DESIGN.md).
 * @example
 * METRIC_KINDS.includes('ratio'); // true
 */
export const METRIC_KINDS = ['binary', 'mean', 'sum', 'ratio', 'quantile', 'count'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/**
 * Where a metric's per-unit value comes from: an `abtel.outcome` event by name, a span attribute,
 * a standard per-span value, or a `gen_ai.evaluation.result` by evaluation name.
 * @example
 * MetricSource.parse({ outcome: 'resolved' });
 */
export const MetricSource = z.union([
  z.strictObject({ outcome: z.string().min(1) }),
  z.strictObject({ span_attribute: z.string().min(1) }),
  z.strictObject({ span_value: z.enum(SPAN_VALUES) }),
  z.strictObject({ evaluation: z.string().min(1) }),
]);
export type MetricSource = z.infer<typeof MetricSource>;

/**
 * True when the metric reads the gen_ai calls (a span value or a span attribute), not outcomes or
 * judge scores.
 * @example
 * readsCalls({ from: { span_value: 'cost_usd' } }); // true
 */
export function readsCalls(metric: { readonly from: MetricSource }): boolean {
  return 'span_value' in metric.from || 'span_attribute' in metric.from;
}

/**
 * One metric. `direction` is the good direction (e.g. `increase` for a resolution rate, `decrease`
 * for latency). `threshold`, `consecutiveWindows`, `action` and `windowMinutes` make it a
 * guardrail that can pause or roll back an experiment.
 * @example
 * const resolved = MetricDefinition.parse({ name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' });
 */
export const MetricDefinition = z.strictObject({
  name: MetricName,
  description: z.string().optional(),
  kind: z.enum(METRIC_KINDS),
  from: MetricSource,
  /** For `quantile` metrics: 0.5, 0.95, 0.99, … */
  quantile: z.number().gt(0).lt(1).optional(),
  /**
   * For `quantile` metrics, the interval method: `auto` (default) uses the asymptotic
   * cluster-robust interval computed from sufficient statistics when every arm has enough units
   * and events, and the unit bootstrap otherwise; `bootstrap` always resamples units (slower:
   * every event value is read into memory).
   */
  interval: z.enum(['auto', 'bootstrap']).optional(),
  /** How a unit without a value counts: binary/count default to zero, mean/ratio to exclude. */
  missing: z.enum(['zero', 'exclude']).optional(),
  /** Only outcomes within this many hours of the unit's exposure count. */
  window: z.strictObject({ hours: z.number().positive() }).optional(),
  /** Winsorisation of per-unit values, by an absolute value or a percentile (0..100) of the pooled data. */
  cap: z
    .strictObject({ absolute: z.number().optional(), percentile: z.number().gt(0).lt(100).optional() })
    .optional(),
  /** CUPED covariate: a pre-exposure outcome or attribute. */
  covariate: z.strictObject({ outcome: z.string().min(1).optional(), attribute: z.string().min(1).optional() }).optional(),
  direction: z.enum(['increase', 'decrease']),
  /** Guardrail threshold on the treatment − control difference (relative: as a fraction of control). */
  threshold: z.strictObject({ value: z.number(), relative: z.boolean().optional() }).optional(),
  consecutiveWindows: z.number().int().min(1).optional(),
  action: z.enum(['pause', 'rollback', 'review']).optional(),
  windowMinutes: z.number().positive().optional(),
});
export type MetricDefinition = z.infer<typeof MetricDefinition>;

/**
 * `metrics.yaml`: metric definitions shared by every experiment in the directory.
 * @example
 * const file = MetricsFile.parse({ metrics: [{ name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' }] });
 */
export const MetricsFile = z.strictObject({
  metrics: z.array(MetricDefinition),
});
export type MetricsFile = z.infer<typeof MetricsFile>;
