-- duckdb CLI only: defines the base relations over every OTLP JSON Lines file (.jsonl or .ndjson,
-- plain or .gz) under a data directory. abtel itself skips the 0*_*.sql files and builds the same
-- relations with @abtel/files (which also uses compacted Parquet and reads pretty-printed JSON
-- documents). This path reads the JSON Lines files only: compaction leaves them in place, so a
-- compacted directory gives the same rows; what `abtel compact` wrote under `.abtel/` (Parquet,
-- manifests) is never read, nor anything else in a hidden file or directory (as abtel skips them).
-- JSON deleted after compaction is therefore missing here (abtel reads its Parquet instead).
--
-- The one placeholder: __ABTEL_DATA__ (the data directory). Run everything with:
--   sed 's#__ABTEL_DATA__#/var/lib/abtel/data#g' apps/analysis/sql/*.sql > /tmp/abtel.sql
--   duckdb -init /tmp/abtel.sql
-- then e.g. SELECT * FROM arm_stats;
SET VARIABLE abtel_data = rtrim('__ABTEL_DATA__', '/');
-- The files to read: by extension (a glob such as '**/*.jsonl*' also matches
-- .abtel/*.jsonl.parquet), outside hidden directories. When none match, the glob is passed on so
-- that DuckDB's error names the directory.
SET VARIABLE abtel_files = (
  SELECT coalesce(list(file ORDER BY file), [getvariable('abtel_data') || '/**/*.jsonl'])
  FROM glob(getvariable('abtel_data') || '/**')
  WHERE regexp_matches(file, '\.(jsonl|ndjson)(\.gz)?$', 'i')
    AND NOT regexp_matches(file[length(getvariable('abtel_data')) + 2:], '(^|/)\.'));

-- One row per non-blank line, numbered per file in file order.
CREATE OR REPLACE TABLE abtel_cli_lines AS
WITH numbered AS (
  SELECT filename AS source_file, line, row_number() OVER () AS n
  FROM read_csv(getvariable('abtel_files'),
                columns={'line': 'VARCHAR'}, delim=chr(1), quote='', escape='', header=false, auto_detect=false,
                strict_mode=false, max_line_size=67108864, buffer_size=67108864, compression='auto', filename=true)
)
SELECT source_file, n - min(n) OVER (PARTITION BY source_file) + 1 AS source_line, line
FROM numbered;
DELETE FROM abtel_cli_lines WHERE line IS NULL OR (strlen(line) <= 32 AND trim(line) = '');

CREATE OR REPLACE TABLE abtel_cli_spans AS FROM otlp_spans('abtel_cli_lines');
CREATE OR REPLACE TABLE abtel_cli_log_records AS FROM otlp_log_records('abtel_cli_lines');
CREATE OR REPLACE VIEW abtel_cli_span_event_records AS FROM otlp_span_event_records('abtel_cli_spans');
CREATE OR REPLACE TABLE abtel_cli_events AS
  FROM otlp_event_rows('abtel_cli_log_records') UNION ALL BY NAME FROM otlp_event_rows('abtel_cli_span_event_records');
DROP TABLE abtel_cli_lines;

CREATE OR REPLACE VIEW otlp_spans_all AS SELECT * EXCLUDE (line_status, span_events) FROM abtel_cli_spans WHERE line_status IS NULL;
CREATE OR REPLACE VIEW otlp_events_all AS FROM abtel_cli_events;
-- Lines that carried no data, and why: invalid (not JSON), not_otlp, metrics.
CREATE OR REPLACE VIEW otlp_bad_lines AS
SELECT DISTINCT source_file, source_line, line_status FROM (
  SELECT source_file, source_line, line_status FROM abtel_cli_spans WHERE line_status IS NOT NULL
  UNION ALL SELECT source_file, source_line, line_status FROM abtel_cli_log_records WHERE line_status IS NOT NULL);
