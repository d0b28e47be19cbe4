/**
 * The real OpenTelemetry JS exporters send to the collector; what lands in the files equals what
 * the SDK recorded (ids, attributes with their types, events, links, resource, scope).
 */
import { context, trace, SpanKind, SpanStatusCode, type Attributes, type AttributeValue } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../src/index.js';
import { flattenLogs, flattenSpans, readSignal, tempDir } from './helpers.js';

/** The OTLP JSON an attribute value must become (the SDK sends integral numbers as intValue). */
function expectedValue(value: AttributeValue | undefined): unknown {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => expectedValue(item as AttributeValue)) } };
  throw new Error(`unexpected attribute ${String(value)}`);
}

function expectedAttributes(attributes: Attributes): unknown {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: expectedValue(value) }));
}

const nanos = (time: [number, number]) => (BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])).toString();

/** The file's span, checked field by field against the SDK's ReadableSpan. */
function expectSpanMatches(found: { resource: any; scope: any; span: any }, sdk: ReadableSpan): void {
  const { span } = found;
  expect(span.traceId).toBe(sdk.spanContext().traceId);
  expect(span.spanId).toBe(sdk.spanContext().spanId);
  expect(span.parentSpanId ?? '').toBe(sdk.parentSpanContext?.spanId ?? '');
  expect(span.name).toBe(sdk.name);
  expect(span.kind).toBe(sdk.kind + 1);
  expect(span.startTimeUnixNano).toBe(nanos(sdk.startTime));
  expect(span.endTimeUnixNano).toBe(nanos(sdk.endTime));
  expect(span.attributes).toEqual(expectedAttributes(sdk.attributes));
  expect(span.events ?? []).toEqual(
    sdk.events.map((event) => ({
      name: event.name,
      timeUnixNano: nanos(event.time),
      ...(event.attributes && Object.keys(event.attributes).length > 0 ? { attributes: expectedAttributes(event.attributes) } : {}),
    })),
  );
  expect(span.links ?? []).toEqual(
    sdk.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      ...(link.attributes ? { attributes: expectedAttributes(link.attributes) } : {}),
      flags: 256 | link.context.traceFlags,
    })),
  );
  expect(span.status ?? {}).toEqual({ ...(sdk.status.code ? { code: sdk.status.code } : {}), ...(sdk.status.message ? { message: sdk.status.message } : {}) });
  expect(found.resource.attributes).toEqual(expectedAttributes(sdk.resource.attributes));
  expect(found.scope.name).toBe(sdk.instrumentationScope.name);
  expect(found.scope.version).toBe(sdk.instrumentationScope.version);
}

/** Drops zero counts the JSON exporter writes explicitly, so both encodings compare alike. */
function withoutDefaults(found: { resource: any; scope: any; span: any }) {
  const span = { ...found.span };
  for (const key of ['droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount']) if (span[key] === 0) delete span[key];
  if (span.status && span.status.code === 0) delete span.status.code;
  span.events = span.events?.map((event: any) => {
    const { droppedAttributesCount, ...rest } = event;
    if (rest.attributes?.length === 0) delete rest.attributes;
    return droppedAttributesCount ? { ...rest, droppedAttributesCount } : rest;
  });
  span.links = span.links?.map((link: any) => {
    const { droppedAttributesCount, ...rest } = link;
    if (rest.attributes?.length === 0) delete rest.attributes;
    return droppedAttributesCount ? { ...rest, droppedAttributesCount } : rest;
  });
  if (span.events?.length === 0) delete span.events;
  if (span.links?.length === 0) delete span.links;
  return { ...found, span };
}

function recordSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-agent', 'service.instance.id': 'i-1', 'process.pid': 4242 }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('@abtel/node', '1.2.3');
  const root = tracer.startSpan('invoke_agent support', { kind: SpanKind.SERVER, attributes: { 'gen_ai.conversation.id': 'conv-1', 'abtel.experiment.version': 3, score: 4.0, ratio: 0.25, ok: true, tags: ['a', 'b'], counts: [1, 2] } });
  const child = tracer.startSpan(
    'chat gpt-4o-mini',
    { kind: SpanKind.CLIENT, attributes: { 'gen_ai.usage.input_tokens': 1200, temperature: 0.7 }, links: [{ context: root.spanContext(), attributes: { 'link.kind': 'follows' } }] },
    trace.setSpan(context.active(), root),
  );
  child.addEvent('abtel.exposure', { 'feature_flag.key': 'support-persona', 'feature_flag.result.variant': 'empathetic' });
  child.addEvent('plain');
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  child.end();
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  return memory.getFinishedSpans();
}

describe('real OpenTelemetry exporters → collector → files', () => {
  let collector: RunningCollector;
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    collector = await startCollector({ port: 0, dir, progress: false, log: () => {} });
  });
  afterAll(async () => collector?.close());

  for (const [label, Exporter] of [
    ['exporter-trace-otlp-http (JSON)', OTLPJsonTraceExporter],
    ['exporter-trace-otlp-proto (protobuf)', OTLPProtoTraceExporter],
  ] as const) {
    it(`${label}: spans land exactly as recorded`, async () => {
      const spans = recordSpans();
      const exporter = new Exporter({ url: `${collector.url}/v1/traces` });
      const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans, resolve));
      await exporter.shutdown();
      expect(result.error).toBeUndefined();
      expect(result.code).toBe(0);
      const found = flattenSpans(await readSignal(dir, 'traces'));
      for (const sdk of spans) {
        const match = found.find((entry) => entry.span.spanId === sdk.spanContext().spanId);
        expect(match, `span ${sdk.name} is in the file`).toBeDefined();
        expectSpanMatches(withoutDefaults(match!), sdk);
      }
    });
  }

  it('exporter-logs-otlp-http: log records and events land exactly as emitted', async () => {
    const exporter = new OTLPLogExporter({ url: `${collector.url}/v1/logs` });
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'judge' }), processors: [new SimpleLogRecordProcessor({ exporter })] });
    const logger = provider.getLogger('@abtel/judge', '0.1.0');
    const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
    logger.emit({
      eventName: 'gen_ai.evaluation.result',
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: { explanation: 'polite and correct', score: 4 },
      attributes: { 'gen_ai.evaluation.name': 'helpfulness', 'gen_ai.evaluation.score.value': 4.0, 'abtel.evaluation.sample_rate': 0.1 },
      timestamp: [1_790_000_000, 123_456_789],
      context: trace.setSpanContext(context.active(), spanContext),
    });
    logger.emit({ body: 'plain line', severityNumber: SeverityNumber.WARN, timestamp: [1_790_000_001, 5] });
    await provider.forceFlush();
    await provider.shutdown();
    const records = flattenLogs(await readSignal(dir, 'logs'));
    expect(records).toHaveLength(2);
    const event = records.find((entry) => entry.record.eventName === 'gen_ai.evaluation.result')!;
    expect(event.record).toMatchObject({
      timeUnixNano: '1790000000123456789',
      severityNumber: 9,
      severityText: 'INFO',
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
      body: { kvlistValue: { values: [{ key: 'explanation', value: { stringValue: 'polite and correct' } }, { key: 'score', value: { intValue: '4' } }] } },
      attributes: [
        { key: 'gen_ai.evaluation.name', value: { stringValue: 'helpfulness' } },
        { key: 'gen_ai.evaluation.score.value', value: { intValue: '4' } },
        { key: 'abtel.evaluation.sample_rate', value: { doubleValue: 0.1 } },
      ],
    });
    expect(event.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'judge' } });
    expect(event.scope).toMatchObject({ name: '@abtel/judge', version: '0.1.0' });
    const plain = records.find((entry) => entry.record.eventName === undefined)!;
    expect(plain.record).toMatchObject({ body: { stringValue: 'plain line' }, severityNumber: 13, timeUnixNano: '1790000001000000005' });
  });
});
