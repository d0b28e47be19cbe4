import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';

/** The directory of the view definitions (`apps/analysis/sql`), from src/data or dist/data alike. */
export function sqlDirectory(): string {
  return fileURLToPath(new URL('../../sql/', import.meta.url));
}

/**
 * The view files abtel runs, in order. Files starting with `0` (the OTLP macros and the duckdb CLI's
 * own loading step) are skipped: abtel defines the same base relations with @abtel/files.
 * @example
 * for (const file of viewSqlFiles()) console.log(file.name);
 */
export function viewSqlFiles(options: { includeSources?: boolean } = {}): { name: string; sql: string }[] {
  const dir = sqlDirectory();
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sql') && (options.includeSources || !name.startsWith('0')))
    .sort()
    .map((name) => ({ name, sql: readFileSync(`${dir}${name}`, 'utf8') }));
}

/**
 * Defines the analysis views (spans, events, exposures, outcomes, gen_ai_calls, evaluations,
 * unit_metrics, arm_stats) on a connection that already has the base relations.
 * @example
 * await defineViews(connection);
 */
export async function defineViews(connection: DuckDBConnection): Promise<void> {
  for (const file of viewSqlFiles()) await connection.run(file.sql);
}
