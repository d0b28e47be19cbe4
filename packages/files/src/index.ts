export { attachOtlp } from './attach.js';
export { DuckDBInstance } from './duckdb.js';
export type { AttachOptions, AttachResult, BadLine, SkippedData, ReadProgress } from './attach.js';
export { compactFile, compactDirectory } from './compact.js';
export type {
  CompactFileOptions,
  CompactFileResult,
  CompactDirectoryOptions,
  CompactDirectoryResult,
  CompactProgress,
} from './compact.js';
export { plainValue, plainRows, queryRows } from './internal/convert.js';
export { expandInputs, signalOf, detectFormat, COMPACT_DIR } from './internal/discover.js';
export type { DataFile, FileSignal } from './internal/discover.js';
export { linesSql, LINE_READER_OPTIONS } from './internal/lines.js';
export { otlpMacrosSql, sqlString, sqlStringList } from './internal/sql.js';
export { readManifestEntry, upToDateParquet } from './internal/manifest.js';
export type { ManifestEntry } from './internal/manifest.js';
