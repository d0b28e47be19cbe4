import { context, defaultTextMapGetter, defaultTextMapSetter, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { assign, parseExperiments } from '@abtel/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, installContextManager, plain, type Harness } from '../test/helpers/harness.js';
import { personaDefinition, retrievalDefinition } from '../test/helpers/definitions.js';
import { abtelPropagator } from './propagator.js';
import { BAGGAGE_MAX_VALUE_LENGTH } from './internal/baggage.js';

const experiments = parseExperiments([
  { file: 'persona.yaml', content: personaDefinition() },
  { file: 'retrieval.yaml', content: retrievalDefinition() },
]);

let disableContext: () => void;
beforeAll(() => {
  disableContext = installContextManager();
});
afterAll(() => disableContext());

let upstream: Harness;
let downstream: Harness;
beforeEach(() => {
  upstream = createHarness({ experiments });
  downstream = createHarness({ experiments });
});
afterEach(async () => {
  await upstream.shutdown();
  await downstream.shutdown();
});

const propagator = abtelPropagator();

/** Headers an instrumented HTTP client would send from the active context. */
function outgoingHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(context.active(), headers, defaultTextMapSetter);
  return headers;
}

describe('abtel baggage', () => {
  it('carries the conversation and assignments made after withConversation started, and only its own keys', async () => {
    let headers: Record<string, string> = {};
    const userVariation = assign(experiments.require('support-retrieval'), { id: 'user 7' }).variation;
    await upstream.abtel.withConversation({ conversationId: 'conv:1', userId: 'user 7' }, async () => {
      await upstream.abtel.experiment('support-persona').variation();
      await upstream.abtel.experiment('support-retrieval').variation();
      const withForeign = propagation.setBaggage(context.active(), propagation.createBaggage({ 'app.tenant': { value: 'acme' } }));
      context.with(withForeign, () => {
        headers = outgoingHeaders();
      });
    });
    expect(headers['traceparent']).toBeUndefined();
    const baggage = propagation.getBaggage(propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter))!;
    const entries = Object.fromEntries(baggage.getAllEntries().map(([key, entry]) => [key, entry.value]));
    const personaVariation = assign(experiments.require('support-persona'), { id: 'conv:1' }).variation;
    expect(entries).toEqual({
      'app.tenant': 'acme',
      'abtel.conv': 'conv:1',
      'abtel.exp.support-persona': `${personaVariation}:3:conversation:e::`,
      'abtel.exp.support-retrieval': `${userVariation}:1:user:e:user%207:`,
    });
  });

  it('stamps downstream spans with the upstream assignment and reuses it instead of re-assigning', async () => {
    let headers: Record<string, string> = {};
    let upstreamVariation = '';
    await upstream.abtel.withConversation({ conversationId: 'conv-2' }, async () => {
      upstreamVariation = (await upstream.abtel.experiment('support-persona').variation()).key;
      const span = upstream.tracerProvider.getTracer('t').startSpan('client');
      context.with(trace.setSpan(context.active(), span), () => {
        headers = outgoingHeaders();
      });
      span.end();
    });
    // Downstream has its own definitions and store; reason 'reused' shows it did not route again.
    const incoming = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    await context.with(incoming, async () => {
      const server = downstream.tracerProvider.getTracer('t').startSpan('server');
      await context.with(trace.setSpan(context.active(), server), async () => {
        const variation = await downstream.abtel.experiment('support-persona').variation();
        expect(variation).toMatchObject({ key: upstreamVariation, reason: 'reused' });
        downstream.tracerProvider.getTracer('t').startSpan('retrieve').end();
      });
      server.end();
    });
    const stamped = downstream.spans().map((span) => [span.name, plain(span.attributes)]);
    const attributes = {
      'gen_ai.conversation.id': 'conv-2',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': upstreamVariation,
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
    };
    expect(stamped).toEqual([
      ['retrieve', attributes],
      ['server', attributes],
    ]);
    expect(downstream.spans()[0]!.spanContext().traceId).toBe(upstream.spans()[0]!.spanContext().traceId);
  });

  it('ignores malformed or oversized abtel entries and does not propagate an oversized conversation id', async () => {
    const header = [
      'abtel.conv=conv-3',
      'abtel.exp.support-persona=warm:notanumber:conversation:e::',
      `abtel.exp.support-retrieval=${'x'.repeat(BAGGAGE_MAX_VALUE_LENGTH + 1)}:1:user:e:u:`,
      'abtel.exp.other=hybrid:2:conversation:e::',
    ].join(',');
    const incoming = propagator.extract(ROOT_CONTEXT, { baggage: header }, defaultTextMapGetter);
    context.with(incoming, () => downstream.tracerProvider.getTracer('t').startSpan('s').end());
    expect(plain(downstream.spans()[0]!.attributes)).toEqual({
      'gen_ai.conversation.id': 'conv-3',
      'abtel.experiment.key': 'other',
      'abtel.experiment.variation': 'hybrid',
      'abtel.experiment.version': 2,
      'abtel.assignment.unit': 'conversation',
    });
    let headers: Record<string, string> = {};
    upstream.abtel.withConversation({ conversationId: 'c'.repeat(BAGGAGE_MAX_VALUE_LENGTH + 1) }, () => {
      headers = outgoingHeaders();
    });
    expect(headers['baggage']).toBeUndefined();
  });
});
