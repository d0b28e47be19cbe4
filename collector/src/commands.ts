/**
 * `abtel collector`: runs the OTLP/HTTP collector until SIGINT/SIGTERM.
 */
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AbtelError, isAbtelError, numberFlag, parseFlags, UsageError, type Command, type CommandIo } from '@abtel/core/cli';
import { startCollector } from './internal/collector.js';
import { makeDirectory } from '@abtel/core';
import { checkSetting, coerce, resolveConfig, setPath } from './internal/config.js';

const HELP = `abtel collector — OTLP/HTTP receiver that writes OpenTelemetry Collector-compatible files

Usage: abtel collector [--host 127.0.0.1] [--port 4318] [--dir ./data] [--config collector.yaml] [flags]

Receives POST /v1/traces, /v1/logs and /v1/metrics (protobuf or JSON, optionally gzip) and appends
one TracesData/LogsData/MetricsData JSON object per line to traces.jsonl, logs.jsonl, metrics.jsonl,
rotating them to <signal>-<UTC timestamp>.jsonl like the Collector's file exporter.
Prints "abtel collector listening on http://HOST:PORT" once ready (--port 0 picks a free port).

Flags (override ABTEL_COLLECTOR_* environment variables, which override the YAML file):
  --host <addr>            interface to bind (default 127.0.0.1)
  --port <n>               TCP port, 0 for any free port (default 4318)
  --dir <path>             data directory (default ./data)
  --config <file>          YAML file with any setting (see collector/README.md)
  --max-body-bytes <size>  largest body, also after gzip decompression (default 16MiB)
  --rotate-max-bytes <size> rotate the open file before it exceeds this (default 64MiB, 0 = never)
  --rotate-max-age <dur>   rotate a non-empty file after this long (default 1h, 0 = never)
  --gzip                   gzip rotated files
  --layout <flat|date>     rotated files beside the open one, or under YYYY-MM-DD/ (UTC)
  --fsync <none|always|interval>  when to fdatasync (default none: acknowledged = written to the OS)
  --shutdown-timeout <dur> on SIGINT/SIGTERM, close connections still busy after this (default 10s)
  --compaction             flatten each rotated file into Parquet beside it, in the background
  --progress / --quiet     force the ingest-rate line on / off (default: on when stderr is a terminal)
The bearer token is read from ABTEL_COLLECTOR_TOKEN or the YAML file (never a flag, so it stays out of ps).

Example:
  abtel collector --port 4318 --dir ./data --rotate-max-bytes 64MiB --gzip
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node --import @abtel/node/register app.js
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  dir: { type: 'string' },
  config: { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'rotate-max-bytes': { type: 'string' },
  'rotate-max-age': { type: 'string' },
  gzip: { type: 'boolean' },
  layout: { type: 'string' },
  fsync: { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  compaction: { type: 'boolean' },
  progress: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!signal) return;
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * Fails start-up when the data directory cannot be created or written, instead of listening and
 * answering every request 503. Later failures (a disk that fills up) stay the writers' concern.
 */
async function checkDataDirectory(dir: string): Promise<void> {
  const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
  try {
    await makeDirectory(dir);
  } catch (error) {
    throw new AbtelError('io', `--dir ${dir}: cannot create the data directory (${describe(error)})`, { cause: error });
  }
  const probe = join(dir, `.abtel-collector-probe-${process.pid}`);
  try {
    const handle = await open(probe, 'w');
    await handle.close();
    await unlink(probe);
  } catch (error) {
    throw new AbtelError('io', `--dir ${dir}: cannot write in the data directory (${describe(error)})`, { cause: error });
  }
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags('collector', argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`abtel collector: unexpected argument "${positionals[0]}" (use --dir for the data directory; see abtel collector --help)`);
  const flags: Record<string, unknown> = {};
  if (values.host !== undefined) flags.host = values.host;
  const port = numberFlag('collector', 'port', values.port, { min: 0, max: 65535, integer: true });
  if (port !== undefined) flags.port = port;
  if (values.dir !== undefined) flags.dir = values.dir;
  // Each value is checked on its own, so a bad one is a usage error naming its flag.
  const setting = (flag: keyof typeof FLAGS, path: string, type: 'string' | 'size' | 'duration') => {
    const raw = values[flag];
    if (typeof raw !== 'string') return;
    const value = coerce(raw, type, `abtel collector: --${flag}`);
    checkSetting(path, value, `abtel collector: --${flag}`);
    setPath(flags, path, value);
  };
  setting('max-body-bytes', 'maxBodyBytes', 'size');
  setting('rotate-max-bytes', 'rotation.maxBytes', 'size');
  setting('rotate-max-age', 'rotation.maxAge', 'duration');
  if (values.gzip) setPath(flags, 'rotation.gzip', true);
  setting('layout', 'layout', 'string');
  setting('fsync', 'fsync', 'string');
  setting('shutdown-timeout', 'shutdownTimeout', 'duration');
  if (values.compaction) flags.compaction = true;
  if (values.progress) flags.progress = true;
  if (values.quiet) flags.progress = false;

  let config;
  try {
    config = await resolveConfig({ flags, env: io.env, cwd: io.cwd, ...(values.config !== undefined ? { configPath: values.config } : {}) });
  } catch (error) {
    // A bad ABTEL_COLLECTOR_* value: the message names the variable; say which command read it.
    if (isAbtelError(error, 'usage')) throw new UsageError(`abtel collector: ${error.message}`, { cause: error });
    throw error;
  }
  await checkDataDirectory(config.dir);
  const collector = await startCollector({
    ...config,
    log: (message) => io.stderr.write(`abtel collector: ${message}\n`),
    progressStream: io.stderr,
    ...(config.progress === undefined ? { progress: Boolean(io.stderr.isTTY) } : {}),
  });
  io.stdout.write(`abtel collector listening on ${collector.url}\n`);
  io.stderr.write(`abtel collector: writing to ${collector.dir}${config.token ? ' (bearer token required)' : ''}\n`);
  await untilAborted(io.signal);
  io.stderr.write('abtel collector: shutting down (finishing in-flight requests)\n');
  await collector.close();
  const stats = collector.stats();
  io.stderr.write(
    `abtel collector: stopped; accepted ${stats.signals.traces.itemsAccepted} spans, ${stats.signals.logs.itemsAccepted} log records, ${stats.signals.metrics.itemsAccepted} data points\n`,
  );
  return 0;
}

/**
 * The `abtel collector` command.
 * @example
 * const code = await collectorCommand.run(['--port', '0', '--dir', './data'], { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal });
 */
export const collectorCommand: Command = {
  name: 'collector',
  summary: 'Run the OTLP/HTTP collector that writes Collector-compatible JSON Lines files',
  help: HELP,
  run,
};
