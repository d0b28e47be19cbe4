import { context, diag, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FixedIds, traceIds } from '../../test/helpers/ids.js';
import { samplerFromEnvironment } from './sampler-env.js';

// The drop-in must pass NodeSDK a sampler (to wrap it), which stops NodeSDK from building its own
// from OTEL_TRACES_SAMPLER. Here NodeSDK builds its own (no `sampler` option) and another NodeSDK
// gets samplerFromEnvironment(process.env); both start spans over the same fixed trace ids and
// parents, and must decide alike, and report the same problems through diag.

const TRACE_IDS = traceIds('sampler-env', 200);

/** A parent of each kind ParentBasedSampler tells apart, on trace `traceId`. */
function parents(traceId: string): [string, Context][] {
  const parent = (traceFlags: TraceFlags, isRemote: boolean) =>
    trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'a'.repeat(16), traceFlags, isRemote });
  return [
    ['remote sampled', parent(TraceFlags.SAMPLED, true)],
    ['remote unsampled', parent(TraceFlags.NONE, true)],
    ['local sampled', parent(TraceFlags.SAMPLED, false)],
    ['local unsampled', parent(TraceFlags.NONE, false)],
  ];
}

/**
 * Starts a NodeSDK (with `sampler` when given), then one root span per fixed trace id and one
 * child span per kind of parent on every tenth id; returns each span's decision (0 not recorded,
 * 1 recorded, 2 recorded and sampled) and the diag messages about the sampler variables.
 */
async function decisionsOf(sampler: (() => { sampler: Sampler; reportProblems(): void }) | undefined): Promise<{ decisions: string; problems: string[] }> {
  const problems: string[] = [];
  const record = (level: string) => (message: string) => {
    if (message.includes('OTEL_TRACES_SAMPLER')) problems.push(`${level}: ${message}`);
  };
  diag.setLogger({ error: record('error'), warn: record('warn'), info() {}, debug() {}, verbose() {} });
  const built = sampler?.();
  const sdk = new NodeSDK({
    autoDetectResources: false,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    idGenerator: new FixedIds(TRACE_IDS),
    spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
    ...(built === undefined ? {} : { sampler: built.sampler }),
  });
  built?.reportProblems();
  sdk.start();
  try {
    const tracer = trace.getTracer('sampler-env');
    const decisions: string[] = [];
    for (let index = 0; index < TRACE_IDS.length; index += 1) {
      decisions.push(decisionOf(tracer.startSpan('chat m', {}, ROOT_CONTEXT)));
      if (index % 10 === 0) {
        for (const [, parent] of parents(TRACE_IDS[index]!)) decisions.push(decisionOf(tracer.startSpan('chat m', {}, parent)));
      }
    }
    return { decisions: decisions.join(''), problems };
  } finally {
    await sdk.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    logs.disable();
    diag.disable();
  }
}

/** 0: dropped (NOT_RECORD), 1: recorded only (RECORD), 2: recorded and sampled (RECORD_AND_SAMPLED). */
function decisionOf(span: Span): string {
  const decision = (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0 ? 2 : span.isRecording() ? 1 : 0;
  span.end();
  return String(decision);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

const CASES: [string, Record<string, string | undefined>][] = [
  ['unset', { OTEL_TRACES_SAMPLER: undefined, OTEL_TRACES_SAMPLER_ARG: '0.1' }],
  ['blank', { OTEL_TRACES_SAMPLER: '  ' }],
  ['always_on', { OTEL_TRACES_SAMPLER: 'always_on' }],
  ['always_off', { OTEL_TRACES_SAMPLER: 'always_off' }],
  ['parentbased_always_on', { OTEL_TRACES_SAMPLER: 'parentbased_always_on' }],
  ['parentbased_always_off', { OTEL_TRACES_SAMPLER: 'parentbased_always_off' }],
  ['traceidratio 0.25', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }],
  ['traceidratio " 0.6 "', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: ' 0.6 ' }],
  ['traceidratio 0', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }],
  ['traceidratio 1', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' }],
  ['traceidratio without argument', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: undefined }],
  ['traceidratio blank argument', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: ' ' }],
  ['traceidratio not a number', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'quarter' }],
  ['traceidratio above 1', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }],
  ['traceidratio below 0', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '-0.1' }],
  ['traceidratio hexadecimal', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0x0' }],
  ['parentbased_traceidratio 0.25', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }],
  ['parentbased_traceidratio out of range', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }],
  ['unknown value', { OTEL_TRACES_SAMPLER: 'ratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }],
  ['other case', { OTEL_TRACES_SAMPLER: 'TraceIdRatio', OTEL_TRACES_SAMPLER_ARG: '0.25' }],
  ['surrounding spaces', { OTEL_TRACES_SAMPLER: ' traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }],
  ['jaeger_remote (not supported by the Node SDK)', { OTEL_TRACES_SAMPLER: 'jaeger_remote' }],
];

describe('samplerFromEnvironment', () => {
  for (const [name, variables] of CASES) {
    it(`decides as NodeSDK's own sampler: ${name}`, async () => {
      for (const [key, value] of Object.entries(variables)) vi.stubEnv(key, value);
      const sdk = await decisionsOf(undefined);
      const ours = await decisionsOf(() => samplerFromEnvironment(process.env));
      expect(ours.decisions).toBe(sdk.decisions);
      expect(ours.problems).toEqual(sdk.problems);
    });
  }

  it('gives different decisions for different settings on these trace ids (the comparison can tell them apart)', async () => {
    const seen = new Map<string, string>();
    for (const [name, variables] of CASES) {
      for (const [key, value] of Object.entries(variables)) vi.stubEnv(key, value);
      seen.set(name, (await decisionsOf(() => samplerFromEnvironment(process.env))).decisions);
      vi.unstubAllEnvs();
    }
    const distinct = (...names: string[]) => new Set(names.map((name) => seen.get(name))).size;
    expect(distinct('always_on', 'always_off', 'parentbased_always_on', 'parentbased_always_off', 'traceidratio 0.25', 'traceidratio " 0.6 "', 'parentbased_traceidratio 0.25')).toBe(7);
    // Every fallback is the SDK default, parentbased_always_on, or a ratio of 1.
    for (const name of ['unset', 'blank', 'unknown value', 'other case', 'surrounding spaces', 'jaeger_remote (not supported by the Node SDK)']) {
      expect(seen.get(name)).toBe(seen.get('parentbased_always_on'));
    }
    for (const name of ['traceidratio without argument', 'traceidratio not a number', 'traceidratio above 1', 'traceidratio below 0']) {
      expect(seen.get(name)).toBe(seen.get('traceidratio 1'));
    }
    expect(seen.get('traceidratio hexadecimal')).toBe(seen.get('traceidratio 0'));
  });

  it('reports the SDK messages only when asked (after NodeSDK installed the OTEL_LOG_LEVEL logger)', () => {
    const messages: string[] = [];
    diag.setLogger({ error: (message) => messages.push(`error: ${message}`), warn: (message) => messages.push(`warn: ${message}`), info() {}, debug() {}, verbose() {} });
    try {
      const built = samplerFromEnvironment({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'quarter' });
      expect(messages).toEqual([]);
      expect(built.sampler.toString()).toBe('TraceIdRatioBased{1}');
      built.reportProblems();
      expect(messages).toEqual([
        "warn: Unknown value 'quarter' for OTEL_TRACES_SAMPLER_ARG, expected a number, using defaults",
        'error: OTEL_TRACES_SAMPLER_ARG is blank, defaulting to 1.',
      ]);
      expect(samplerFromEnvironment({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampler.toString()).toBe(
        'ParentBased{root=TraceIdRatioBased{0.25}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
      );
    } finally {
      diag.disable();
    }
  });
});
