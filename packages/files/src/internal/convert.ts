import type { DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api';
import { sqlStringList } from './sql.js';

/**
 * DuckDB values → plain JSON-friendly JS: BIGINT/HUGEINT → number (exact below 2^53, which counts
 * and sums here always are; larger values become the nearest double on purpose, never a bigint),
 * TIMESTAMP → ISO-8601 string, JSON columns → parsed values, DECIMAL → number.
 */
export function plainValue(value: unknown, isJson = false): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string') {
    if (!isJson) return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) {
    // Lists of plain numbers (quantile samples: a million values) need no conversion.
    if (value.every((item) => typeof item === 'number')) return value;
    return value.map((item) => plainValue(item));
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) out[key] = plainValue(item);
    return out;
  }
  return value;
}

/** Rows of a finished result as plain objects (see plainValue). */
export function plainRows<T>(reader: DuckDBResultReader): T[] {
  const names = reader.deduplicatedColumnNames();
  const jsonColumns = names.map((_, index) => {
    const type = reader.columnType(index) as { alias?: string };
    return type.alias === 'JSON';
  });
  const rows = reader.getRowsJS();
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    names.forEach((name, index) => {
      out[name] = plainValue(row[index], jsonColumns[index]);
    });
    return out as T;
  });
}

/** Runs a query and returns plain rows. */
export async function queryRows<T = Record<string, unknown>>(
  connection: DuckDBConnection,
  sql: string,
  params?: Record<string, unknown>,
): Promise<T[]> {
  const reader = params
    ? await connection.runAndReadAll(sql, params as never)
    : await connection.runAndReadAll(sql);
  return plainRows<T>(reader);
}

/**
 * The names in the footers of Parquet files (one query for all), by path as given; a file with no
 * schema row under its path is absent. The names include the parts of nested columns (a list's
 * `element`). Throws when a footer cannot be read.
 * @example
 * const names = await parquetColumnNames(connection, ['/data/.abtel/traces-1.jsonl.parquet']);
 */
export async function parquetColumnNames(connection: DuckDBConnection, paths: readonly string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  if (paths.length === 0) return found;
  const rows = await queryRows<{ file_name: string; names: string }>(
    connection,
    `SELECT file_name, string_agg(name, chr(0)) AS names FROM parquet_schema(${sqlStringList(paths)}) GROUP BY file_name`,
  );
  for (const row of rows) found.set(row.file_name, row.names.split('\u0000'));
  return found;
}
