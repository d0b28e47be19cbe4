import type { DuckDBConnection } from '@duckdb/node-api';
import type { DataFile } from './discover.js';
import { sqlString, sqlStringList } from './sql.js';

/**
 * read_csv options that read each line as one VARCHAR: chr(1) never occurs unescaped in JSON, and
 * quoting/escaping are off, so a line arrives byte for byte. Lines may be large (an exporter batch).
 */
export const LINE_READER_OPTIONS =
  "columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='', header=false, auto_detect=false, strict_mode=false, max_line_size=16777216, buffer_size=16777216";

/**
 * SQL producing (source_file, source_line, line) for the given raw files: one row per non-blank
 * line of a JSON Lines file, one row (line 1) for a whole pretty-printed document. JSON Lines go
 * through DuckDB's CSV reader, which streams bounded chunks and splits big files across threads
 * (memory stays bounded however large an exporter batch line is); those rows carry no line number
 * (NULL) — the few files with bad lines are numbered exactly afterwards by `locateBadLines`.
 * Gzip is decompressed by DuckDB.
 */
export function linesSql(files: readonly DataFile[]): string {
  const parts: string[] = [];
  const jsonl = files.filter((file) => file.format === 'jsonl');
  if (jsonl.length > 0) {
    parts.push(`SELECT filename AS source_file, CAST(NULL AS BIGINT) AS source_line, line
      FROM read_csv(${sqlStringList(jsonl.map((file) => file.path))}, ${LINE_READER_OPTIONS}, compression='auto', filename=true)`);
    // No WHERE here: a filter pushed into the CSV scan makes it gather 2048 matching lines per
    // chunk across buffers (gigabytes with exporter-sized lines); blank lines are dropped by the macros.
  }
  for (const file of files.filter((candidate) => candidate.format === 'document')) {
    const path = sqlString(file.path);
    parts.push(`SELECT ${path} AS source_file, CAST(1 AS BIGINT) AS source_line, content AS line FROM read_text(${path})`);
  }
  if (parts.length === 0) {
    return 'SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, CAST(NULL AS VARCHAR) AS line WHERE false';
  }
  return parts.join('\nUNION ALL\n');
}

/**
 * A plain file read whole and split into numbered lines: for lines longer than the CSV reader's
 * limit (memory = the file's size, so only as a fallback).
 */
export function wholeFileLinesSql(file: DataFile): string {
  const path = sqlString(file.path);
  return `SELECT ${path} AS source_file, source_line, line FROM (
      SELECT unnest(string_split(content, chr(10))) AS line,
             unnest(generate_series(1, len(string_split(content, chr(10))))) AS source_line
      FROM read_text(${path}))`;
}

/** True for the CSV reader's error about a line over its size limit. */
export function isLineTooLong(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /maximum line size|CSV Error on Line/i.test(message);
}

/** Every line of one file with its exact 1-based number (plain: split in memory; gzip: in order). */
function numberedLinesSql(file: DataFile): string {
  const path = sqlString(file.path);
  if (!file.gzip) {
    return `SELECT unnest(string_split(content, chr(10))) AS line,
                   unnest(generate_series(1, len(string_split(content, chr(10))))) AS source_line
            FROM read_text(${path})`;
  }
  return `SELECT line, row_number() OVER () AS source_line FROM read_csv(${path}, ${LINE_READER_OPTIONS}, compression='gzip')`;
}

/**
 * Inserts the exact line numbers and reasons of the unreadable lines of one file into `table`
 * (source_file, source_line, line_status): `invalid` (not JSON), `not_otlp` (JSON but no
 * resourceSpans/resourceLogs), `metrics` (OTLP metrics). Only run for files the fast read found
 * bad lines in. Returns how many it inserted.
 */
export async function insertLocatedBadLines(connection: DuckDBConnection, file: DataFile, table: string): Promise<number> {
  // Line order matters here only; the fast path runs without insertion-order preservation.
  await connection.run('SET preserve_insertion_order = true');
  try {
    const result = await connection.run(
      `INSERT INTO ${table}
       SELECT ${sqlString(file.path)} AS source_file, source_line, line_status FROM (
         SELECT source_line, CASE
             WHEN NOT json_valid(line) THEN 'invalid'
             WHEN json_exists(line, '$.resourceSpans') OR json_exists(line, '$.resourceLogs') THEN NULL
             WHEN json_exists(line, '$.resourceMetrics') THEN 'metrics'
             ELSE 'not_otlp' END AS line_status
         FROM (${numberedLinesSql(file)})
         WHERE line IS NOT NULL AND (strlen(line) > 32 OR trim(line) <> ''))
       WHERE line_status IS NOT NULL`,
    );
    return result.rowsChanged;
  } finally {
    await connection.run('RESET preserve_insertion_order');
  }
}
