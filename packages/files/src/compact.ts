import { existsSync, mkdtempSync, rmSync, renameSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from './duckdb.js';
import { AbtelError, makeDirectorySync } from '@abtel/core';
import { compactDirFor, describeFile, expandInputs, gzipTwinOf, isActiveName, type DataFile } from './internal/discover.js';
import {
  PARQUET_FORMAT,
  fingerprintOf,
  manifestPathFor,
  manifestsWithoutSource,
  missingColumns,
  parquetPathFor,
  readManifestAt,
  sameSource,
  upToDateParquet,
  writeManifestEntry,
  type ManifestEntry,
} from './internal/manifest.js';
import { sqlString } from './internal/sql.js';
import { COMPACTED_COLUMNS, compactedRowsSql } from './internal/columns.js';
import { parquetColumnNames } from './internal/convert.js';
import { FlattenPool, defaultThreads, flattenFiles, rowFileOf, targetsFor, type FlattenedFile } from './internal/pool.js';

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
  /**
   * Parquet removed because this (compressed) file now stands for the same data: that of its
   * plain name, compacted before it was compressed (see `CompactDirectoryResult.removed`).
   */
  removed?: string;
}

export interface CompactFileOptions {
  signal?: AbortSignal;
  /** Reuse a connection; otherwise a private in-memory DuckDB is used. */
  connection?: DuckDBConnection;
  /** DuckDB threads for a private instance (a collector compacting in the background may want 1). */
  threads?: number;
  /** DuckDB memory limit for a private instance, e.g. '600MB' (default; freed memory is returned promptly). */
  memoryLimit?: string;
}

/** DuckDB's memory limit when none is given: the JSON parser's buffers come on top of it, and the process should stay under 1 GB. */
const DEFAULT_MEMORY_LIMIT = '600MB';

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
    const work = mkdtempSync(join(tmpdir(), 'abtel-compact-'));
    try {
      const [flattened] = await flattenFiles([file], work, { threads: 1, signal: options.signal });
      const written = await writeParquet(connection, flattened!, options.signal);
      const orphan = supersededBy(file.path);
      const removed = orphan === undefined ? undefined : removeSuperseded(orphan)?.removed;
      return removed === undefined ? written : { ...written, removed: removed.file };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** Writes the Parquet of one flattened file (temp name, rename) and its manifest entry. */
async function writeParquet(connection: DuckDBConnection, flattened: FlattenedFile, signal: AbortSignal | undefined): Promise<CompactFileResult> {
  aborted(signal);
  const { file, result } = flattened;
  const target = parquetPathFor(file.path);
  makeDirectorySync(compactDirFor(file.path));
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  const onAbort = (): void => connection.interrupt();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Every Parquet has the same columns (spans, events and bad lines, the others' columns NULL),
    // so readers never miss a column; only the kinds of rows the file has are read.
    const rows = compactedRowsSql(
      { spans: rowFileOf(flattened, 'spans'), events: rowFileOf(flattened, 'events'), bad: rowFileOf(flattened, 'bad') },
      result.longestRow,
    );
    // Snappy: ≈ 20% less CPU to write than zstd (0.24 vs 0.30 s per 100 k spans), read as fast;
    // the files are ≈ 1.7× larger (≈ 115 MB per million spans, a tenth of the JSON).
    await connection.run(`COPY (${rows}) TO ${sqlString(temp)} (FORMAT parquet, COMPRESSION snappy)`);
    aborted(signal);
    const fingerprint = fingerprintOf(file.path, file.size);
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
      rows: result.spans + result.events,
      spans: result.spans,
      events: result.events,
      badLines: result.badLines,
      unreadLines: result.metricsLines,
      format: PARQUET_FORMAT,
      columns: [...COMPACTED_COLUMNS],
      fingerprint,
      compactedAt: new Date().toISOString(),
    };
    writeManifestEntry(entry);
    return { parquetPath: target, rows: entry.rows, spans: entry.spans, events: entry.events, badLines: entry.badLines };
  } catch (error) {
    if (signal?.aborted) aborted(signal);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (existsSync(temp)) rmSync(temp, { force: true });
  }
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
  /** Parsing worker threads (default: cores, at most 4); also DuckDB's threads when set. */
  threads?: number;
  /**
   * DuckDB threads of the private instance (default 1, or `threads` when given): the parsing
   * workers keep the other cores busy meanwhile, and one DuckDB thread writes a file's Parquet
   * with ~10% less CPU in total than two contending with the workers.
   */
  duckdbThreads?: number;
  /** DuckDB memory limit, e.g. '600MB'. */
  memoryLimit?: string;
}

/** A file and what happened to it, in words. */
export interface FileReason {
  file: string;
  reason: string;
}

export interface CompactDirectoryResult {
  compacted: string[];
  /**
   * The files among `compacted` that were compacted again only because their Parquet was of an
   * older layout (a column added since, or another layout number), with why. Such a Parquet still
   * reads, but slower; a file whose JSON source is gone keeps it and is listed in `skipped`.
   */
  recompacted: { file: string; reason: string }[];
  upToDate: string[];
  skipped: { file: string; reason: string }[];
  /**
   * Parquet removed with their manifests because another file now stands for the same data, with
   * why: a rotated file compressed after it was compacted (`x.jsonl` → `x.jsonl.gz`) leaves the
   * Parquet of its plain name behind (removed only once the `.gz` has Parquet of its own with the
   * same span, event and bad-line counts); a live file compacted with `includeActive` and rotated
   * since leaves the Parquet of its live name. No read uses either any more.
   */
  removed: FileReason[];
  failed: { file: string; error: string }[];
  rows: number;
  badLines: number;
  seconds: number;
}

/** Why a Parquet lacking `missing` (columns of the current layout) is compacted again, or kept. */
function olderLayout(missing: readonly string[]): string {
  return `Parquet of an older layout (without ${missing.join(', ')})`;
}

/**
 * Column names of the Parquet files (from their footers, one query), by path; a file whose footer
 * cannot be read is absent. Only the names of the current layout are kept, in its order.
 */
async function parquetColumns(connection: DuckDBConnection, paths: readonly string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const read = async (batch: readonly string[]): Promise<void> => {
    for (const [path, names] of await parquetColumnNames(connection, batch)) {
      const have = new Set(names);
      found.set(path, COMPACTED_COLUMNS.filter((name) => have.has(name)));
    }
  };
  try {
    await read(paths);
  } catch {
    // One unreadable footer fails the whole query: then file by file.
    for (const path of paths) await read([path]).catch(() => undefined);
  }
  return found;
}

/** A minimum age for a message: `2 s`, `1.5 s`, `250 ms`. */
function formatAge(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Incrementally compacts every OTLP file under `dir` (recursively) into Parquet. Remembers what it
 * compacted (path + size + mtime), so a re-run only does new work; safe to interrupt (each file is
 * written under a temporary name and renamed); skips the currently open file (the un-rotated
 * `traces.jsonl`/`logs.jsonl`, or anything modified within `minAgeMs`). A file whose Parquet is of
 * an older layout (lacks a column added since) is compacted again from its JSON (`recompacted`);
 * when the JSON is gone, the Parquet is kept and listed in `skipped`.
 * @example
 * const result = await compactDirectory('data', { onProgress: (p) => console.log(p.done, '/', p.total, p.file) });
 * console.log(`${result.compacted.length} files, ${result.rows} rows`);
 */
export async function compactDirectory(dir: string, options: CompactDirectoryOptions = {}): Promise<CompactDirectoryResult> {
  const started = performance.now();
  // The same walk finds the compaction directories, for the manifests whose source is gone.
  const compactDirs: string[] = [];
  // A file given alone would be compacted into .abtel/ next to it, whatever it holds.
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new AbtelError('invalid_input', `${dir} is a file, not a directory; compactDirectory takes the data directory the collector writes to`);
  }
  const { files, missing } = expandInputs([dir], compactDirs);
  if (missing.length > 0) throw new AbtelError('not_found', `no such directory: ${dir}`);
  const result: CompactDirectoryResult = { compacted: [], recompacted: [], upToDate: [], skipped: [], removed: [], failed: [], rows: 0, badLines: 0, seconds: 0 };
  const candidates = files.filter((path) => !path.toLowerCase().endsWith('.parquet'));
  const minAge = options.minAgeMs ?? 2000;
  let done = 0;
  const report = (path: string, status: CompactProgress['status']): void =>
    options.onProgress?.({ file: path, done: ++done, total: candidates.length, status });
  const pending: DataFile[] = [];
  /** Why a pending file is compacted again although its source did not change (an older layout). */
  const layoutReasons = new Map<string, string>();
  const recompact = (file: DataFile, reason: string): void => {
    layoutReasons.set(file.path, reason);
    pending.push(file);
  };
  /** A compacted file whose Parquet has `columns`: up to date, or compacted again when it lacks a column of the current layout. */
  const settle = (file: DataFile, columns: readonly string[]): void => {
    const lacking = missingColumns(columns);
    if (lacking.length > 0) return recompact(file, olderLayout(lacking));
    result.upToDate.push(file.path);
    report(file.path, 'up_to_date');
  };
  /**
   * Compacted files whose manifest predates the column list: their footers are read once, below,
   * and the list is added to the manifest. `source` is undefined when the JSON source is gone.
   */
  const unchecked: { source: DataFile | undefined; entry: ManifestEntry; manifest: string }[] = [];
  for (const path of candidates) {
    aborted(options.signal);
    let file: DataFile;
    try {
      file = describeFile(path);
    } catch (error) {
      result.failed.push({ file: path, error: error instanceof Error ? error.message : String(error) });
      report(path, 'failed');
      continue;
    }
    if (file.signal === 'metrics') {
      result.skipped.push({ file: path, reason: 'metrics are not read by the analysis' });
      report(path, 'skipped_metrics');
      continue;
    }
    if (!options.includeActive && isActiveName(path)) {
      result.skipped.push({ file: path, reason: 'still being written (the live file)' });
      report(path, 'skipped_active');
      continue;
    }
    // A rotated file this young may still be being finished (or copied in): left for a later run.
    if (!options.includeActive && Date.now() - file.mtimeMs < minAge) {
      result.skipped.push({ file: path, reason: `modified less than ${formatAge(minAge)} ago; compacted once older (or pass --min-age 0)` });
      report(path, 'skipped_active');
      continue;
    }
    const manifest = manifestPathFor(path);
    let entry = readManifestAt(manifest);
    if (entry === undefined || !sameSource(entry, file) || !existsSync(entry.parquet)) {
      pending.push(file);
      continue;
    }
    if (entry.fingerprint === undefined && entry.format === PARQUET_FORMAT) {
      // Compacted before fingerprints were recorded: recorded now, while the source is there to read.
      const fingerprint = fingerprintOf(path, file.size);
      if (fingerprint !== undefined) {
        entry = { ...entry, fingerprint };
        writeManifestEntry(entry, manifest);
      }
    }
    if (entry.format !== PARQUET_FORMAT) {
      recompact(file, `Parquet of an older layout (${entry.format ?? 'unnumbered'}, now ${PARQUET_FORMAT})`);
    } else if (entry.columns === undefined) {
      unchecked.push({ source: file, entry, manifest });
    } else {
      settle(file, entry.columns);
    }
  }
  /** Parquet whose source was compressed after compaction: removed below once the `.gz` has its own. */
  const superseded: Superseded[] = [];
  // Parquet whose JSON source is gone (deleted after compaction) cannot be compacted again. Only
  // those of the current layout number matter: readers use no other.
  for (const compactDir of compactDirs) {
    for (const { source, manifest } of manifestsWithoutSource(compactDir)) {
      const orphan = supersededBy(gzipTwinOf(source));
      if (orphan !== undefined) {
        superseded.push(orphan);
        continue;
      }
      // A live file compacted with includeActive and rotated since: its lines are in the rotated
      // file, and its Parquet is read by nothing (a new live file of that name has other content).
      if (isActiveName(source)) {
        const parquet = parquetPathFor(source);
        rmSync(parquet, { force: true });
        rmSync(manifest, { force: true });
        result.removed.push({ file: parquet, reason: ROTATED_LIVE });
        continue;
      }
      const entry = readManifestAt(manifest);
      if (entry === undefined || entry.format !== PARQUET_FORMAT) continue;
      const parquet = parquetPathFor(source);
      if (!existsSync(parquet)) continue;
      const kept = { ...entry, parquet };
      if (entry.columns === undefined) unchecked.push({ source: undefined, entry: kept, manifest });
      else keepOlder(kept, missingColumns(entry.columns));
    }
  }
  function keepOlder(entry: ManifestEntry, missing: readonly string[]): void {
    if (missing.length === 0) return;
    result.skipped.push({
      file: entry.parquet,
      reason: `${olderLayout(missing)} kept as it is: its JSON source is gone, so it cannot be compacted again (it is still read, more slowly)`,
    });
  }
  // A pipeline: worker threads parse the next files while DuckDB writes the Parquet of the one
  // before (both cores stay busy). At most `threads` files are parsed ahead of the writer, so the
  // temporary row files of that many files (plus the one being written) are all that is on disk.
  const threads = Math.max(1, options.threads ?? defaultThreads());
  const work = mkdtempSync(join(tmpdir(), 'abtel-compact-'));
  const pool = new FlattenPool(threads);
  const onAbort = (): void => pool.cancelQueued('compaction interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const duckdb = { ...options, threads: options.duckdbThreads ?? options.threads ?? 1 };
    // Once every file is parsed, the cores the workers used are free: DuckDB may use them for the
    // last files' Parquet (unless the caller chose its threads).
    const widen = options.duckdbThreads === undefined && options.threads === undefined;
    let parsedCount = 0;
    let widened = false;
    await withConnection(duckdb, async (connection) => {
      // Manifests from before the column list: each Parquet's footer is read once (one query for
      // all) and its columns recorded, so later runs decide from the manifest alone.
      const footers = await parquetColumns(connection, unchecked.map(({ entry }) => entry.parquet));
      for (const { source, entry, manifest } of unchecked) {
        aborted(options.signal);
        const columns = footers.get(entry.parquet);
        if (columns !== undefined) writeManifestEntry({ ...entry, columns }, manifest);
        if (source === undefined) {
          if (columns !== undefined) keepOlder(entry, missingColumns(columns));
        } else if (columns === undefined) {
          recompact(source, 'Parquet whose footer could not be read');
        } else {
          settle(source, columns);
        }
      }
      // In path order again, as the files were listed.
      if (unchecked.length > 0) {
        const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
        pending.sort((a, b) => byPath(a.path, b.path));
        result.upToDate.sort(byPath);
      }
      const parsed: Promise<FlattenedFile | Error>[] = [];
      const parseAhead = (upTo: number): void => {
        for (let index = parsed.length; index < Math.min(upTo, pending.length); index++) {
          const file = pending[index]!;
          const targets = targetsFor(work, index);
          parsed.push(
            pool.flatten(file, targets).then(
              (flat) => {
                parsedCount += 1;
                return { file, targets, result: flat };
              },
              (error: unknown) => {
                parsedCount += 1;
                return error instanceof Error ? error : new Error(String(error));
              },
            ),
          );
        }
      };
      for (let index = 0; index < pending.length; index++) {
        aborted(options.signal);
        parseAhead(index + 1 + threads);
        const one = await parsed[index]!;
        aborted(options.signal);
        try {
          // One unreadable file does not fail the others.
          if (one instanceof Error) throw one;
          if (widen && !widened && parsedCount === pending.length && index < pending.length - 1) {
            widened = true;
            await connection.run(`SET threads = ${availableParallelism()}`);
          }
          recordCompacted(one.file, await writeParquet(connection, one, options.signal));
        } catch (error) {
          aborted(options.signal);
          result.failed.push({ file: pending[index]!.path, error: error instanceof Error ? error.message : String(error) });
          report(pending[index]!.path, 'failed');
        } finally {
          const targets = targetsFor(work, index);
          for (const path of [targets.spans, targets.events, targets.bad]) rmSync(path, { force: true });
        }
      }
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await pool.close();
    rmSync(work, { recursive: true, force: true });
  }
  function recordCompacted(file: DataFile, compacted: CompactFileResult): void {
    result.compacted.push(file.path);
    const reason = layoutReasons.get(file.path);
    if (reason !== undefined) result.recompacted.push({ file: file.path, reason });
    result.rows += compacted.rows;
    result.badLines += compacted.badLines;
    report(file.path, 'compacted');
  }
  for (const orphan of superseded) {
    const outcome = removeSuperseded(orphan);
    if (outcome?.removed) result.removed.push(outcome.removed);
    if (outcome?.kept) result.skipped.push(outcome.kept);
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** The Parquet of a source that is gone because it was compressed into `compressed` after it was compacted. */
interface Superseded {
  manifest: string;
  parquet: string;
  entry: ManifestEntry | undefined;
  compressed: string;
}

/** Why the Parquet of a live file rotated since it was compacted is removed. */
const ROTATED_LIVE = 'the live file was rotated since it was compacted: its lines are read from the rotated file, and this Parquet by nothing';

/** Why superseded Parquet is removed (one reason for all, so that a summary groups them). */
const SUPERSEDED = 'superseded: the file was compressed (.gz) after it was compacted, and the .gz has Parquet of its own with the same data';

/**
 * The Parquet left by the plain name of `compressed` (`x.jsonl` for `x.jsonl.gz`) when that file
 * is gone: the collector compresses rotated files in place, so a file compacted before gzip was
 * turned on leaves Parquet under a name no directory read uses any more.
 */
function supersededBy(compressed: string): Superseded | undefined {
  if (!compressed.endsWith('.gz')) return undefined;
  const plain = gzipTwinOf(compressed);
  const manifest = manifestPathFor(plain);
  if (!existsSync(compressed) || existsSync(plain) || !existsSync(manifest)) return undefined;
  return { manifest, parquet: parquetPathFor(plain), entry: readManifestAt(manifest), compressed };
}

/**
 * Removes superseded Parquet (and its manifest) once the compressed file has up-to-date Parquet
 * with as many spans, events and bad lines (the same data: rotated files are compressed
 * unchanged). Returns what was removed, or what was kept and why; undefined while the compressed
 * file has no Parquet yet (failed, too recent, interrupted: a later run decides).
 */
function removeSuperseded(orphan: Superseded): { removed?: FileReason; kept?: FileReason } | undefined {
  const { manifest, parquet, entry, compressed } = orphan;
  let stats;
  try {
    stats = statSync(compressed);
  } catch {
    return undefined;
  }
  const replacement = upToDateParquet({ path: compressed, size: stats.size, mtimeMs: stats.mtimeMs });
  if (replacement === undefined) return undefined;
  // Counts compare within one layout; Parquet of another layout is read by nothing.
  if (entry !== undefined && entry.format === PARQUET_FORMAT) {
    if (entry.spans !== replacement.spans || entry.events !== replacement.events || entry.badLines !== replacement.badLines) {
      const counts = (e: ManifestEntry): string => `${e.spans} spans, ${e.events} events, ${e.badLines} bad lines`;
      return {
        kept: {
          file: parquet,
          reason: `kept although its source is gone: ${basename(compressed)} holds other data (${counts(replacement)} against ${counts(entry)}); delete it by hand when it is not needed`,
        },
      };
    }
  }
  rmSync(parquet, { force: true });
  rmSync(manifest, { force: true });
  return { removed: { file: parquet, reason: SUPERSEDED } };
}
