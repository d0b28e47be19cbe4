/**
 * Test helpers over a throwaway in-memory DuckDB: the plain duckdb CLI recipe of the README
 * (apps/analysis/sql/*.sql with `__ABTEL_DATA__` substituted), and a bare connection.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from '@abtel/files';
import { viewSqlFiles } from '../src/data/views.js';

/**
 * Runs `work` on a connection of a new in-memory DuckDB, closed afterwards.
 * @example
 * await withMemoryDuckDB((connection) => connection.run('SELECT 1'));
 */
export async function withMemoryDuckDB<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Runs the duckdb CLI recipe (every apps/analysis/sql/*.sql file, the placeholder set to `dir`)
 * on a new in-memory DuckDB, then `work` with a query function over it.
 * @example
 * const rows = await withRecipe(dir, (query) => query('SELECT * FROM arm_stats'));
 */
export function withRecipe<T>(dir: string, work: (query: <R = Record<string, unknown>>(sql: string) => Promise<R[]>) => Promise<T>): Promise<T> {
  const script = viewSqlFiles({ includeSources: true })
    .map((file) => file.sql)
    .join('\n')
    .replaceAll('__ABTEL_DATA__', dir);
  return withMemoryDuckDB(async (connection) => {
    await connection.run(script);
    return await work((sql) => queryRows(connection, sql));
  });
}
