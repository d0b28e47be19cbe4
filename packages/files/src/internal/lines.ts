import type { DataFile } from './discover.js';
import { sqlString, sqlStringList } from './sql.js';

/**
 * read_csv options that read each line as one VARCHAR: chr(1) never occurs unescaped in JSON, and
 * quoting/escaping are off, so a line arrives byte for byte. Lines may be large (an exporter batch).
 */
export const LINE_READER_OPTIONS =
  "columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='', header=false, auto_detect=false, strict_mode=false, max_line_size=16777216, buffer_size=16777216";

/**
 * SQL producing (source_file, source_line, line) for the given raw files — the input relation of
 * the otlp.sql macros: one row per line of a JSON Lines file, one row (line 1) for a whole
 * pretty-printed document. JSON Lines go through DuckDB's CSV reader (streaming, split across
 * threads); those rows carry no line number (NULL). Gzip is decompressed by DuckDB. abtel itself
 * reads raw files with its own parser (attachOtlp); this is for running the macros directly.
 * @example
 * await connection.run(`CREATE VIEW my_lines AS ${linesSql([describeFile('traces.jsonl')])}`);
 * const spans = await queryRows(connection, "FROM otlp_spans('my_lines')");
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
