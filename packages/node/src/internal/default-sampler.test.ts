import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';
import { AlwaysOnSampler, ParentBasedSampler, SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ParentBasedAlwaysOnSampler } from './default-sampler.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

/** Every kind of parent the parent-based rule tells apart, and parents it must treat as absent. */
function parents(): { name: string; context: Context }[] {
  const withParent = (spanContext: SpanContext) => trace.setSpanContext(ROOT_CONTEXT, spanContext);
  const list: { name: string; context: Context }[] = [{ name: 'no parent', context: ROOT_CONTEXT }];
  for (const isRemote of [true, false, undefined]) {
    // Flags beyond the sampled bit (the W3C random flag 0x02, unknown bits) must not matter.
    for (const traceFlags of [0x00, 0x01, 0x02, 0x03, 0xfe, 0xff]) {
      list.push({ name: `${isRemote === undefined ? 'local (isRemote unset)' : isRemote ? 'remote' : 'local'} flags ${traceFlags}`, context: withParent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags, isRemote }) });
    }
  }
  // Invalid parents: the rule falls back to the root sampler (always on) whatever their flags.
  for (const [traceId, spanId] of [
    ['0'.repeat(32), SPAN_ID],
    [TRACE_ID, '0'.repeat(16)],
    ['not-hex', SPAN_ID],
    [TRACE_ID.slice(1), SPAN_ID],
  ]) {
    list.push({ name: `invalid ${traceId}/${spanId}`, context: withParent({ traceId: traceId!, spanId: spanId!, traceFlags: TraceFlags.NONE, isRemote: true }) });
  }
  return list;
}

describe('ParentBasedAlwaysOnSampler', () => {
  it("decides like the SDK's ParentBasedSampler({ root: AlwaysOnSampler }) for every kind of parent", () => {
    // Called through the Sampler interface, with every argument, as the SDK calls it.
    const ours: Sampler = new ParentBasedAlwaysOnSampler();
    const sdk = new ParentBasedSampler({ root: new AlwaysOnSampler() });
    const cases = parents();
    expect(cases.length).toBe(23);
    const decisions = cases.map(({ name, context }) => {
      const mine = ours.shouldSample(context, TRACE_ID, 'chat gpt-4o-mini', SpanKind.CLIENT, {}, []);
      const theirs = sdk.shouldSample(context, TRACE_ID, 'chat gpt-4o-mini', SpanKind.CLIENT, {}, []);
      // The whole result (no attributes, no trace state), not only the decision.
      expect({ name, ...mine }).toEqual({ name, ...theirs });
      return mine.decision;
    });
    // Both decisions occur: 3 kinds of valid parent × 3 flag values without the sampled bit are dropped.
    expect(decisions.filter((decision) => decision === SamplingDecision.NOT_RECORD)).toHaveLength(9);
    expect(ours.toString()).toBe(sdk.toString());
  });

  it('hands out one frozen result per decision instead of allocating one per span', () => {
    const sampler = new ParentBasedAlwaysOnSampler();
    const first = sampler.shouldSample(ROOT_CONTEXT);
    expect(sampler.shouldSample(ROOT_CONTEXT)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE, isRemote: true });
    const dropped = sampler.shouldSample(unsampled);
    expect(dropped.decision).toBe(SamplingDecision.NOT_RECORD);
    expect(sampler.shouldSample(unsampled)).toBe(dropped);
    expect(Object.isFrozen(dropped)).toBe(true);
  });
});
