import { AbtelError, DefinitionError, isAbtelError, loadExperiments, parseDefinitionText, parseExperiments, type ExperimentSet } from '@abtel/core';
import { fileURLToPath } from 'node:url';
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
  /** Where traces go, by the exporters' own rules (signal variable, else base variable + `/v1/traces`, else the default): for messages. */
  tracesDestination: string;
  /** Where log records go, by the same rules: for messages. */
  logsDestination: string;
  /** `ABTEL_FLUSH_TIMEOUT_MS`: upper bound on the flush at exit (default 2000). */
  flushTimeoutMs: number;
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: how traces are sent (default http/json). */
  tracesProtocol: OtlpProtocol;
  /** `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: how log records are sent (default http/json). */
  logsProtocol: OtlpProtocol;
}

/** The OTLP protocols the drop-in sends (both over HTTP; the exporters for grpc are not set up). */
export type OtlpProtocol = 'http/json' | 'http/protobuf';

// setTimeout's largest delay: above it, Node fires the timer after 1 ms (with a warning), so the
// flush at exit would end before it began.
const MAX_FLUSH_TIMEOUT_MS = 2 ** 31 - 1;

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
    else {
      throw new AbtelError(
        'usage',
        `ABTEL_CAPTURE_CONTENT must be true or false (or 1/0, yes/no, on/off; got "${captureText}"); unset it to leave message content off`,
      );
    }
  }
  const flushText = env['ABTEL_FLUSH_TIMEOUT_MS']?.trim();
  const flushTimeoutMs = flushText === undefined || flushText === '' ? 2000 : Number(flushText);
  if (!Number.isInteger(flushTimeoutMs) || flushTimeoutMs < 0 || flushTimeoutMs > MAX_FLUSH_TIMEOUT_MS) {
    throw new AbtelError(
      'usage',
      `ABTEL_FLUSH_TIMEOUT_MS must be a whole number of milliseconds from 0 to ${MAX_FLUSH_TIMEOUT_MS} (got "${flushText}"); ` +
        'unset it for 2000 (0 exits without waiting for telemetry still queued)',
    );
  }
  const tracesProtocol = protocolOf(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
  const logsProtocol = protocolOf(env, 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL');
  for (const [name, fix] of ENDPOINT_VARIABLES) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '' && !isHttpUrl(value)) {
      throw new AbtelError('usage', `${name} must be an http:// or https:// URL (got "${value}"); set it to ${fix}`);
    }
  }
  const experiments = env['ABTEL_EXPERIMENTS']?.trim() || undefined;
  const endpoint = (name: string): string | undefined => env[name]?.trim() || undefined;
  const baseVariable = endpoint('OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracesVariable = endpoint('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const logsVariable = endpoint('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
  const base = (baseVariable ?? DEFAULT_OTLP_ENDPOINT).replace(/\/+$/, '');
  const tracesDestination = tracesVariable ?? `${base}/v1/traces`;
  const logsDestination = logsVariable ?? `${base}/v1/logs`;
  // Without any endpoint variable for a signal the exporter would send to its own default; the
  // drop-in passes the local collector's URL instead (the same port, spelled for 127.0.0.1).
  const noVariable = (signalVariable: string | undefined): boolean => baseVariable === undefined && signalVariable === undefined;
  return {
    experiments,
    events,
    captureContent,
    defaultTracesUrl: noVariable(tracesVariable) ? tracesDestination : undefined,
    defaultLogsUrl: noVariable(logsVariable) ? logsDestination : undefined,
    tracesDestination,
    logsDestination,
    flushTimeoutMs,
    tracesProtocol,
    logsProtocol,
  };
}

/**
 * The protocol of one signal: its own variable, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else http/json
 * (the drop-in's default, which every OTLP/HTTP receiver accepts). grpc is refused rather than
 * ignored: the exporters would send OTLP/HTTP to a gRPC port and every export would fail.
 */
function protocolOf(env: NodeJS.ProcessEnv, signalVariable: string): OtlpProtocol {
  for (const name of [signalVariable, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = env[name]?.trim();
    if (value === undefined || value === '') continue;
    if (value === 'http/json' || value === 'http/protobuf') return value;
    if (value === 'grpc') {
      throw new AbtelError(
        'usage',
        `${name}=grpc is not supported by the drop-in, which sends OTLP over HTTP; set it to http/protobuf or http/json ` +
          `and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's OTLP/HTTP port (usually 4318), or unset it`,
      );
    }
    throw new AbtelError('usage', `${name} must be http/protobuf or http/json (got "${value}"); unset it for http/json`);
  }
  return 'http/json';
}

/**
 * Loads definitions from a directory, or from an http(s) URL serving one YAML or JSON file
 * (a definition, or a list of them). Errors name the source and say how to fix it.
 * @example
 * const experiments = await loadExperimentsFrom('https://config.internal/experiments.yaml');
 */
export async function loadExperimentsFrom(source: string, timeoutMs = 5000): Promise<ExperimentSet> {
  // A file: URL names a directory like a path does; any other scheme would be read as a relative
  // directory named "ftp:" and fail with a misleading ENOENT.
  if (/^file:\/\//i.test(source)) return loadExperiments(fileURLToPath(source));
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(source)?.[1];
  if (scheme !== undefined && !/^https?:$/i.test(scheme)) {
    throw new AbtelError('usage', `unsupported URL scheme "${scheme}" in ${source}; use an http(s) URL of one definition file, or a directory of definitions`);
  }
  if (scheme === undefined) return loadExperiments(source);
  let text: string;
  try {
    const response = await fetch(source, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    text = await response.text();
  } catch (error) {
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, "bad port"…) is in its cause.
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : cause?.message;
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
    if (isAbtelError(error, 'io') || isAbtelError(error, 'usage')) message = detail;
    else if (isAbtelError(error, 'invalid_definition')) message = `${detail}; fix the definitions, or point ABTEL_EXPERIMENTS at valid ones`;
    else message = `cannot load experiment definitions: ${detail}; check that the definitions can be read, or point ABTEL_EXPERIMENTS elsewhere`;
    const code = isAbtelError(error, 'invalid_definition') ? 'invalid_definition' : isAbtelError(error, 'usage') ? 'usage' : 'io';
    throw new AbtelError(code, `ABTEL_EXPERIMENTS=${source}: ${message}`.replace(/\s*\n\s*/g, ' '), { cause: error });
  }
}
