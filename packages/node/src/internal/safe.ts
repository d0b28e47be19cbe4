import { diag } from '@opentelemetry/api';

/**
 * Runs `fn`; on any error reports it through the OpenTelemetry diag logger and returns
 * `fallback`. Instrumentation must never throw into the host application.
 */
export function safely<T>(what: string, fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (error) {
    reportError(what, error);
    return fallback;
  }
}

/** Reports an error caught inside the instrumentation through the diag logger. */
export function reportError(what: string, error: unknown): void {
  try {
    const message = error instanceof Error ? error.message : String(error);
    diag.error(`@abtel/node: ${what} failed: ${message}`, error);
  } catch {
    // The diag logger itself failed; there is nothing left to report to.
  }
}
