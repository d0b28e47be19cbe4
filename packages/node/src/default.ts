import type { Context } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import {
  Abtel,
  type AbtelOptions,
  type ConversationInfo,
  type EvaluationInput,
  type EventsMode,
  type ExperimentHandle,
  type OutcomeInput,
} from './abtel.js';
import type { AbtelLogRecordProcessor } from './log-processor.js';
import type { AbtelSampler } from './sampler.js';
import type { AbtelSpanProcessor, AbtelSpanProcessorOptions } from './span-processor.js';

// The process-wide instance hangs off a registry symbol so that two copies of this package (or a
// bundled copy) share it. It is created on first use, never on import.
const DEFAULT_INSTANCE = Symbol.for('@abtel/node.default');
type Registry = { [DEFAULT_INSTANCE]?: Abtel };

function eventsModeFromEnv(): EventsMode {
  return process.env['ABTEL_EVENTS'] === 'spans' ? 'spans' : 'logs';
}

/**
 * The process-wide abtel instance used by the package-level functions.
 * @example
 * defaultAbtel().experiments.all().map((def) => def.key);
 */
export function defaultAbtel(): Abtel {
  const registry = globalThis as Registry;
  registry[DEFAULT_INSTANCE] ??= new Abtel({ events: eventsModeFromEnv() });
  return registry[DEFAULT_INSTANCE];
}

/**
 * Configures the process-wide instance (experiments, store, event mode). The `register` entry
 * calls it from `ABTEL_*` variables; apps with their own SDK call it once at start-up. What
 * `options` leaves out stays as it is, so `configureAbtel({ store })` under the `register` entry
 * keeps the definitions it loaded. Bad options throw AbtelError and change nothing.
 * @example
 * configureAbtel({ experiments: await loadExperiments('./experiments'), store: new RedisAssignmentStore({ client: redis }) });
 */
export function configureAbtel(options: AbtelOptions): Abtel {
  const abtel = defaultAbtel();
  abtel.configure(options);
  return abtel;
}

/**
 * Runs `fn` in a context that carries the conversation; spans started inside are stamped.
 * @example
 * await withConversation({ conversationId: req.body.conversationId, userId: user.id, attributes: { plan: 'pro' } }, () => answer(req));
 */
export function withConversation<T>(info: ConversationInfo, fn: () => T): T {
  return defaultAbtel().withConversation(info, fn);
}

/**
 * A handle on one experiment; `await experiment(key).variation()` inside `withConversation`
 * returns the sticky `{ key, config }` and joins the assignment to the conversation.
 * @example
 * const persona = await experiment<{ name: string; tone: string }>('support-persona').variation();
 * const system = `You are ${persona.config.name}. Answer in a ${persona.config.tone} tone.`;
 */
export function experiment<TConfig = Record<string, unknown>>(key: string): ExperimentHandle<TConfig> {
  return defaultAbtel().experiment<TConfig>(key);
}

/**
 * Emits `abtel.exposure` now for the active conversation's assignments (once per experiment and unit).
 * @example
 * const cta = await experiment('upgrade-cta').variation();
 * showBanner(cta.config); markExposed('upgrade-cta');
 */
export function markExposed(experimentKey?: string, context?: Context): void {
  defaultAbtel().markExposed(experimentKey, context);
}

/**
 * Records an `abtel.outcome` event (booleans as 1/0), with or without an active context.
 * @example
 * recordOutcome({ conversationId: 'c-42', name: 'resolved', value: true });
 */
export function recordOutcome(outcome: OutcomeInput): void {
  defaultAbtel().recordOutcome(outcome);
}

/**
 * Records a `gen_ai.evaluation.result` event parented to the evaluated span.
 * @example
 * recordEvaluation({ responseId: 'chatcmpl-1', conversationId: 'c-42', name: 'helpfulness', score: 0.8,
 *   judge: { model: 'gpt-4o-mini', version: 'rubric-3' }, sampleRate: 0.1, source: 'online' });
 */
export function recordEvaluation(evaluation: EvaluationInput): void {
  defaultAbtel().recordEvaluation(evaluation);
}

/**
 * The span processor of the process-wide instance, for apps that configure their own SDK: in
 * front of the exporting processor, or wrapping it with `{ next }` (one processor in the chain).
 * @example
 * new NodeSDK({ spanProcessors: [abtelSpanProcessor({ next: new BatchSpanProcessor(new OTLPTraceExporter()) })] });
 * // or: spanProcessors: [abtelSpanProcessor(), new BatchSpanProcessor(new OTLPTraceExporter())]
 */
export function abtelSpanProcessor(options: AbtelSpanProcessorOptions = {}): AbtelSpanProcessor {
  return defaultAbtel().spanProcessor(options);
}

/**
 * The application's sampler wrapped for the process-wide instance: its decisions are unchanged,
 * and a conversation whose first gen_ai span the sampler drops still gets its exposure (emitted
 * from the sampler, since span processors never see dropped spans). Without a sampler, the
 * provider's default decisions (parent-based, always on), made without allocating per span.
 * @example
 * new NodeSDK({ sampler: abtelSampler(), spanProcessors: [abtelSpanProcessor({ next: batch })] }); // the default sampling
 * new NodeSDK({
 *   sampler: abtelSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })),
 *   spanProcessors: [abtelSpanProcessor({ next: new BatchSpanProcessor(new OTLPTraceExporter()) })],
 * });
 */
export function abtelSampler(inner?: Sampler): AbtelSampler {
  return defaultAbtel().sampler(inner);
}

/**
 * The log-record processor that stamps log records of a conversation like spans.
 * @example
 * new NodeSDK({ logRecordProcessors: [abtelLogRecordProcessor(), new BatchLogRecordProcessor(new OTLPLogExporter())] });
 */
export function abtelLogRecordProcessor(): AbtelLogRecordProcessor {
  return defaultAbtel().logRecordProcessor();
}
