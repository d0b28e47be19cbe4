import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import type { Abtel } from './abtel.js';
import { stateOf } from './internal/context.js';
import { ParentBasedAlwaysOnSampler } from './internal/default-sampler.js';
import { isEventCarrier } from './internal/events.js';
import { reportError } from './internal/safe.js';
import { isGenAiSpan } from './span-processor.js';

/**
 * Wraps the application's sampler so that exposures do not depend on trace sampling. Every
 * decision about the application's spans is the inner sampler's, unchanged. The span processor
 * emits a conversation's exposure at its first gen_ai span, but the SDK never shows the processor
 * a span the sampler dropped (`NOT_RECORD`): for those spans this sampler does the processor's
 * part instead, emitting the pending exposures in the span's parent context (the exposure then
 * references the parent span, if there is one: the sampler is not told the dropped span's id, and
 * that span is never exported). Recorded spans go through the processor as before, so no exposure
 * is emitted twice. In span-event mode (`events: 'spans'`), the short spans abtel starts only to
 * carry an event are always recorded and sampled, so that events do not depend on sampling there
 * either. Never throws for its own work; errors of the inner sampler propagate as they would from
 * the provider.
 * @example
 * new NodeSDK({
 *   sampler: abtelSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })),
 *   spanProcessors: [abtelSpanProcessor({ next: new BatchSpanProcessor(new OTLPTraceExporter()) })],
 * });
 */
export class AbtelSampler implements Sampler {
  readonly #abtel: Abtel;
  readonly #inner: Sampler;

  /** `inner`: the sampler whose decisions to keep; the provider's default (parent-based, always on) when omitted. */
  constructor(abtel: Abtel, inner: Sampler = new ParentBasedAlwaysOnSampler()) {
    this.#abtel = abtel;
    this.#inner = inner;
  }

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const result = this.#inner.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    // Most spans are sampled, and for them this test is all the wrapper adds. The rest is a
    // function of its own so that this method stays small enough for V8 to inline into the
    // tracer's startSpan.
    return result.decision === RECORD_AND_SAMPLED ? result : unsampled(this.#abtel, result, context, spanName, attributes);
  }

  toString(): string {
    return `AbtelSampler{${this.#inner.toString()}}`;
  }
}

const RECORD_AND_SAMPLED = SamplingDecision.RECORD_AND_SAMPLED;

/** The wrapper's work for a span the inner sampler did not sample; returns the decision to use. */
function unsampled(abtel: Abtel, result: SamplingResult, context: Context, spanName: string, attributes: Attributes | undefined): SamplingResult {
  try {
    // A span-mode event (exposure, outcome, evaluation) on a span of its own: kept, like a log record would be.
    if (isEventCarrier(context)) return { ...result, decision: RECORD_AND_SAMPLED };
    if (result.decision === SamplingDecision.NOT_RECORD) {
      // Not `spanStateOf`: that one keeps the span processor's call feedback to itself.
      const state = stateOf(context);
      // As in the processor: the flag first, so spans of conversations already exposed skip the gen_ai check.
      if (state !== undefined && state.hasPendingExposure && isGenAiSpan({ name: spanName, attributes: attributes ?? {} })) {
        abtel.exposePending(state, context);
      }
    }
  } catch (error) {
    reportError('emitting the exposure at an unsampled span', error);
  }
  return result;
}
