import { diag } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Abtel } from '../abtel.js';
import { loadRegisterExperiments, readRegisterConfig, type RegisterConfig } from '../config.js';
import { configureAbtel } from '../default.js';
import { abtelPropagator } from '../propagator.js';
import { unrefExportTimers } from './export-timers.js';
import { reportError } from './safe.js';

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
 * (endpoint default http://127.0.0.1:4318, all `OTEL_*` variables honoured), instrumentation-openai
 * and instrumentation-http, the abtel span and log processors, W3C trace context + abtel baggage.
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

  const spanBatches = new BatchSpanProcessor(new OTLPTraceExporter(config.defaultTracesUrl === undefined ? {} : { url: config.defaultTracesUrl }));
  const logBatches = new BatchLogRecordProcessor({ exporter: new OTLPLogExporter(config.defaultLogsUrl === undefined ? {} : { url: config.defaultLogsUrl }) });
  // An export that waits for a collector must not keep the process alive once the app is done
  // (the flush at exit takes over, bounded): see export-timers.ts for why this is done here.
  unrefExportTimers(spanBatches, 'span');
  unrefExportTimers(logBatches, 'log');

  const sdk = new NodeSDK({
    // One processor in the chain: abtel wraps the exporting one.
    spanProcessors: [abtel.spanProcessor({ next: spanBatches })],
    logRecordProcessors: [abtel.logRecordProcessor(), logBatches],
    // Metrics are not part of abtel's contract: only exported when OTEL_METRICS_EXPORTER asks for them.
    ...((env['OTEL_METRICS_EXPORTER']?.trim() ?? '') === '' ? { metricReaders: [] } : {}),
    instrumentations: [openai, new HttpInstrumentation()],
    textMapPropagator: abtelPropagator(),
  });
  sdk.start();

  let done: Promise<boolean> | undefined;
  const shutdown = (): Promise<boolean> => {
    done ??= new Promise<boolean>((resolve) => {
      // The flush gets a bounded time, and all of it: the exports' own timers do not hold the
      // process (export-timers.ts), so this one does, until the flush ends or the time is up.
      // An unreachable collector therefore holds the process for ABTEL_FLUSH_TIMEOUT_MS at most,
      // and a retry that is due within it (say after a 503) still runs.
      const timer = setTimeout(() => {
        diag.warn(`@abtel/node: telemetry flush did not finish within ${config.flushTimeoutMs} ms; exiting without it`);
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
