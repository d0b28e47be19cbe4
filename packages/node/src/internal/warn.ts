import { diag } from '@opentelemetry/api';

// Kinds already shown as a process warning: one line per kind and process, however often it recurs.
// Bounded by the kinds in the code (and, for failures, by the experiment keys they name).
const shown = new Set<string>();

/**
 * Reports a problem that loses telemetry or changes what an experiment sees, caused by how abtel
 * is called or configured (a dropped outcome, an experiment served its control for want of a
 * unit id, …): every time through the OpenTelemetry diag logger, and the first time of each
 * `kind` as a Node process warning (`AbtelWarning`, code `ABTEL_<kind>`). Without the warning such
 * mistakes were silent unless a diag logger was set (`OTEL_LOG_LEVEL`), and a typo lost every event
 * of its kind. Node prints process warnings on stderr; `--no-warnings` or a `process.on('warning')`
 * listener silences them. Never throws.
 * @example
 * warnUser('OUTCOME_DROPPED', 'recordOutcome dropped an outcome: value must be a finite number', 'error');
 */
export function warnUser(kind: string, message: string, level: 'warn' | 'error' = 'warn'): void {
  try {
    diag[level](`@abtel/node: ${message}`);
  } catch {
    // Reporting must not harm the host either.
  }
  showOnce(kind, kind, message);
}

/**
 * The process warning alone, once per `once` key (a failure reported through diag elsewhere, once
 * per kind of work that failed). Never throws.
 */
export function showOnce(once: string, kind: string, message: string): void {
  try {
    if (shown.has(once)) return;
    shown.add(once);
    process.emitWarning(`@abtel/node: ${message} (shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)`, {
      type: 'AbtelWarning',
      code: `ABTEL_${kind}`,
    });
  } catch {
    // Reporting must not harm the host either.
  }
}
