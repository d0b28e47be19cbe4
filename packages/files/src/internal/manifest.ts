import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { COMPACTED_COLUMNS } from './columns.js';
import { compactDirFor, gzipTwinOf, isActiveName, type DataFile } from './discover.js';

/**
 * What compaction remembers about one source file. It sits next to the Parquet
 * (`<dir>/.abtel/<name>.manifest.json`) and is written last, after the Parquet was renamed into
 * place, so an entry always points at a complete file. Keyed by path + size + mtime: a source that
 * changed since is compacted again.
 */
export interface ManifestEntry {
  source: string;
  size: number;
  mtimeMs: number;
  parquet: string;
  rows: number;
  spans: number;
  events: number;
  badLines: number;
  /**
   * Lines kept as `bad` rows that are not bad (OTLP metrics lines, skipped and reported). Absent in
   * manifests written before it was counted: then the file is assumed to hold bad rows.
   */
  unreadLines?: number;
  /** Layout of the Parquet (PARQUET_FORMAT); an entry of another layout is compacted again. */
  format?: number;
  /**
   * Column names of the Parquet. Columns are added to a layout without a new number (readers
   * derive them for older files, slower): compactDirectory compacts a file again when its
   * Parquet lacks one. Absent in entries written before it was recorded: then compactDirectory
   * reads the Parquet's footer once and adds the list.
   */
  columns?: string[];
  /**
   * `fingerprintOf` the source when it was compacted: recognises a copy of it made without keeping
   * its mtime, under any name, once the source is deleted. Absent in entries written before it
   * was recorded: compactDirectory adds it while the source is there.
   */
  fingerprint?: string;
  compactedAt: string;
}

/** Bytes read from each end of a file for its fingerprint. */
const FINGERPRINT_END_BYTES = 64 * 1024;

/**
 * A fingerprint of a file's content: SHA-256 of its size and of its first and last 64 KiB (the
 * whole file below 128 KiB). Reading only the ends keeps it cheap for a file of a gigabyte; OTLP
 * files of one size that agree in both ends (ids, timestamps) but not in between do not occur
 * outside an edit in place, whose result is then read as the same data. Undefined when the file
 * cannot be read.
 * @example
 * fingerprintOf('data/traces-2026-11-22T10-00-00.000.jsonl', 1_048_576); // 'ends64k-sha256:9f86d0…'
 */
export function fingerprintOf(path: string, size: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const hash = createHash('sha256').update(`${size}\n`);
    const head = Buffer.alloc(Math.min(size, FINGERPRINT_END_BYTES));
    hash.update(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
    const tailStart = Math.max(head.length, size - FINGERPRINT_END_BYTES);
    const tail = Buffer.alloc(size - tailStart);
    hash.update(tail.subarray(0, readSync(fd, tail, 0, tail.length, tailStart)));
    return `ends64k-sha256:${hash.digest('hex')}`;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The Parquet layout written now. 5: flat rows of three kinds (`record_type` span, event, bad);
 * attributes as typed JSON text instead of nested OTLP key/value lists (spans: `extra_attributes`
 * without the string-valued promoted ones, `stripped_attributes` says which; events:
 * `attributes`); span events are event rows. Parquet of another layout is not read; the file is
 * compacted again.
 */
export const PARQUET_FORMAT = 5;

export function parquetPathFor(source: string): string {
  return join(compactDirFor(source), `${basename(source)}.parquet`);
}

export function manifestPathFor(source: string): string {
  return join(compactDirFor(source), `${basename(source)}.manifest.json`);
}

/** The manifest entry of a source file, when it exists and is readable. */
export function readManifestEntry(source: string): ManifestEntry | undefined {
  return readManifestAt(manifestPathFor(source));
}

/** The manifest entry in the file at `path`, when it exists and is readable. */
export function readManifestAt(path: string): ManifestEntry | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ManifestEntry;
  } catch {
    return undefined;
  }
}

/** Whether an entry was written for the file as it is now (same size and mtime). */
export function sameSource(entry: ManifestEntry, file: Pick<DataFile, 'size' | 'mtimeMs'>): boolean {
  return entry.size === file.size && Math.abs(entry.mtimeMs - file.mtimeMs) <= 1;
}

/** The columns of the current layout that a Parquet with these columns lacks (none: it is current). */
export function missingColumns(columns: readonly string[]): string[] {
  const have = new Set(columns);
  return COMPACTED_COLUMNS.filter((name) => !have.has(name));
}

/**
 * The Parquet that stands for this file, when it was compacted and has not changed since. It may
 * lack columns added to the layout since (see ManifestEntry.columns): readers derive them.
 */
export function upToDateParquet(file: Pick<DataFile, 'path' | 'size' | 'mtimeMs'>): ManifestEntry | undefined {
  const entry = readManifestEntry(file.path);
  if (!entry) return undefined;
  if (!sameSource(entry, file)) return undefined;
  if (entry.format !== PARQUET_FORMAT) return undefined;
  if (!existsSync(entry.parquet)) return undefined;
  return entry;
}

/** Writes a manifest entry atomically (temp name, then rename), by default next to its source. */
export function writeManifestEntry(entry: ManifestEntry, path = manifestPathFor(entry.source)): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(entry, null, 2)}\n`);
  renameSync(temp, path);
}

const MANIFEST_SUFFIX = '.manifest.json';

/**
 * The manifests in a compaction directory whose source file is gone, each with the source's path
 * taken from where the manifest sits (a copied or moved directory keeps old paths inside).
 */
export function manifestsWithoutSource(compactDir: string): { source: string; manifest: string }[] {
  let names: string[];
  try {
    names = readdirSync(compactDir).filter((name) => name.endsWith(MANIFEST_SUFFIX));
  } catch {
    return [];
  }
  return names
    .map((name) => ({ source: join(dirname(compactDir), name.slice(0, -MANIFEST_SUFFIX.length)), manifest: join(compactDir, name) }))
    .filter(({ source }) => !existsSync(source));
}

/**
 * Compacted files that stand for data no longer anywhere else: Parquet of the current layout whose
 * source was deleted after compaction (to save space: the Parquet is a tenth of the JSON). Left out,
 * so that nothing is read twice: a source whose twin with or without `.gz` is there (the same
 * file, compressed or decompressed since; that one is read), and the live names (`traces.jsonl`,
 * …), which are gone only because they were rotated into a file that holds the same lines.
 */
export function compactedWithoutSource(compactDirs: readonly string[]): ManifestEntry[] {
  const found: ManifestEntry[] = [];
  // Overlapping inputs (a directory and one inside it, a link to either) meet a compaction
  // directory more than once: each is read once.
  const seen = new Set<string>();
  for (const compactDir of compactDirs) {
    let real: string;
    try {
      real = realpathSync(compactDir);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    for (const { source, manifest } of manifestsWithoutSource(compactDir)) {
      if (isActiveName(source)) continue;
      if (existsSync(gzipTwinOf(source))) continue;
      const entry = readManifestAt(manifest);
      if (entry === undefined || entry.format !== PARQUET_FORMAT) continue;
      const parquet = parquetPathFor(source);
      if (existsSync(parquet)) found.push({ ...entry, source, parquet });
    }
  }
  return found;
}
