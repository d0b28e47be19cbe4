import { sqlString } from '@abtel/files';

/**
 * A DuckDB JSON path literal for one top-level key, quoted so that dots and quotes in the key are
 * part of the name (attribute names are dotted).
 * @example
 * jsonPath('abtel.segment.plan'); // `'$."abtel.segment.plan"'`
 */
export function jsonPath(key: string): string {
  return sqlString(`$."${key.replaceAll('"', '\\"')}"`);
}
