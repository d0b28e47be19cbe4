import { trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';

interface Flushable {
  forceFlush?: () => Promise<unknown>;
  getDelegate?: () => unknown;
  getDelegateLogger?: () => unknown;
}

async function flushOne(provider: unknown): Promise<void> {
  const candidate = provider as Flushable | undefined;
  const target = (candidate?.getDelegate?.() ?? candidate) as Flushable | undefined;
  if (typeof target?.forceFlush === 'function') await target.forceFlush();
}

/**
 * Exports every span and log record the process has buffered, before it reports its counts and
 * exits, so that "sent" means "handed to the collector". Works with whatever SDK the register
 * entry installed; does nothing when none is installed.
 * @example
 * await flushTelemetry();
 */
export async function flushTelemetry(): Promise<void> {
  await Promise.all([flushOne(trace.getTracerProvider()), flushOne(logs.getLoggerProvider())]);
}
