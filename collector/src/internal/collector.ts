/**
 * Wires the receiver, the three signal writers, background work on rotated files (compaction to
 * Parquet, gzip), the collector's own metrics and the progress line.
 */
import { resolve } from 'node:path';
import { makeDirectory } from '@abtel/core';
import { parseConfig, type CollectorConfig, type CollectorConfigInput } from './config.js';
import { DirectoryLock } from './dir-lock.js';
import { Receiver } from './server.js';
import type { CollectorStats } from './stats.js';
import { gzipFile, recoverInterruptedGzip, SignalWriter, type Signal } from './writer.js';

export interface CollectorOptions extends CollectorConfigInput {
  /** Where log lines go (default: stderr, prefixed `abtel collector:`). */
  readonly log?: (message: string) => void;
  /** Where the progress line goes when `progress` is on (default: stderr). */
  readonly progressStream?: NodeJS.WritableStream;
  /** How often the progress line is printed (default 5 s). */
  readonly progressIntervalMs?: number;
}

export interface RunningCollector {
  /** `http://host:port`, the OTLP/HTTP base URL (exporters append `/v1/traces` etc.). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Absolute data directory. */
  readonly dir: string;
  readonly config: CollectorConfig;
  /** Counters, as served at `/metrics.json`. */
  stats(): CollectorStats;
  /** Rotates every non-empty open file now (for tests and operators). */
  rotate(): Promise<void>;
  /** Resolves when the background queue (compaction, gzip) is empty. */
  idle(): Promise<void>;
  /** Stops accepting, finishes in-flight requests, closes the files. */
  close(): Promise<void>;
}

type CompactFile = (
  jsonlPath: string,
  options?: { signal?: AbortSignal; threads?: number },
) => Promise<{ parquetPath: string | undefined; rows: number; badLines: number; removed?: string }>;

/** Runs background tasks one at a time, off the request path; a failure is logged and counted. */
class BackgroundQueue {
  private tail: Promise<void> = Promise.resolve();
  queued = 0;

  push(task: () => Promise<void>, onError: (error: unknown) => void): void {
    this.queued += 1;
    this.tail = this.tail
      .then(task)
      .catch(onError)
      .finally(() => {
        this.queued -= 1;
      });
  }

  idle(): Promise<void> {
    return this.tail;
  }
}

async function loadCompactFile(): Promise<CompactFile | undefined> {
  const files = (await import('@abtel/files')) as unknown as { compactFile?: CompactFile };
  return typeof files.compactFile === 'function' ? files.compactFile : undefined;
}

function formatRate(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : value >= 1e3 ? `${(value / 1e3).toFixed(1)}k` : value.toFixed(0);
}

/**
 * Starts the OTLP/HTTP collector in this process.
 * @throws DirectoryLockedError when another running collector holds the data directory (its lock
 * file `.abtel-collector.lock` is fresh); the message names it and how to fix that.
 * @example
 * const collector = await startCollector({ port: 0, dir: './data' });
 * console.log(`send OTLP to ${collector.url}`);
 * await collector.close();
 */
export async function startCollector(options: CollectorOptions = {}): Promise<RunningCollector> {
  const { log: logOption, progressStream, progressIntervalMs = 5000, ...input } = options;
  const config = parseConfig(input, 'startCollector options');
  const dir = resolve(config.dir);
  const log = logOption ?? ((message: string) => process.stderr.write(`abtel collector: ${message}\n`));
  const background = new BackgroundQueue();
  const aborter = new AbortController();
  let leftForCompact = 0;
  let leftForGzip = 0;
  let compactFile: Promise<CompactFile | undefined> | undefined;
  let receiver: Receiver | undefined;

  /** Background work on one rotated file: gzip (when configured, or to finish an interrupted one), then compaction. */
  const processRotated = (rotated: string, gzip: boolean) => {
    const counters = receiver!.counters.background;
    if (!gzip && !config.compaction) return;
    background.push(
      async () => {
        let path = rotated;
        // A queue of gzips could outlast a service manager's stop timeout: the next start compresses
        // what is left (recoverInterruptedGzip), so a shutdown does not wait for them.
        if (aborter.signal.aborted) {
          if (gzip) leftForGzip += 1;
          else if (config.compaction) leftForCompact += 1;
          return;
        }
        if (gzip) {
          try {
            path = await gzipFile(rotated);
            counters.gzipped += 1;
          } catch (error) {
            counters.gzipFailed += 1;
            log(`gzip of ${rotated} failed (the file is kept uncompressed): ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        // Metrics are not read by the analysis; only traces and logs are flattened.
        if (!config.compaction || /(^|\/)metrics-[^/]*$/.test(path)) return;
        try {
          compactFile ??= loadCompactFile();
          const compact = await compactFile;
          if (!compact) throw new Error('this build of @abtel/files has no compactFile');
          // One DuckDB thread: compaction must not starve the request path of CPU.
          const result = await compact(path, { signal: aborter.signal, threads: 1 });
          counters.compacted += 1;
          counters.compactedRows += result.rows;
          if (result.badLines > 0) log(`compacted ${path}: ${result.badLines} bad lines kept as bad-line rows`);
          // Files in the data directory do not disappear without a word.
          if (result.removed !== undefined) log(`compacted ${path}; removed ${result.removed}, the Parquet of the same file before it was compressed`);
        } catch (error) {
          // Stopped by the shutdown: not a failure, and one line for all of them in close().
          if (aborter.signal.aborted) {
            leftForCompact += 1;
            return;
          }
          counters.compactionFailed += 1;
          log(`compaction of ${path} failed (the JSON file is kept; \`abtel compact\` can retry): ${error instanceof Error ? error.message : String(error)}`);
        }
      },
      (error) => log(`background work on ${rotated} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  const onRotated = (rotated: string) => processRotated(rotated, config.rotation.gzip);
  // Before anything touches the directory: a second collector in it would append to the same
  // files, rename files this one writes into, and its recovery below would remove our gzip
  // temporaries. Throws DirectoryLockedError when a live collector holds it. The directory is
  // created first as the writers would (a failure is theirs to report, with 503s); the lock
  // then logs that it is not held and keeps trying on its heartbeat.
  await makeDirectory(dir).catch(() => undefined);
  const lock = await DirectoryLock.acquire(dir, { log });
  // A gzip cut short by a crash leaves the plain file beside a partial .gz or temporary: finish it
  // before readers count the data twice (also when gzip is now off: the plain file is complete).
  // With gzip on, rotated files still waiting for it when the process died are queued again.
  const interrupted = await recoverInterruptedGzip(dir, log, config.rotation.gzip);

  const makeWriter = (signal: Signal) =>
    new SignalWriter({
      dir,
      signal,
      maxBytes: config.rotation.maxBytes,
      maxAgeMs: config.rotation.maxAge,
      layout: config.layout,
      fsync: config.fsync,
      fsyncIntervalMs: config.fsyncInterval,
      onRotated,
      log,
    });
  const writers: Record<Signal, SignalWriter> = { traces: makeWriter('traces'), logs: makeWriter('logs'), metrics: makeWriter('metrics') };
  for (const writer of Object.values(writers)) {
    // A directory that cannot be written yet is not fatal: requests get 503 until it works.
    await writer.open().catch((error: unknown) => {
      writer.healthy = false;
      writer.lastError = `cannot open ${writer.activePath}: ${error instanceof Error ? error.message : String(error)}`;
      log(`${writer.lastError}; answering 503 until it works`);
    });
  }

  receiver = new Receiver({
    maxBodyBytes: config.maxBodyBytes,
    maxInflightBytes: config.maxInflightBytes,
    token: config.token,
    writers,
    log,
    backgroundQueued: () => background.queued,
  });
  let address;
  try {
    address = await receiver.listen(config.host, config.port);
  } catch (error) {
    await Promise.all(Object.values(writers).map((writer) => writer.close()));
    await lock.release();
    throw error;
  }
  for (const path of interrupted) processRotated(path, true);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  await lock.setUrl(url);
  const timers: NodeJS.Timeout[] = [];

  if (config.selfMetrics) {
    const { interval, endpoint } = config.selfMetrics;
    const timer = setInterval(() => {
      const line = Buffer.from(`${JSON.stringify(selfMetricsData(receiver!.stats()))}\n`);
      const sent = endpoint
        ? fetch(`${endpoint.replace(/\/$/, '')}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: line }).then((response) => {
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
          })
        : writers.metrics.append(line);
      sent.catch((error: unknown) => log(`exporting own metrics failed: ${error instanceof Error ? error.message : String(error)}`));
    }, interval);
    timer.unref();
    timers.push(timer);
  }

  const stream = progressStream ?? process.stderr;
  if (config.progress ?? Boolean((stream as { isTTY?: boolean }).isTTY)) {
    let previous = receiver.stats();
    let previousAt = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      const current = receiver!.stats();
      const seconds = (now - previousAt) / 1000;
      const rate = (signal: Signal) => (current.signals[signal].itemsAccepted - previous.signals[signal].itemsAccepted) / seconds;
      // A partial success (some items invalid, the rest written, answered 200) is not a refused request.
      const { invalid_item: partial, ...refusedByReason } = current.requests.rejected;
      const refused = Object.values(refusedByReason).reduce((total, value) => total + value, 0);
      stream.write(
        `abtel collector: ${formatRate(rate('traces'))} spans/s, ${formatRate(rate('logs'))} logs/s, ${formatRate(rate('metrics'))} points/s · ` +
          `${(current.bytesWritten / 1e6).toFixed(1)} MB written · ${current.filesRotated} rotated · ${refused} refused requests` +
          `${partial > 0 ? ` · ${partial} with invalid items dropped` : ''}\n`,
      );
      previous = current;
      previousAt = now;
    }, progressIntervalMs);
    timer.unref();
    timers.push(timer);
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    host: address.address,
    dir,
    config: { ...config, dir },
    stats: () => receiver!.stats(),
    rotate: async () => {
      await Promise.all(Object.values(writers).map((writer) => writer.rotateNow()));
    },
    idle: () => background.idle(),
    close: () => {
      closing ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        await receiver!.shutdown(config.shutdownTimeout);
        await Promise.all(Object.values(writers).map((writer) => writer.close()));
        // Work on rotated files is resumable by `abtel compact`; stop a long compaction.
        aborter.abort(new Error('collector is shutting down'));
        await background.idle();
        if (leftForGzip > 0) log(`${leftForGzip} rotated file(s) were not compressed before the shutdown; the next start compresses them`);
        if (leftForCompact > 0) {
          log(`${leftForCompact} rotated file(s) were not compacted before the shutdown; \`abtel compact ${dir}\` compacts what is missing`);
        }
        // Last: the background work above still wrote into the directory.
        await lock.release();
      })();
      return closing;
    },
  };
}

/**
 * The collector's counters as an OTLP `MetricsData` object (cumulative monotonic sums).
 * @example
 * const line = JSON.stringify(selfMetricsData(collector.stats()));
 */
export function selfMetricsData(stats: CollectorStats): Record<string, unknown> {
  const now = `${BigInt(Date.now()) * 1_000_000n}`;
  const start = `${BigInt(Date.parse(stats.startedAt)) * 1_000_000n}`;
  const point = (value: number, attributes: Record<string, string> = {}) => ({
    attributes: Object.entries(attributes).map(([key, text]) => ({ key, value: { stringValue: text } })),
    startTimeUnixNano: start,
    timeUnixNano: now,
    asInt: String(value),
  });
  const sum = (name: string, unit: string, description: string, dataPoints: unknown[]) => ({
    name,
    unit,
    description,
    sum: { dataPoints, aggregationTemporality: 2, isMonotonic: true },
  });
  const signals = Object.entries(stats.signals) as [Signal, CollectorStats['signals'][Signal]][];
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'abtel-collector' } }] },
        scopeMetrics: [
          {
            scope: { name: '@abtel/collector' },
            metrics: [
              sum('abtel.collector.requests', '{request}', 'OTLP export requests by outcome', [
                point(stats.requests.accepted, { outcome: 'accepted' }),
                ...Object.entries(stats.requests.rejected).map(([reason, value]) => point(value, { outcome: 'rejected', reason })),
              ]),
              sum(
                'abtel.collector.items',
                '{item}',
                'Spans, log records and data points by signal and outcome',
                signals.flatMap(([signal, counters]) => [
                  point(counters.itemsReceived, { signal, outcome: 'received' }),
                  point(counters.itemsAccepted, { signal, outcome: 'accepted' }),
                  point(counters.itemsRejected, { signal, outcome: 'rejected' }),
                ]),
              ),
              sum('abtel.collector.bytes_written', 'By', 'Bytes appended to signal files', [point(stats.bytesWritten)]),
              sum('abtel.collector.files_rotated', '{file}', 'Files closed by rotation', [point(stats.filesRotated)]),
            ],
          },
        ],
      },
    ],
  };
}
