import { propagation, type Baggage, type Context } from '@opentelemetry/api';
import { decodeBaggage } from './baggage.js';
import type { ConversationState } from './state.js';

// What createContextKey makes (Symbol.for), spelled out so that TypeScript can use it as a
// property name; two copies of this package share the key.
const STATE_KEY: unique symbol = Symbol.for('@abtel/node.conversation');

/** States rebuilt from incoming baggage, cached per baggage object (one per incoming request). */
const fromBaggage = new WeakMap<Baggage, ConversationState | null>();

/**
 * Returns a context carrying `state`: a `ConversationContext` when `context` keeps its values the
 * way the API's own contexts do, else `context.setValue` (the state is then found by key).
 */
export function withState(context: Context, state: ConversationState): Context {
  const values = valuesOf(context);
  if (values === undefined) return context.setValue(STATE_KEY, state);
  const copy = new Map(values);
  copy.set(STATE_KEY, state);
  return new ConversationContext(copy, state);
}

/**
 * The values of a context made by the OpenTelemetry API (`ROOT_CONTEXT` and every context derived
 * from it keep them in a `_currentContext` map, unchanged through API 1.x) or by abtel; undefined
 * for any other implementation of `Context`.
 */
function valuesOf(context: Context): ReadonlyMap<symbol, unknown> | undefined {
  if (context instanceof ConversationContext) return context._currentContext;
  const values = (context as { _currentContext?: unknown })._currentContext;
  return values instanceof Map ? (values as ReadonlyMap<symbol, unknown>) : undefined;
}

/**
 * A context inside a conversation, and every context derived from one (`setValue` and
 * `deleteValue` return this class again): the same immutable key-value semantics as the API's
 * own contexts, plus the conversation state as a property, so that a span start reads a field
 * instead of looking the state up in the context's map (the lookup was about half of abtel's
 * per-span cost). Its methods live on the prototype, so deriving a context (as `startActiveSpan`
 * and instrumentations do for nearly every span) allocates the object and its map only, where the
 * API's context class also allocates three closures per context.
 * @example
 * const ctx = withState(ROOT_CONTEXT, state); // ctx[STATE_KEY] === state
 * trace.setSpan(ctx, span)[STATE_KEY] === state; // true: derived contexts keep it
 */
class ConversationContext implements Context {
  /** The values; named as the API's own contexts name theirs, for tools that read them. */
  readonly _currentContext: Map<symbol, unknown>;
  /** The conversation state (also under STATE_KEY in the values); undefined once deleted. */
  readonly [STATE_KEY]: ConversationState | undefined;

  constructor(values: Map<symbol, unknown>, state: ConversationState | undefined) {
    this._currentContext = values;
    this[STATE_KEY] = state;
  }

  getValue(key: symbol): unknown {
    return this._currentContext.get(key);
  }

  setValue(key: symbol, value: unknown): Context {
    const values = new Map(this._currentContext);
    values.set(key, value);
    return new ConversationContext(values, key === STATE_KEY ? (value as ConversationState | undefined) : this[STATE_KEY]);
  }

  deleteValue(key: symbol): Context {
    const values = new Map(this._currentContext);
    values.delete(key);
    return new ConversationContext(values, key === STATE_KEY ? undefined : this[STATE_KEY]);
  }
}

/** A context that may carry the state as a property (a `ConversationContext`). */
type MaybeCarrier = Context & { readonly [STATE_KEY]?: ConversationState | undefined };

/**
 * The conversation state of `context`: the one set by `withConversation`, else the one an
 * upstream service sent in baggage, else undefined.
 */
export function stateOf(context: Context): ConversationState | undefined {
  // Called for every log record and injected request: the rarer baggage path stays out of this
  // (inlined) function.
  return (context as MaybeCarrier)[STATE_KEY] ?? stateElsewhere(context);
}

/**
 * `stateOf` for the span processor only. The same lookup, but its own function: V8 keeps call
 * feedback per function, and `stateOf` also serves `withConversation`, which mostly runs where no
 * conversation exists yet (the baggage path); sharing that feedback made V8 inline the baggage
 * path into every span start even where spans always have a conversation.
 */
export function spanStateOf(context: Context): ConversationState | undefined {
  return (context as MaybeCarrier)[STATE_KEY] ?? stateElsewhere(context);
}

/** The state of a context that does not carry it as a property: by key (a context of another implementation), else from baggage. */
function stateElsewhere(context: Context): ConversationState | undefined {
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
