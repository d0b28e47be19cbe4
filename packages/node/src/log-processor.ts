import { context as contextApi, type Context } from '@opentelemetry/api';
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs';
import { EVENT_ABTEL_EXPOSURE, EVENT_ABTEL_OUTCOME, EVENT_GEN_AI_EVALUATION_RESULT } from '@abtel/core';
import { stateOf } from './internal/context.js';
import { reportError } from './internal/safe.js';

// abtel's own events carry exactly the attributes they mean; stamping them from the context
// could, for example, attach an unrelated experiment to an outcome.
const OWN_EVENTS = new Set<string>([EVENT_ABTEL_EXPOSURE, EVENT_ABTEL_OUTCOME, EVENT_GEN_AI_EVALUATION_RESULT]);

/**
 * Stamps log records (and OpenTelemetry events such as instrumentation-openai's message events)
 * emitted inside a conversation context with the same attributes as spans. Attributes the record
 * already has are kept. Never throws.
 * @example
 * const sdk = new NodeSDK({ logRecordProcessors: [abtelLogRecordProcessor(), new BatchLogRecordProcessor(new OTLPLogExporter())] });
 */
export class AbtelLogRecordProcessor implements LogRecordProcessor {
  onEmit(record: SdkLogRecord, context?: Context): void {
    try {
      if (record.eventName !== undefined && OWN_EVENTS.has(record.eventName)) return;
      const state = stateOf(context ?? contextApi.active());
      if (state === undefined) return;
      for (const [name, value] of Object.entries(state.spanAttributes())) {
        if (record.attributes[name] === undefined && value !== undefined) record.setAttribute(name, value);
      }
    } catch (error) {
      reportError('stamping a log record', error);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
