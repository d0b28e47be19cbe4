import type { DuckDBConnection } from '@duckdb/node-api';
import { AbtelError } from '@abtel/core';
import { describeFile, expandInputs, type DataFile } from './internal/discover.js';
import { insertLocatedBadLines, isLineTooLong, linesSql, wholeFileLinesSql } from './internal/lines.js';
import { upToDateParquet } from './internal/manifest.js';
import { otlpMacrosSql, sqlString, sqlStringList } from './internal/sql.js';
import { queryRows } from './internal/convert.js';

/** A line that could not be read, with where it is and why. */
export interface BadLine {
  file: string;
  line: number;
  reason: string;
}

/** Lines or files deliberately not read (e.g. metrics), with why. */
export interface SkippedData {
  file: string;
  lines: number;
  reason: string;
}

/** Progress of a long read: `phase` names the step, `done`/`total` count within it. */
export interface ReadProgress {
  phase: string;
  done: number;
  total: number;
}

export interface AttachOptions {
  /** Files, directories (recursive) or globs of OTLP JSON Lines (plain or .gz), JSON documents, or compacted Parquet. */
  inputs: readonly string[];
  onProgress?: (progress: ReadProgress) => void;
  /** At most this many bad lines are listed (all are counted). Default 1000. */
  maxBadLinesListed?: number;
}

/** What was attached. */
export interface AttachResult {
  badLines: BadLine[];
  badLineCount: number;
  skipped: SkippedData[];
  files: { raw: number; parquet: number };
  rawFiles: DataFile[];
  parquetFiles: string[];
}

const REASONS: Record<string, string> = {
  invalid: 'not valid JSON (a torn or truncated write?); the line was skipped',
  not_otlp: 'valid JSON but not an OTLP TracesData or LogsData object; the line was skipped',
};
const METRICS_REASON = 'OTLP metrics (resourceMetrics) are not read by the analysis';

/** Polls DuckDB's query progress while `work` runs and reports it as a percentage. */
async function withProgress<T>(
  connection: DuckDBConnection,
  phase: string,
  onProgress: AttachOptions['onProgress'],
  work: Promise<T>,
): Promise<T> {
  if (!onProgress) return work;
  const timer = setInterval(() => {
    const { percentage } = connection.progress;
    if (percentage >= 0) onProgress({ phase, done: Math.round(percentage), total: 100 });
  }, 250);
  try {
    const result = await work;
    onProgress({ phase, done: 100, total: 100 });
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** Creates `table` from `select(view)` over the lines of each file in turn (an empty table when there are none). */
async function readPerFile(
  connection: DuckDBConnection,
  files: readonly DataFile[],
  table: string,
  select: (view: string) => string,
  phase: string,
  onProgress: AttachOptions['onProgress'],
): Promise<void> {
  const view = `${table}_lines`;
  await connection.run(`CREATE OR REPLACE TEMP VIEW ${view} AS ${linesSql([])}`);
  await connection.run(`CREATE OR REPLACE TABLE ${table} AS ${select(view)} LIMIT 0`);
  for (const [index, file] of files.entries()) {
    onProgress?.({ phase, done: index, total: files.length });
    await connection.run(`CREATE OR REPLACE TEMP VIEW ${view} AS ${linesSql([file])}`);
    try {
      await connection.run(`INSERT INTO ${table} ${select(view)}`);
    } catch (error) {
      // A line longer than the streaming reader's 16 MB limit: read this file whole instead.
      if (!isLineTooLong(error) || file.gzip || file.format !== 'jsonl') throw error;
      await connection.run(`CREATE OR REPLACE TEMP VIEW ${view} AS ${wholeFileLinesSql(file)}`);
      await connection.run(`INSERT INTO ${table} ${select(view)}`);
    }
  }
  onProgress?.({ phase, done: files.length, total: files.length });
}

/**
 * Reads OTLP data into a DuckDB connection and defines the base relations the analysis views
 * build on: `otlp_spans_all` (one row per span), `otlp_events_all` (events from log records and
 * span events) and `otlp_bad_lines`. Compacted files are read from their Parquet; files not yet
 * compacted are parsed once into temporary tables.
 * @example
 * const connection = await (await DuckDBInstance.create(':memory:')).connect();
 * const attached = await attachOtlp(connection, { inputs: ['./data'] });
 * console.log(attached.badLineCount, attached.files);
 */
export async function attachOtlp(connection: DuckDBConnection, options: AttachOptions): Promise<AttachResult> {
  const { files: paths, missing } = expandInputs(options.inputs);
  if (missing.length > 0) {
    throw new AbtelError('not_found', `no such file, directory or matching glob: ${missing.join(', ')} (check the --data path)`);
  }
  await connection.run(otlpMacrosSql());

  const raw: DataFile[] = [];
  const parquet: string[] = [];
  const skipped: SkippedData[] = [];
  paths.forEach((path, index) => {
    options.onProgress?.({ phase: 'discover', done: index, total: paths.length });
    if (path.toLowerCase().endsWith('.parquet')) {
      parquet.push(path);
      return;
    }
    const file = describeFile(path);
    if (file.signal === 'metrics') {
      skipped.push({ file: path, lines: 0, reason: METRICS_REASON });
      return;
    }
    const compacted = upToDateParquet(file);
    if (compacted) parquet.push(compacted.parquet);
    else raw.push(file);
  });

  const traceFiles = raw.filter((file) => file.signal !== 'logs');
  const logFiles = raw.filter((file) => file.signal !== 'traces');
  // One file at a time: the transient memory of parsing stays that of one file, while the
  // accumulated rows may spill to disk under a memory limit; DuckDB still splits each file
  // across threads.
  await readPerFile(connection, traceFiles, 'abtel_raw_spans', (view) => `FROM otlp_spans('${view}')`, 'read traces', options.onProgress);
  await readPerFile(
    connection,
    logFiles,
    'abtel_raw_log_records',
    (view) => `FROM otlp_log_records('${view}') WHERE line_status IS NOT NULL OR event_name IS NOT NULL`,
    'read logs',
    options.onProgress,
  );
  await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_raw_span_event_records AS FROM otlp_span_event_records('abtel_raw_spans')`);
  await connection.run(`CREATE OR REPLACE TABLE abtel_raw_events AS
    FROM otlp_event_rows('abtel_raw_log_records') UNION ALL BY NAME FROM otlp_event_rows('abtel_raw_span_event_records')`);

  const spanColumns = (await queryRows<{ column_name: string }>(connection, 'DESCRIBE abtel_raw_spans'))
    .map((row) => row.column_name)
    .filter((name) => name !== 'line_status');
  const eventColumns = (await queryRows<{ column_name: string }>(connection, 'DESCRIBE abtel_raw_events')).map((row) => row.column_name);
  const list = (columns: string[]): string => columns.map((name) => `"${name}"`).join(', ');

  if (parquet.length > 0) {
    await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_parquet AS FROM read_parquet(${sqlStringList(parquet)}, union_by_name = true)`);
    // Compacted span events stay nested in their span: flattened once into the events table below;
    // span_event_count lets the scan skip whole row groups of spans without events.
    await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_parquet_spans_with_events AS
      SELECT * FROM abtel_parquet WHERE record_type = 'span' AND span_event_count > 0`);
    await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_parquet_span_event_records AS FROM otlp_span_event_records('abtel_parquet_spans_with_events')`);
    await connection.run(`CREATE OR REPLACE TEMP VIEW abtel_parquet_span_events AS FROM otlp_event_rows('abtel_parquet_span_event_records')`);
  }
  const fromParquet = (recordType: string, columns: string): string =>
    parquet.length > 0 ? `UNION ALL BY NAME SELECT ${columns} FROM abtel_parquet WHERE record_type = ${sqlString(recordType)}` : '';
  await connection.run(`CREATE OR REPLACE TEMP VIEW otlp_spans_all AS
    SELECT ${list(spanColumns)} FROM abtel_raw_spans WHERE line_status IS NULL ${fromParquet('span', list(spanColumns))}`);
  // Compacted events (log records and span events) are few next to spans, and every analysis query
  // reads them (exposures, outcomes, evaluations): one temporary table (memory, not the database
  // file) instead of a Parquet scan per query.
  const parquetEvents =
    parquet.length > 0
      ? `SELECT ${list(eventColumns)} FROM abtel_parquet WHERE record_type = 'event'
         UNION ALL BY NAME SELECT ${list(eventColumns)} FROM abtel_parquet_span_events`
      : `SELECT ${list(eventColumns)} FROM abtel_raw_events LIMIT 0`;
  await connection.run(`CREATE OR REPLACE TEMP TABLE abtel_parquet_events AS ${parquetEvents}`);
  await connection.run(`CREATE OR REPLACE TEMP VIEW otlp_events_all AS
    SELECT ${list(eventColumns)} FROM abtel_raw_events UNION ALL BY NAME SELECT ${list(eventColumns)} FROM abtel_parquet_events`);
  // The fast read marks bad lines without their numbers; number them exactly, file by file.
  await connection.run('CREATE OR REPLACE TABLE abtel_located_bad_lines (source_file VARCHAR, source_line BIGINT, line_status VARCHAR)');
  const markers = `SELECT source_file, source_line, line_status FROM abtel_raw_spans WHERE line_status IS NOT NULL
      UNION ALL SELECT source_file, source_line, line_status FROM abtel_raw_log_records WHERE line_status IS NOT NULL`;
  const unlocated = await queryRows<{ source_file: string }>(
    connection,
    `SELECT DISTINCT source_file FROM (${markers}) WHERE source_line IS NULL ORDER BY 1`,
  );
  for (const { source_file: path } of unlocated) {
    const file = raw.find((candidate) => candidate.path === path);
    if (file) await insertLocatedBadLines(connection, file, 'abtel_located_bad_lines');
  }
  await connection.run(`CREATE OR REPLACE TEMP VIEW otlp_bad_lines AS
    SELECT DISTINCT source_file, source_line, line_status FROM (
      SELECT * FROM (${markers}) WHERE source_line IS NOT NULL
      UNION ALL SELECT source_file, source_line, line_status FROM abtel_located_bad_lines
      ${fromParquet('bad', 'source_file, source_line, line_status')})`);

  const counts = await queryRows<{ line_status: string; source_file: string; n: number }>(
    connection,
    `SELECT line_status, source_file, count(*) AS n FROM otlp_bad_lines GROUP BY ALL ORDER BY source_file`,
  );
  for (const row of counts.filter((r) => r.line_status === 'metrics')) {
    skipped.push({ file: row.source_file, lines: row.n, reason: METRICS_REASON });
  }
  const badLineCount = counts.filter((r) => r.line_status !== 'metrics').reduce((sum, r) => sum + r.n, 0);
  const listed = await queryRows<{ source_file: string; source_line: number; line_status: string }>(
    connection,
    `SELECT source_file, source_line, line_status FROM otlp_bad_lines WHERE line_status <> 'metrics'
     ORDER BY source_file, source_line LIMIT ${Math.max(0, options.maxBadLinesListed ?? 1000)}`,
  );
  const badLines = listed.map((row) => ({
    file: row.source_file,
    line: row.source_line,
    reason: REASONS[row.line_status] ?? row.line_status,
  }));
  return { badLines, badLineCount, skipped, files: { raw: raw.length, parquet: parquet.length }, rawFiles: raw, parquetFiles: parquet };
}
