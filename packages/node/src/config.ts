import { AbtelError, DefinitionError, isAbtelError, loadExperiments, parseDefinitionText, parseExperiments, type ExperimentSet } from '@abtel/core';
import type { EventsMode } from './internal/events.js';

/** The drop-in's configuration, read from the environment. */
export interface RegisterConfig {
  /** `ABTEL_EXPERIMENTS`: a directory of definitions, or an http(s) URL of one definition file. */
  experiments: string | undefined;
  /** `ABTEL_EVENTS`: logs (default) or spans. */
  events: EventsMode;
  /** `ABTEL_CAPTURE_CONTENT`: message content capture; undefined leaves instrumentation-openai's own default (off). */
  captureContent: boolean | undefined;
  /** OTLP/HTTP traces endpoint when no `OTEL_EXPORTER_OTLP_*ENDPOINT` is set. */
  defaultTracesUrl: string | undefined;
  /** OTLP/HTTP logs endpoint when no `OTEL_EXPORTER_OTLP_*ENDPOINT` is set. */
  defaultLogsUrl: string | undefined;
  /** `ABTEL_FLUSH_TIMEOUT_MS`: upper bound on the flush at exit (default 2000). */
  flushTimeoutMs: number;
}

/**
 * Where OTLP goes when no endpoint variable is set: the local collector.
 * @example
 * new OTLPTraceExporter({ url: `${DEFAULT_OTLP_ENDPOINT}/v1/traces` });
 */
export const DEFAULT_OTLP_ENDPOINT = 'http://127.0.0.1:4318';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

// The OTLP exporters take an endpoint they cannot use (not a URL, another scheme) with a diag
// warning and send to their own default instead, or nowhere: the drop-in refuses to start.
const ENDPOINT_VARIABLES = [
  ['OTEL_EXPORTER_OTLP_ENDPOINT', `the collector's OTLP/HTTP base URL, e.g. ${DEFAULT_OTLP_ENDPOINT}, or unset it for that local collector`],
  ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', `the full URL for traces, e.g. ${DEFAULT_OTLP_ENDPOINT}/v1/traces, or unset it to use OTEL_EXPORTER_OTLP_ENDPOINT`],
  ['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', `the full URL for logs, e.g. ${DEFAULT_OTLP_ENDPOINT}/v1/logs, or unset it to use OTEL_EXPORTER_OTLP_ENDPOINT`],
] as const;

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Reads and validates the `ABTEL_*` variables and the OTLP endpoint variables (each, when set,
 * must be an http:// or https:// URL); throws AbtelError `usage` naming the variable, the bad
 * value and the accepted ones.
 * @example
 * const config = readRegisterConfig(process.env);
 */
export function readRegisterConfig(env: NodeJS.ProcessEnv): RegisterConfig {
  const events = (env['ABTEL_EVENTS'] ?? 'logs').trim() || 'logs';
  if (events !== 'logs' && events !== 'spans') {
    throw new AbtelError('usage', `ABTEL_EVENTS must be "logs" or "spans" (got "${events}"); unset it for OpenTelemetry log events`);
  }
  const captureText = env['ABTEL_CAPTURE_CONTENT']?.trim().toLowerCase();
  let captureContent: boolean | undefined;
  if (captureText !== undefined && captureText !== '') {
    if (TRUE.has(captureText)) captureContent = true;
    else if (FALSE.has(captureText)) captureContent = false;
    else throw new AbtelError('usage', `ABTEL_CAPTURE_CONTENT must be true or false (got "${captureText}"); message content is off by default`);
  }
  const flushText = env['ABTEL_FLUSH_TIMEOUT_MS']?.trim();
  const flushTimeoutMs = flushText === undefined || flushText === '' ? 2000 : Number(flushText);
  if (!Number.isInteger(flushTimeoutMs) || flushTimeoutMs < 0) {
    throw new AbtelError('usage', `ABTEL_FLUSH_TIMEOUT_MS must be a non-negative integer of milliseconds (got "${flushText}")`);
  }
  for (const [name, fix] of ENDPOINT_VARIABLES) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '' && !isHttpUrl(value)) {
      throw new AbtelError('usage', `${name} must be an http:// or https:// URL (got "${value}"); set it to ${fix}`);
    }
  }
  const experiments = env['ABTEL_EXPERIMENTS']?.trim() || undefined;
  const anyEndpoint = (name: string): boolean => (env[name]?.trim() ?? '') !== '';
  const base = anyEndpoint('OTEL_EXPORTER_OTLP_ENDPOINT') ? undefined : DEFAULT_OTLP_ENDPOINT;
  return {
    experiments,
    events,
    captureContent,
    defaultTracesUrl: base === undefined || anyEndpoint('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ? undefined : `${base}/v1/traces`,
    defaultLogsUrl: base === undefined || anyEndpoint('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') ? undefined : `${base}/v1/logs`,
    flushTimeoutMs,
  };
}

/**
 * Loads definitions from a directory, or from an http(s) URL serving one YAML or JSON file
 * (a definition, or a list of them). Errors name the source and say how to fix it.
 * @example
 * const experiments = await loadExperimentsFrom('https://config.internal/experiments.yaml');
 */
export async function loadExperimentsFrom(source: string, timeoutMs = 5000): Promise<ExperimentSet> {
  if (!/^https?:\/\//i.test(source)) return loadExperiments(source);
  let text: string;
  try {
    const response = await fetch(source, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    text = await response.text();
  } catch (error) {
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
    const reason = (error as { cause?: { code?: unknown } }).cause?.code;
    throw new AbtelError(
      'io',
      `cannot fetch experiment definitions from ${source}: ${(error as Error).message}${typeof reason === 'string' ? ` (${reason})` : ''}; check the URL or point it at a directory`,
      { cause: error },
    );
  }
  // YAML is a superset of JSON, so one parser serves both unless the path says .json.
  const parsed = parseDefinitionText(new URL(source).pathname, text);
  // Problems name the URL, with the line and column inside the served text.
  if (Array.isArray(parsed)) throw new DefinitionError(parsed.map((problem) => ({ ...problem, file: source })));
  return parseExperiments([{ ...parsed, file: source }]);
}

/**
 * Loads the drop-in's definitions from `ABTEL_EXPERIMENTS` (see {@link loadExperimentsFrom}). Every
 * error is an AbtelError whose message is one line: `ABTEL_EXPERIMENTS=<value>: <problem>; <fix>`,
 * with the loader's own detail (the errno code, every problem in every file) kept.
 * @example
 * const experiments = await loadRegisterExperiments('./experiments'); // as ABTEL_EXPERIMENTS=./experiments
 */
export async function loadRegisterExperiments(source: string): Promise<ExperimentSet> {
  try {
    return await loadExperimentsFrom(source);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    let message: string;
    // The loader's io errors already end with what to do (`…: ENOENT; pass an existing directory…`).
    if (isAbtelError(error, 'io')) message = detail;
    else if (isAbtelError(error, 'invalid_definition')) message = `${detail}; fix the definitions, or point ABTEL_EXPERIMENTS at valid ones`;
    else message = `cannot load experiment definitions: ${detail}; check that the definitions can be read, or point ABTEL_EXPERIMENTS elsewhere`;
    const code = isAbtelError(error, 'invalid_definition') ? 'invalid_definition' : 'io';
    throw new AbtelError(code, `ABTEL_EXPERIMENTS=${source}: ${message}`.replace(/\s*\n\s*/g, ' '), { cause: error });
  }
}
