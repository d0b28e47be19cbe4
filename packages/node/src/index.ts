export { Abtel, createAbtel, DEFAULT_CONVERSATION_MEMORY_SIZE, DEFAULT_EXPOSURE_DEDUPE_SIZE, DEFAULT_RESPONSE_ID_CACHE_SIZE } from './abtel.js';
export type {
  AbtelOptions,
  ConversationInfo,
  EvaluationInput,
  EventsMode,
  ExperimentHandle,
  JoinInput,
  OutcomeInput,
  RoutedVariation,
  VariationResult,
} from './abtel.js';
export {
  abtelLogRecordProcessor,
  abtelSampler,
  abtelSpanProcessor,
  configureAbtel,
  defaultAbtel,
  experiment,
  markExposed,
  recordEvaluation,
  recordOutcome,
  withConversation,
} from './default.js';
export { AbtelSpanProcessor, isGenAiSpan } from './span-processor.js';
export type { AbtelSpanProcessorOptions } from './span-processor.js';
export { AbtelLogRecordProcessor } from './log-processor.js';
export { AbtelSampler } from './sampler.js';
export { AbtelBaggagePropagator, abtelPropagator } from './propagator.js';
export { RedisAssignmentStore } from './redis-store.js';
export type { RedisAssignmentStoreOptions } from './redis-store.js';
export { AbtelOpenFeatureProvider, abtelHook } from './openfeature.js';
export type { AbtelHookOptions, AbtelOpenFeatureProviderOptions } from './openfeature.js';
export { loadExperimentsFrom, readRegisterConfig, DEFAULT_OTLP_ENDPOINT } from './config.js';
export type { RegisterConfig } from './config.js';
export {
  BAGGAGE_CONVERSATION,
  BAGGAGE_EXPERIMENT_PREFIX,
  BAGGAGE_MAX_EXPERIMENTS,
  BAGGAGE_MAX_TOTAL_LENGTH,
  BAGGAGE_MAX_VALUE_LENGTH,
} from './internal/baggage.js';
