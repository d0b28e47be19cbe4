import { readFileSync } from 'node:fs';

let macros: string | undefined;

/**
 * The OTLP flattening macros (`sql/otlp.sql` at the package root). The file is plain DuckDB SQL so
 * that users can run it in the duckdb CLI; this module only reads it.
 */
export function otlpMacrosSql(): string {
  // src/internal/ and dist/internal/ are both two levels below the package root.
  macros ??= readFileSync(new URL('../../sql/otlp.sql', import.meta.url), 'utf8');
  return macros;
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL list literal of strings. */
export function sqlStringList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}
