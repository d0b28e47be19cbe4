import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { AbtelError } from '@abtel/core';
import { describeFile, expandInputs, type DataFile } from './internal/discover.js';
import { compactedWithoutSource, fingerprintOf, sameSource, upToDateParquet, type ManifestEntry } from './internal/manifest.js';
import { otlpMacrosSql, sqlString, sqlStringList } from './internal/sql.js';
import { parquetColumnNames, queryRows } from './internal/convert.js';
import { loadSql, type RowFile } from './internal/columns.js';
import { flattenFiles, rowFileOf, type FlattenedFile } from './internal/pool.js';

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
  /** Threads that parse raw files (default: the available cores, at most 4). */
  threads?: number;
}

/** What was attached. */
export interface AttachResult {
  badLines: BadLine[];
  badLineCount: number;
  skipped: SkippedData[];
  files: { raw: number; parquet: number };
  rawFiles: DataFile[];
  parquetFiles: string[];
  /**
   * Sources deleted after they were compacted, read from their Parquet (counted in `files.parquet`):
   * found in the compaction directories of directory inputs (see `compactDirectory`).
   */
  sourceless: string[];
}

const REASONS: Record<string, string> = {
  invalid: 'not valid JSON (a torn or truncated write?); the line was skipped',
  not_otlp: 'valid JSON but not a well-formed OTLP TracesData or LogsData object (e.g. a list that is not an array, a span without hex ids); the line was skipped',
};
const METRICS_REASON = 'OTLP metrics (resourceMetrics) are not read by the analysis';

/** The path with links resolved (as given when it cannot be resolved). */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The Parquet of gone sources that is read by nothing else: neither named as an input itself
 * (among `parquet`) nor standing for a file moved or copied elsewhere (among `read`: same name,
 * size and mtime, as `mv` and `cp -p` keep them; or, under any name and mtime, same size and
 * content fingerprint, as a plain `cp` or a sync tool leaves them). The lookups are built only
 * when there is such Parquet, once each, and a file is fingerprinted only when its size is that of
 * a gone source: a directory of thousands of files costs no realpath, comparison or read per file
 * otherwise.
 */
function withoutDuplicates(candidates: ManifestEntry[], parquet: readonly CompactedFile[], read: readonly DataFile[]): ManifestEntry[] {
  if (candidates.length === 0) return candidates;
  const named = new Set(parquet.map((file) => realPath(file.path)));
  const byName = groupBy(read, (file) => basename(file.path));
  const bySize = groupBy(read, (file) => file.size);
  const fingerprints = new Map<string, string | undefined>();
  const fingerprint = (file: DataFile): string | undefined => {
    if (!fingerprints.has(file.path)) fingerprints.set(file.path, fingerprintOf(file.path, file.size));
    return fingerprints.get(file.path);
  };
  const moved = (entry: ManifestEntry): boolean =>
    (byName.get(basename(entry.source)) ?? []).some((file) => sameSource(entry, file)) ||
    (entry.fingerprint !== undefined && (bySize.get(entry.size) ?? []).some((file) => fingerprint(file) === entry.fingerprint));
  return candidates.filter((entry) => !named.has(realPath(entry.parquet)) && !moved(entry));
}

/** `items` grouped by `key`, in their order. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const itemKey = key(item);
    const group = groups.get(itemKey);
    if (group === undefined) groups.set(itemKey, [item]);
    else group.push(item);
  }
  return groups;
}

/** A compacted Parquet file, with its manifest entry when abtel compacted it (not for a bare .parquet input). */
interface CompactedFile {
  path: string;
  manifest?: ManifestEntry;
}

/**
 * Span columns added to Parquet layout 5 after its first files were written, with how to derive
 * each from the columns every layout-5 file has. A file without one is still read: the column is
 * computed from its `extra_attributes` (which keep every attribute that is not a promoted string),
 * so telemetry compacted by an older abtel gives the same rows as its JSON.
 */
const DERIVED_SPAN_COLUMNS: Readonly<Record<string, { from: string; sql: string }>> = {
  // otlp_json_attr_str_list searches the text first: parsing every span's extra attributes to find
  // no list made an analysis of 10 M spans compacted before the column existed take twice as long.
  assignment_ids: { from: 'extra_attributes', sql: `otlp_json_attr_str_list(extra_attributes, 'abtel.assignment.ids')` },
};

/** How one shape of Parquet gives column `name`: itself, derived, or NULL (a Parquet of another shape, e.g. trimmed by hand). */
function columnOf(shape: ParquetShape, name: string): string {
  if (shape.columns === undefined || shape.columns.has(name)) return `"${name}"`;
  const derived = DERIVED_SPAN_COLUMNS[name];
  if (derived !== undefined && shape.columns.has(derived.from)) return `${derived.sql} AS "${name}"`;
  return `NULL AS "${name}"`;
}

/** Compacted files grouped by their column names (one group for files of one shape). */
interface ParquetShape {
  files: CompactedFile[];
  /** Undefined when the footer was not found under the file's name: every column is read as is. */
  columns: ReadonlySet<string> | undefined;
}

/** The compacted files by column names, read once from the footers (which the queries read anyway). */
async function parquetShapes(connection: DuckDBConnection, files: readonly CompactedFile[]): Promise<ParquetShape[]> {
  const namesOf = await parquetColumnNames(connection, files.map((file) => file.path));
  const shapes = new Map<string | null, ParquetShape>();
  for (const file of files) {
    const names = namesOf.get(file.path);
    const key = names === undefined ? null : [...names].sort().join('\u0000');
    let shape = shapes.get(key);
    if (!shape) {
      shape = { files: [], columns: names === undefined ? undefined : new Set(names) };
      shapes.set(key, shape);
    }
    shape.files.push(file);
  }
  return [...shapes.values()];
}

/**
 * Whether a compacted file may hold rows of a kind. Without a manifest, or with one written before
 * it counted a kind (`unreadLines` is newer), the answer is yes: the file is read.
 */
function holds(file: CompactedFile, kind: 'spans' | 'events' | 'bad'): boolean {
  const manifest = file.manifest;
  if (!manifest) return true;
  if (kind === 'spans') return manifest.spans > 0;
  if (kind === 'events') return manifest.events > 0;
  return manifest.unreadLines === undefined || manifest.badLines + manifest.unreadLines > 0;
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
  // The compaction directories of directory inputs: where Parquet of deleted sources is found.
  const compactDirs: string[] = [];
  const { files: paths, missing } = expandInputs(options.inputs, compactDirs);
  if (missing.length > 0) {
    // Neutral wording: commands take the inputs as a flag (analyze --data) or as arguments (sql).
    const check = missing.length === 1 ? 'check the path' : 'check the paths';
    throw new AbtelError('not_found', `no such file, directory or matching glob: ${missing.join(', ')}; ${check}`);
  }
  await connection.run(otlpMacrosSql());

  const raw: DataFile[] = [];
  const parquet: CompactedFile[] = [];
  /** Every data file read (raw or from its Parquet). */
  const described: DataFile[] = [];
  const skipped: SkippedData[] = [];
  paths.forEach((path, index) => {
    options.onProgress?.({ phase: 'discover', done: index, total: paths.length });
    if (path.toLowerCase().endsWith('.parquet')) {
      parquet.push({ path });
      return;
    }
    const file = describeFile(path);
    if (file.signal === 'metrics') {
      // An empty file (a collector creates its three files up front) holds nothing to skip.
      if (file.size > 0) skipped.push({ file: path, lines: 0, reason: METRICS_REASON });
      return;
    }
    described.push(file);
    const compacted = upToDateParquet(file);
    if (compacted) parquet.push({ path: compacted.parquet, manifest: compacted });
    else raw.push(file);
  });
  // A source deleted after compaction still counts: its Parquet is all that is left of its data.
  // Unless that Parquet is also an input of its own, or its source was only moved or copied (a
  // file read here with its name, size and mtime, or with its size and content): every file is read once.
  const sourceless = withoutDuplicates(compactedWithoutSource(compactDirs), parquet, described);
  for (const entry of sourceless) parquet.push({ path: entry.parquet, manifest: entry });

  await loadRaw(connection, raw, options);

  const spanColumns = (await queryRows<{ column_name: string }>(connection, 'DESCRIBE abtel_raw_spans')).map((row) => row.column_name);
  const eventColumns = (await queryRows<{ column_name: string }>(connection, 'DESCRIBE abtel_raw_events')).map((row) => row.column_name);
  const list = (columns: string[]): string => columns.map((name) => `"${name}"`).join(', ');

  // Each kind of row is read only from the files whose manifest says they hold it (logs files
  // hold no spans, traces files seldom events, few files bad lines): with 100 files, a query for
  // events then opens a handful of them instead of reading every footer and row group.
  // Files with the same columns are matched by name without union_by_name, which re-reconciles
  // every file's schema at each query's bind (≈ 10 ms a query over 100 files, against ≈ 2 ms):
  // one read_parquet per shape (compacted files of one layout have every column of every kind, so
  // usually one). A column a shape lacks is derived when it can be (DERIVED_SPAN_COLUMNS), else
  // NULL, as union_by_name would make it.
  const shapes = await parquetShapes(connection, parquet);
  const fromParquet = (wanted: (file: CompactedFile) => boolean, recordType: string, columns: readonly string[]): string =>
    shapes
      .map((shape) => {
        const files = shape.files.filter(wanted);
        if (files.length === 0) return '';
        const select = columns.map((name) => columnOf(shape, name)).join(', ');
        return `UNION ALL BY NAME SELECT ${select} FROM read_parquet(${sqlStringList(files.map((file) => file.path))})
         WHERE record_type = ${sqlString(recordType)}`;
      })
      .join('\n');
  await connection.run(`CREATE OR REPLACE TEMP VIEW otlp_spans_all AS
    SELECT ${list(spanColumns)} FROM abtel_raw_spans ${fromParquet((file) => holds(file, 'spans'), 'span', spanColumns)}`);
  // Compacted events stay in their Parquet: each query reads only the columns it needs. A copy in a
  // temporary table (all 29 columns, the attributes' JSON text among them) cost more than the few
  // reads an analysis makes since it builds its working set once: full analyze() over 1 M spans
  // ≈ 0.1 s and 35 MB less, over 10 M spans 7.1 instead of 9.0 s.
  await connection.run(`CREATE OR REPLACE TEMP VIEW otlp_events_all AS
    SELECT ${list(eventColumns)} FROM abtel_raw_events ${fromParquet((file) => holds(file, 'events'), 'event', eventColumns)}`);
  await connection.run(`CREATE OR REPLACE TEMP VIEW otlp_bad_lines AS
    SELECT DISTINCT source_file, source_line, line_status FROM (
      SELECT source_file, source_line, line_status FROM abtel_raw_bad_lines
      ${fromParquet((file) => holds(file, 'bad'), 'bad', ['source_file', 'source_line', 'line_status'])})`);

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
  return {
    badLines,
    badLineCount,
    skipped,
    files: { raw: raw.length, parquet: parquet.length },
    rawFiles: raw,
    parquetFiles: parquet.map((file) => file.path),
    sourceless: sourceless.map((entry) => entry.source),
  };
}

/**
 * Parses the raw files (in parallel, see flattenFiles) into row files in a temporary directory
 * and loads them into `abtel_raw_spans`, `abtel_raw_events` and `abtel_raw_bad_lines` with
 * DuckDB's parallel CSV reader; the row files are removed afterwards.
 */
async function loadRaw(connection: DuckDBConnection, raw: readonly DataFile[], options: AttachOptions): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'abtel-read-'));
  try {
    const flattened = await flattenFiles(raw, work, {
      threads: options.threads,
      onFile: (done, total) => options.onProgress?.({ phase: 'read', done, total }),
    });
    const load = loadFlattened(connection, flattened, { spans: 'abtel_raw_spans', events: 'abtel_raw_events', bad: 'abtel_raw_bad_lines' });
    await withProgress(connection, 'load', options.onProgress, load);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Polls DuckDB's query progress while `work` runs and reports it as a percentage. */
async function withProgress<T>(connection: DuckDBConnection, phase: string, onProgress: AttachOptions['onProgress'], work: Promise<T>): Promise<T> {
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

/** Loads flattened row files into three tables (created or replaced). */
async function loadFlattened(
  connection: DuckDBConnection,
  flattened: readonly FlattenedFile[],
  tables: { spans: string; events: string; bad: string },
): Promise<void> {
  const longest = flattened.reduce((max, f) => Math.max(max, f.result.longestRow), 0);
  const paths = (kind: 'spans' | 'events' | 'bad'): RowFile[] =>
    flattened.map((f) => rowFileOf(f, kind)).filter((file): file is RowFile => file !== undefined);
  // Temporary tables: in a database file a persistent table costs ~4x the CPU (compression and
  // checkpointing of data that lives only as long as the connection).
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${tables.spans} AS ${loadSql('spans', paths('spans'), longest)}`);
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${tables.events} AS ${loadSql('events', paths('events'), longest)}`);
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${tables.bad} AS ${loadSql('bad', paths('bad'), longest)}`);
}
