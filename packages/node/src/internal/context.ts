import { createContextKey, propagation, type Baggage, type Context } from '@opentelemetry/api';
import { decodeBaggage } from './baggage.js';
import type { ConversationState } from './state.js';

// createContextKey uses Symbol.for, so two copies of this package share the key.
const STATE_KEY = createContextKey('@abtel/node.conversation');

/** States rebuilt from incoming baggage, cached per baggage object (one per incoming request). */
const fromBaggage = new WeakMap<Baggage, ConversationState | null>();

/** Returns a context carrying `state`. */
export function withState(context: Context, state: ConversationState): Context {
  return context.setValue(STATE_KEY, state);
}

/**
 * The conversation state of `context`: the one set by `withConversation`, else the one an
 * upstream service sent in baggage, else undefined.
 */
export function stateOf(context: Context): ConversationState | undefined {
  // Called for every log record and injected request: the rarer baggage path stays out of this
  // (inlined) function.
  return (context.getValue(STATE_KEY) as ConversationState | undefined) ?? stateFromBaggage(context);
}

/**
 * `stateOf` for the span processor only. The same lookup, but its own function: V8 keeps call
 * feedback per function, and `stateOf` also serves `withConversation`, which mostly runs where no
 * conversation exists yet (the baggage path); sharing that feedback made V8 inline the baggage
 * path into every span start even where spans always have a conversation.
 */
export function spanStateOf(context: Context): ConversationState | undefined {
  return (context.getValue(STATE_KEY) as ConversationState | undefined) ?? stateFromBaggage(context);
}

function stateFromBaggage(context: Context): ConversationState | undefined {
  const baggage = propagation.getBaggage(context);
  if (baggage === undefined) return undefined;
  let remote = fromBaggage.get(baggage);
  if (remote === undefined) {
    remote = decodeBaggage(baggage);
    fromBaggage.set(baggage, remote);
  }
  return remote ?? undefined;
}
