/**
 * The inputs of `buildReport`: the experiment as registered and the results the data layer has
 * already computed from the files. Shapes are structural so that the data layer's results (and
 * hand-made sufficient statistics in tests) fit without conversion.
 */
import type { MetricDefinition } from '@abtel/core';
import type { QuantileArm } from '@abtel/stats';

/** The parts of an experiment definition the report reads (an `ExperimentDefinition` fits). */
export interface ReportExperimentInput {
  readonly key: string;
  readonly version: number;
  readonly description?: string | undefined;
  readonly state: string;
  readonly unit: string;
  readonly control: string;
  readonly variations: readonly { readonly key: string; readonly weight: number }[];
  readonly startedAt?: string | undefined;
  readonly segments?: readonly string[] | undefined;
  readonly metrics?:
    | {
        readonly primary?: string | undefined;
        readonly guardrails?: readonly string[] | undefined;
        readonly secondary?: readonly string[] | undefined;
      }
    | undefined;
  readonly analysis?:
    | {
        readonly alpha?: number | undefined;
        readonly looks?: readonly number[] | undefined;
        readonly plannedUnits?: number | undefined;
        readonly plannedEnd?: string | undefined;
      }
    | undefined;
}

/** Per-arm sufficient statistics of one metric (the data layer's `ArmMetricStats`). */
export interface ArmStatsInput {
  readonly variation: string;
  readonly segment?: string | undefined;
  /** Exposed units in the arm. */
  readonly units: number;
  /** Units contributing a value. */
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
  readonly denomSum?: number | undefined;
  readonly denomSumSquares?: number | undefined;
  /** Metrics read from the calls: how many values the arm's calls carried (0: never measured, whatever the per-unit sums say). */
  readonly valuesRead?: number | undefined;
  readonly crossSum?: number | undefined;
  readonly covariateSum?: number | undefined;
  readonly covariateSumSquares?: number | undefined;
  readonly covariateCrossSum?: number | undefined;
  /** Quantile metrics: per-unit event values, where the unit bootstrap is needed. */
  readonly samples?: readonly (readonly number[])[] | undefined;
  readonly quantile?: number | undefined;
  /** Quantile metrics: the asymptotic interval's sufficient statistics (see @abtel/stats `QuantileArm`). */
  readonly quantileArm?: QuantileArm | undefined;
}

/** Exposed population (the data layer's `population()` result). */
export interface PopulationInput {
  readonly exposed: Readonly<Record<string, number>>;
  readonly duplicateExposures: number;
  readonly multipleExposureUnits: number;
  /** Conversations stamped with the experiment that never had an exposure (excluded). */
  readonly excludedUnits?: number | undefined;
  readonly firstExposure?: string | undefined;
  readonly lastExposure?: string | undefined;
  readonly timeline: readonly { readonly bucket: string; readonly variation: string; readonly cumulative: number }[];
}

/** Data health counts (the data layer's `health()` result). */
export interface HealthInput {
  readonly assignmentMismatches: number;
  readonly assignmentChecked: number;
  readonly exposuresWithoutCall: number;
  readonly outcomesWithoutExposure: number;
  /**
   * Calls that carry the experiment as the second experiment of a conversation whose primary
   * experiment randomises another kind of unit, without `abtel.assignment.ids`: left out of the
   * call metrics, said in a warning.
   */
  readonly unattributedCalls?: number | undefined;
  /**
   * Outcomes and evaluations of the experiment that name no unit of it (no `abtel.assignment.ids`
   * on the event, experiment not randomised by conversation): left out of its outcome and
   * evaluation metrics, said in a warning.
   */
  readonly unattributedOutcomes?: number | undefined;
  readonly unattributedEvaluations?: number | undefined;
  readonly lastEventTime?: string | undefined;
  readonly badLines: number;
}

/** One guardrail metric's windows (the data layer's `guardrailWindows()` result). */
export interface GuardrailWindowsInput {
  readonly metric: string;
  readonly windowMinutes: number;
  readonly windows: readonly { readonly windowStart: string; readonly stats: readonly ArmStatsInput[] }[];
}

/** One segment attribute: the unit mix and the primary metric's statistics per segment value. */
export interface SegmentInput {
  readonly segment: string;
  readonly mix: readonly { readonly value: string; readonly variation: string; readonly units: number }[];
  /** The primary metric's per-arm statistics, one entry per (segment value, variation); `segment` holds the value. */
  readonly stats: readonly ArmStatsInput[];
}

/** Judge score per window and arm (the data layer's `judgeTrend()` result). */
export interface JudgeTrendInput {
  readonly windowStart: string;
  readonly variation: string;
  readonly name: string;
  readonly n: number;
  readonly mean: number;
  /** Null when the window has a single score (a sample standard deviation needs two). */
  readonly sd: number | null;
}

/** A line of input that could not be read. */
export interface BadLineInput {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

/** Thresholds of the decision rules that are not part of the experiment definition. */
export interface DecisionOptions {
  /** Unreadable lines tolerated before the readout is treated as a telemetry gap (default 0). */
  readonly maxBadLines?: number | undefined;
  /** A running experiment whose newest event is older than this is stale (default 360 minutes). */
  readonly staleAfterMinutes?: number | undefined;
  /** Share of audited units whose recomputed variation differs that counts as a failure (default 0.01). */
  readonly assignmentMismatchShare?: number | undefined;
  /** Minimum units per arm in a segment for the Simpson check (default 30). */
  readonly minSegmentUnits?: number | undefined;
}

/**
 * Everything `buildReport` needs; each part comes from one data-layer function.
 * @example
 * const inputs: BuildReportInputs = { experiment, metrics, generatedAt: new Date().toISOString(),
 *   population, health, metricStats: { resolved: arms }, guardrails: [], segments: [], judgeTrend: [], badLines: [] };
 */
export interface BuildReportInputs {
  readonly experiment: ReportExperimentInput;
  /** The experiment's metric definitions, resolved (inline and shared). */
  readonly metrics: readonly MetricDefinition[];
  /** ISO time of the readout; freshness is measured against it. */
  readonly generatedAt: string;
  readonly population: PopulationInput;
  readonly health: HealthInput;
  /** Per metric name: per-arm sufficient statistics over the whole exposure period. */
  readonly metricStats: Readonly<Record<string, readonly ArmStatsInput[]>>;
  readonly guardrails: readonly GuardrailWindowsInput[];
  readonly segments: readonly SegmentInput[];
  /**
   * Segment names (`abtel.segment.<name>`, prefix removed) present on any exposure of the
   * experiment, when the data layer looked them up (it does when a segment has no value on any
   * unit). A requested segment missing from it gets a warning instead of an all-`(none)` readout.
   */
  readonly segmentAttributesSeen?: readonly string[] | undefined;
  readonly judgeTrend: readonly JudgeTrendInput[];
  /** The unreadable lines (samples) and their total count. */
  readonly badLines: readonly BadLineInput[];
  readonly badLineCount?: number | undefined;
  /** Files or lines deliberately not read (OTLP metrics), with why: said in the warnings. */
  readonly skipped?: readonly { readonly file: string; readonly lines: number; readonly reason: string }[] | undefined;
  readonly data?: { readonly inputs: readonly string[]; readonly files: { readonly raw: number; readonly parquet: number } } | undefined;
  readonly options?: DecisionOptions | undefined;
}
