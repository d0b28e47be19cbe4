import { diag, propagation, type Baggage } from '@opentelemetry/api';
import { ConversationState, type ActiveAssignment } from './state.js';
import { warnUser } from './warn.js';

/*
 * W3C baggage codec for the conversation and its assignments. Only allow-listed keys are written
 * and read (`abtel.conv`, `abtel.exp.<experiment key>`), with hard size limits, so abtel never
 * forwards or trusts anything else an upstream put into baggage.
 *
 * `abtel.exp.<key>` = `variation:version:unit:flags:unitId:provider`, each part percent-encoded;
 * flags holds `e` (counts as exposure) and `m` (migrated); unitId is empty when it equals the
 * conversation id; provider is empty for `abtel`.
 */

/**
 * Baggage key of the conversation id.
 * @example
 * propagation.getBaggage(context.active())?.getEntry(BAGGAGE_CONVERSATION)?.value; // 'conv-42'
 */
export const BAGGAGE_CONVERSATION = 'abtel.conv';
/**
 * Prefix of the per-experiment baggage keys.
 * @example
 * `${BAGGAGE_EXPERIMENT_PREFIX}support-persona`; // 'abtel.exp.support-persona'
 */
export const BAGGAGE_EXPERIMENT_PREFIX = 'abtel.exp.';
/**
 * At most this many experiments travel in baggage (the first ones assigned).
 * @example
 * if (keys.length > BAGGAGE_MAX_EXPERIMENTS) console.warn('only the first experiments propagate');
 */
export const BAGGAGE_MAX_EXPERIMENTS = 16;
/**
 * Longest value abtel writes or accepts for one entry.
 * @example
 * conversationId.length <= BAGGAGE_MAX_VALUE_LENGTH; // otherwise it is not propagated
 */
export const BAGGAGE_MAX_VALUE_LENGTH = 512;
/**
 * Upper bound on the bytes abtel adds to the `baggage` header (W3C allows 8192 in total).
 * @example
 * 8192 - BAGGAGE_MAX_TOTAL_LENGTH; // room left for the application's own baggage
 */
export const BAGGAGE_MAX_TOTAL_LENGTH = 4096;

// Baggage keys are RFC 7230 tokens; experiment keys outside that set are not propagated.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The allow-listed entries describing `state`, within the size limits. */
export function encodeState(state: ConversationState): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  let total = 0;
  const push = (key: string, value: string): void => {
    if (value.length > BAGGAGE_MAX_VALUE_LENGTH || total + key.length + value.length + 2 > BAGGAGE_MAX_TOTAL_LENGTH) {
      warnUser('BAGGAGE_LIMIT', `baggage entry ${key} not propagated: it would exceed the size limit`);
      return;
    }
    total += key.length + value.length + 2;
    entries.push([key, value]);
  };
  if (state.conversationId !== undefined) push(BAGGAGE_CONVERSATION, state.conversationId);
  for (const assignment of state.assignments.slice(0, BAGGAGE_MAX_EXPERIMENTS)) {
    const key = BAGGAGE_EXPERIMENT_PREFIX + assignment.experiment;
    if (!TOKEN.test(key)) {
      warnUser('BAGGAGE_KEY', `experiment key "${assignment.experiment}" is not a valid baggage key; not propagated`);
      continue;
    }
    push(key, encodeAssignment(assignment, state.conversationId));
  }
  return entries;
}

function encodeAssignment(assignment: ActiveAssignment, conversationId: string | undefined): string {
  const flags = `${assignment.exposed ? 'e' : ''}${assignment.migrated ? 'm' : ''}`;
  const unitId = assignment.unitId === conversationId ? '' : assignment.unitId;
  const provider = assignment.providerName === 'abtel' ? '' : assignment.providerName;
  return [assignment.variation, String(assignment.version), assignment.unit, flags, unitId, provider]
    .map(encodeURIComponent)
    .join(':');
}

function decodeAssignment(experiment: string, value: string, conversationId: string | undefined): ActiveAssignment | undefined {
  if (value.length > BAGGAGE_MAX_VALUE_LENGTH) return undefined;
  const parts = value.split(':');
  if (parts.length !== 6) return undefined;
  let decoded: string[];
  try {
    decoded = parts.map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [variation, versionText, unit, flags, unitId, provider] = decoded as [string, string, string, string, string, string];
  const version = Number(versionText);
  if (variation === '' || unit === '' || !Number.isInteger(version)) return undefined;
  const resolvedUnitId = unitId === '' ? conversationId : unitId;
  if (resolvedUnitId === undefined) return undefined;
  return {
    experiment,
    variation,
    version,
    unit,
    unitId: resolvedUnitId,
    exposed: flags.includes('e'),
    migrated: flags.includes('m'),
    // The decision was made upstream; this service reuses it.
    reason: 'cached',
    providerName: provider === '' ? 'abtel' : provider,
    segments: {},
  };
}

/** Rebuilds a conversation state from allow-listed baggage entries; null when there are none. */
export function decodeBaggage(baggage: Baggage): ConversationState | null {
  const conversation = baggage.getEntry(BAGGAGE_CONVERSATION)?.value;
  const conversationId =
    conversation !== undefined && conversation !== '' && conversation.length <= BAGGAGE_MAX_VALUE_LENGTH ? conversation : undefined;
  const assignments: ActiveAssignment[] = [];
  for (const [key, entry] of baggage.getAllEntries()) {
    if (!key.startsWith(BAGGAGE_EXPERIMENT_PREFIX) || assignments.length >= BAGGAGE_MAX_EXPERIMENTS) continue;
    const experiment = key.slice(BAGGAGE_EXPERIMENT_PREFIX.length);
    const assignment = decodeAssignment(experiment, entry.value, conversationId);
    if (assignment !== undefined) assignments.push(assignment);
    else diag.warn(`@abtel/node: ignored malformed baggage entry ${key}`);
  }
  if (conversationId === undefined && assignments.length === 0) return null;
  return new ConversationState({ conversationId }, assignments);
}

/** `baggage` (or a new one) with the abtel entries of `state` set. */
export function baggageWithState(baggage: Baggage | undefined, state: ConversationState): Baggage {
  let result = baggage ?? propagation.createBaggage();
  for (const [key, value] of encodeState(state)) result = result.setEntry(key, { value });
  return result;
}
