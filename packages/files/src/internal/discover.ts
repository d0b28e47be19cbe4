import { closeSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Which OTLP signal a file holds, judged by its name (the Collector's file exporter paths). */
export type FileSignal = 'traces' | 'logs' | 'metrics' | 'mixed';

/** One input file and how to read it. */
export interface DataFile {
  path: string;
  signal: FileSignal;
  /** `jsonl`: one OTLP object per line; `document`: one pretty-printed OTLP object per file. */
  format: 'jsonl' | 'document';
  gzip: boolean;
  size: number;
  mtimeMs: number;
}

/** Name of the hidden directory (next to the data) that holds compacted Parquet and its manifest. */
export const COMPACT_DIR = '.abtel';

const DATA_FILE = /\.(jsonl|json|ndjson)(\.gz)?$/i;

/** Classifies a data file by name: `traces*`, `logs*`, `metrics*`, else mixed. */
export function signalOf(path: string): FileSignal {
  const name = basename(path).toLowerCase();
  if (/(^|[^a-z])(trace|traces|spans?)([^a-z]|$)/.test(name)) return 'traces';
  if (/(^|[^a-z])(logs?|events?)([^a-z]|$)/.test(name)) return 'logs';
  if (/(^|[^a-z])metrics?([^a-z]|$)/.test(name)) return 'metrics';
  return 'mixed';
}

function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      out += '.*';
      i += 1;
      if (pattern[i + 1] === '/') i += 1;
    } else if (char === '*') out += '[^/]*';
    else if (char === '?') out += '[^/]';
    else out += /[.+^${}()|[\]\\]/.test(char) ? `\\${char}` : char;
  }
  return new RegExp(`^${out}$`);
}

/** What a symbolic link points to (statSync follows it), or undefined for a broken or looping link. */
function linkTarget(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Adds the files under `dir` to `out`. Symbolic links are followed (log directories often link
 * the current file, or whole directories, from elsewhere): a link to a file is a file, a link to
 * a directory is walked once (`seen` holds the real paths walked, so a link cycle ends); a broken
 * link is skipped.
 */
function walk(dir: string, out: string[], seen = new Set<string>(), compactDirs?: string[]): void {
  let entries;
  try {
    const real = realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.name === COMPACT_DIR && compactDirs !== undefined && entry.isDirectory()) compactDirs.push(join(dir, entry.name));
    if (entry.name === COMPACT_DIR || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const kind = entry.isSymbolicLink() ? linkTarget(path) : entry;
    if (kind?.isDirectory()) walk(path, out, seen, compactDirs);
    else if (kind?.isFile()) out.push(path);
  }
}

/**
 * Expands inputs (files, directories — recursively —, or globs with `*`, `**`, `?`) into files,
 * sorted by path. Hidden directories (including the compaction directory) are not walked; when
 * `compactDirs` is given, the compaction directories met while walking a directory input are
 * added to it (where compactDirectory finds the manifests of files whose source is gone).
 */
export function expandInputs(inputs: readonly string[], compactDirs?: string[]): { files: string[]; missing: string[] } {
  const files = new Set<string>();
  const missing: string[] = [];
  for (const input of inputs) {
    const absolute = resolve(input);
    if (/[*?]/.test(absolute)) {
      const firstWild = absolute.search(/[*?]/);
      const base = absolute.slice(0, absolute.lastIndexOf(sep, firstWild));
      const pattern = globToRegExp(absolute.split(sep).join('/'));
      const found: string[] = [];
      walk(base, found);
      const matched = found.filter((file) => pattern.test(file.split(sep).join('/')));
      if (matched.length === 0) missing.push(input);
      matched.forEach((file) => files.add(file));
      continue;
    }
    let stats;
    try {
      stats = statSync(absolute);
    } catch {
      missing.push(input);
      continue;
    }
    if (stats.isDirectory()) {
      const found: string[] = [];
      walk(absolute, found, new Set(), compactDirs);
      found.filter((file) => DATA_FILE.test(file)).forEach((file) => files.add(file));
    } else files.add(absolute);
  }
  return { files: onePathPerFile([...files].sort()), missing };
}

/**
 * One path per file: a file reached twice (a link such as `current.jsonl` next to the file it
 * points to, or overlapping inputs) would otherwise be read twice. Keeps the file's own path when
 * it is among them, else the first; order is kept.
 */
function onePathPerFile(paths: readonly string[]): string[] {
  const chosen = new Map<string, string>();
  for (const path of paths) {
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      // Gone since it was listed: reading it reports the error.
    }
    const previous = chosen.get(real);
    if (previous === undefined || (path === real && previous !== real)) chosen.set(real, path);
  }
  const kept = new Set(chosen.values());
  return paths.filter((path) => kept.has(path));
}

/** Reads up to `bytes` from the start of a file, gunzipped when it is gzip. */
function head(path: string, gzip: boolean, bytes: number): string {
  if (gzip) {
    // Small gzip files only: a pretty-printed document is small; big files are JSON Lines.
    const stats = statSync(path);
    if (stats.size > 8 * 1024 * 1024) return '';
    try {
      return gunzipSync(readFileSync(path)).toString('utf8', 0, bytes);
    } catch {
      return '';
    }
  }
  const buffer = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.toString('utf8', 0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * JSON Lines or one pretty-printed JSON document? A file is a document when its first line is not
 * a complete JSON value but the whole file is (a torn first line of a JSON Lines file is not
 * mistaken for a document: the whole file would not parse either).
 */
export function detectFormat(path: string, gzip: boolean): 'jsonl' | 'document' {
  const start = head(path, gzip, 64 * 1024);
  const newline = start.indexOf('\n');
  // No line break in the first 64 KB: a long first line, so JSON Lines (a pretty-printed document
  // breaks its first line right after the opening brace). This saves reading and parsing a whole
  // file of long lines only to find out that it is not one document.
  if (newline < 0 && start.length >= 16 * 1024) return 'jsonl';
  const first = (newline >= 0 ? start.slice(0, newline) : start).trim();
  if (first === '') {
    if (start.trim() === '') return 'jsonl';
  } else {
    try {
      JSON.parse(first);
      return 'jsonl';
    } catch {
      // fall through: maybe a multi-line document
    }
  }
  const stats = statSync(path);
  if (stats.size > 64 * 1024 * 1024) return 'jsonl';
  try {
    const text = gzip ? gunzipSync(readFileSync(path)).toString('utf8') : readFileSync(path, 'utf8');
    JSON.parse(text);
    return 'document';
  } catch {
    return 'jsonl';
  }
}

/** Describes one data file (signal, format, gzip, size, mtime). */
export function describeFile(path: string): DataFile {
  const stats = statSync(path);
  const gzip = path.toLowerCase().endsWith('.gz');
  return { path, signal: signalOf(path), format: detectFormat(path, gzip), gzip, size: stats.size, mtimeMs: stats.mtimeMs };
}

/**
 * Whether `path` has the name an exporter writes to before rotating (`traces.jsonl`, `logs.jsonl`,
 * …): the currently open file, renamed to a rotated name later.
 */
export function isActiveName(path: string): boolean {
  return /^(traces|logs|metrics|otlp|telemetry|data)\.(jsonl|json|ndjson)$/i.test(basename(path));
}

/**
 * The same file compressed or decompressed: `x.jsonl.gz` for `x.jsonl`, `x.jsonl` for `x.jsonl.gz`
 * (the collector compresses rotated files in place, under the name plus `.gz`).
 */
export function gzipTwinOf(path: string): string {
  return path.endsWith('.gz') ? path.slice(0, -'.gz'.length) : `${path}.gz`;
}

/** The compaction directory for a data file: `<dir>/.abtel`. */
export function compactDirFor(path: string): string {
  return join(dirname(path), COMPACT_DIR);
}
