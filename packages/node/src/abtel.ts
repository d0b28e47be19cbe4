import { randomUUID } from 'node:crypto';
import {
  context as contextApi,
  diag,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type SpanContext,
  type TracerProvider,
} from '@opentelemetry/api';
import type { LoggerProvider } from '@opentelemetry/api-logs';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import {
  AbtelError,
  ATTR_ABTEL_ASSIGNMENT_IDS,
  ATTR_ABTEL_EVALUATION_JUDGE_MODEL,
  ATTR_ABTEL_EVALUATION_JUDGE_VERSION,
  ATTR_ABTEL_EVALUATION_SAMPLE_RATE,
  ATTR_ABTEL_EVALUATION_SOURCE,
  ATTR_ABTEL_EXPERIMENT_KEY,
  ATTR_ABTEL_OUTCOME_NAME,
  ATTR_ABTEL_OUTCOME_VALUE,
  ATTR_ABTEL_SEGMENT_PREFIX,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_EVALUATION_EXPLANATION,
  ATTR_GEN_AI_EVALUATION_NAME,
  ATTR_GEN_AI_EVALUATION_SCORE_LABEL,
  ATTR_GEN_AI_EVALUATION_SCORE_VALUE,
  ATTR_GEN_AI_RESPONSE_ID,
  EVENT_ABTEL_EXPOSURE,
  EVENT_ABTEL_OUTCOME,
  EVENT_GEN_AI_EVALUATION_RESULT,
  parseExperiments,
  route,
  StickyRouter,
  MemoryAssignmentStore,
  type AssignmentStore,
  type ExperimentDefinition,
  type ExperimentSet,
  type RouteResult,
  type UnitContext,
} from '@abtel/core';
import { BoundedMap, BoundedSet } from './internal/bounded.js';
import { AbtelLogRecordProcessor } from './log-processor.js';
import { AbtelSampler } from './sampler.js';
import { AbtelSpanProcessor, type AbtelSpanProcessorOptions } from './span-processor.js';
import { stateOf, withState } from './internal/context.js';
import { EventRecorder, type EventsMode } from './internal/events.js';
import { reportError, safely } from './internal/safe.js';
import { warnUser } from './internal/warn.js';
import { assignmentAttributes, assignmentIdsOf, ConversationState, type ActiveAssignment, type ConversationInfo } from './internal/state.js';

export type { ConversationInfo } from './internal/state.js';
export type { EventsMode } from './internal/events.js';

/**
 * Default bound of the exposure dedupe memory: (experiment, unit) pairs remembered per process.
 * @example
 * createAbtel({ experiments, exposureDedupeSize: DEFAULT_EXPOSURE_DEDUPE_SIZE * 10 });
 */
export const DEFAULT_EXPOSURE_DEDUPE_SIZE = 100_000;
/**
 * Default bound of the `gen_ai.response.id` → span context map used by `recordEvaluation`.
 * @example
 * createAbtel({ experiments, responseIdCacheSize: DEFAULT_RESPONSE_ID_CACHE_SIZE / 10 });
 */
export const DEFAULT_RESPONSE_ID_CACHE_SIZE = 10_000;
/**
 * Default number of conversations whose assignment ids this process remembers (LRU) for outcomes
 * and evaluations recorded outside the conversation's context with only its id.
 * @example
 * createAbtel({ experiments, conversationMemorySize: DEFAULT_CONVERSATION_MEMORY_SIZE * 10 });
 */
export const DEFAULT_CONVERSATION_MEMORY_SIZE = 10_000;

/** Options of an abtel instance. Everything is optional; an instance without experiments only stamps conversations. */
export interface AbtelOptions {
  /** Experiment definitions (from `loadExperiments`) or definition objects. */
  experiments?: ExperimentSet | readonly ExperimentDefinition[];
  /** Sticky assignment store; default: a bounded `MemoryAssignmentStore` of `@abtel/core` (100 000 entries, 7-day idle TTL). */
  store?: AssignmentStore;
  /** `logs` (default): OpenTelemetry events; `spans`: span events for trace-only backends. */
  events?: EventsMode;
  /** Logger provider for events; default: the global one at emit time. */
  loggerProvider?: LoggerProvider;
  /** Tracer provider for span-mode events that need their own span; default: the global one. */
  tracerProvider?: TracerProvider;
  /** How many (experiment, unit) pairs the exposure dedupe remembers (LRU). Default 100 000. */
  exposureDedupeSize?: number;
  /** How many `gen_ai.response.id` → span context pairs are kept for `recordEvaluation`. Default 10 000. */
  responseIdCacheSize?: number;
  /**
   * How many conversations' assignment ids are remembered (LRU) for outcomes and evaluations
   * recorded after the conversation's context with only its id. Default 10 000 (2.1 MB of heap in
   * the node benchmark's memory run); raise it when outcomes arrive after more than that many
   * newer conversations.
   */
  conversationMemorySize?: number;
}

/** The variation a unit got, with its config typed by the caller. */
export interface VariationResult<TConfig = Record<string, unknown>> {
  /** Variation key. */
  key: string;
  /** The variation's `config` from the definition. */
  config: TConfig;
  /** False when the unit is outside targeting, coverage or layer (it then gets the control). */
  inExperiment: boolean;
  /** Whether using it counts as an exposure (false while paused or after a decision). */
  exposed: boolean;
  /** The routing reason from `@abtel/core` (e.g. `assigned`, `not_targeted`, `no_unit`). */
  reason: string;
}

/** A routing decision with the definition it was made under. */
export interface RoutedVariation {
  definition: ExperimentDefinition;
  variation: string;
  inExperiment: boolean;
  exposed: boolean;
  reason: string;
  /** The unit routed; undefined when the context had no id for the experiment's unit. */
  unitId: string | undefined;
}

/** A handle on one experiment inside the current conversation. */
export interface ExperimentHandle<TConfig = Record<string, unknown>> {
  readonly key: string;
  /**
   * Routes the context's unit through the sticky router and joins the assignment to the
   * conversation, so every later span in it is stamped. Rejects only for an unknown experiment
   * key (a programming error); store failures fall back to stateless assignment and are reported
   * through diag.
   */
  variation(): Promise<VariationResult<TConfig>>;
}

/** A product outcome, recorded from any service, with or without an active conversation context. */
export interface OutcomeInput {
  /** Defaults to the conversation of the active context. */
  conversationId?: string;
  name: string;
  /** Numbers are recorded as is; booleans as 1 / 0. */
  value: number | boolean;
  experimentKey?: string;
  attributes?: Attributes;
}

/** A judge or human score of a gen_ai span. */
export interface EvaluationInput {
  /** The evaluated span (or its span context). Either this or `responseId` locates the parent. */
  span?: Span | SpanContext;
  /** `gen_ai.response.id` of the evaluated call; looked up among recently ended spans of this process. */
  responseId?: string;
  conversationId?: string;
  name: string;
  score?: number;
  label?: string;
  explanation?: string;
  judge: { model: string; version: string };
  /** Share of calls the judge sampled, in (0, 1]. */
  sampleRate: number;
  source: 'online' | 'offline' | 'human';
}

/** How an assignment decided elsewhere (OpenFeature) is joined to the current context. */
export interface JoinInput {
  experimentKey: string;
  variation: string;
  unitId?: string;
  providerName: string;
  /** `feature_flag.result.reason`, lower case as in the semantic conventions. */
  reason?: string;
}

const EVALUATION_SOURCES = new Set(['online', 'offline', 'human']);

/**
 * One abtel instance: experiments, sticky router, event recorder and bounded memories. Tests and
 * multi-tenant hosts create their own with `createAbtel`; the package-level functions use a
 * process-wide default instance.
 * @example
 * const abtel = createAbtel({ experiments: await loadExperiments('./experiments') });
 * await abtel.withConversation({ conversationId: 'c-1' }, async () => {
 *   const persona = await abtel.experiment<{ name: string }>('support-persona').variation();
 * });
 */
export class Abtel {
  #experiments: ExperimentSet;
  #router: StickyRouter;
  #events: EventRecorder;
  #exposureDedupe: BoundedSet<string>;
  #responseSpans: BoundedMap<string, SpanContext>;
  /**
   * Conversation id → its `abtel.assignment.ids` when a state last joined an assignment for it (see
   * `#assignmentIds`). The ids, not the state: a state holds its assignments' configs and its
   * stamp: the node benchmark's memory run had 41.8 MB of heap after 150,000 conversations with
   * states kept, 34.3 MB with ids (32.2 MB before either).
   */
  #conversations: BoundedMap<string, readonly string[]>;

  /** The options in effect (what `configure` leaves out stays as it is). */
  #options: AbtelOptions;

  constructor(options: AbtelOptions = {}) {
    this.#options = { ...options };
    this.#experiments = toExperimentSet(options.experiments);
    this.#router = new StickyRouter({ experiments: this.#experiments, store: options.store ?? new MemoryAssignmentStore() });
    this.#events = new EventRecorder({
      mode: options.events ?? 'logs',
      loggerProvider: options.loggerProvider,
      tracerProvider: options.tracerProvider,
    });
    this.#exposureDedupe = new BoundedSet(memorySize(options, 'exposureDedupeSize', DEFAULT_EXPOSURE_DEDUPE_SIZE));
    this.#responseSpans = new BoundedMap(memorySize(options, 'responseIdCacheSize', DEFAULT_RESPONSE_ID_CACHE_SIZE));
    this.#conversations = new BoundedMap(memorySize(options, 'conversationMemorySize', DEFAULT_CONVERSATION_MEMORY_SIZE));
  }

  /**
   * Changes the experiments, store, event settings or memory sizes. What `options` leaves out
   * stays as it is: an app calling `configureAbtel({ store })` under the `register` entry keeps
   * the definitions loaded from ABTEL_EXPERIMENTS. Bad options throw AbtelError here, at
   * configuration time, and change nothing.
   */
  configure(options: AbtelOptions): void {
    const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined)) as AbtelOptions;
    // Built in full before anything is replaced, so a bad option leaves the instance as it was.
    const next = new Abtel({ ...this.#options, ...given });
    this.#options = next.#options;
    this.#experiments = next.#experiments;
    this.#router = next.#router;
    this.#events = next.#events;
    // The memories survive a change that does not resize them: exposures already emitted are not
    // emitted again, and evaluations still find the spans of recent responses.
    if (given.exposureDedupeSize !== undefined) this.#exposureDedupe = next.#exposureDedupe;
    if (given.responseIdCacheSize !== undefined) this.#responseSpans = next.#responseSpans;
    if (given.conversationMemorySize !== undefined) this.#conversations = next.#conversations;
  }

  get experiments(): ExperimentSet {
    return this.#experiments;
  }

  get eventsMode(): EventsMode {
    return this.#events.mode;
  }

  /** Runs `fn` in a context that carries the conversation (and any assignments upstream made for it). */
  withConversation<T>(info: ConversationInfo, fn: () => T): T {
    const active = contextApi.active();
    const next = safely(
      'withConversation',
      () => {
        if (typeof info?.conversationId !== 'string' || info.conversationId === '') {
          warnUser('CONVERSATION_ID', `withConversation needs a non-empty string conversationId (got ${info?.conversationId === '' ? 'an empty string' : typeof info?.conversationId}); running without a conversation context`, 'error');
          return undefined;
        }
        const parent = stateOf(active);
        const inherited = parent !== undefined && parent.conversationId === info.conversationId ? parent.assignments : [];
        return withState(active, new ConversationState(info, inherited));
      },
      undefined,
    );
    return next === undefined ? fn() : contextApi.with(next, fn);
  }

  /** The conversation id of the active context (set by `withConversation` or received in baggage). */
  currentConversationId(context: Context = contextApi.active()): string | undefined {
    return safely('currentConversationId', () => stateOf(context)?.conversationId, undefined);
  }

  /** A handle on experiment `key`; `variation()` routes the unit of the active conversation. */
  experiment<TConfig = Record<string, unknown>>(key: string): ExperimentHandle<TConfig> {
    return { key, variation: () => this.#variation<TConfig>(key) };
  }

  async #variation<TConfig>(key: string): Promise<VariationResult<TConfig>> {
    const routed = await this.routeInContext(key);
    return variationResult<TConfig>(routed.definition, routed.variation, routed.inExperiment, routed.exposed, routed.reason);
  }

  /**
   * Routes experiment `key` for the unit of the active conversation (or `unitId` when given),
   * joins an in-experiment result to the conversation, and returns the decision. Assignments
   * decided upstream (baggage) or by another OpenFeature provider are reused, not re-routed.
   * @throws AbtelError `not_found` for an unknown experiment key.
   */
  async routeInContext(key: string, unitId?: string, context: Context = contextApi.active()): Promise<RoutedVariation> {
    const definition = this.#experiments.get(key);
    if (definition === undefined) {
      const known = this.#experiments.all().map((def) => def.key);
      throw new AbtelError(
        'not_found',
        `experiment "${key}" is not defined (known: ${known.length === 0 ? 'none; start the app with node --import @abtel/node/register and ABTEL_EXPERIMENTS set, or pass experiments to configureAbtel() or createAbtel()' : known.join(', ')})`,
      );
    }
    const state = safely('reading the conversation context', () => stateOf(context), undefined);
    const existing = state?.get(key);
    if (existing !== undefined && (unitId === undefined || unitId === existing.unitId) && (existing.reason === 'cached' || existing.providerName !== 'abtel')) {
      return { definition, variation: existing.variation, inExperiment: true, exposed: existing.exposed, reason: 'reused', unitId: existing.unitId };
    }
    const unit = unitId === undefined ? unitOf(definition, state) : { id: unitId, attributes: attributesOf(state) };
    if (unit === undefined) {
      warnUser(
        'NO_UNIT',
        `experiment "${key}" randomises by ${definition.unit} but the context has no ${definition.unit} id ` +
          `(pass it to withConversation, or as the OpenFeature targetingKey); serving the control "${definition.control}"`,
      );
      return { definition, variation: definition.control, inExperiment: false, exposed: false, reason: 'no_unit', unitId: undefined };
    }
    let result: RouteResult;
    try {
      result = await this.#router.route(key, unit);
    } catch (error) {
      reportError(`sticky assignment of "${key}" (falling back to stateless assignment)`, error);
      result = route(definition, unit);
    }
    if (result.inExperiment && state !== undefined) {
      safely(
        'joining the assignment',
        () =>
          state.join({
            experiment: key,
            variation: result.variation,
            version: definition.version,
            unit: definition.unit,
            unitId: unit.id,
            exposed: result.exposed,
            reason: flagReason(definition),
            providerName: 'abtel',
            migrated: result.migrated,
            segments: segmentsOf(definition, state),
          }),
        undefined,
      );
      this.#remember(state);
    }
    return { definition, variation: result.variation, inExperiment: result.inExperiment, exposed: result.exposed, reason: result.reason, unitId: unit.id };
  }

  /**
   * Joins an assignment decided elsewhere (an OpenFeature provider) to the active conversation,
   * so spans are stamped the same way. Returns false when there is no conversation context.
   */
  join(input: JoinInput, context: Context = contextApi.active()): boolean {
    return safely(
      'join',
      () => {
        const state = stateOf(context);
        if (state === undefined) return false;
        const definition = this.#experiments.get(input.experimentKey);
        const unitId = input.unitId ?? state.conversationId;
        if (unitId === undefined) return false;
        const exposed = definition === undefined ? true : definition.state === 'running';
        state.join({
          experiment: input.experimentKey,
          variation: input.variation,
          version: definition?.version ?? 0,
          unit: definition?.unit ?? 'conversation',
          unitId,
          exposed,
          reason: input.reason ?? 'unknown',
          providerName: input.providerName,
          migrated: false,
          segments: definition === undefined ? {} : segmentsOf(definition, state),
        });
        this.#remember(state);
        return true;
      },
      false,
    );
  }

  /**
   * Emits the exposure of the active conversation's assignments now (once per experiment and
   * unit). Use it when the assigned behaviour is used before (or without) a gen_ai span.
   */
  markExposed(experimentKey?: string, context: Context = contextApi.active()): void {
    safely(
      'markExposed',
      () => {
        const state = stateOf(context);
        if (state === undefined) {
          warnUser('MARK_EXPOSED', 'markExposed called outside a conversation context; nothing to expose');
          return;
        }
        let matched = false;
        for (const assignment of state.assignments) {
          if (experimentKey === undefined || assignment.experiment === experimentKey) {
            matched = true;
            this.#expose(state, assignment, context);
          }
        }
        // A typo, or a call before variation(), would otherwise lose the exposure without a word.
        if (!matched) warnUser('MARK_EXPOSED', this.#nothingToExpose(experimentKey, state));
      },
      undefined,
    );
  }

  /** Why `markExposed(experimentKey)` found no assignment in the conversation, and what to do. */
  #nothingToExpose(experimentKey: string | undefined, state: ConversationState): string {
    const conversation = `conversation "${state.conversationId ?? '(from baggage)'}"`;
    if (experimentKey === undefined) return `markExposed(): ${conversation} has no assignment yet; call experiment(key).variation() first`;
    if (this.#experiments.get(experimentKey) === undefined) {
      const known = this.#experiments.all().map((def) => def.key);
      return `markExposed("${experimentKey}"): no experiment "${experimentKey}" is defined (known: ${known.length === 0 ? 'none' : known.join(', ')})`;
    }
    return `markExposed("${experimentKey}"): ${conversation} has no assignment for it yet; call experiment("${experimentKey}").variation() first`;
  }

  /** Emits the pending exposures of `state` (the span processor calls this at the first gen_ai span). */
  exposePending(state: ConversationState, context: Context): void {
    for (const assignment of state.assignments) this.#expose(state, assignment, context);
  }

  #expose(state: ConversationState, assignment: ActiveAssignment, context: Context): void {
    if (!assignment.exposed || state.wasExposed(assignment.experiment)) return;
    state.noteExposed(assignment.experiment);
    if (!this.#exposureDedupe.add(`${assignment.experiment}\u0000${assignment.unitId}`)) return;
    const attributes: Attributes = {};
    if (state.conversationId !== undefined) attributes[ATTR_GEN_AI_CONVERSATION_ID] = state.conversationId;
    Object.assign(attributes, assignmentAttributes(assignment, state.conversationId), {
      [ATTR_FEATURE_FLAG_KEY]: assignment.experiment,
      [ATTR_FEATURE_FLAG_RESULT_VARIANT]: assignment.variation,
      [ATTR_FEATURE_FLAG_RESULT_REASON]: assignment.reason,
      [ATTR_FEATURE_FLAG_CONTEXT_ID]: assignment.unitId,
      [ATTR_FEATURE_FLAG_PROVIDER_NAME]: assignment.providerName,
      ...assignment.segments,
    });
    this.#events.emit(EVENT_ABTEL_EXPOSURE, attributes, context);
  }

  /** Records `abtel.outcome`; invalid input is reported through diag and dropped, never thrown. */
  recordOutcome(outcome: OutcomeInput): void {
    safely(
      'recordOutcome',
      () => {
        const active = contextApi.active();
        const state = stateOf(active);
        // Read fields only from an object: `recordOutcome(null)` gets the same clear message as other bad input.
        const conversationId = isObject(outcome) ? (outcome.conversationId ?? state?.conversationId) : undefined;
        const problem = outcomeProblem(outcome, conversationId);
        if (problem !== undefined) {
          warnUser('OUTCOME_DROPPED', `recordOutcome dropped an outcome: ${problem}`, 'error');
          return;
        }
        const value = typeof outcome.value === 'boolean' ? (outcome.value ? 1 : 0) : outcome.value;
        const attributes: Attributes = {
          ...outcome.attributes,
          [ATTR_GEN_AI_CONVERSATION_ID]: conversationId,
          [ATTR_ABTEL_OUTCOME_NAME]: outcome.name,
          [ATTR_ABTEL_OUTCOME_VALUE]: value,
        };
        if (outcome.experimentKey !== undefined) attributes[ATTR_ABTEL_EXPERIMENT_KEY] = outcome.experimentKey;
        // Ids the caller passed in `attributes` (known from elsewhere) are kept.
        if (attributes[ATTR_ABTEL_ASSIGNMENT_IDS] === undefined) {
          const ids = this.#assignmentIds(conversationId, state);
          if (ids !== undefined) attributes[ATTR_ABTEL_ASSIGNMENT_IDS] = ids;
        }
        this.#events.emit(EVENT_ABTEL_OUTCOME, attributes, active);
      },
      undefined,
    );
  }

  /** Records `gen_ai.evaluation.result` parented to the evaluated span; invalid input goes to diag. */
  recordEvaluation(evaluation: EvaluationInput): void {
    safely(
      'recordEvaluation',
      () => {
        const problem = evaluationProblem(evaluation);
        if (problem !== undefined) {
          warnUser('EVALUATION_DROPPED', `recordEvaluation dropped an evaluation: ${problem}`, 'error');
          return;
        }
        const active = contextApi.active();
        const state = stateOf(active);
        const parent = this.#evaluatedSpan(evaluation);
        const parentContext = parent === undefined ? active : trace.setSpanContext(ROOT_CONTEXT, parent);
        const conversationId = evaluation.conversationId ?? state?.conversationId;
        if (parent === undefined && conversationId === undefined) {
          warnUser(
            'EVALUATION_UNATTRIBUTED',
            `recordEvaluation "${evaluation.name}": the evaluated call was not found` +
              `${evaluation.responseId === undefined ? '' : ` (no recent span has gen_ai.response.id ${evaluation.responseId})`} and no conversation is known; ` +
              'the score is recorded, but no variation can be credited with it. Pass conversationId',
          );
        }
        const attributes: Attributes = {
          [ATTR_GEN_AI_EVALUATION_NAME]: evaluation.name,
          [ATTR_ABTEL_EVALUATION_JUDGE_MODEL]: evaluation.judge.model,
          [ATTR_ABTEL_EVALUATION_JUDGE_VERSION]: evaluation.judge.version,
          [ATTR_ABTEL_EVALUATION_SAMPLE_RATE]: evaluation.sampleRate,
          [ATTR_ABTEL_EVALUATION_SOURCE]: evaluation.source,
        };
        if (evaluation.score !== undefined) attributes[ATTR_GEN_AI_EVALUATION_SCORE_VALUE] = evaluation.score;
        if (evaluation.label !== undefined) attributes[ATTR_GEN_AI_EVALUATION_SCORE_LABEL] = evaluation.label;
        if (evaluation.explanation !== undefined) attributes[ATTR_GEN_AI_EVALUATION_EXPLANATION] = evaluation.explanation;
        if (evaluation.responseId !== undefined) attributes[ATTR_GEN_AI_RESPONSE_ID] = evaluation.responseId;
        if (conversationId !== undefined) attributes[ATTR_GEN_AI_CONVERSATION_ID] = conversationId;
        const ids = this.#assignmentIds(conversationId, state);
        if (ids !== undefined) attributes[ATTR_ABTEL_ASSIGNMENT_IDS] = ids;
        this.#events.emit(EVENT_GEN_AI_EVALUATION_RESULT, attributes, parentContext);
      },
      undefined,
    );
  }

  /** Remembers `state` as its conversation's latest, for events recorded later outside its context. */
  #remember(state: ConversationState): void {
    if (state.conversationId !== undefined && state.assignments.length > 0) this.#conversations.set(state.conversationId, assignmentIdsOf(state));
  }

  /**
   * `abtel.assignment.ids` for an outcome or evaluation of `conversationId`: `key=unitId` of every
   * experiment the conversation is in, in routing order (as on its spans), so that the analysis
   * finds the event's unit in each experiment, also in one that randomises users while the
   * conversation's first experiment randomises conversations. Read from `state` (the active
   * context's) when it is that conversation's, else from the conversations this process assigned recently (an
   * outcome recorded after the context ended); undefined when neither knows the conversation
   * (another service, or evicted): the event then carries only its conversation id.
   */
  #assignmentIds(conversationId: string | undefined, state: ConversationState | undefined): string[] | undefined {
    if (conversationId === undefined) return undefined;
    if (state !== undefined && state.conversationId === conversationId && state.assignments.length > 0) return assignmentIdsOf(state);
    const remembered = this.#conversations.get(conversationId);
    return remembered === undefined ? undefined : [...remembered];
  }

  #evaluatedSpan(evaluation: EvaluationInput): SpanContext | undefined {
    if (evaluation.span !== undefined) {
      const spanContext = spanContextOf(evaluation.span);
      if (spanContext !== undefined) return spanContext;
      diag.warn(`@abtel/node: recordEvaluation "${evaluation.name}": span is not a valid span or span context; locating the call by responseId`);
    }
    if (evaluation.responseId !== undefined) {
      const found = this.#responseSpans.get(evaluation.responseId);
      if (found !== undefined) return found;
      diag.debug(`@abtel/node: no recent span has gen_ai.response.id ${evaluation.responseId}; evaluation parented to the active context`);
    }
    return undefined;
  }

  /**
   * A span processor bound to this instance (stamping, exposures, response ids); with `next`, it
   * wraps the exporting processor so the provider has a single processor.
   */
  spanProcessor(options: AbtelSpanProcessorOptions = {}): AbtelSpanProcessor {
    return new AbtelSpanProcessor(this, options);
  }

  /**
   * `inner` wrapped so that a conversation's exposure is emitted even when `inner` drops its
   * gen_ai span (the decisions stay `inner`'s). Pass it as the provider's `sampler`. Without
   * `inner`, the provider's default decisions (parent-based, always on).
   */
  sampler(inner?: Sampler): AbtelSampler {
    return new AbtelSampler(this, inner);
  }

  /** A log-record processor that stamps log records of a conversation like spans. */
  logRecordProcessor(): AbtelLogRecordProcessor {
    return new AbtelLogRecordProcessor();
  }

  /** Remembers which span produced a response id (bounded), for `recordEvaluation({ responseId })`. */
  rememberResponse(responseId: string, spanContext: SpanContext): void {
    this.#responseSpans.set(responseId, spanContext);
  }
}

function toExperimentSet(experiments: AbtelOptions['experiments']): ExperimentSet {
  if (experiments === undefined) return parseExperiments([]);
  if (Array.isArray(experiments)) {
    return parseExperiments(experiments.map((content, index) => ({ file: `experiments[${index}]`, content })));
  }
  // Checked by shape, not instanceof: a second copy of @abtel/core makes its own ExperimentSet class.
  const set = experiments as Partial<Record<'get' | 'require' | 'all', unknown>> | null;
  if (typeof set !== 'object' || set === null || typeof set.get !== 'function' || typeof set.require !== 'function' || typeof set.all !== 'function') {
    const got = typeof experiments === 'string' ? `the string ${JSON.stringify(experiments)}` : typeof experiments;
    throw new AbtelError(
      'invalid_input',
      `experiments must be an ExperimentSet (from loadExperiments) or an array of definitions, got ${got}; to load a directory, pass experiments: await loadExperiments(path)`,
    );
  }
  return experiments as ExperimentSet;
}

function attributesOf(state: ConversationState | undefined): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(state?.attributes ?? {})) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
  }
  return attributes;
}

function unitOf(definition: ExperimentDefinition, state: ConversationState | undefined): UnitContext | undefined {
  const attributes = attributesOf(state);
  let id: string | undefined;
  switch (definition.unit) {
    case 'conversation':
      id = state?.conversationId;
      break;
    case 'user':
      id = state?.userId;
      break;
    case 'account':
      id = state?.accountId;
      break;
    case 'workflow':
      id = state?.workflowId;
      break;
    case 'request':
      // A request is its own unit: a fresh id per call, nothing to keep sticky.
      id = randomUUID();
      break;
  }
  return id === undefined || id === '' ? undefined : { id, attributes };
}

/** `abtel.segment.<name>` for each declared segment the conversation's attributes provide. */
function segmentsOf(definition: ExperimentDefinition, state: ConversationState): Attributes {
  const segments: Attributes = {};
  for (const name of definition.segments ?? []) {
    const value: AttributeValue | undefined = state.attributes[name];
    if (value !== undefined) segments[ATTR_ABTEL_SEGMENT_PREFIX + name] = value;
  }
  return segments;
}

/** `feature_flag.result.reason` of an abtel assignment (semantic-convention values). */
function flagReason(definition: ExperimentDefinition): string {
  return definition.targeting === undefined ? 'split' : 'targeting_match';
}

function variationResult<TConfig>(
  definition: ExperimentDefinition,
  key: string,
  inExperiment: boolean,
  exposed: boolean,
  reason: string,
): VariationResult<TConfig> {
  const variation = definition.variations.find((candidate) => candidate.key === key);
  return { key, config: (variation?.config ?? {}) as TConfig, inExperiment, exposed, reason };
}

function outcomeProblem(outcome: OutcomeInput, conversationId: string | undefined): string | undefined {
  if (typeof outcome !== 'object' || outcome === null) return 'expected an object { conversationId, name, value }';
  if (typeof outcome.name !== 'string' || outcome.name === '') return 'name must be a non-empty string';
  if (typeof conversationId !== 'string' || conversationId === '') {
    return `outcome "${outcome.name}" has no conversationId and no conversation is active; pass conversationId`;
  }
  if (outcome.attributes !== undefined && !isObject(outcome.attributes)) {
    return `outcome "${outcome.name}": attributes must be an object of attribute values (got ${typeof outcome.attributes})`;
  }
  if (typeof outcome.value === 'boolean') return undefined;
  if (typeof outcome.value !== 'number' || !Number.isFinite(outcome.value)) {
    return `outcome "${outcome.name}": value must be a finite number or a boolean (got ${String(outcome.value)})`;
  }
  return unsendableInteger(`outcome "${outcome.name}": value`, outcome.value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * OpenTelemetry JS sends every whole number as an OTLP `intValue` (int64), so a whole number
 * beyond ±2^53 cannot be sent exactly, and beyond int64 it makes an invalid request that a strict
 * receiver rejects with the rest of its batch. Such a value is refused here, with the fix.
 */
function unsendableInteger(what: string, value: number): string | undefined {
  if (!Number.isInteger(value) || Number.isSafeInteger(value)) return undefined;
  return `${what} ${value} is a whole number beyond ±2^53, which OTLP cannot carry exactly (whole numbers travel as int64); send it in larger units (e.g. thousands)`;
}

/** The valid span context of a span or span context given by the caller, else undefined. */
function spanContextOf(span: unknown): SpanContext | undefined {
  if (!isObject(span)) return undefined;
  const spanContext: unknown = typeof span['spanContext'] === 'function' ? (span as unknown as Span).spanContext() : span;
  return isObject(spanContext) && isSpanContextValid(spanContext as unknown as SpanContext) ? (spanContext as unknown as SpanContext) : undefined;
}

function evaluationProblem(evaluation: EvaluationInput): string | undefined {
  if (typeof evaluation !== 'object' || evaluation === null) return 'expected an object';
  if (typeof evaluation.name !== 'string' || evaluation.name === '') return 'name must be a non-empty string';
  if (evaluation.span === undefined && evaluation.responseId === undefined) {
    return `evaluation "${evaluation.name}" needs span or responseId to locate the evaluated call`;
  }
  if (evaluation.responseId !== undefined && (typeof evaluation.responseId !== 'string' || evaluation.responseId === '')) {
    return `evaluation "${evaluation.name}": responseId must be a non-empty string (got ${String(evaluation.responseId)})`;
  }
  if (evaluation.span !== undefined && spanContextOf(evaluation.span) === undefined && evaluation.responseId === undefined) {
    return `evaluation "${evaluation.name}": span is neither a span nor a valid span context (pass the span object, span.spanContext(), or responseId)`;
  }
  for (const field of ['label', 'explanation', 'conversationId'] as const) {
    const value = evaluation[field];
    if (value !== undefined && typeof value !== 'string') return `evaluation "${evaluation.name}": ${field} must be a string (got ${typeof value})`;
  }
  if (evaluation.score === undefined && evaluation.label === undefined) {
    return `evaluation "${evaluation.name}" needs a score or a label`;
  }
  if (evaluation.score !== undefined && (typeof evaluation.score !== 'number' || !Number.isFinite(evaluation.score))) {
    return `evaluation "${evaluation.name}": score must be a finite number (got ${String(evaluation.score)})`;
  }
  if (evaluation.score !== undefined) {
    const problem = unsendableInteger(`evaluation "${evaluation.name}": score`, evaluation.score);
    if (problem !== undefined) return problem;
  }
  if (typeof evaluation.judge?.model !== 'string' || typeof evaluation.judge?.version !== 'string') {
    return `evaluation "${evaluation.name}": judge must be { model, version } strings`;
  }
  if (typeof evaluation.sampleRate !== 'number' || !(evaluation.sampleRate > 0 && evaluation.sampleRate <= 1)) {
    return `evaluation "${evaluation.name}": sampleRate must be in (0, 1] (got ${String(evaluation.sampleRate)})`;
  }
  if (!EVALUATION_SOURCES.has(evaluation.source)) {
    return `evaluation "${evaluation.name}": source must be online, offline or human (got ${String(evaluation.source)})`;
  }
  return undefined;
}

/** One of the memory sizes of `options`, or `fallback` when unset; anything but a positive integer is a usage error naming the option. */
function memorySize(options: AbtelOptions, name: 'exposureDedupeSize' | 'responseIdCacheSize' | 'conversationMemorySize', fallback: number): number {
  const value: unknown = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    // JSON.stringify shows a string as a string ("100"); it throws on a bigint and has nothing for a symbol.
    const shown = typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' ? String(value) : (JSON.stringify(value) ?? String(value));
    throw new AbtelError('usage', `${name} must be a positive integer (got ${shown}); leave it out for the default ${fallback}`);
  }
  return value;
}

/**
 * Creates an isolated abtel instance (nothing global is registered).
 * @example
 * const abtel = createAbtel({ experiments: await loadExperiments('./experiments'), events: 'spans' });
 * const provider = new NodeTracerProvider({ spanProcessors: [abtel.spanProcessor()] });
 */
export function createAbtel(options: AbtelOptions = {}): Abtel {
  return new Abtel(options);
}
