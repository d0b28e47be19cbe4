/**
 * @abtel/stats: the statistics of conversation-level LLM experiments, as pure functions over
 * sufficient statistics. Formulas and sources: see README.md.
 */
export type {
  AdjustmentMethod,
  ArmSummary,
  BanditAllocation,
  BanditSimulationResult,
  BayesianBinaryResult,
  BetaPrior,
  BinaryArm,
  BinomialTestResult,
  Boundaries,
  BoundaryLook,
  CheckStatus,
  Comparison,
  ComparisonKind,
  ConfidenceSequenceResult,
  CovariateArm,
  CupedComparison,
  GuardrailAction,
  GuardrailAlert,
  GuardrailObservation,
  GuardrailReport,
  GuardrailThreshold,
  Interval,
  QuantileArm,
  QuantileComparison,
  QuantileMethod,
  KappaResult,
  MdeResult,
  MeanArm,
  MeanInterval,
  MultipleExposureResult,
  RatioArm,
  SampleSizeResult,
  SegmentComparisonInput,
  SegmentMixResult,
  SequentialDecision,
  SimpsonResult,
  SpearmanResult,
  SrmResult,
  Stratum,
  UnitValues,
} from './types.js';
export { StatsError, isStatsError } from './errors.js';
export type { StatsErrorCode } from './errors.js';
export { checkSrm, checkMultipleExposure, checkSegmentMix, SRM_THRESHOLD } from './health.js';
export { compareBinary } from './binary.js';
export { compareMeans, meanArmFromValues, capValues, percentileCap } from './means.js';
export { compareRatios, ratioVariance, ratioArmFromUnits } from './ratio.js';
export { quantile, compareQuantiles, quantileArmFromUnits } from './quantile.js';
export type { QuantileIntervalChoice } from './quantile.js';
export {
  compareQuantileArms,
  quantileOuterLevels,
  quantileAsymptoticIssue,
  QUANTILE_ASYMPTOTIC_MIN_UNITS,
  QUANTILE_ASYMPTOTIC_MIN_EVENTS,
} from './quantile-asymptotic.js';
export type { QuantileCounts, QuantileOuterLevels } from './quantile-asymptotic.js';
export { bonferroni, holm, benjaminiHochberg, adjustPValues } from './multiple.js';
export { compareCuped, covariateArmFromValues, comparePostStratified } from './cuped.js';
export { bayesianBinary, probabilityBest } from './bayes.js';
export { groupSequentialBoundaries, obrienFlemingSpending, sequentialDecision, confidenceSequence } from './sequential.js';
export { sampleSizeProportions, sampleSizeMeans, sampleSizeRatio, mdeProportions, mdeMeans } from './power.js';
export type { PowerOptions } from './power.js';
export { cohensKappa, binomialTest, spearman, wilsonInterval, meanTInterval, windowMeans } from './judge.js';
export { monitorGuardrails } from './guardrails.js';
export { thompsonAllocation, simulateBandit } from './bandit.js';
export { simpsonCheck } from './simpson.js';
export { seededRandom } from './internal/random.js';
