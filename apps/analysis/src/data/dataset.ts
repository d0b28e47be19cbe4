import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance, attachOtlp, queryRows, type BadLine, type ReadProgress, type SkippedData } from '@abtel/files';
import { defineViews } from './views.js';

export type { BadLine, ReadProgress, SkippedData };

/** Opened telemetry: a DuckDB connection with the analysis views defined on it. */
export interface Dataset {
  connection: DuckDBConnection;
  /** Unreadable lines (at most 1000 listed) and their total count. */
  badLines: BadLine[];
  badLineCount: number;
  /** Data deliberately not read (metrics files/lines). */
  skipped: SkippedData[];
  files: { raw: number; parquet: number };
  /** Runs SQL; BIGINT → number, TIMESTAMP → ISO string, JSON → parsed. */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * DuckDB's memory limit when none is given (DuckDB's own default is 80% of the machine's memory),
 * for reading and for the analysis. The working set of a 10 M-span experiment (≈ 330 MB: calls,
 * units without their full exposure attributes) then stays in memory: at 400 MB DuckDB evicted
 * part of it to disk and read it back, and analyze() took 3.7–5.0 s instead of 2.9 s, at a peak
 * RSS of ≈ 860 MB either way.
 */
const DEFAULT_MEMORY_LIMIT = '600MB';

export interface OpenDatasetOptions {
  /** Files, directories or globs of OTLP JSON Lines (plain or .gz), JSON documents, or compacted Parquet. */
  inputs: string[];
  onProgress?: (progress: ReadProgress) => void;
  /** DuckDB memory limit, e.g. '1GB' (default 600MB: with the parser's own buffers the process stays under 1 GB; larger work spills to a private temporary directory). */
  memoryLimit?: string;
  threads?: number;
}

/**
 * Opens telemetry files for analysis: compacted files are read from Parquet, the rest parsed once
 * from OTLP JSON; bad lines are counted and listed with file and line; the views of
 * `apps/analysis/sql` are defined on the connection.
 * @example
 * const ds = await openDataset({ inputs: ['./data'] });
 * try {
 *   console.log(await ds.query('SELECT variation, count(*) AS units FROM exposures GROUP BY ALL'));
 * } finally {
 *   await ds.close();
 * }
 */
export async function openDataset(options: OpenDatasetOptions): Promise<Dataset> {
  // Spill to a private temporary directory (never the user's working directory) under a memory limit.
  const spill = mkdtempSync(join(tmpdir(), 'abtel-duckdb-'));
  // Row order is never relied on (lines carry their numbers), so DuckDB need not keep it: less memory.
  const config: Record<string, string> = { temp_directory: spill, preserve_insertion_order: 'false' };
  config.memory_limit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
  // Return freed memory to the OS promptly, so the process's RSS follows the limit.
  config.allocator_flush_threshold = '32MB';
  config.allocator_background_threads = 'true';
  if (options.threads) config.threads = String(options.threads);
  // A database file in the private directory, not ':memory:': tables of parsed JSON can then be
  // evicted to disk under a memory limit (in-memory tables cannot).
  const instance = await DuckDBInstance.create(join(spill, 'abtel.duckdb'), config);
  const connection = await instance.connect();
  try {
    // Every query re-binds the views over the compacted files: keep their Parquet footers in memory
    // instead of reading them again each time (≈ 10 ms a query over the 104 files of 10 M spans).
    // (A setting of the Parquet reader, so it cannot be passed before the instance has loaded it.)
    await connection.run('SET parquet_metadata_cache = true');
    const attached = await attachOtlp(connection, {
      inputs: options.inputs,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    await defineViews(connection);
    let closed = false;
    return {
      connection,
      badLines: attached.badLines,
      badLineCount: attached.badLineCount,
      skipped: attached.skipped,
      files: attached.files,
      query: <T>(sql: string, params?: Record<string, unknown>) => queryRows<T>(connection, sql, params),
      close: async () => {
        if (closed) return;
        closed = true;
        connection.closeSync();
        instance.closeSync();
        rmSync(spill, { recursive: true, force: true });
      },
    };
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    rmSync(spill, { recursive: true, force: true });
    throw error;
  }
}
