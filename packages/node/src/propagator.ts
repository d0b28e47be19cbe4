import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { propagation, type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { baggageWithState } from './internal/baggage.js';
import { stateOf } from './internal/context.js';
import { reportError } from './internal/safe.js';

/**
 * W3C baggage propagator that also writes the active conversation and its assignments
 * (allow-listed `abtel.conv` and `abtel.exp.<key>` entries, size-limited) into the outgoing
 * `baggage` header. Assignments made after `withConversation` started are included, because the
 * state is read at injection time. Extraction is plain W3C baggage; abtel reads only its own keys.
 * @example
 * const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new AbtelBaggagePropagator()] });
 */
export class AbtelBaggagePropagator implements TextMapPropagator {
  readonly #w3c = new W3CBaggagePropagator();

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    let outgoing = context;
    try {
      const state = stateOf(context);
      if (state !== undefined) outgoing = propagation.setBaggage(context, baggageWithState(propagation.getBaggage(context), state));
    } catch (error) {
      reportError('writing abtel baggage', error);
    }
    this.#w3c.inject(outgoing, carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    return this.#w3c.extract(context, carrier, getter);
  }

  fields(): string[] {
    return this.#w3c.fields();
  }
}

/**
 * W3C trace context + abtel baggage: use it instead of the default propagator so downstream
 * services see the conversation and reuse its assignments.
 * @example
 * new NodeSDK({ textMapPropagator: abtelPropagator(), spanProcessors: [abtelSpanProcessor()] });
 */
export function abtelPropagator(): TextMapPropagator {
  return new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new AbtelBaggagePropagator()] });
}
