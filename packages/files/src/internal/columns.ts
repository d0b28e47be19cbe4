/**
 * The flat row files flatten.ts writes and the SQL that loads them (source_file is not written:
 * each row file holds the rows of one source file, named by the loader): one row per line, fields
 * separated by FIELD_SEPARATOR, NULL as NULL_FIELD, text fields that hold a control character or
 * a backslash JSON-escaped behind ESCAPED_PREFIX. DuckDB's CSV reader loads them in parallel;
 * the SELECTs below turn them into exactly the columns of sql/otlp.sql's macros.
 */
import { sqlString, sqlStringList } from './sql.js';

/** Unit separator: never occurs verbatim in a field (control characters are escaped). */
export const FIELD_SEPARATOR = '\u001f';
export const NULL_FIELD = '\\N';
export const ESCAPED_PREFIX = '\\J';

type Column = readonly [name: string, type: string];

/** Span rows as written (nanosecond times and numbers converted by SPAN_SELECT). */
const SPAN_COLUMNS: readonly Column[] = [
  ['trace_id', 'VARCHAR'],
  ['span_id', 'VARCHAR'],
  ['parent_span_id', 'VARCHAR'],
  ['name', 'VARCHAR'],
  ['kind', 'INTEGER'],
  ['start_ns', 'BIGINT'],
  ['end_ns', 'BIGINT'],
  ['status_code', 'INTEGER'],
  ['status_message', 'VARCHAR'],
  ['service_name', 'VARCHAR'],
  ['scope_name', 'VARCHAR'],
  ['conversation_id', 'VARCHAR'],
  ['experiment_key', 'VARCHAR'],
  ['variation', 'VARCHAR'],
  ['experiment_version', 'DOUBLE'],
  ['assignment_unit', 'VARCHAR'],
  ['assignment_id', 'VARCHAR'],
  ['experiments', 'VARCHAR'],
  ['assignment_ids', 'VARCHAR'],
  ['operation_name', 'VARCHAR'],
  ['request_model', 'VARCHAR'],
  ['response_model', 'VARCHAR'],
  ['response_id', 'VARCHAR'],
  ['input_tokens', 'DOUBLE'],
  ['output_tokens', 'DOUBLE'],
  ['cost_usd', 'DOUBLE'],
  ['error_type', 'VARCHAR'],
  ['stripped_attributes', 'INTEGER'],
  ['extra_attributes', 'VARCHAR'],
  ['resource_attributes', 'VARCHAR'],
  ['source_line', 'BIGINT'],
];

const EVENT_COLUMNS: readonly Column[] = [
  ['time_ns', 'BIGINT'],
  ['event_name', 'VARCHAR'],
  ['origin', 'VARCHAR'],
  ['trace_id', 'VARCHAR'],
  ['span_id', 'VARCHAR'],
  ['conversation_id', 'VARCHAR'],
  ['experiment_key', 'VARCHAR'],
  ['variation', 'VARCHAR'],
  ['experiment_version', 'DOUBLE'],
  ['assignment_unit', 'VARCHAR'],
  ['assignment_id', 'VARCHAR'],
  ['outcome_name', 'VARCHAR'],
  ['outcome_value', 'DOUBLE'],
  ['evaluation_name', 'VARCHAR'],
  ['score_value', 'DOUBLE'],
  ['score_label', 'VARCHAR'],
  ['explanation', 'VARCHAR'],
  ['response_id', 'VARCHAR'],
  ['judge_model', 'VARCHAR'],
  ['judge_version', 'VARCHAR'],
  ['sample_rate', 'DOUBLE'],
  ['eval_source', 'VARCHAR'],
  ['flag_key', 'VARCHAR'],
  ['flag_variant', 'VARCHAR'],
  ['flag_reason', 'VARCHAR'],
  ['flag_context_id', 'VARCHAR'],
  ['attributes', 'VARCHAR'],
  ['source_line', 'BIGINT'],
];

const BAD_COLUMNS: readonly Column[] = [
  ['source_line', 'BIGINT'],
  ['line_status', 'VARCHAR'],
];

/** A text column decoded: verbatim, or JSON-escaped behind ESCAPED_PREFIX. */
function decoded(name: string): string {
  return `CASE WHEN starts_with("${name}", '\\J') THEN json_extract_string(substr("${name}", 3), '$') ELSE "${name}" END`;
}

function timeOf(ns: string): string {
  return `make_timestamp(${ns} // 1000)`;
}

/** The projection of one kind of row: written columns → the columns of the otlp.sql macros. */
function projection(columns: readonly Column[], special: Record<string, string>, files: readonly RowFile[]): string {
  // Each row file holds one source file's rows: its name (DuckDB's `filename`) says which.
  const sourceFile =
    files.length === 0 ? 'CAST(NULL AS VARCHAR)' : `CASE filename ${files.map((f) => `WHEN ${sqlString(f.path)} THEN ${sqlString(f.source)}`).join(' ')} END`;
  special = { ...special, source_line: `${sourceFile} AS source_file, source_line` };
  const decode = files.some((f) => f.escaped !== false);
  return columns
    .filter(([name]) => special[name] !== '')
    .map(([name, type]) => {
      if (special[name] !== undefined) return special[name];
      return decode && type === 'VARCHAR' && !name.endsWith('attributes') ? `${decoded(name)} AS "${name}"` : `"${name}"`;
    })
    .join(',\n  ');
}

const SPAN_SPECIAL: Record<string, string> = {
  start_ns: `${timeOf('start_ns')} AS start_time, ${timeOf('end_ns')} AS end_time, (end_ns - start_ns) / 1e6 AS duration_ms`,
  end_ns: '',
  experiment_version: 'TRY_CAST(experiment_version AS INTEGER) AS experiment_version',
  experiments: `from_json(experiments, '["VARCHAR"]') AS experiments`,
  assignment_ids: `from_json(assignment_ids, '["VARCHAR"]') AS assignment_ids`,
};

const EVENT_SPECIAL: Record<string, string> = {
  time_ns: `${timeOf('time_ns')} AS time`,
  origin: 'origin',
  experiment_version: 'TRY_CAST(experiment_version AS INTEGER) AS experiment_version',
};

const BAD_SPECIAL: Record<string, string> = { line_status: 'line_status' };

function readerSql(paths: readonly string[], columns: readonly Column[], maxLineBytes: number): string {
  const types = columns.map(([name, type]) => `'${name}': '${type}'`).join(', ');
  const lineSize = Math.max(2 * 1024 * 1024, maxLineBytes + 1024);
  return `read_csv(${sqlStringList(paths)}, columns={${types}}, delim=chr(31), quote='', escape='', header=false,
    auto_detect=false, nullstr='\\N', new_line='\\n', max_line_size=${lineSize}, buffer_size=${Math.max(32 * 1024 * 1024, lineSize)}, filename=true)`;
}

function emptySql(columns: readonly Column[]): string {
  return `(SELECT ${columns.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`).join(', ')}, CAST(NULL AS VARCHAR) AS filename WHERE false)`;
}

/** A row file and the source file whose rows it holds. */
export interface RowFile {
  path: string;
  source: string;
  /** False when none of its text fields is JSON-escaped (FlattenResult.escapedText): no decoding. */
  escaped?: boolean;
}

/**
 * SELECT of the flat rows in `paths` as the columns of one relation: `spans` (otlp_spans without
 * span_events and line_status), `events` (otlp_event_rows) or `bad` (source_file, source_line,
 * line_status). `maxLineBytes`: the longest row, for the reader's line size limit.
 */
export function loadSql(kind: 'spans' | 'events' | 'bad', files: readonly RowFile[], maxLineBytes = 0): string {
  const [columns, special] =
    kind === 'spans' ? [SPAN_COLUMNS, SPAN_SPECIAL] : kind === 'events' ? [EVENT_COLUMNS, EVENT_SPECIAL] : [BAD_COLUMNS, BAD_SPECIAL];
  const from = files.length === 0 ? emptySql(columns) : readerSql(files.map((f) => f.path), columns, maxLineBytes);
  return `SELECT ${projection(columns, special, files)} FROM ${from}`;
}

/** Output columns (name, SQL type) of each kind of row, as loadSql returns them. */
const OUTPUT_TYPES: Record<'spans' | 'events' | 'bad', readonly Column[]> = {
  spans: [
    ...SPAN_COLUMNS.filter(
      ([name]) => name !== 'start_ns' && name !== 'end_ns' && name !== 'experiments' && name !== 'assignment_ids' && name !== 'experiment_version',
    ),
    ['start_time', 'TIMESTAMP'],
    ['end_time', 'TIMESTAMP'],
    ['duration_ms', 'DOUBLE'],
    ['experiments', 'VARCHAR[]'],
    ['assignment_ids', 'VARCHAR[]'],
    ['experiment_version', 'INTEGER'],
    ['source_file', 'VARCHAR'],
  ],
  events: [
    ...EVENT_COLUMNS.filter(([name]) => name !== 'time_ns' && name !== 'experiment_version'),
    ['time', 'TIMESTAMP'],
    ['experiment_version', 'INTEGER'],
    ['source_file', 'VARCHAR'],
  ],
  bad: [['source_file', 'VARCHAR'], ...BAD_COLUMNS],
};

/** Every kind's output columns once (name → SQL type): the columns of the compacted Parquet besides `record_type`. */
const ALL_OUTPUT_COLUMNS: ReadonlyMap<string, string> = (() => {
  const all = new Map<string, string>();
  for (const kind of ['spans', 'events', 'bad'] as const) for (const [name, type] of OUTPUT_TYPES[kind]) if (!all.has(name)) all.set(name, type);
  return all;
})();

/** The column names of every Parquet compactedRowsSql writes now (the current layout; not in the file's order). */
export const COMPACTED_COLUMNS: readonly string[] = ['record_type', ...ALL_OUTPUT_COLUMNS.keys()];

/**
 * The rows of one flattened file as the compacted Parquet holds them: `record_type` plus the
 * columns of all three kinds (the other kinds' columns NULL). Only the kinds with rows are read;
 * a UNION is used only when a file has more than one kind (it costs ~30% more CPU per row).
 */
export function compactedRowsSql(parts: Partial<Record<'spans' | 'events' | 'bad', RowFile>>, maxLineBytes: number): string {
  const recordType = { spans: 'span', events: 'event', bad: 'bad' } as const;
  const kinds = (['spans', 'events', 'bad'] as const).filter((kind) => parts[kind] !== undefined);
  const all = ALL_OUTPUT_COLUMNS;
  const select = (kind: 'spans' | 'events' | 'bad'): string => {
    const own = new Set(OUTPUT_TYPES[kind].map(([name]) => name));
    const padding = [...all].filter(([name]) => !own.has(name)).map(([name, type]) => `, CAST(NULL AS ${type}) AS "${name}"`).join('');
    const path = parts[kind];
    return `SELECT '${recordType[kind]}' AS record_type, *${padding} FROM (${loadSql(kind, path === undefined ? [] : [path], maxLineBytes)})`;
  };
  // Nothing at all: the typed empty span rows, so that even this Parquet has every column.
  if (kinds.length === 0) return select('spans');
  return kinds.map(select).join('\nUNION ALL BY NAME\n');
}
