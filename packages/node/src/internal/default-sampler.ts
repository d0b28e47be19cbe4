import { isSpanContextValid, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';

// Shared and frozen: the tracer only reads a sampling result, so one object per decision serves
// every span (the SDK's samplers allocate one per span).
const SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const DROPPED: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/**
 * The tracer provider's default sampler, `ParentBased{root=AlwaysOn}` with its default delegates,
 * as one function: a span is recorded and sampled unless its parent (remote or local) is valid
 * and not sampled, in which case it is not recorded. Same decisions as
 * `new ParentBasedSampler({ root: new AlwaysOnSampler() })`, without its two calls and the result
 * object each of them allocates per span: `abtelSampler()` wraps this when it is given no sampler,
 * and so does the drop-in for `OTEL_TRACES_SAMPLER` unset or `parentbased_always_on`.
 * @example
 * new ParentBasedAlwaysOnSampler().shouldSample(ROOT_CONTEXT).decision; // RECORD_AND_SAMPLED
 */
export class ParentBasedAlwaysOnSampler implements Sampler {
  shouldSample(context: Context): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent === undefined || !isSpanContextValid(parent)) return SAMPLED;
    return (parent.traceFlags & TraceFlags.SAMPLED) !== 0 ? SAMPLED : DROPPED;
  }

  toString(): string {
    // The SDK's description of the sampler this decides like.
    return 'ParentBased{root=AlwaysOnSampler, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}';
  }
}
