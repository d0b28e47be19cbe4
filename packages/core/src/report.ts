/**
 * The analysis report: the JSON document `abtel analyze --format json` prints and every other
 * format (table, Markdown, HTML) is rendered from. It is versioned so CI gates written against it
 * keep working: fields are only ever added within a `schemaVersion`; a rename or a change of
 * meaning bumps it.
 *
 * Every number is a plain JSON number. A value that cannot be computed (an empty arm, a relative
 * lift over a zero baseline) is `null`, never `NaN` or a string.
 */
import { z } from 'zod';

/** The report schema version this build writes and reads. */
export const REPORT_SCHEMA_VERSION = 1 as const;

/** What the analysis recommends doing with the experiment. */
export const RECOMMENDATIONS = ['continue', 'pause', 'rollback', 'ship', 'inconclusive'] as const;
/** What the analysis recommends doing with the experiment. */
export type Recommendation = (typeof RECOMMENDATIONS)[number];

/** A finite number, or null when it cannot be computed. */
const num = z.number().nullable();
/** A 95% interval `[lo, hi]`; either end may be null when it cannot be computed. */
const Interval = z.tuple([num, num]);

/**
 * One arm of one metric: the units that count and the metric's value (rate, mean, ratio,
 * quantile, per-unit sum or count).
 * @example
 * ArmValue.parse({ n: 1000, units: 1000, value: 0.42 });
 */
export const ArmValue = z.object({
  /** Units contributing a value (the sample size of the test). */
  n: z.number().int().nonnegative(),
  /** Exposed units in the arm (equals `n` unless missing values are excluded). */
  units: z.number().int().nonnegative().optional(),
  /** The metric's estimate for the arm. */
  value: num,
});
export type ArmValue = z.infer<typeof ArmValue>;

/**
 * CUPED-adjusted comparison (pre-exposure covariate).
 * @example
 * CupedResult.parse({ covariate: 'prior_csat', theta: 0.8, varianceReduction: 0.35, absoluteDiff: 0.1, ci95: [0.02, 0.18], pValue: 0.01 });
 */
export const CupedResult = z.object({
  covariate: z.string(),
  theta: num,
  /** Share of the variance removed, 0..1. */
  varianceReduction: num,
  absoluteDiff: num,
  ci95: Interval,
  pValue: num,
});
export type CupedResult = z.infer<typeof CupedResult>;

/**
 * Bayesian readout of a binary metric with Beta(1, 1) priors.
 * @example
 * BayesResult.parse({ chanceToBeat: 0.97, expectedLoss: 0.0004, expectedLossControl: 0.01 });
 */
export const BayesResult = z.object({
  /** P(variant rate is better than the baseline rate), in the metric's good direction. */
  chanceToBeat: num,
  /** Expected loss of choosing the variant (in rate units). */
  expectedLoss: num,
  /** Expected loss of keeping the baseline. */
  expectedLossControl: num,
});
export type BayesResult = z.infer<typeof BayesResult>;

/**
 * Group-sequential status at the registered looks (Lan–DeMets O'Brien–Fleming spending).
 * @example
 * SequentialResult.parse({ informationFraction: 0.5, looks: [0.25, 0.5, 1], currentLook: 2, boundaryZ: 2.96, z: 3.1, status: 'efficacy' });
 */
export const SequentialResult = z.object({
  /** Exposed units / planned units (capped at 1). */
  informationFraction: num,
  /** The registered information fractions. */
  looks: z.array(z.number()),
  /** The z boundary of each registered look. */
  boundaries: z.array(num).optional(),
  /** 1-based index of the last look reached, 0 when no look has been reached yet. */
  currentLook: z.number().int().nonnegative(),
  /** The z boundary at the current look (null before the first look). */
  boundaryZ: num,
  /** The test statistic of the comparison. */
  z: num,
  /** `efficacy`: the boundary is crossed; `continue`: a look was reached but not crossed; `before_first_look`. */
  status: z.enum(['efficacy', 'continue', 'before_first_look']),
  /** Always-valid 95% confidence sequence of the difference (safe to read at any time), tuned to the planned units. */
  alwaysValidCi95: Interval.optional(),
});
export type SequentialResult = z.infer<typeof SequentialResult>;

/** Metric roles, as the experiment registered them. */
export const MetricRole = z.enum(['primary', 'guardrail', 'secondary']);
export type MetricRole = z.infer<typeof MetricRole>;

/**
 * One metric of one comparison.
 * @example
 * MetricResult.parse({ name: 'resolved', role: 'primary', kind: 'binary', direction: 'increase',
 *   baseline: { n: 1000, value: 0.4 }, variant: { n: 1000, value: 0.45 }, absoluteDiff: 0.05,
 *   ci95: [0.007, 0.093], relativeLift: 0.125, relativeCi95: [0.01, 0.24], pValue: 0.024,
 *   pAdjustedBH: null, pAdjustedHolm: null, significant: true, better: true });
 */
export const MetricResult = z.object({
  name: z.string(),
  role: MetricRole,
  kind: z.enum(['binary', 'mean', 'sum', 'ratio', 'quantile', 'count']),
  /** The good direction of the metric. */
  direction: z.enum(['increase', 'decrease']).optional(),
  /** The statistical test used (e.g. `two-proportion z`, `welch t`, `delta-method z`, `bootstrap`). */
  test: z.string().optional(),
  /**
   * Quantile metrics: how the 95% interval was computed. `asymptotic`: the cluster-robust outer
   * interval over units (Deng, Knoblich & Lu 2018); `bootstrap`: the unit (cluster) bootstrap.
   */
  interval: z.enum(['asymptotic', 'bootstrap']).optional(),
  baseline: ArmValue,
  variant: ArmValue,
  /** variant − baseline. */
  absoluteDiff: num,
  /** 95% interval of the absolute difference. */
  ci95: Interval,
  /** (variant − baseline) / baseline. */
  relativeLift: num,
  /** 95% delta-method interval of the relative lift. */
  relativeCi95: Interval,
  /** Two-sided p-value, unadjusted. */
  pValue: num,
  /** Benjamini–Hochberg adjusted p over the non-primary metrics of the comparison; null for the primary. */
  pAdjustedBH: num,
  /** Holm adjusted p over the non-primary metrics of the comparison; null for the primary. */
  pAdjustedHolm: num,
  /** p (primary) or BH-adjusted p (others) below alpha. */
  significant: z.boolean(),
  /** Direction of the estimate relative to the good direction; null when there is no difference. */
  better: z.boolean().nullable(),
  cuped: CupedResult.optional(),
  bayes: BayesResult.optional(),
  sequential: SequentialResult.optional(),
  /** Why a number is missing, when it is, or why one should not be read (e.g. an unreliable relative interval). */
  note: z.string().optional(),
});
export type MetricResult = z.infer<typeof MetricResult>;

/**
 * Each non-control variation against the control.
 * @example
 * Comparison.parse({ variation: 'warm', baseline: 'control', metrics: [] });
 */
export const Comparison = z.object({
  variation: z.string(),
  baseline: z.string(),
  metrics: z.array(MetricResult),
});
export type Comparison = z.infer<typeof Comparison>;

/**
 * One time window of a guardrail for one variation.
 * @example
 * GuardrailWindow.parse({ windowStart: '2026-11-20T10:00:00.000Z', baseline: { n: 50, value: 0.02 },
 *   variant: { n: 50, value: 0.09 }, compared: 0.07, breached: true, streak: 1 });
 */
export const GuardrailWindow = z.object({
  windowStart: z.string(),
  baseline: ArmValue,
  variant: ArmValue,
  /** What was checked against the threshold: the difference (absolute or relative) variant − baseline. */
  compared: num,
  breached: z.boolean(),
  /** Consecutive breached windows up to and including this one. */
  streak: z.number().int().nonnegative(),
  /** True on the window where the streak reached `consecutiveWindows`. */
  actionFired: z.boolean().optional(),
});
export type GuardrailWindow = z.infer<typeof GuardrailWindow>;

/**
 * A guardrail metric for one variation, windowed over exposure time.
 * @example
 * GuardrailResult.parse({ metric: 'error_rate', variation: 'warm', baseline: 'control', direction: 'decrease',
 *   threshold: { value: 0.05, relative: false }, consecutiveWindows: 3, action: 'rollback', windowMinutes: 60,
 *   windows: [], alerts: 0, actionTriggered: false });
 */
export const GuardrailResult = z.object({
  metric: z.string(),
  variation: z.string(),
  baseline: z.string(),
  /** The good direction; a breach is a move in the other direction beyond the threshold. */
  direction: z.enum(['increase', 'decrease']),
  threshold: z.object({ value: z.number(), relative: z.boolean() }),
  consecutiveWindows: z.number().int().positive(),
  action: z.enum(['pause', 'rollback', 'review']),
  windowMinutes: z.number().positive(),
  windows: z.array(GuardrailWindow),
  /** Number of breached windows. */
  alerts: z.number().int().nonnegative(),
  /** True when the breach persisted for `consecutiveWindows` windows at least once. */
  actionTriggered: z.boolean(),
  /** Start of the window where the action fired first. */
  actionWindow: z.string().optional(),
  /** True when the streak is still running in the latest window (the breach is current). */
  ongoing: z.boolean().optional(),
});
export type GuardrailResult = z.infer<typeof GuardrailResult>;

/**
 * Per-segment readout of the primary metric for one pre-treatment attribute.
 * @example
 * SegmentResult.parse({ segment: 'locale', metric: 'resolved', variation: 'warm', baseline: 'control',
 *   mix: { statistic: 1.2, df: 2, pValue: 0.55, flagged: false },
 *   simpson: { flagged: false, pooledDiff: 0.02 }, rows: [] });
 */
export const SegmentResult = z.object({
  /** Segment attribute name (`abtel.segment.<segment>` on exposure). */
  segment: z.string(),
  metric: z.string(),
  variation: z.string(),
  baseline: z.string(),
  /** Chi-square test of independence of segment value × arm (the mix should not depend on the arm). */
  mix: z.object({ statistic: num, df: z.number().int().nonnegative(), pValue: num, flagged: z.boolean() }),
  /** Flag when the pooled direction contradicts every segment with enough units. */
  simpson: z.object({ flagged: z.boolean(), pooledDiff: num, note: z.string().optional() }),
  rows: z.array(
    z.object({
      value: z.string(),
      baseline: ArmValue,
      variant: ArmValue,
      absoluteDiff: num,
      ci95: Interval,
      pValue: num,
    }),
  ),
});
export type SegmentResult = z.infer<typeof SegmentResult>;

/**
 * Mean judge score per window and arm.
 * @example
 * JudgeTrendPoint.parse({ windowStart: '2026-11-20T10:00:00.000Z', variation: 'warm', name: 'helpfulness', n: 40, mean: 0.8, sd: 0.1, ci95: [0.77, 0.83] });
 */
export const JudgeTrendPoint = z.object({
  windowStart: z.string(),
  variation: z.string(),
  name: z.string(),
  n: z.number().int().nonnegative(),
  mean: num,
  sd: num,
  ci95: Interval.optional(),
});
export type JudgeTrendPoint = z.infer<typeof JudgeTrendPoint>;

/**
 * A line of input that could not be read.
 * @example
 * BadLineRecord.parse({ file: 'traces-1.jsonl', line: 17, reason: 'invalid JSON' });
 */
export const BadLineRecord = z.object({ file: z.string(), line: z.number().int(), reason: z.string() });
export type BadLineRecord = z.infer<typeof BadLineRecord>;

/**
 * The whole report.
 * @example
 * import { Report } from '@abtel/core';
 * const report = Report.parse(JSON.parse(await readFile('report.json', 'utf8')));
 * if (report.decision.recommendation === 'rollback') process.exitCode = 3;
 */
export const Report = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  experiment: z.object({
    key: z.string(),
    version: z.number().int(),
    description: z.string().optional(),
    state: z.string(),
    unit: z.string(),
    control: z.string(),
    variations: z.array(z.object({ key: z.string(), weight: z.number() })),
    startedAt: z.string().optional(),
    alpha: z.number(),
  }),
  /** ISO time the report was generated. */
  generatedAt: z.string(),
  data: z
    .object({ inputs: z.array(z.string()), files: z.object({ raw: z.number().int(), parquet: z.number().int() }) })
    .optional(),
  population: z.object({
    /** Exposed units per variation (first exposure per unit, duplicates removed). */
    exposed: z.record(z.string(), z.number().int().nonnegative()),
    total: z.number().int().nonnegative(),
    /** Exposure events beyond the first per unit. */
    duplicateExposures: z.number().int().nonnegative(),
    /** Conversations stamped with the experiment (gen_ai calls) that never had an exposure: excluded from every metric. */
    excluded: z.number().int().nonnegative().optional(),
    firstExposure: z.string().optional(),
    lastExposure: z.string().optional(),
    plannedUnits: z.number().optional(),
    /** total / plannedUnits, capped at 1; null without a plan. */
    informationFraction: num,
    timeline: z.array(z.object({ bucket: z.string(), variation: z.string(), cumulative: z.number() })),
  }),
  health: z.object({
    /** Sample ratio mismatch: chi-square goodness of fit against the planned weights, flagged at p < 0.001. */
    srm: z.object({
      /** Null when not computed (no exposed units). */
      statistic: num,
      df: z.number().int().nonnegative(),
      /** Null when not computed (no exposed units). */
      pValue: num,
      flagged: z.boolean(),
      expected: z.record(z.string(), z.number()),
      /**
       * `ok`; `mismatch` (flagged); `skipped`: computed but not judged because an arm has too few
       * units; `not_computed`: no exposed units, `statistic` and `pValue` are null. Added in
       * schema version 1 (absent from reports written before it; read `flagged` there).
       */
      status: z.enum(['ok', 'mismatch', 'skipped', 'not_computed']).optional(),
      /** Why the check was skipped or not computed. */
      reason: z.string().optional(),
    }),
    /** Units seen in more than one variation. */
    multipleExposures: z.object({ units: z.number().int().nonnegative(), share: num, flagged: z.boolean() }),
    /** Each unit's variation recomputed from the definition. */
    assignment: z.object({ checked: z.number().int().nonnegative(), mismatches: z.number().int().nonnegative(), flagged: z.boolean() }),
    exposuresWithoutCall: z.number().int().nonnegative(),
    outcomesWithoutExposure: z.number().int().nonnegative(),
    freshness: z.object({
      lastEventTime: z.string().optional(),
      /** Minutes from the newest event to the readout time; null without data, 0 when the newest event is after the readout time. */
      ageMinutes: num,
      stale: z.boolean(),
      /**
       * `ok`; `stale` (older than the stale limit); `no_data`: no event at all (`ageMinutes` null);
       * `future`: the newest event is after the readout time (`--now` earlier than the data, or a
       * clock ahead), `ageMinutes` is 0 and a warning says by how much. Added in schema version 1
       * (absent from reports written before it).
       */
      status: z.enum(['ok', 'stale', 'no_data', 'future']).optional(),
    }),
    badLines: z.number().int().nonnegative(),
  }),
  comparisons: z.array(Comparison),
  guardrails: z.array(GuardrailResult),
  segments: z.array(SegmentResult),
  judgeTrend: z.array(JudgeTrendPoint),
  decision: z.object({
    recommendation: z.enum(RECOMMENDATIONS),
    reasons: z.array(z.string()).min(1),
    /** The variation to ship, when the recommendation is `ship`. */
    winner: z.string().optional(),
  }),
  warnings: z.array(z.string()),
  /** Unreadable input lines: total count and the first few with file and line. */
  badLines: z.object({ count: z.number().int().nonnegative(), samples: z.array(BadLineRecord) }),
});
export type Report = z.infer<typeof Report>;
