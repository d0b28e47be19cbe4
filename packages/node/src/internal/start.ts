import { trace } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Abtel } from '../abtel.js';
import { loadRegisterExperiments, readRegisterConfig, type RegisterConfig } from '../config.js';
import { configureAbtel } from '../default.js';
import { abtelPropagator } from '../propagator.js';
import { isGenAiSpan } from '../span-processor.js';
import { unrefExportHandles } from './export-handles.js';
import { reportError } from './safe.js';
import { warnUser } from './warn.js';
import { samplerFromEnvironment } from './sampler-env.js';

/**
 * True for a request made while a gen_ai span is active: the model client's own HTTP call (the
 * openai SDK uses fetch). Such requests are left alone: the gen_ai span already records the call,
 * and the model provider gets no trace context and, above all, no baggage with the conversation id
 * and the assignments. Requests to the app's own services (made outside a gen_ai span) carry them.
 */
function insideGenAiCall(): boolean {
  try {
    const span = trace.getActiveSpan() as Partial<Pick<ReadableSpan, 'attributes' | 'name'>> | undefined;
    // A non-recording span (not sampled) has neither: it cannot be told apart and is traced as usual.
    if (span === undefined || typeof span.name !== 'string' || typeof span.attributes !== 'object' || span.attributes === null) return false;
    return isGenAiSpan(span as Pick<ReadableSpan, 'attributes' | 'name'>);
  } catch {
    return false;
  }
}

/** A started drop-in SDK. */
export interface StartedSdk {
  sdk: NodeSDK;
  abtel: Abtel;
  config: RegisterConfig;
  /**
   * Flushes and shuts down, bounded by `ABTEL_FLUSH_TIMEOUT_MS`; never rejects. Idempotent.
   * Resolves to true when the flush finished, false when it timed out.
   */
  shutdown(): Promise<boolean>;
}

/**
 * Starts the OpenTelemetry Node SDK the way the `register` entry does: OTLP/HTTP traces and logs
 * (JSON, or protobuf by OTEL_EXPORTER_OTLP_*PROTOCOL; endpoint default http://127.0.0.1:4318, all
 * `OTEL_*` variables honoured), instrumentation-openai,
 * instrumentation-http and instrumentation-undici, the abtel span and log processors, the sampler of
 * OTEL_TRACES_SAMPLER wrapped by abtel's, W3C trace context + abtel baggage.
 * Throws AbtelError for bad configuration or unloadable definitions, with a one-line message that
 * names the variable.
 */
export async function startFromEnvironment(env: NodeJS.ProcessEnv): Promise<StartedSdk> {
  const config = readRegisterConfig(env);
  const experiments = config.experiments === undefined ? undefined : await loadRegisterExperiments(config.experiments);
  const abtel = configureAbtel({ events: config.events, ...(experiments === undefined ? {} : { experiments }) });

  const openai = new OpenAIInstrumentation();
  // ABTEL_CAPTURE_CONTENT, when set, wins over OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.
  if (config.captureContent !== undefined) openai.setConfig({ ...openai.getConfig(), captureMessageContent: config.captureContent });

  // The sampler of OTEL_TRACES_SAMPLER, wrapped: exposures must not be lost with dropped spans.
  const sampling = samplerFromEnvironment(env);
  // Both exporters of a signal read the same OTEL_EXPORTER_OTLP_* variables and send over the same HTTP transport.
  const TraceExporter = config.tracesProtocol === 'http/protobuf' ? OTLPProtobufTraceExporter : OTLPJsonTraceExporter;
  const LogExporter = config.logsProtocol === 'http/protobuf' ? OTLPProtobufLogExporter : OTLPJsonLogExporter;
  const spanBatches = new BatchSpanProcessor(new TraceExporter(config.defaultTracesUrl === undefined ? {} : { url: config.defaultTracesUrl }));
  const logBatches = new BatchLogRecordProcessor({ exporter: new LogExporter(config.defaultLogsUrl === undefined ? {} : { url: config.defaultLogsUrl }) });
  // An export that waits for a collector (its timers, its request's socket) must not keep the
  // process alive once the app is done (the flush at exit takes over, bounded): see
  // export-handles.ts for why this is done here.
  unrefExportHandles(spanBatches, 'span');
  unrefExportHandles(logBatches, 'log');

  const sdk = new NodeSDK({
    sampler: abtel.sampler(sampling.sampler),
    // One processor in the chain: abtel wraps the exporting one.
    spanProcessors: [abtel.spanProcessor({ next: spanBatches })],
    logRecordProcessors: [abtel.logRecordProcessor(), logBatches],
    // Metrics are not part of abtel's contract: only exported when OTEL_METRICS_EXPORTER asks for them.
    ...((env['OTEL_METRICS_EXPORTER']?.trim() ?? '') === '' ? { metricReaders: [] } : {}),
    // Outgoing requests carry the conversation only through an instrumentation that injects the
    // propagator's headers: `node:http`/`https` through instrumentation-http, the global `fetch`
    // (undici, which the openai SDK uses too) through instrumentation-undici.
    instrumentations: [openai, new HttpInstrumentation(), new UndiciInstrumentation({ ignoreRequestHook: insideGenAiCall })],
    textMapPropagator: abtelPropagator(),
  });
  // After the constructor, which installs the OTEL_LOG_LEVEL diag logger (as the SDK's own builder reports).
  sampling.reportProblems();
  sdk.start();

  let done: Promise<boolean> | undefined;
  const shutdown = (): Promise<boolean> => {
    done ??= new Promise<boolean>((resolve) => {
      // The flush gets a bounded time, and all of it: the exports' own timers and sockets do not
      // hold the process (export-handles.ts), so this one does, until the flush ends or the time
      // is up. An unreachable or hung collector therefore holds the process for
      // ABTEL_FLUSH_TIMEOUT_MS at most, an export already under way when the app's work ended
      // still gets its answer within it (the exporters' shutdown waits for it), and a retry that
      // is due within it (say after a 503) still runs.
      const timer = setTimeout(() => {
        warnUser(
          'FLUSH_TIMEOUT',
          `telemetry flush did not finish within ${config.flushTimeoutMs} ms (traces to ${config.tracesDestination}, logs to ${config.logsDestination}); ` +
            'exiting without it. Is the collector running there? A slow one needs a larger ABTEL_FLUSH_TIMEOUT_MS',
        );
        resolve(false);
      }, config.flushTimeoutMs);
      sdk.shutdown().then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reportError('telemetry shutdown', error);
          resolve(true);
        },
      );
    });
    return done;
  };
  return { sdk, abtel, config, shutdown };
}

