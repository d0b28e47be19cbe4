import { createContextKey, trace, TraceFlags, type Attributes, type Context, type TracerProvider } from '@opentelemetry/api';
import { logs, SeverityNumber, type LoggerProvider } from '@opentelemetry/api-logs';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

// Set on the parent context of a span started only to carry an event: AbtelSampler records and
// samples such a span whatever the application's sampler decides (createContextKey uses
// Symbol.for, so two copies of this package share the key).
const EVENT_CARRIER_KEY = createContextKey('@abtel/node.event-carrier');

/** True when a span started in `context` exists only to carry an abtel event. */
export function isEventCarrier(context: Context): boolean {
  return context.getValue(EVENT_CARRIER_KEY) === true;
}

/** Where abtel's events go: OpenTelemetry events (log records with an event name) or span events. */
export type EventsMode = 'logs' | 'spans';

export interface EventRecorderOptions {
  mode: EventsMode;
  /** Defaults to the global logger provider at the time of each emit. */
  loggerProvider?: LoggerProvider | undefined;
  /** Defaults to the global tracer provider at the time of each emit. */
  tracerProvider?: TracerProvider | undefined;
}

/**
 * Records one abtel event. In `logs` mode it is a log record with `eventName`, parented to the
 * span active in `context`. In `spans` mode it is an event on that span when it is still
 * recording and sampled (so exported), else on a short span of the same name started as its child
 * (or as a root), marked so that `AbtelSampler` keeps it.
 */
export class EventRecorder {
  readonly mode: EventsMode;
  readonly #loggerProvider: LoggerProvider | undefined;
  readonly #tracerProvider: TracerProvider | undefined;

  constructor(options: EventRecorderOptions) {
    this.mode = options.mode;
    this.#loggerProvider = options.loggerProvider;
    this.#tracerProvider = options.tracerProvider;
  }

  emit(eventName: string, attributes: Attributes, context: Context): void {
    if (this.mode === 'logs') {
      const provider = this.#loggerProvider ?? logs.getLoggerProvider();
      provider.getLogger(PACKAGE_NAME, PACKAGE_VERSION).emit({
        eventName,
        attributes,
        context,
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
      });
      return;
    }
    const active = trace.getSpan(context);
    // A span recorded but not sampled is never exported: its events would be lost with it.
    if (active !== undefined && active.isRecording() && (active.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) {
      active.addEvent(eventName, attributes);
      return;
    }
    const provider = this.#tracerProvider ?? trace.getTracerProvider();
    const span = provider.getTracer(PACKAGE_NAME, PACKAGE_VERSION).startSpan(eventName, {}, context.setValue(EVENT_CARRIER_KEY, true));
    span.addEvent(eventName, attributes);
    span.end();
  }
}
