import { context, defaultTextMapGetter, defaultTextMapSetter, propagation, trace } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { assign, parseExperiments } from '@abtel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abtelLogRecordProcessor,
  abtelPropagator,
  abtelSampler,
  abtelSpanProcessor,
  configureAbtel,
  experiment,
  withConversation,
} from '../src/index.js';
import { personaDefinition } from './helpers/definitions.js';

// The README's "into an SDK you already run" set-up, with in-memory exporters instead of OTLP.
const spans = new InMemorySpanExporter();
const logRecords = new InMemoryLogRecordExporter();
const experiments = parseExperiments([{ file: 'persona.json', content: personaDefinition() }]);
let sdk: NodeSDK;

beforeAll(() => {
  configureAbtel({ experiments });
  sdk = new NodeSDK({
    autoDetectResources: false,
    metricReaders: [],
    sampler: abtelSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })),
    spanProcessors: [abtelSpanProcessor(), new SimpleSpanProcessor(spans)],
    logRecordProcessors: [abtelLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: logRecords })],
    textMapPropagator: abtelPropagator(),
  });
  sdk.start();
});
afterAll(async () => {
  await sdk.shutdown();
});

describe('abtel inside an application-owned NodeSDK', () => {
  it('stamps spans, emits the exposure as an OpenTelemetry event and propagates the assignment', async () => {
    const expected = assign(experiments.require('support-persona'), { id: 'conv-sdk' }).variation;
    const headers: Record<string, string> = {};
    // A caller that sampled its trace: the parent-based sampler keeps this one.
    const caller = propagation.extract(context.active(), { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, defaultTextMapGetter);
    await context.with(caller, () =>
      withConversation({ conversationId: 'conv-sdk' }, async () => {
        const persona = await experiment<{ name: string; tone: string }>('support-persona').variation();
        expect(persona.key).toBe(expected);
        await trace.getTracer('app').startActiveSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } }, async (span) => {
          propagation.inject(context.active(), headers, defaultTextMapSetter);
          span.end();
        });
      }),
    );
    const [chat] = spans.getFinishedSpans();
    expect(chat!.attributes).toMatchObject({ 'gen_ai.conversation.id': 'conv-sdk', 'abtel.experiment.variation': expected });
    const [exposure] = logRecords.getFinishedLogRecords().filter((record) => record.eventName === 'abtel.exposure');
    expect(exposure!.spanContext?.spanId).toBe(chat!.spanContext().spanId);
    expect(headers['traceparent']).toMatch(new RegExp(`^00-${chat!.spanContext().traceId}-`));
    expect(headers['baggage']).toContain(`abtel.exp.support-persona=${expected}`);
  });

  it('emits the exposure when the wrapped sampler drops the gen_ai span (a caller that did not sample)', async () => {
    spans.reset();
    logRecords.reset();
    const caller = propagation.extract(context.active(), { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }, defaultTextMapGetter);
    await context.with(caller, () =>
      withConversation({ conversationId: 'conv-sdk-unsampled' }, async () => {
        await experiment('support-persona').variation();
        trace.getTracer('app').startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
      }),
    );
    expect(spans.getFinishedSpans()).toHaveLength(0);
    const exposures = logRecords.getFinishedLogRecords().filter((record) => record.eventName === 'abtel.exposure');
    expect(exposures.map((record) => [record.attributes['gen_ai.conversation.id'], record.spanContext?.traceId, record.spanContext?.spanId])).toEqual([
      ['conv-sdk-unsampled', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7'],
    ]);
  });
});
