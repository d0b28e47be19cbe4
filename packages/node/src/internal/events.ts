import { trace, type Attributes, type Context, type TracerProvider } from '@opentelemetry/api';
import { logs, SeverityNumber, type LoggerProvider } from '@opentelemetry/api-logs';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

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
 * recording, else on a short span of the same name started as its child (or as a root).
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
    if (active !== undefined && active.isRecording()) {
      active.addEvent(eventName, attributes);
      return;
    }
    const provider = this.#tracerProvider ?? trace.getTracerProvider();
    const span = provider.getTracer(PACKAGE_NAME, PACKAGE_VERSION).startSpan(eventName, {}, context);
    span.addEvent(eventName, attributes);
    span.end();
  }
}
