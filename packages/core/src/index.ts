export { AbtelError, UsageError, isAbtelError } from './errors.js';
export type { AbtelErrorCode } from './errors.js';
export { makeDirectory, makeDirectorySync } from './directory.js';
export {
  ATTR_ABTEL_EXPERIMENT_KEY,
  ATTR_ABTEL_EXPERIMENT_VARIATION,
  ATTR_ABTEL_EXPERIMENT_VERSION,
  ATTR_ABTEL_ASSIGNMENT_UNIT,
  ATTR_ABTEL_ASSIGNMENT_ID,
  ATTR_ABTEL_EXPERIMENTS,
  ATTR_ABTEL_ASSIGNMENT_IDS,
  ATTR_ABTEL_ASSIGNMENT_MIGRATED,
  ATTR_ABTEL_SEGMENT_PREFIX,
  ATTR_ABTEL_OUTCOME_NAME,
  ATTR_ABTEL_OUTCOME_VALUE,
  ATTR_ABTEL_EVALUATION_JUDGE_MODEL,
  ATTR_ABTEL_EVALUATION_JUDGE_VERSION,
  ATTR_ABTEL_EVALUATION_SAMPLE_RATE,
  ATTR_ABTEL_EVALUATION_SOURCE,
  ATTR_ABTEL_USAGE_COST_USD,
  EVENT_ABTEL_EXPOSURE,
  EVENT_ABTEL_OUTCOME,
  ASSIGNMENT_UNITS,
} from './names.js';
export type { AssignmentUnit } from './names.js';
export {
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_SYSTEM,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_AGENT_NAME,
  EVENT_GEN_AI_EVALUATION_RESULT,
  ATTR_GEN_AI_EVALUATION_NAME,
  ATTR_GEN_AI_EVALUATION_SCORE_VALUE,
  ATTR_GEN_AI_EVALUATION_SCORE_LABEL,
  ATTR_GEN_AI_EVALUATION_EXPLANATION,
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  EVENT_FEATURE_FLAG_EVALUATION,
} from './semconv.js';
export {
  Report,
  REPORT_SCHEMA_VERSION,
  RECOMMENDATIONS,
  ArmValue,
  CupedResult,
  BayesResult,
  SequentialResult,
  MetricRole,
  MetricResult,
  Comparison,
  GuardrailWindow,
  GuardrailResult,
  SegmentResult,
  JudgeTrendPoint,
  BadLineRecord,
} from './report.js';
export type { Recommendation } from './report.js';
export { DefinitionError, formatProblem } from './errors.js';
export type { DefinitionProblem, SourcePosition } from './errors.js';
export {
  ExperimentDefinition,
  Condition,
  Targeting,
  Layer,
  ActiveConversationPolicy,
  ConfigSchema,
  Variation,
  ExperimentMetrics,
  AnalysisPlan,
  ExposureSource,
  SURFACES,
  EXPERIMENT_STATES,
  ACTIVE_CONVERSATION_POLICIES,
  CONDITION_OPERATORS,
  KEY_PATTERN,
  configProblems,
  normalisedWeights,
} from './experiment.js';
export type { ExperimentDefinitionInput, ExperimentState, Surface, ActiveConversationPolicyName } from './experiment.js';
export { MetricDefinition, MetricsFile, MetricSource, MetricName, METRIC_KINDS, SPAN_VALUES, METRIC_NAME_PATTERN, readsCalls } from './metrics.js';
export type { MetricKind, SpanValue } from './metrics.js';
export { ExperimentSet } from './experiment-set.js';
export { loadExperiments, parseExperiments, parseDefinitionText } from './load.js';
export type { DefinitionDocument } from './load.js';
export {
  assign,
  bucketOf,
  hash32,
  variationForBucket,
  cumulativeWeights,
  layerSalt,
  matchesTargeting,
  matchesCondition,
} from './assignment.js';
export type { Assignment, AssignmentReason, UnitContext } from './assignment.js';
export { bucketSql, variationSql, sqlString } from './sql.js';
export { MemoryAssignmentStore } from './store.js';
export type { AssignmentStore, StoredAssignment, MaybePromise, MemoryAssignmentStoreOptions, UnitFingerprint } from './store.js';
export { route, canTransition, transition, storedFor, StickyRouter, TRANSITIONS } from './lifecycle.js';
export type { RouteResult, RouteReason, RouteOptions, DecisionRecord, StickyRouterOptions } from './lifecycle.js';
