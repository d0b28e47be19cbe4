/**
 * `abtel compact DIR`: flattens closed OTLP JSON Lines files into Parquet, incrementally.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { compactDirectory, type CompactDirectoryResult } from '@abtel/files';
import { memoryLimitFlag, numberFlag, parseFlags, UsageError, type Command } from '@abtel/core/cli';
import { progressBar } from '../analyze/progress.js';
import { skippedByReason } from '../report/format.js';

const HELP = `abtel compact — flatten collected OTLP JSON Lines into Parquet (incremental, safe to interrupt)

Usage: abtel compact DIR [--include-active] [--min-age SECONDS] [--format text|json]

Every closed traces*/logs* file under DIR (recursively, plain or .gz) is written once to
DIR/…/.abtel/<file>.parquet and remembered by path, size and modification time: a re-run only
compacts new or changed files, and files whose Parquet an older abtel wrote without a column of
the current layout (when their JSON is still there). The live file (traces.jsonl, logs.jsonl) and files modified in
the last --min-age seconds are skipped. abtel analyze and abtel sql then read the Parquet instead
of parsing the JSON again; the JSON files are left in place (delete old ones to save space if you
like: their Parquet is still read). Parquet left by a file compressed (.gz) after it was compacted
is removed once the .gz has its own with the same data.

Flags:
  --include-active   also compact the live files (when the collector is stopped)
  --min-age SECONDS  treat files modified more recently as still open (default 2)
  --threads N        DuckDB threads (default: all cores)
  --memory-limit SIZE  DuckDB memory limit, e.g. 600MB
  --format FORMAT    text (default) or json

Example:
  abtel compact ./data && abtel analyze --data ./data --experiments ./experiments --experiment support-prompt
`;

function summary(result: CompactDirectoryResult): string {
  const parts = [
    `compacted ${result.compacted.length} file(s): ${result.rows.toLocaleString('en-US')} rows, ${result.badLines} bad line(s) kept as records, ${result.seconds.toFixed(1)} s`,
    `${result.upToDate.length} already up to date`,
  ];
  if (result.skipped.length > 0) parts.push(`${result.skipped.length} skipped`);
  const lines = [`abtel compact: ${parts.join('; ')}`];
  // Files compacted again only because their Parquet had an older layout: how many, and why.
  const recompacted = new Map<string, CompactDirectoryResult['recompacted']>();
  for (const item of result.recompacted) recompacted.set(item.reason, [...(recompacted.get(item.reason) ?? []), item]);
  for (const items of recompacted.values()) lines.push(`  recompacted ${items.length} of them, ${skippedByReason(items)[0]!}`);
  // One line per reason (the live file, too recent, metrics), naming the first few files.
  for (const phrase of skippedByReason(result.skipped)) lines.push(`  skipped ${phrase}`);
  for (const phrase of skippedByReason(result.removed)) lines.push(`  removed ${phrase}`);
  for (const failure of result.failed) lines.push(`  failed: ${failure.file}: ${failure.error}`);
  return `${lines.join('\n')}\n`;
}

/** `abtel compact`. */
export const compactCommand: Command = {
  name: 'compact',
  summary: 'flatten closed OTLP files into Parquet, incrementally, for fast analysis',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags('compact', argv, {
      'include-active': { type: 'boolean' },
      'min-age': { type: 'string' },
      threads: { type: 'string' },
      'memory-limit': { type: 'string' },
      format: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('abtel compact: give exactly one data directory, e.g. abtel compact ./data');
    const dir = resolve(io.cwd, positionals[0]!);
    // A single file would be "compacted" into .abtel/ next to it, whatever it holds.
    if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) {
      throw new UsageError(
        `abtel compact: ${positionals[0]} is a file, not a data directory; give the directory the collector writes to (its --dir), e.g. abtel compact ./data`,
      );
    }
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`abtel compact: --format must be text or json (got "${format}")`);
    const minAge = numberFlag('compact', 'min-age', values['min-age'], { min: 0 });
    const threads = numberFlag('compact', 'threads', values.threads, { min: 1, integer: true });
    const memoryLimit = memoryLimitFlag('compact', values['memory-limit']);
    const bar = format === 'text' ? progressBar(io.stderr as never) : progressBar({ write: () => true });
    const result = await compactDirectory(dir, {
      ...(values['include-active'] ? { includeActive: true } : {}),
      ...(minAge !== undefined ? { minAgeMs: minAge * 1000 } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...(memoryLimit !== undefined ? { memoryLimit } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (p) => bar.update({ phase: p.file, done: p.done, total: p.total }),
    });
    bar.done();
    io.stdout.write(format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : summary(result));
    return result.failed.length > 0 ? 1 : 0;
  },
};
