import { diag } from '@opentelemetry/api';
import { showOnce } from './warn.js';

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

/**
 * Reports an error caught inside the instrumentation through the diag logger, and the first one
 * of each `what` as a process warning (see warnUser).
 */
export function reportError(what: string, error: unknown): void {
  let message: string;
  try {
    message = error instanceof Error ? error.message : String(error);
    diag.error(`@abtel/node: ${what} failed: ${message}`, error);
  } catch {
    // The error's own message or the diag logger failed; there is nothing left to report.
    return;
  }
  showOnce(`FAILED ${what}`, 'FAILED', `${what} failed: ${message}`);
}
