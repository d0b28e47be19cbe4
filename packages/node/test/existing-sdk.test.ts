import { context, defaultTextMapSetter, propagation, trace } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { assign, parseExperiments } from '@abtel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abtelLogRecordProcessor, abtelPropagator, abtelSpanProcessor, configureAbtel, experiment, withConversation } from '../src/index.js';
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
    await withConversation({ conversationId: 'conv-sdk' }, async () => {
      const persona = await experiment<{ name: string; tone: string }>('support-persona').variation();
      expect(persona.key).toBe(expected);
      await trace.getTracer('app').startActiveSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } }, async (span) => {
        propagation.inject(context.active(), headers, defaultTextMapSetter);
        span.end();
      });
    });
    const [chat] = spans.getFinishedSpans();
    expect(chat!.attributes).toMatchObject({ 'gen_ai.conversation.id': 'conv-sdk', 'abtel.experiment.variation': expected });
    const [exposure] = logRecords.getFinishedLogRecords().filter((record) => record.eventName === 'abtel.exposure');
    expect(exposure!.spanContext?.spanId).toBe(chat!.spanContext().spanId);
    expect(headers['traceparent']).toMatch(new RegExp(`^00-${chat!.spanContext().traceId}-`));
    expect(headers['baggage']).toContain(`abtel.exp.support-persona=${expected}`);
  });
});
