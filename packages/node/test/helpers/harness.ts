import { context, ProxyTracerProvider, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { AbtelLogRecordProcessor, createAbtel, type Abtel, type AbtelOptions } from '../../src/index.js';

/** Installs an AsyncLocalStorage context manager for the test file; returns the disable function. */
export function installContextManager(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  return () => {
    manager.disable();
    context.disable();
  };
}

/** An isolated abtel instance wired to real SDK providers with in-memory exporters. */
export interface Harness {
  abtel: Abtel;
  tracerProvider: BasicTracerProvider;
  loggerProvider: LoggerProvider;
  spans(): ReadableSpan[];
  logs(): ReadableLogRecord[];
  events(name: string): ReadableLogRecord[];
  reset(): void;
  shutdown(): Promise<void>;
}

/** Options of {@link createHarness} besides the instance's own. */
export interface HarnessOptions {
  /** abtel's span processor wraps the exporting one (`spanProcessor({ next })`) instead of preceding it. */
  chained?: boolean;
  /** The tracer provider's sampler, given the instance (to wrap a sampler in `abtel.sampler()`). Default: the SDK's. */
  sampler?: (abtel: Abtel) => Sampler;
  /** The tracer provider's id generator (fixed trace ids make sampling decisions reproducible). */
  idGenerator?: IdGenerator;
}

/** A fresh abtel instance, tracer provider and logger provider, all exporting to memory. */
export function createHarness(options: Omit<AbtelOptions, 'loggerProvider' | 'tracerProvider'> & HarnessOptions = {}): Harness {
  const { chained = false, sampler, idGenerator, ...abtelOptions } = options;
  const spanExporter = new InMemorySpanExporter();
  const logExporter = new InMemoryLogRecordExporter();
  // The instance needs the tracer provider for span-mode events, and the tracer provider needs the
  // instance's span processor: a proxy breaks the cycle.
  const proxy = new ProxyTracerProvider();
  const logProvider = new LoggerProvider({ processors: [new AbtelLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: logExporter })] });
  const instance = createAbtel({ ...abtelOptions, loggerProvider: logProvider, tracerProvider: proxy });
  const exporting = new SimpleSpanProcessor(spanExporter);
  const spanProcessors = chained ? [instance.spanProcessor({ next: exporting })] : [instance.spanProcessor(), exporting];
  const tracerProvider = new BasicTracerProvider({
    spanProcessors,
    ...(sampler === undefined ? {} : { sampler: sampler(instance) }),
    ...(idGenerator === undefined ? {} : { idGenerator }),
  });
  proxy.setDelegate(tracerProvider);
  return {
    abtel: instance,
    tracerProvider,
    loggerProvider: logProvider,
    spans: () => spanExporter.getFinishedSpans(),
    logs: () => logExporter.getFinishedLogRecords(),
    events: (name) => logExporter.getFinishedLogRecords().filter((record) => record.eventName === name),
    reset: () => {
      spanExporter.reset();
      logExporter.reset();
    },
    shutdown: async () => {
      await tracerProvider.shutdown();
      await logProvider.shutdown();
    },
  };
}

/** A plain copy of attributes (for whole-object comparisons). */
export function plain(attributes: Attributes | Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(attributes)) as Record<string, unknown>;
}
