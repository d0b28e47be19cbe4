import type { DataFile } from './discover.js';
import { sqlString } from './sql.js';

/**
 * read_csv options that read each line as one VARCHAR: chr(1) never occurs unescaped in JSON, and
 * quoting/escaping are off, so a line arrives byte for byte. Lines may be large (an exporter batch).
 */
export const LINE_READER_OPTIONS =
  "columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='', header=false, auto_detect=false, strict_mode=false, max_line_size=536870912";

/**
 * SQL producing (source_file, source_line, line) for the given raw files: one row per non-blank
 * line of a JSON Lines file (numbered from 1 in file order: a per-file streaming row_number keeps
 * the order), one row for a whole pretty-printed document. Gzip is decompressed by DuckDB.
 */
export function linesSql(files: readonly DataFile[]): string {
  if (files.length === 0) {
    return 'SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, CAST(NULL AS VARCHAR) AS line WHERE false';
  }
  const parts = files.map((file) => {
    const path = sqlString(file.path);
    if (file.format === 'document') {
      return `SELECT ${path} AS source_file, CAST(1 AS BIGINT) AS source_line, content AS line FROM read_text(${path})`;
    }
    const compression = file.gzip ? 'gzip' : 'none';
    return `SELECT source_file, source_line, line FROM (SELECT ${path} AS source_file, row_number() OVER () AS source_line, line FROM read_csv(${path}, ${LINE_READER_OPTIONS}, compression='${compression}')) WHERE line IS NOT NULL AND (strlen(line) > 32 OR trim(line) <> '')`;
  });
  return parts.join('\nUNION ALL\n');
}
