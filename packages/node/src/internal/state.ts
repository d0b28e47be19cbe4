import type { Attributes, AttributeValue } from '@opentelemetry/api';
import {
  ATTR_ABTEL_ASSIGNMENT_ID,
  ATTR_ABTEL_ASSIGNMENT_IDS,
  ATTR_ABTEL_ASSIGNMENT_MIGRATED,
  ATTR_ABTEL_ASSIGNMENT_UNIT,
  ATTR_ABTEL_EXPERIMENTS,
  ATTR_ABTEL_EXPERIMENT_KEY,
  ATTR_ABTEL_EXPERIMENT_VARIATION,
  ATTR_ABTEL_EXPERIMENT_VERSION,
  ATTR_GEN_AI_CONVERSATION_ID,
} from '@abtel/core';
import { SpanStamp } from './stamp.js';

/** What an assignment that joined a context says about itself. */
export interface ActiveAssignment {
  experiment: string;
  variation: string;
  version: number;
  unit: string;
  unitId: string;
  /** Whether using this assignment counts as an exposure (false for paused / post-decision routing). */
  exposed: boolean;
  /** `feature_flag.result.reason` for the exposure. */
  reason: string;
  /** `feature_flag.provider.name`: `abtel`, or the OpenFeature provider that decided. */
  providerName: string;
  migrated: boolean;
  /** `abtel.segment.<name>` attributes captured when the assignment was made (pre-treatment). */
  segments: Attributes;
}

/** The conversation facts an application hands to `withConversation`. */
export interface ConversationInfo {
  conversationId: string;
  userId?: string;
  accountId?: string;
  workflowId?: string;
  attributes?: Record<string, AttributeValue | undefined>;
}

/**
 * Per-conversation state carried in the OpenTelemetry context. The object is shared by every
 * context derived from one `withConversation` call, so an assignment made inside it (after the
 * context was created) is seen by every later span of that conversation.
 */
export class ConversationState extends SpanStamp {
  readonly conversationId: string | undefined;
  readonly userId: string | undefined;
  readonly accountId: string | undefined;
  readonly workflowId: string | undefined;
  readonly attributes: Readonly<Record<string, AttributeValue | undefined>>;
  /** Experiments whose exposure this state already emitted (cheap check before the global dedupe). */
  readonly #exposed = new Set<string>();
  #assignments: ActiveAssignment[] = [];

  constructor(info: Partial<ConversationInfo>, inherited: readonly ActiveAssignment[] = []) {
    super();
    this.conversationId = info.conversationId;
    this.userId = info.userId;
    this.accountId = info.accountId;
    this.workflowId = info.workflowId;
    this.attributes = info.attributes ?? {};
    this.#assignments = [...inherited];
    this.restamp(buildSpanAttributes(this));
    this.#updatePendingExposure();
  }

  get assignments(): readonly ActiveAssignment[] {
    return this.#assignments;
  }

  /** True while some exposed assignment has not emitted its exposure from this state yet. */
  get hasPendingExposure(): boolean {
    // Read at every span start: a plain field, recomputed only where it can change.
    return this.pendingExposure;
  }

  #updatePendingExposure(): void {
    this.pendingExposure = this.#assignments.some((assignment) => assignment.exposed && !this.#exposed.has(assignment.experiment));
  }

  /** Whether this state already emitted (or skipped as a duplicate) the exposure of `experimentKey`. */
  wasExposed(experimentKey: string): boolean {
    return this.#exposed.has(experimentKey);
  }

  /** Records that the exposure of `experimentKey` is done for this state. */
  noteExposed(experimentKey: string): void {
    this.#exposed.add(experimentKey);
    this.#updatePendingExposure();
  }

  get(experimentKey: string): ActiveAssignment | undefined {
    return this.#assignments.find((assignment) => assignment.experiment === experimentKey);
  }

  /**
   * Adds the assignment of one experiment, or replaces it in place: the order stays the order in
   * which experiments were first assigned, so the single-valued span attributes keep describing
   * the first one (as the contract says) when an experiment is routed again later.
   */
  join(assignment: ActiveAssignment): void {
    const at = this.#assignments.findIndex((existing) => existing.experiment === assignment.experiment);
    this.#assignments = at < 0 ? [...this.#assignments, assignment] : this.#assignments.with(at, assignment);
    this.restamp(buildSpanAttributes(this));
    this.#updatePendingExposure();
  }
}

/** The conversation and its assignments as span attributes (the stamp, rebuilt after each change). */
function buildSpanAttributes(state: ConversationState): Attributes {
  const attributes: Attributes = {};
  if (state.conversationId !== undefined) attributes[ATTR_GEN_AI_CONVERSATION_ID] = state.conversationId;
  const [first] = state.assignments;
  if (first !== undefined) Object.assign(attributes, assignmentAttributes(first, state.conversationId));
  if (state.assignments.length > 1) {
    attributes[ATTR_ABTEL_EXPERIMENTS] = state.assignments.map((a) => `${a.experiment}=${a.variation}`);
    // abtel.assignment.unit/.id describe the first experiment only: without each experiment's own
    // unit id, the analysis cannot tell which user a second, user-level experiment's calls are of.
    attributes[ATTR_ABTEL_ASSIGNMENT_IDS] = assignmentIdsOf(state);
  }
  return attributes;
}

/**
 * `key=unitId` of every experiment of `state`, in routing order: the value of
 * `abtel.assignment.ids` on its spans, outcomes and evaluations.
 * @example
 * assignmentIdsOf(state); // ['support-persona=conv-1', 'support-retrieval=user-9']
 */
export function assignmentIdsOf(state: ConversationState): string[] {
  return state.assignments.map((assignment) => `${assignment.experiment}=${assignment.unitId}`);
}

/** The `abtel.experiment.*` / `abtel.assignment.*` attributes of one assignment. */
export function assignmentAttributes(assignment: ActiveAssignment, conversationId: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_ABTEL_EXPERIMENT_KEY]: assignment.experiment,
    [ATTR_ABTEL_EXPERIMENT_VARIATION]: assignment.variation,
    [ATTR_ABTEL_EXPERIMENT_VERSION]: assignment.version,
    [ATTR_ABTEL_ASSIGNMENT_UNIT]: assignment.unit,
  };
  if (assignment.unitId !== conversationId) attributes[ATTR_ABTEL_ASSIGNMENT_ID] = assignment.unitId;
  if (assignment.migrated) attributes[ATTR_ABTEL_ASSIGNMENT_MIGRATED] = true;
  return attributes;
}

