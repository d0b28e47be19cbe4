import { existsSync, mkdirSync, rmSync, renameSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { AbtelError } from '@abtel/core';
import { compactDirFor, describeFile, expandInputs, type DataFile } from './internal/discover.js';
import { insertLocatedBadLines, isLineTooLong, linesSql, wholeFileLinesSql } from './internal/lines.js';
import { PARQUET_FORMAT, parquetPathFor, upToDateParquet, writeManifestEntry, type ManifestEntry } from './internal/manifest.js';
import { otlpMacrosSql, sqlString } from './internal/sql.js';
import { queryRows } from './internal/convert.js';

/** Result of compacting one file. */
export interface CompactFileResult {
  /** The Parquet written; undefined when the file was skipped (`skipped` says why). */
  parquetPath: string | undefined;
  /** Spans + events written. */
  rows: number;
  spans: number;
  events: number;
  badLines: number;
  skipped?: string;
}

export interface CompactFileOptions {
  signal?: AbortSignal;
  /** Reuse a connection (compactDirectory does); otherwise a private in-memory DuckDB is used. */
  connection?: DuckDBConnection;
  /** DuckDB threads for a private instance (a collector compacting in the background may want 1). */
  threads?: number;
  /** DuckDB memory limit for a private instance, e.g. '600MB' (default; freed memory is returned promptly). */
  memoryLimit?: string;
}

/** DuckDB's memory limit when none is given: the JSON parser's buffers come on top of it, and the process should stay under 1 GB. */
const DEFAULT_MEMORY_LIMIT = '600MB';

interface ColumnType {
  column_name: string;
  column_type: string;
}

/** The columns (name, SQL type) a query would return. */
async function describeColumns(connection: DuckDBConnection, sql: string): Promise<ColumnType[]> {
  return queryRows<ColumnType>(connection, `DESCRIBE ${sql}`);
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbtelError('io', 'compaction interrupted; nothing was left half-written (re-run to continue)');
}

async function withConnection<T>(
  options: { connection?: DuckDBConnection; threads?: number; memoryLimit?: string },
  work: (c: DuckDBConnection) => Promise<T>,
): Promise<T> {
  if (options.connection) return work(options.connection);
  const config: Record<string, string> = { preserve_insertion_order: 'false' };
  if (options.threads) config.threads = String(options.threads);
  config.memory_limit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
  config.allocator_flush_threshold = '32MB';
  config.allocator_background_threads = 'true';
  const instance = await DuckDBInstance.create(':memory:', config);
  const connection = await instance.connect();
  try {
    await connection.run(otlpMacrosSql());
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Flattens one OTLP JSON Lines file (plain or .gz, or one JSON document) into Parquet at
 * `<dir>/.abtel/<name>.parquet`: spans, events (log records and span events) and one row per bad
 * line, so nothing is lost. Written under a temporary name and renamed into place, then recorded in
 * the manifest (path + size + mtime); an interrupted run leaves no partial file behind.
 * @example
 * const { parquetPath, rows, badLines } = await compactFile('data/traces-2026-11-22T10-00-00.000.jsonl');
 */
export async function compactFile(jsonlPath: string, options: CompactFileOptions = {}): Promise<CompactFileResult> {
  aborted(options.signal);
  const file = describeFile(jsonlPath);
  if (file.signal === 'metrics') {
    return { parquetPath: undefined, rows: 0, spans: 0, events: 0, badLines: 0, skipped: 'metrics are not read by the analysis' };
  }
  return withConnection(options, async (connection) => {
    const target = parquetPathFor(file.path);
    mkdirSync(compactDirFor(file.path), { recursive: true });
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    const onAbort = (): void => connection.interrupt();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_compact_lines AS ${linesSql([file])}`);
      if (file.format === 'jsonl' && !file.gzip) {
        // A line longer than the streaming reader's 16 MB limit: read this file whole instead.
        try {
          await connection.run('SELECT count(*) FROM abtel_compact_lines');
        } catch (error) {
          if (!isLineTooLong(error)) throw error;
          await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_compact_lines AS ${wholeFileLinesSql(file)}`);
        }
      }
      const traces = file.signal !== 'logs';
      const logs = file.signal !== 'traces';
      const empty = "(SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, CAST(NULL AS VARCHAR) AS line WHERE false)";
      await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_compact_trace_lines AS ${traces ? 'FROM abtel_compact_lines' : empty}`);
      await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_compact_log_lines AS ${logs ? 'FROM abtel_compact_lines' : empty}`);
      // Log records are few next to spans; they are parsed once into a table because both the
      // event rows and the bad-line markers come from them.
      await connection.run(`CREATE OR REPLACE TEMP TABLE abtel_compact_records AS FROM otlp_log_records('abtel_compact_log_lines')`);
      aborted(options.signal);
      // Spans stream straight from the parser into the Parquet: no intermediate table of a whole
      // file's spans (memory). Span events stay nested in their span (`span_events`); readers
      // flatten them, so they are not stored twice. A UNION with the log-record rows would stop
      // the span stream from running in parallel, so it is only used for files that may hold both.
      // span_event_count lets a reader skip, by row-group statistics, every row group without span events.
      const spanRows = `SELECT CASE WHEN line_status IS NULL THEN 'span' ELSE 'bad' END AS record_type, *,
          CAST(len(span_events) AS INTEGER) AS span_event_count FROM otlp_spans('abtel_compact_trace_lines')`;
      const recordRows = `SELECT 'event' AS record_type, * FROM otlp_event_rows('abtel_compact_records')
          UNION ALL BY NAME SELECT 'bad' AS record_type, source_file, source_line, line_status FROM abtel_compact_records WHERE line_status IS NOT NULL`;
      // Every Parquet has the same columns (a file holding only spans or only events gets the
      // other kind's columns as typed NULLs), so readers never miss a column.
      const spanColumns = await describeColumns(connection, spanRows);
      const recordColumns = await describeColumns(connection, recordRows);
      const padded = (sql: string, own: ColumnType[], other: ColumnType[]): string => {
        const names = new Set(own.map((column) => column.column_name));
        const missing = other.filter((column) => !names.has(column.column_name));
        return `SELECT *${missing.map((column) => `, CAST(NULL AS ${column.column_type}) AS "${column.column_name}"`).join('')} FROM (${sql})`;
      };
      const rows = !logs
        ? padded(spanRows, spanColumns, recordColumns)
        : !traces
          ? padded(recordRows, recordColumns, spanColumns)
          : `${spanRows} UNION ALL BY NAME ${recordRows}`;
      await connection.run(`COPY (${rows}) TO ${sqlString(temp)} (FORMAT parquet, COMPRESSION zstd)`);
      aborted(options.signal);
      const [marked] = await queryRows<{ bad: number; unlocated: number }>(
        connection,
        `SELECT count(*) AS bad, count(*) FILTER (WHERE source_line IS NULL) AS unlocated
         FROM read_parquet(${sqlString(temp)}) WHERE record_type = 'bad'`,
      );
      if ((marked?.bad ?? 0) > 0) {
        // Rare: the fast read marked bad lines without their numbers (and a line of a file read as
        // both signals is marked twice). Number them exactly and rewrite the bad-line records.
        await connection.run('CREATE OR REPLACE TEMP TABLE abtel_compact_bad (source_file VARCHAR, source_line BIGINT, line_status VARCHAR)');
        await connection.run(`INSERT INTO abtel_compact_bad SELECT source_file, source_line, line_status
          FROM read_parquet(${sqlString(temp)}) WHERE record_type = 'bad' AND source_line IS NOT NULL`);
        if ((marked?.unlocated ?? 0) > 0) await insertLocatedBadLines(connection, file, 'abtel_compact_bad');
        const located = `${temp}.located`;
        try {
          await connection.run(`COPY (
              SELECT * FROM read_parquet(${sqlString(temp)}) WHERE record_type <> 'bad'
              UNION ALL BY NAME SELECT DISTINCT 'bad' AS record_type, source_file, source_line, line_status FROM abtel_compact_bad
            ) TO ${sqlString(located)} (FORMAT parquet, COMPRESSION zstd)`);
          renameSync(located, temp);
        } finally {
          if (existsSync(located)) rmSync(located, { force: true });
        }
      }
      aborted(options.signal);
      const [counts] = await queryRows<{ spans: number; events: number; bad: number }>(
        connection,
        `SELECT count(*) FILTER (WHERE record_type = 'span') AS spans,
           count(*) FILTER (WHERE record_type = 'event')
             + coalesce(sum(len(list_filter(span_events, e -> e.name IS NOT NULL))) FILTER (WHERE record_type = 'span'), 0) AS events,
           count(*) FILTER (WHERE record_type = 'bad' AND line_status <> 'metrics') AS bad FROM read_parquet(${sqlString(temp)})`,
      );
      // The source may have changed while we read it (still being written): then do not claim it.
      const after = statSync(file.path);
      if (after.size !== file.size || after.mtimeMs !== file.mtimeMs) {
        throw new AbtelError('io', `${file.path} changed while it was compacted (still being written?); it stays raw until the next run`);
      }
      renameSync(temp, target);
      const entry: ManifestEntry = {
        source: file.path,
        size: file.size,
        mtimeMs: file.mtimeMs,
        parquet: target,
        rows: counts!.spans + counts!.events,
        spans: counts!.spans,
        events: counts!.events,
        badLines: counts!.bad,
        format: PARQUET_FORMAT,
        compactedAt: new Date().toISOString(),
      };
      writeManifestEntry(entry);
      return { parquetPath: target, rows: entry.rows, spans: entry.spans, events: entry.events, badLines: entry.badLines };
    } catch (error) {
      if (options.signal?.aborted) aborted(options.signal);
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      if (existsSync(temp)) rmSync(temp, { force: true });
      await connection.run('DROP TABLE IF EXISTS abtel_compact_records; DROP TABLE IF EXISTS abtel_compact_bad;');
    }
  });
}

/** Progress of compactDirectory: one call per file considered. */
export interface CompactProgress {
  file: string;
  done: number;
  total: number;
  status: 'compacted' | 'up_to_date' | 'skipped_active' | 'skipped_metrics' | 'failed';
}

export interface CompactDirectoryOptions {
  onProgress?: (progress: CompactProgress) => void;
  signal?: AbortSignal;
  /** Files modified more recently than this are considered still open. Default 2000 ms. */
  minAgeMs?: number;
  /** Also compact the live files (`traces.jsonl`, `logs.jsonl`, …). Default false. */
  includeActive?: boolean;
  threads?: number;
  /** DuckDB memory limit, e.g. '600MB'. */
  memoryLimit?: string;
}

export interface CompactDirectoryResult {
  compacted: string[];
  upToDate: string[];
  skipped: { file: string; reason: string }[];
  failed: { file: string; error: string }[];
  rows: number;
  badLines: number;
  seconds: number;
}

/** The name the file exporter writes to before rotating: the currently open file. */
function isActiveName(path: string): boolean {
  return /^(traces|logs|metrics|otlp|telemetry|data)\.(jsonl|json|ndjson)$/i.test(basename(path));
}

/**
 * Incrementally compacts every OTLP file under `dir` (recursively) into Parquet. Remembers what it
 * compacted (path + size + mtime), so a re-run only does new work; safe to interrupt (each file is
 * written under a temporary name and renamed); skips the currently open file (the un-rotated
 * `traces.jsonl`/`logs.jsonl`, or anything modified within `minAgeMs`).
 * @example
 * const result = await compactDirectory('data', { onProgress: (p) => console.log(p.done, '/', p.total, p.file) });
 * console.log(`${result.compacted.length} files, ${result.rows} rows`);
 */
export async function compactDirectory(dir: string, options: CompactDirectoryOptions = {}): Promise<CompactDirectoryResult> {
  const started = performance.now();
  const { files, missing } = expandInputs([dir]);
  if (missing.length > 0) throw new AbtelError('not_found', `no such directory: ${dir}`);
  const result: CompactDirectoryResult = { compacted: [], upToDate: [], skipped: [], failed: [], rows: 0, badLines: 0, seconds: 0 };
  const candidates = files.filter((path) => !path.toLowerCase().endsWith('.parquet'));
  const minAge = options.minAgeMs ?? 2000;
  await withConnection(options, async (connection) => {
    for (const [index, path] of candidates.entries()) {
      aborted(options.signal);
      const report = (status: CompactProgress['status']): void =>
        options.onProgress?.({ file: path, done: index + 1, total: candidates.length, status });
      let file: DataFile;
      try {
        file = describeFile(path);
      } catch (error) {
        result.failed.push({ file: path, error: error instanceof Error ? error.message : String(error) });
        report('failed');
        continue;
      }
      if (file.signal === 'metrics') {
        result.skipped.push({ file: path, reason: 'metrics are not read by the analysis' });
        report('skipped_metrics');
        continue;
      }
      if (!options.includeActive && (isActiveName(path) || Date.now() - file.mtimeMs < minAge)) {
        result.skipped.push({ file: path, reason: 'still being written (the live file)' });
        report('skipped_active');
        continue;
      }
      if (upToDateParquet(file)) {
        result.upToDate.push(path);
        report('up_to_date');
        continue;
      }
      try {
        const compacted = await compactFile(path, { connection, signal: options.signal });
        result.compacted.push(path);
        result.rows += compacted.rows;
        result.badLines += compacted.badLines;
        report('compacted');
      } catch (error) {
        if (options.signal?.aborted) throw error;
        result.failed.push({ file: path, error: error instanceof Error ? error.message : String(error) });
        report('failed');
      }
    }
  });
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
