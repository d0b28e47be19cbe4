/**
 * DuckDB's Node API, loaded with `require` rather than `import`. It is a CommonJS package of
 * ≈ 180 modules whose index re-exports the others: importing it from ES modules makes Node scan
 * every one of them for named exports before running them (≈ 300 ms of start-up on this kind of
 * machine), while `require` loads them directly (≈ 100 ms). Start-up is part of every `abtel`
 * command, so abtel loads DuckDB through this module; the API and its types are DuckDB's own.
 */
import { createRequire } from 'node:module';

type DuckDBApi = typeof import('@duckdb/node-api');

const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as DuckDBApi;

/**
 * DuckDB's `DuckDBInstance` class (from `@duckdb/node-api`).
 * @example
 * const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
 * const connection = await instance.connect();
 */
export const DuckDBInstance: DuckDBApi['DuckDBInstance'] = duckdb.DuckDBInstance;
