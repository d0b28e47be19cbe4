/**
 * Input and result shapes of @abtel/stats. Every input is a sufficient statistic that DuckDB can
 * compute in SQL (counts, sums, sums of squares and cross products per arm), so the analysis never
 * ships unit-level rows into JavaScript except for quantile metrics.
 */

/** A closed interval `[lower, upper]`. */
export type Interval = [number, number];

/** Binary metric per arm: exposed units and units with the outcome (missing outcome counts as 0). */
export interface BinaryArm {
  /** Exposed units. */
  readonly n: number;
  /** Units whose outcome is 1. */
  readonly successes: number;
}

/** Mean metric per arm: one value per unit. */
export interface MeanArm {
  /** Units with a value. */
  readonly n: number;
  /** Σ y over units. */
  readonly sum: number;
  /** Σ y² over units. */
  readonly sumSquares: number;
}

/**
 * Ratio metric per arm (events inside units, e.g. latency per call): per unit, Y = sum of the
 * numerator over its events and N = its number of events (or the denominator sum).
 */
export interface RatioArm {
  /** Units with at least one event (N > 0). */
  readonly n: number;
  /** Σ Y over units. */
  readonly sumY: number;
  /** Σ Y² over units. */
  readonly sumYSquares: number;
  /** Σ N over units. */
  readonly sumN: number;
  /** Σ N² over units. */
  readonly sumNSquares: number;
  /** Σ Y·N over units. */
  readonly sumYN: number;
}

/** Mean metric with a pre-exposure covariate X for CUPED. */
export interface CovariateArm extends MeanArm {
  /** Σ x over units. */
  readonly sumX: number;
  /** Σ x² over units. */
  readonly sumXSquares: number;
  /** Σ x·y over units. */
  readonly sumXY: number;
}

/** Per-unit event values of one arm for quantile metrics: `units[i]` = the values of unit i. */
export type UnitValues = readonly (readonly number[])[];

/**
 * Quantile metric per arm, as sufficient statistics for the asymptotic cluster-robust interval of
 * Deng, Knoblich & Lu (2018): per unit i (with at least one event) its event count N_i and the
 * count I_i of its events at or below the arm's quantile estimate, summed over units, plus the
 * arm's quantile at the two outer levels that {@link quantileOuterLevels} derives from those sums.
 * @example
 * const arm: QuantileArm = quantileArmFromUnits([[120, 340], [95], [410, 88]], 0.95);
 */
export interface QuantileArm {
  /** Quantile level in (0, 1), e.g. 0.95 for p95. */
  readonly q: number;
  /** Units with at least one event. */
  readonly n: number;
  /** Σ N: events of the arm. */
  readonly events: number;
  /** The arm's quantile over all its events (type 7, as DuckDB `quantile_cont`). */
  readonly value: number;
  /** Σ I, Σ I², Σ N², Σ I·N over the units. */
  readonly sumI: number;
  readonly sumISquares: number;
  readonly sumNSquares: number;
  readonly sumIN: number;
  /** The arm's quantile (type 7) at the lower and upper outer level. */
  readonly lower: number;
  readonly upper: number;
}

/**
 * How the interval of a quantile comparison was computed.
 * @example
 * compareQuantiles(control, treatment, { q: 0.95 }).method; // 'asymptotic' for large arms
 */
export type QuantileMethod = 'asymptotic' | 'bootstrap';

/**
 * A quantile comparison, with the interval method it used.
 * @example
 * const result: QuantileComparison = compareQuantileArms(controlArm, treatmentArm);
 */
export interface QuantileComparison extends Comparison {
  readonly kind: 'quantile';
  readonly method: QuantileMethod;
}

/** The size and point value of one arm in a comparison. */
export interface ArmSummary {
  /** Units (the randomisation unit, normally conversations). */
  readonly n: number;
  /** Rate, mean, ratio or quantile of the arm. */
  readonly value: number;
}

/** Which estimator produced a comparison. */
export type ComparisonKind = 'binary' | 'mean' | 'ratio' | 'quantile' | 'cuped' | 'poststratified';

/**
 * The common result of comparing a variant against the baseline (control). Every metric kind
 * returns this shape so that reports render them alike.
 */
export interface Comparison {
  readonly kind: ComparisonKind;
  /** Absolute difference variant − baseline. */
  readonly estimate: number;
  /** Standard error of `estimate` (unpooled for binary metrics). */
  readonly standardError: number;
  /** 95% interval on the absolute difference. */
  readonly ci95: Interval;
  /** Two-sided p-value of the test of no difference. */
  readonly pValue: number;
  /** The test statistic (z, or t for Welch). */
  readonly statistic: number;
  /** Degrees of freedom of a t statistic; `undefined` for z tests. */
  readonly df?: number | undefined;
  /** (variant − baseline) / baseline; NaN when the baseline value is 0. */
  readonly relativeLift: number;
  /** 95% delta-method interval on the relative lift. */
  readonly relativeCi95: Interval;
  /**
   * Fieller's g = z²·var_baseline/baseline² of the relative interval (Fieller 1954): the
   * delta-method interval is a fair approximation while g is small (≲ 0.1, the baseline's own 95%
   * half-width under ~30% of its value); at g ≥ 1 the exact (Fieller) interval is unbounded.
   * NaN when the baseline is 0; absent where a comparison does not compute it.
   */
  readonly relativeFiellerG?: number;
  readonly baseline: ArmSummary;
  readonly variant: ArmSummary;
}

/** CUPED comparison: a Welch comparison of adjusted values plus the adjustment. */
export interface CupedComparison extends Comparison {
  readonly kind: 'cuped';
  /** θ = cov(Y, X) / var(X) over both arms pooled (ddof = 1). */
  readonly theta: number;
  /** 1 − var(adjusted difference) / var(unadjusted difference), in [0, 1] up to sampling noise. */
  readonly varianceReduction: number;
  /** The unadjusted Welch comparison for reference. */
  readonly unadjusted: Comparison;
}

/** One stratum of a post-stratified comparison (pre-treatment attribute value). */
export interface Stratum {
  readonly name: string;
  readonly baseline: MeanArm;
  readonly variant: MeanArm;
}

/** Health check status. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

/** Sample ratio mismatch result. */
export interface SrmResult {
  readonly status: CheckStatus;
  /** True when p < threshold (and enough units). */
  readonly flagged: boolean;
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
  readonly observed: readonly number[];
  readonly expected: readonly number[];
  /** Why the check was skipped, if it was. */
  readonly reason?: string | undefined;
}

/** Share of units seen in more than one variation. */
export interface MultipleExposureResult {
  readonly status: CheckStatus;
  readonly share: number;
  readonly multiExposedUnits: number;
  readonly totalUnits: number;
  readonly warnShare: number;
  readonly failShare: number;
}

/** Chi-square test of independence of segment × arm. */
export interface SegmentMixResult {
  readonly status: CheckStatus;
  readonly flagged: boolean;
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
  /** Expected counts under independence, `[segment][arm]`. */
  readonly expected: readonly (readonly number[])[];
}

/** A Beta prior. */
export interface BetaPrior {
  readonly alpha: number;
  readonly beta: number;
}

/** Bayesian comparison of a binary metric (exact numerical integration). */
export interface BayesianBinaryResult {
  /** P(p_variant > p_baseline). */
  readonly chanceToBeat: number;
  /** E[max(p_baseline − p_variant, 0)]: what choosing the variant costs if it is worse. */
  readonly expectedLossVariant: number;
  /** E[max(p_variant − p_baseline, 0)]: what keeping the baseline costs if the variant is better. */
  readonly expectedLossBaseline: number;
  readonly baselinePosterior: BetaPrior;
  readonly variantPosterior: BetaPrior;
}

/** One look of a group-sequential design. */
export interface BoundaryLook {
  /** Information fraction t_k in (0, 1]. */
  readonly fraction: number;
  /** Two-sided critical |z| at this look. */
  readonly z: number;
  /** Two-sided nominal p-value threshold 2(1 − Φ(z)). */
  readonly nominalPValue: number;
  /** α spent up to and including this look, α(t_k). */
  readonly cumulativeAlpha: number;
  /** α spent at this look, α(t_k) − α(t_{k−1}). */
  readonly incrementalAlpha: number;
}

/** Group-sequential boundaries. */
export interface Boundaries {
  readonly alpha: number;
  readonly spending: 'obrien-fleming';
  readonly looks: readonly BoundaryLook[];
}

/** Look-by-look decision. */
export type SequentialDecision = 'continue' | 'stop_efficacy';

/** An always-valid confidence sequence at the current sample size. */
export interface ConfidenceSequenceResult {
  readonly estimate: number;
  /** Always-valid interval at level 1 − α. */
  readonly interval: Interval;
  readonly halfWidth: number;
  /** ρ of the normal mixture, from the expected sample size. */
  readonly rho: number;
  /** True when the interval excludes 0. */
  readonly significant: boolean;
}

/** Sample size result. */
export interface SampleSizeResult {
  /** Units per arm, control first, each rounded up. */
  readonly perArm: readonly number[];
  readonly total: number;
  /** Normalised allocation weights used. */
  readonly allocation: readonly number[];
  /** Days needed at `dailyUnits` exposed units per day, when given. */
  readonly days?: number | undefined;
}

/** Minimum detectable effect result. */
export interface MdeResult {
  /** Absolute MDE (variant − baseline). */
  readonly absolute: number;
  /** Relative MDE (absolute / baseline), NaN for means without a baseline. */
  readonly relative: number;
  readonly perArm: readonly number[];
  readonly allocation: readonly number[];
}

/** Agreement between two raters over the same items. */
export interface KappaResult {
  /** Raw (observed) agreement: share of items on the diagonal. */
  readonly agreement: number;
  readonly kappa: number;
  readonly standardError: number;
  readonly ci95: Interval;
  readonly weights: 'none' | 'quadratic';
  readonly n: number;
}

/** Exact binomial test. */
export interface BinomialTestResult {
  readonly successes: number;
  readonly n: number;
  readonly p: number;
  readonly proportion: number;
  readonly pValue: number;
}

/** Spearman rank correlation. */
export interface SpearmanResult {
  readonly rho: number;
  readonly pValue: number;
  readonly n: number;
}

/** A mean with its t interval (e.g. a judge score per window). */
export interface MeanInterval {
  readonly n: number;
  readonly mean: number;
  readonly standardError: number;
  readonly ci95: Interval;
}

/** Guardrail threshold: breach when the metric is `direction` the value. */
export interface GuardrailThreshold {
  readonly metric: string;
  readonly direction: 'above' | 'below';
  readonly value: number;
  /** Consecutive breached windows before the action fires. */
  readonly consecutiveWindows: number;
  readonly action: 'pause' | 'rollback' | 'review';
  /** Arms to watch; default every arm. */
  readonly arms?: readonly string[] | undefined;
}

/** One observed value of a metric for one arm in one time window. */
export interface GuardrailObservation {
  /** Window start (ISO string or epoch ms); windows are ordered by this. */
  readonly window: string | number;
  readonly arm: string;
  readonly metric: string;
  readonly value: number;
}

/** A breached window. */
export interface GuardrailAlert {
  readonly window: string | number;
  readonly arm: string;
  readonly metric: string;
  readonly value: number;
  readonly threshold: GuardrailThreshold;
  /** Consecutive breached windows including this one. */
  readonly streak: number;
}

/** An action that fired because a breach persisted for `consecutiveWindows` windows. */
export interface GuardrailAction extends GuardrailAlert {
  readonly action: GuardrailThreshold['action'];
}

/** Monitor output. */
export interface GuardrailReport {
  readonly alerts: readonly GuardrailAlert[];
  readonly actions: readonly GuardrailAction[];
}

/** Thompson sampling allocation. */
export interface BanditAllocation {
  /** P(arm is best) under the Beta posteriors. */
  readonly probabilityBest: readonly number[];
  /** Allocation weights after the floor, summing to 1. */
  readonly weights: readonly number[];
}

/** Bandit vs fixed split simulation result. */
export interface BanditSimulationResult {
  readonly horizon: number;
  /** Expected regret Σ (p_best − p_assigned) of Thompson sampling. */
  readonly banditRegret: number;
  /** Expected regret of the fixed equal split on the same units. */
  readonly fixedRegret: number;
  readonly banditRewards: number;
  readonly fixedRewards: number;
  /** Units assigned to each arm by the bandit. */
  readonly banditPulls: readonly number[];
  /** Final allocation weights. */
  readonly finalWeights: readonly number[];
}

/** One segment for the Simpson check. */
export interface SegmentComparisonInput {
  readonly segment: string;
  readonly baseline: ArmSummary;
  readonly variant: ArmSummary;
}

/** Simpson's paradox check. */
export interface SimpsonResult {
  readonly pooledDifference: number;
  readonly segments: readonly { readonly segment: string; readonly difference: number; readonly eligible: boolean }[];
  /** True when the pooled direction contradicts every eligible segment (≥ 1 eligible). */
  readonly reversal: boolean;
}

/** Multiple testing adjustment methods. */
export type AdjustmentMethod = 'bonferroni' | 'holm' | 'bh';
