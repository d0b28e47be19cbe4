/**
 * The assignment hash as DuckDB SQL, so that the analysis can recompute every unit's bucket and
 * planned variation from the telemetry and audit what the application served.
 */
import { cumulativeWeights } from './assignment.js';
import type { ExperimentDefinition } from './experiment.js';

// Each step binds its input once through a one-element list lambda, so the expression grows
// linearly (plain nesting would repeat the sub-expression at every `xor(h, h >> n)`).
function step(expression: string, body: string): string {
  return `list_transform([${expression}], h -> ${body})[1]`;
}

/**
 * A SQL string literal for `text` (single quotes doubled), e.g. for the salt argument of `bucketSql`.
 * @example
 * sqlString("o'brien"); // "'o''brien'"
 */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A DuckDB SQL expression (DOUBLE in [0, 1)) equal to `bucketOf(salt, unitId)` for the given SQL
 * expressions of type VARCHAR. FNV-1a runs over the UTF-8 bytes (`encode`), with every product
 * reduced modulo 2^32 in UBIGINT; then fmix32.
 * @example
 * const sql = `SELECT ${bucketSql(sqlString(def.salt), 'conversation_id')} AS bucket FROM exposures`;
 */
export function bucketSql(saltSqlExpr: string, unitSqlExpr: string): string {
  // Bytes of the UTF-8 string: hex-encode the BLOB, then read two hex digits per byte.
  const key = `(${saltSqlExpr}) || ':' || (${unitSqlExpr})`;
  const fnv =
    `list_reduce(list_transform(range(octet_length(encode(k))), i -> ('0x' || substr(hex(encode(k)), 2 * i + 1, 2))::UBIGINT), ` +
    `(h, b) -> (xor(h, b) * 16777619) % 4294967296, 2166136261::UBIGINT)`;
  const hashed = `list_transform([${key}], k -> ${fnv})[1]`;
  let h = step(hashed, 'xor(h, h >> 16)');
  h = step(h, '(h * 2246822507) % 4294967296');
  h = step(h, 'xor(h, h >> 13)');
  h = step(h, '(h * 3266489909) % 4294967296');
  h = step(h, 'xor(h, h >> 16)');
  return `((${h})::DOUBLE / 4294967296.0)`;
}

/**
 * A DuckDB CASE expression mapping a bucket expression to the planned variation key under the
 * definition's cumulative normalised weights (the same thresholds as `variationForBucket`).
 * @example
 * const sql = `SELECT ${variationSql(def, bucketSql(sqlString(def.salt), 'unit_id'))} AS planned FROM units`;
 */
export function variationSql(def: Pick<ExperimentDefinition, 'variations'>, bucketSqlExpr: string): string {
  const cumulative = cumulativeWeights(def);
  const branches = def.variations
    .slice(0, -1)
    .map((variation, index) => `WHEN b < CAST('${String(cumulative[index])}' AS DOUBLE) THEN ${sqlString(variation.key)}`)
    .join(' ');
  const last = def.variations[def.variations.length - 1];
  return `list_transform([${bucketSqlExpr}], b -> CASE ${branches} ELSE ${sqlString(last?.key ?? '')} END)[1]`;
}
