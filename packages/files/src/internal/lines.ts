import type { DataFile } from './discover.js';
import { sqlString, sqlStringList } from './sql.js';

/** Larger plain files are read line by line (bounded memory) rather than whole. */
const PLAIN_SPLIT_MAX_BYTES = 512 * 1024 * 1024;

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
  // Plain JSON Lines files: read whole and split, which numbers lines exactly and runs one file per
  // thread; gzip needs the CSV reader's decompression (single-threaded per file anyway).
  const plain = files.filter((file) => file.format === 'jsonl' && !file.gzip && file.size <= PLAIN_SPLIT_MAX_BYTES);
  const parts: string[] = [];
  if (plain.length > 0) {
    parts.push(`SELECT source_file, source_line, line FROM (
      SELECT filename AS source_file, unnest(string_split(content, chr(10))) AS line,
             unnest(generate_series(1, len(string_split(content, chr(10))))) AS source_line
      FROM read_text(${sqlStringList(plain.map((file) => file.path))}))
    WHERE strlen(line) > 32 OR trim(line) <> ''`);
  }
  const rest = files.filter((file) => !plain.includes(file));
  parts.push(...rest.map((file) => {
    const path = sqlString(file.path);
    if (file.format === 'document') {
      return `SELECT ${path} AS source_file, CAST(1 AS BIGINT) AS source_line, content AS line FROM read_text(${path})`;
    }
    const compression = file.gzip ? 'gzip' : 'none';
    return `SELECT source_file, source_line, line FROM (SELECT ${path} AS source_file, row_number() OVER () AS source_line, line FROM read_csv(${path}, ${LINE_READER_OPTIONS}, compression='${compression}')) WHERE line IS NOT NULL AND (strlen(line) > 32 OR trim(line) <> '')`;
  }));
  return parts.join('\nUNION ALL\n');
}
