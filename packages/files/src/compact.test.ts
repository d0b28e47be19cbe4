import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attachOtlp, compactDirectory, compactFile, queryRows, readManifestEntry } from './index.js';
import { fingerprintOf, manifestPathFor } from './internal/manifest.js';

const FIXTURE_TRACES = new URL('../../../../shared/fixtures/otlp/otel-spec-file-exporter-example-traces.jsonl', import.meta.url).pathname;

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'abtel-compact-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A small data directory like the file exporter leaves it: rotated files in a date folder, the live file, a bad line. */
function makeData(dir: string): void {
  const day = join(dir, '2026-11-22');
  mkdirSync(day, { recursive: true });
  const span = (i: number, conversation: string): string =>
    `{"traceId":"${i.toString(16).padStart(32, 'A')}","spanId":"${i.toString(16).padStart(16, '0')}","name":"chat","kind":3,"startTimeUnixNano":"${1795000000000000000 + i * 1000000}","endTimeUnixNano":"${1795000000000000000 + i * 1000000 + 250000000}","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.conversation.id","value":{"stringValue":"${conversation}"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":${i}}},{"key":"abtel.usage.cost_usd","value":{"doubleValue":${i}.5}}],"events":[{"timeUnixNano":"${1795000000000000000 + i}","name":"abtel.exposure","attributes":[{"key":"abtel.experiment.key","value":{"stringValue":"exp"}},{"key":"abtel.experiment.variation","value":{"stringValue":"b"}}]}],"status":{}}`;
  const line = (from: number): string =>
    `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[${[0, 1, 2].map((k) => span(from + k, `c${from + k}`)).join(',')}]}]}]}`;
  const log = (i: number): string =>
    `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":"${1795000000000000000 + i}","eventName":"abtel.outcome","attributes":[{"key":"gen_ai.conversation.id","value":{"stringValue":"c${i}"}},{"key":"abtel.outcome.name","value":{"stringValue":"resolved"}},{"key":"abtel.outcome.value","value":{"intValue":"1"}}]},{"timeUnixNano":"1","body":{"stringValue":"plain log"}}]}]}]}`;
  writeFileSync(join(day, 'traces-2026-11-22T10-00-00.000.jsonl'), `${line(0)}\n${line(3)}\n{"resourceSpans":[{"res\n`);
  writeFileSync(join(day, 'traces-2026-11-22T11-00-00.000.jsonl'), `${line(6)}\n${line(9)}\n`);
  writeFileSync(join(day, 'logs-2026-11-22T10-00-00.000.jsonl'), `${log(0)}\n${log(4)}\n`);
  writeFileSync(join(dir, 'traces.jsonl'), `${line(12)}\n`);
  writeFileSync(join(dir, 'logs.jsonl'), `${log(12)}\n`);
  // Old enough to count as closed.
  const old = new Date(Date.now() - 60_000);
  for (const file of readdirSync(day)) utimesSync(join(day, file), old, old);
}

/** Runs `use` on a connection to a fresh in-memory DuckDB, closed afterwards. */
async function withDuckDB<T>(use: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await use(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function snapshot(inputs: string[]) {
  return withDuckDB(async (connection) => {
    const attached = await attachOtlp(connection, { inputs });
    const spans = await queryRows(connection, 'SELECT * FROM otlp_spans_all ORDER BY source_file, source_line, span_id');
    const events = await queryRows(connection, 'SELECT * FROM otlp_events_all ORDER BY source_file, source_line, time, event_name');
    return { attached, spans, events };
  });
}

/** A fresh data directory `name` under the test root, its rows before compaction, compacted; with its first rotated traces file. */
async function compactedData(name: string) {
  const dir = join(root, name);
  makeData(dir);
  const before = await snapshot([dir]);
  await compactDirectory(dir);
  return { dir, before, firstTraces: join(dir, '2026-11-22', 'traces-2026-11-22T10-00-00.000.jsonl') };
}

/** One line of two spans, the first with `abtel.assignment.ids` (a list), the second without. */
function assignmentLine(from: number): string {
  const span = (i: number, ids: string[] | undefined): string =>
    JSON.stringify({
      traceId: i.toString(16).padStart(32, '0'),
      spanId: i.toString(16).padStart(16, '0'),
      name: 'chat',
      kind: 3,
      startTimeUnixNano: `${1795000000000000000 + i * 1_000_000}`,
      endTimeUnixNano: `${1795000000000000000 + i * 1_000_000 + 250_000_000}`,
      attributes: [
        { key: 'gen_ai.conversation.id', value: { stringValue: `c${i}` } },
        { key: 'abtel.experiment.key', value: { stringValue: 'persona' } },
        ...(ids ? [{ key: 'abtel.assignment.ids', value: { arrayValue: { values: ids.map((stringValue) => ({ stringValue })) } } }] : []),
      ],
    });
  return `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[${span(from, ['persona=c' + from, 'pricing=user-' + from])},${span(from + 1, undefined)}]}]}]}\n`;
}

/** Column names in a Parquet's footer (top level and nested parts alike). */
function parquetNames(parquet: string): Promise<string[]> {
  return withDuckDB(async (connection) => (await queryRows<{ name: string }>(connection, `SELECT name FROM parquet_schema('${parquet}')`)).map((row) => row.name));
}

/** Rewrites a compacted Parquet in place without the `assignment_ids` column, as a release before that column wrote it. */
async function dropAssignmentIds(parquet: string): Promise<void> {
  await withDuckDB((connection) => connection.run(`COPY (SELECT * EXCLUDE (assignment_ids) FROM read_parquet('${parquet}')) TO '${parquet}.tmp' (FORMAT parquet)`));
  renameSync(`${parquet}.tmp`, parquet);
}

/**
 * Turns a compacted file into what the release before the `assignment_ids` column left: the
 * Parquet without that column (unless `keepParquet`), and a manifest entry without the column list
 * (that release did not write one), or with `columns` when given.
 */
async function asPreviousRelease(source: string, options: { keepParquet?: boolean; columns?: string[] } = {}): Promise<void> {
  const manifestPath = manifestPathFor(source);
  const { columns, ...entry } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { columns?: string[]; parquet: string };
  expect(columns).toContain('assignment_ids');
  if (!options.keepParquet) await dropAssignmentIds(entry.parquet);
  writeFileSync(manifestPath, JSON.stringify(options.columns ? { ...entry, columns: options.columns } : entry, null, 2));
}

describe('compaction', () => {
  test('Parquet + raw JSON read exactly like raw JSON only; bad lines survive compaction', async () => {
    const dir = join(root, 'union');
    makeData(dir);
    const before = await snapshot([dir]);
    expect(before.attached.files).toEqual({ raw: 5, parquet: 0 });
    expect(before.spans).toHaveLength(15);
    expect(before.events.filter((e) => e['origin'] === 'span_event')).toHaveLength(15);
    expect(before.events.filter((e) => e['origin'] === 'log')).toHaveLength(3);

    const result = await compactDirectory(dir);
    expect(result.compacted).toHaveLength(3);
    expect(result.skipped.map((s) => s.file).sort()).toEqual([join(dir, 'logs.jsonl'), join(dir, 'traces.jsonl')]);
    expect(result.badLines).toBe(1);
    expect(result.rows).toBe(12 + 12 + 2);

    const after = await snapshot([dir]);
    expect(after.attached.files).toEqual({ raw: 2, parquet: 3 });
    expect(after.spans).toEqual(before.spans);
    expect(after.events).toEqual(before.events);
    expect(after.attached.badLines).toEqual(before.attached.badLines);
    expect(after.attached.badLines).toEqual([
      { file: join(dir, '2026-11-22', 'traces-2026-11-22T10-00-00.000.jsonl'), line: 3, reason: expect.stringMatching(/not valid JSON/) },
    ]);
  });

  test('incremental and idempotent: a re-run does nothing; a changed file is compacted again', async () => {
    const dir = join(root, 'incremental');
    makeData(dir);
    const first = await compactDirectory(dir);
    expect(first.compacted).toHaveLength(3);
    const second = await compactDirectory(dir);
    expect(second.compacted).toEqual([]);
    expect(second.upToDate).toHaveLength(3);

    const changed = join(dir, '2026-11-22', 'traces-2026-11-22T11-00-00.000.jsonl');
    appendFileSync(changed, '{"resourceSpans":[]}\n');
    const old = new Date(Date.now() - 30_000);
    utimesSync(changed, old, old);
    const third = await compactDirectory(dir);
    expect(third.compacted).toEqual([changed]);
    expect(readManifestEntry(changed)?.size).toBeGreaterThan(0);

    // The live file too, when asked.
    const live = await compactDirectory(dir, { includeActive: true, minAgeMs: 0 });
    expect(live.compacted.sort()).toEqual([join(dir, 'logs.jsonl'), join(dir, 'traces.jsonl')]);
  });

  test('skipped files say why: the live file, a file younger than the minimum age, metrics', async () => {
    const dir = join(root, 'reasons');
    makeData(dir);
    // Just rotated: closed, but modified a moment ago.
    const rotated = join(dir, '2026-11-22', 'traces-0000.jsonl.gz');
    writeFileSync(rotated, gzipSync('{"resourceSpans":[]}\n'));
    writeFileSync(join(dir, 'metrics.jsonl'), '');
    const result = await compactDirectory(dir);
    expect(result.skipped.sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      { file: rotated, reason: 'modified less than 2 s ago; compacted once older (or pass --min-age 0)' },
      { file: join(dir, 'logs.jsonl'), reason: 'still being written (the live file)' },
      { file: join(dir, 'metrics.jsonl'), reason: 'metrics are not read by the analysis' },
      { file: join(dir, 'traces.jsonl'), reason: 'still being written (the live file)' },
    ]);
    const waited = await compactDirectory(dir, { minAgeMs: 0 });
    expect(waited.compacted).toEqual([rotated]);
  });

  test('interrupt-safe: an aborted run leaves no partial file and the next run finishes the work', async () => {
    const dir = join(root, 'interrupt');
    makeData(dir);
    const controller = new AbortController();
    const run = compactDirectory(dir, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.status === 'compacted') controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/interrupted/);
    const hidden = join(dir, '2026-11-22', '.abtel');
    const files = readdirSync(hidden);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.manifest.json'))).toHaveLength(1);
    // A crash mid-write leaves a temporary file: it is never read, and the next run replaces it.
    writeFileSync(join(hidden, 'traces-2026-11-22T11-00-00.000.jsonl.parquet.999.1.tmp'), 'garbage');
    const resumed = await compactDirectory(dir);
    expect(resumed.compacted).toHaveLength(2);
    expect(resumed.upToDate).toHaveLength(1);
    const read = await snapshot([dir]);
    expect(read.spans).toHaveLength(15);
  });

  /** Compresses `path` in place as the collector does (`x.jsonl` → `x.jsonl.gz`), optionally with other content; closed (old mtime). */
  function compressInPlace(path: string, content: string = readFileSync(path, 'utf8')): string {
    const compressed = `${path}.gz`;
    writeFileSync(compressed, gzipSync(content));
    rmSync(path);
    const old = new Date(Date.now() - 30_000);
    utimesSync(compressed, old, old);
    return compressed;
  }

  /** A data directory compacted, then one file of its day folder compressed in place (its content reshaped first, if asked). */
  async function compactedThenCompressed(name: string, file: string, reshape: (text: string) => string = (text) => text) {
    const dir = join(root, name);
    makeData(dir);
    await compactDirectory(dir);
    const plain = join(dir, '2026-11-22', file);
    const oldParquet = readManifestEntry(plain)!.parquet;
    const compressed = compressInPlace(plain, reshape(readFileSync(plain, 'utf8')));
    return { dir, oldParquet, compressed };
  }

  test('gzip turned on after compaction: the Parquet of the plain name is removed once the .gz has its own', async () => {
    const dir = join(root, 'gzip-later');
    makeData(dir);
    const before = await snapshot([dir]);
    expect((await compactDirectory(dir)).compacted).toHaveLength(3);
    const day = join(dir, '2026-11-22');
    const plain = join(day, 'traces-2026-11-22T10-00-00.000.jsonl');
    const oldParquet = readManifestEntry(plain)!.parquet;
    const compressed = compressInPlace(plain);

    // Too recent to compact: the old Parquet stays until the .gz has its own.
    const waiting = await compactDirectory(dir, { minAgeMs: 10 * 60_000 });
    expect(waiting.removed).toEqual([]);
    expect(existsSync(oldParquet)).toBe(true);

    const result = await compactDirectory(dir);
    expect(result.compacted).toEqual([compressed]);
    expect(result.removed).toEqual([
      { file: oldParquet, reason: 'superseded: the file was compressed (.gz) after it was compacted, and the .gz has Parquet of its own with the same data' },
    ]);
    expect(existsSync(oldParquet)).toBe(false);
    expect(existsSync(manifestPathFor(plain))).toBe(false);
    expect(readdirSync(join(day, '.abtel')).sort()).toEqual(
      ['logs-2026-11-22T10-00-00.000.jsonl', 'traces-2026-11-22T10-00-00.000.jsonl.gz', 'traces-2026-11-22T11-00-00.000.jsonl']
        .flatMap((name) => [`${name}.manifest.json`, `${name}.parquet`])
        .sort(),
    );
    // The same rows as before anything was compacted, the bad line included, now from the .gz.
    const after = await snapshot([dir]);
    expect(after.spans.map((row) => row['span_id'])).toEqual(before.spans.map((row) => row['span_id']));
    expect(after.attached.badLines).toEqual([{ file: compressed, line: 3, reason: expect.stringMatching(/not valid JSON/) }]);
    // Nothing left to do.
    expect((await compactDirectory(dir)).removed).toEqual([]);
  });

  test('a .gz with other data than the compacted plain file: the old Parquet is kept and reported', async () => {
    const { dir, oldParquet, compressed } = await compactedThenCompressed('gzip-other', 'traces-2026-11-22T11-00-00.000.jsonl', (text) => `${text.split('\n')[0]}\n`);
    const result = await compactDirectory(dir);
    expect(result.compacted).toEqual([compressed]);
    expect(result.removed).toEqual([]);
    expect(result.skipped).toContainEqual({
      file: oldParquet,
      reason:
        'kept although its source is gone: traces-2026-11-22T11-00-00.000.jsonl.gz holds other data (3 spans, 3 events, 0 bad lines against 6 spans, 6 events, 0 bad lines); delete it by hand when it is not needed',
    });
    expect(existsSync(oldParquet)).toBe(true);
  });

  test('compactFile on a .gz removes the Parquet its plain name left, and says so', async () => {
    const { dir, oldParquet, compressed } = await compactedThenCompressed('gzip-file', 'logs-2026-11-22T10-00-00.000.jsonl');
    const result = await compactFile(compressed);
    expect(result).toMatchObject({ parquetPath: readManifestEntry(compressed)!.parquet, events: 2, removed: oldParquet });
    expect(existsSync(oldParquet)).toBe(false);
    // A .gz whose plain name was never compacted removes nothing.
    const fresh = join(dir, '2026-11-22', 'logs-fresh.jsonl.gz');
    writeFileSync(fresh, readFileSync(compressed));
    expect((await compactFile(fresh)).removed).toBeUndefined();
  });

  test('a source deleted after compaction is still read from its Parquet (directory inputs), and said', async () => {
    const { dir, before, firstTraces: deleted } = await compactedData('deleted-after');
    rmSync(deleted);
    const after = await snapshot([dir]);
    expect(after.attached.sourceless).toEqual([deleted]);
    expect(after.attached.files).toEqual({ raw: 2, parquet: 3 });
    expect(after.spans).toEqual(before.spans);
    expect(after.events).toEqual(before.events);
    // Its bad line too, under the file it came from.
    expect(after.attached.badLines).toEqual(before.attached.badLines);
    // Overlapping inputs (the directory and its day folder) read it once, as they read every file once.
    const overlapping = await snapshot([dir, join(dir, '2026-11-22')]);
    expect(overlapping.attached.sourceless).toEqual([deleted]);
    expect(overlapping.spans).toEqual(before.spans);
    // So does the directory given with that Parquet named as an input of its own.
    const named = await snapshot([dir, readManifestEntry(deleted)!.parquet]);
    expect(named.attached.sourceless).toEqual([]);
    expect(named.spans).toEqual(before.spans);
    // compactDirectory leaves it alone: nothing to do, nothing reported.
    const again = await compactDirectory(dir);
    expect([again.compacted, again.removed, again.skipped.filter((item) => item.file.includes('.abtel'))]).toEqual([[], [], []]);
  });

  test('a source copied without keeping its mtime (under any name), then deleted, is read once: from the copy', async () => {
    const { dir, before, firstTraces: source } = await compactedData('copied-after');
    const bytes = readFileSync(source);
    // As `cp` (no -p) or a sync tool leaves it: same bytes, a new mtime, here also a new name.
    mkdirSync(join(dir, 'archive'));
    writeFileSync(join(dir, 'archive', 'traces-archived.jsonl'), bytes);
    rmSync(source);
    const after = await snapshot([dir]);
    expect(after.attached.sourceless).toEqual([]);
    expect(after.spans.map((row) => row['span_id']).sort()).toEqual(before.spans.map((row) => row['span_id']).sort());
    expect(after.events).toHaveLength(before.events.length);
    // Its bad line once, under the copy's name now.
    expect(after.attached.badLines.map((item) => [basename(item.file), item.line, item.reason])).toEqual(
      before.attached.badLines.map((item) => [basename(item.file) === basename(source) ? 'traces-archived.jsonl' : basename(item.file), item.line, item.reason]),
    );
  });

  test('a different file of the same name and size does not stand for a deleted source: its Parquet is still read', async () => {
    const { dir, before, firstTraces: source } = await compactedData('same-size-other');
    // Same length, other content: one letter of every span name.
    const other = readFileSync(source, 'utf8').replaceAll('"name":"chat"', '"name":"chaT"');
    expect(other.length).toBe(readFileSync(source, 'utf8').length);
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'elsewhere', basename(source)), other);
    rmSync(source);
    const after = await snapshot([dir]);
    expect(after.attached.sourceless).toEqual([source]);
    // Both read: the deleted file's six spans from its Parquet, the other file's six from its JSON.
    expect(after.spans).toHaveLength(before.spans.length + 6);
    expect(after.spans.filter((row) => row['name'] === 'chaT')).toHaveLength(6);
  });

  test('a manifest written before fingerprints gets one from compactDirectory while its source is there', async () => {
    const dir = join(root, 'fingerprint-later');
    makeData(dir);
    await compactDirectory(dir);
    const source = join(dir, '2026-11-22', 'traces-2026-11-22T11-00-00.000.jsonl');
    const { fingerprint, ...older } = readManifestEntry(source)!;
    expect(fingerprint).toBe(fingerprintOf(source, statSync(source).size));
    writeFileSync(manifestPathFor(source), JSON.stringify(older));
    const result = await compactDirectory(dir);
    expect(result.upToDate).toContain(source);
    expect(result.compacted).toEqual([]);
    expect(readManifestEntry(source)).toEqual({ ...older, fingerprint });
    // So a copy made now and the source deleted are read once.
    const before = await snapshot([dir]);
    writeFileSync(join(dir, 'copy-traces.jsonl'), readFileSync(source));
    rmSync(source);
    const after = await snapshot([dir]);
    expect(after.attached.sourceless).toEqual([]);
    expect(after.spans).toHaveLength(before.spans.length);
  });

  test('nothing is read twice: a source compressed or rotated since its compaction is read under its new name only', async () => {
    const dir = join(root, 'renamed-after');
    makeData(dir);
    const before = await snapshot([dir]);
    // The live files too: they are rotated (renamed) later.
    await compactDirectory(dir, { includeActive: true, minAgeMs: 0 });
    const day = join(dir, '2026-11-22');
    // Compressed in place, not compacted again yet: the .gz is read raw, the old Parquet not at all.
    compressInPlace(join(day, 'traces-2026-11-22T11-00-00.000.jsonl'));
    // The live file rotated: its lines now sit under a rotated name (read raw), the live name is gone.
    renameSync(join(dir, 'traces.jsonl'), join(dir, 'traces-2026-11-22T12-00-00.000.jsonl'));
    // A compacted file moved into another folder (mv keeps its name, size and mtime): read there, raw.
    mkdirSync(join(dir, 'archive'));
    renameSync(join(day, 'logs-2026-11-22T10-00-00.000.jsonl'), join(dir, 'archive', 'logs-2026-11-22T10-00-00.000.jsonl'));
    const after = await snapshot([dir]);
    expect(after.attached.sourceless).toEqual([]);
    expect(after.spans.map((row) => row['span_id']).sort()).toEqual(before.spans.map((row) => row['span_id']).sort());
    expect(after.events).toHaveLength(before.events.length);
    expect(after.events.filter((row) => row['origin'] === 'log')).toHaveLength(before.events.filter((row) => row['origin'] === 'log').length);
    // The next compaction clears what nothing reads any more: the live file's Parquet at once, the
    // plain name's once the .gz has its own.
    const result = await compactDirectory(dir);
    expect(result.removed.map((item) => item.file).sort()).toEqual(
      [join(day, '.abtel', 'traces-2026-11-22T11-00-00.000.jsonl.parquet'), join(dir, '.abtel', 'traces.jsonl.parquet')].sort(),
    );
    expect(result.removed.find((item) => item.file.endsWith('traces.jsonl.parquet'))?.reason).toBe(
      'the live file was rotated since it was compacted: its lines are read from the rotated file, and this Parquet by nothing',
    );
    expect(readdirSync(join(dir, '.abtel')).filter((name) => name.startsWith('traces.jsonl'))).toEqual([]);
    expect((await snapshot([dir])).spans).toHaveLength(before.spans.length);
  });

  test('compactDirectory refuses a file, even a traces file, and writes nothing next to it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'abtel-compact-file-'));
    try {
      const file = join(root, 'traces-1.jsonl');
      writeFileSync(file, '{"resourceSpans":[]}\n');
      utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      await expect(compactDirectory(file, { minAgeMs: 0 })).rejects.toMatchObject({
        code: 'invalid_input',
        message: `${file} is a file, not a directory; compactDirectory takes the data directory the collector writes to`,
      });
      expect(readdirSync(root)).toEqual(['traces-1.jsonl']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('compactFile: gzip-free single file, and metrics files are skipped', async () => {
    const dir = join(root, 'single');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'traces-1.jsonl');
    writeFileSync(file, `${(await import('node:fs')).readFileSync(FIXTURE_TRACES, 'utf8')}`);
    const result = await compactFile(file);
    expect(result).toMatchObject({ rows: 16, spans: 8, events: 8, badLines: 0 });
    expect(existsSync(result.parquetPath!)).toBe(true);
    // A 17 MB line (bigger than DuckDB's default CSV line limit, which the loader raises to the longest row).
    const long = join(dir, 'traces-long.jsonl');
    const first = readFileSync(FIXTURE_TRACES, 'utf8').split('\n')[0]!;
    writeFileSync(long, `${first.replace('"name":"operationA"', `"name":"${'y'.repeat(17 * 1024 * 1024)}"`)}\n`);
    expect(await compactFile(long)).toMatchObject({ spans: 2, events: 2, badLines: 0 });
    const metrics = join(dir, 'metrics-1.jsonl');
    writeFileSync(metrics, '{"resourceMetrics":[]}\n');
    expect((await compactFile(metrics)).skipped).toMatch(/metrics/);
  });

  test('a Parquet of spans only, and one of an empty file, read alone with every column', async () => {
    const dir = join(root, 'alone');
    mkdirSync(dir, { recursive: true });
    const spans = join(dir, 'traces-a.jsonl');
    writeFileSync(spans, readFileSync(FIXTURE_TRACES, 'utf8'));
    const empty = join(dir, 'traces-b.jsonl');
    writeFileSync(empty, '');
    expect(await compactFile(spans)).toMatchObject({ spans: 8, events: 8 });
    expect(await compactFile(empty)).toMatchObject({ rows: 0, spans: 0, events: 0, badLines: 0 });
    const before = await snapshot([spans]);
    expect(before.attached.files).toEqual({ raw: 0, parquet: 1 });
    expect(before.spans).toHaveLength(8);
    expect(before.events).toHaveLength(8);
    const none = await snapshot([empty]);
    expect(none.attached.files).toEqual({ raw: 0, parquet: 1 });
    expect([none.spans, none.events, none.attached.badLines]).toEqual([[], [], []]);
  });
  test('compacted Parquet next to a Parquet with fewer columns: both read, the missing columns NULL', async () => {
    const dir = join(root, 'shapes');
    mkdirSync(dir, { recursive: true });
    const spans = join(dir, 'traces-a.jsonl');
    writeFileSync(spans, readFileSync(FIXTURE_TRACES, 'utf8'));
    await compactFile(spans);
    const compacted = readManifestEntry(spans)!.parquet;
    // A Parquet of another shape (say, trimmed by hand): only a few span columns.
    const trimmed = join(dir, 'trimmed.parquet');
    await withDuckDB((connection) =>
      connection.run(
        `COPY (SELECT record_type, trace_id, span_id, name, start_time, end_time FROM read_parquet('${compacted}') WHERE record_type = 'span')
         TO '${trimmed}' (FORMAT parquet)`,
      ),
    );
    const both = await snapshot([compacted, trimmed]);
    expect(both.attached.files).toEqual({ raw: 0, parquet: 2 });
    expect(both.spans).toHaveLength(16);
    const fromTrimmed = both.spans.filter((span) => span['source_file'] === null);
    expect(fromTrimmed).toHaveLength(8);
    expect(fromTrimmed.every((span) => span['conversation_id'] === null && span['name'] !== null)).toBe(true);
  });
  test('Parquet compacted before abtel.assignment.ids had a column still reads it, from the attributes', async () => {
    const dir = join(root, 'before-assignment-ids');
    mkdirSync(dir, { recursive: true });
    const line = assignmentLine;
    const [older, newer] = [join(dir, 'traces-1.jsonl'), join(dir, 'traces-2.jsonl')];
    writeFileSync(older, line(0));
    writeFileSync(newer, line(2));
    const raw = await snapshot([dir]);
    expect(raw.spans.map((row) => row['assignment_ids'])).toEqual([['persona=c0', 'pricing=user-0'], null, ['persona=c2', 'pricing=user-2'], null]);
    await compactFile(older);
    await compactFile(newer);
    // What an abtel from before the column wrote: the same Parquet without it.
    await dropAssignmentIds(readManifestEntry(older)!.parquet);
    const after = await snapshot([dir]);
    // One old and one new shape next to each other; and the old one alone.
    expect(after.attached.files).toEqual({ raw: 0, parquet: 2 });
    expect(after.spans).toEqual(raw.spans);
    expect((await snapshot([older])).spans).toEqual(raw.spans.slice(0, 2));
  });
  test('rows of each kind are read only from the files whose manifest counts them; metrics lines survive too', async () => {
    const dir = join(root, 'kinds');
    mkdirSync(dir, { recursive: true });
    const traces = join(dir, 'traces-1.jsonl');
    // Spans with span events, a metrics line (skipped and reported) and a torn line.
    writeFileSync(traces, `${readFileSync(FIXTURE_TRACES, 'utf8').trimEnd()}\n{"resourceMetrics":[]}\n{"resourceSpans":[{"res\n`);
    const before = await snapshot([traces]);
    expect(await compactFile(traces)).toMatchObject({ spans: 8, events: 8, badLines: 1 });
    expect(readManifestEntry(traces)).toMatchObject({ spans: 8, events: 8, badLines: 1, unreadLines: 1 });
    const after = await snapshot([traces]);
    expect(after.attached.files).toEqual({ raw: 0, parquet: 1 });
    expect([after.spans, after.events, after.attached.badLines, after.attached.skipped]).toEqual([
      before.spans,
      before.events,
      before.attached.badLines,
      before.attached.skipped,
    ]);
    expect(after.attached.skipped).toEqual([{ file: traces, lines: 1, reason: expect.stringMatching(/metrics/) }]);

    // The manifest decides which files are opened for which rows: one that says "no events" is not read for them.
    const manifestPath = join(dir, '.abtel', 'traces-1.jsonl.manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, events: 0, badLines: 0, unreadLines: 0 }));
    const pruned = await snapshot([traces]);
    expect(pruned.spans).toEqual(before.spans);
    expect([pruned.events, pruned.attached.badLines, pruned.attached.skipped]).toEqual([[], [], []]);
    // A manifest from before unread lines were counted: bad rows are read (it cannot tell).
    const { unreadLines: _dropped, ...older } = manifest;
    writeFileSync(manifestPath, JSON.stringify(older));
    expect((await snapshot([traces])).attached.badLines).toEqual(before.attached.badLines);
  });
});

describe('compaction of Parquet from an older layout', () => {
  /** Three closed trace files with assignment id lists, compacted, and the rows their JSON gives. */
  async function compacted(dir: string) {
    mkdirSync(dir, { recursive: true });
    const files = [1, 2, 3].map((n) => join(dir, `traces-${n}.jsonl`));
    files.forEach((file, n) => writeFileSync(file, assignmentLine(10 * n) + assignmentLine(10 * n + 2)));
    const old = new Date(Date.now() - 60_000);
    for (const file of files) utimesSync(file, old, old);
    const raw = await snapshot([dir]);
    expect(raw.spans.filter((span) => span['assignment_ids'] !== null)).toHaveLength(6);
    expect((await compactDirectory(dir)).compacted).toEqual(files);
    return { files, raw };
  }

  test('a Parquet without a column of the current layout is compacted again from its JSON, once', async () => {
    const dir = join(root, 'older-layout');
    const { files, raw } = await compacted(dir);
    const [footerOld, manifestOld, footerCurrent] = files as [string, string, string];
    const current = readManifestEntry(footerCurrent)!.columns!;
    // As the previous release left them: found out from the footer, or from a manifest that lists
    // the columns (written by a run that read the footer, then was interrupted); and a file of the
    // current columns whose manifest predates the list.
    await asPreviousRelease(footerOld);
    await asPreviousRelease(manifestOld, { columns: current.filter((name) => name !== 'assignment_ids') });
    await asPreviousRelease(footerCurrent, { keepParquet: true });
    expect(await parquetNames(readManifestEntry(footerOld)!.parquet)).not.toContain('assignment_ids');
    expect(readManifestEntry(footerOld)!.columns).toBeUndefined();

    const result = await compactDirectory(dir);
    const reason = 'Parquet of an older layout (without assignment_ids)';
    expect(result.recompacted).toEqual([
      { file: footerOld, reason },
      { file: manifestOld, reason },
    ]);
    expect(result.compacted).toEqual([footerOld, manifestOld]);
    expect(result.upToDate).toEqual([footerCurrent]);
    expect([result.skipped, result.failed]).toEqual([[], []]);
    for (const file of files) {
      const entry = readManifestEntry(file)!;
      expect(entry.columns).toEqual(current);
      expect(await parquetNames(entry.parquet)).toContain('assignment_ids');
    }
    expect(readdirSync(join(dir, '.abtel')).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const after = await snapshot([dir]);
    expect(after.attached.files).toEqual({ raw: 0, parquet: 3 });
    expect(after.spans).toEqual(raw.spans);
    expect(after.events).toEqual(raw.events);

    const again = await compactDirectory(dir);
    expect([again.compacted, again.recompacted, again.skipped]).toEqual([[], [], []]);
    expect(again.upToDate).toEqual(files);
  });

  test('without its JSON source, a Parquet of an older layout is kept, still read, and reported', async () => {
    const dir = join(root, 'older-layout-gone');
    const { files, raw } = await compacted(dir);
    const gone = files[0]!;
    await asPreviousRelease(gone);
    const parquet = readManifestEntry(gone)!.parquet;
    rmSync(gone);
    const expected = {
      file: parquet,
      reason: 'Parquet of an older layout (without assignment_ids) kept as it is: its JSON source is gone, so it cannot be compacted again (it is still read, more slowly)',
    };
    const result = await compactDirectory(dir);
    expect([result.compacted, result.recompacted, result.failed]).toEqual([[], [], []]);
    expect(result.skipped).toEqual([expected]);
    expect(result.upToDate).toEqual(files.slice(1));
    expect(await parquetNames(parquet)).not.toContain('assignment_ids');
    // The footer was read once: the manifest now says which columns the Parquet has.
    expect(JSON.parse(readFileSync(join(dir, '.abtel', 'traces-1.jsonl.manifest.json'), 'utf8')).columns).not.toContain('assignment_ids');
    expect((await snapshot([parquet])).spans).toEqual(raw.spans.slice(0, 4));
    // Through the directory too: every span, the gone file's from its Parquet.
    const whole = await snapshot([dir]);
    expect(whole.attached.sourceless).toEqual([gone]);
    expect(whole.spans).toEqual(raw.spans);

    const again = await compactDirectory(dir);
    expect([again.compacted, again.recompacted, again.skipped]).toEqual([[], [], [expected]]);
  });
});

describe('compaction on worker threads (the built package)', () => {
  const built = new URL('../dist/index.js', import.meta.url);
  test.runIf(existsSync(built))('the pipeline (workers parsing ahead of the Parquet writer) gives the rows of raw JSON', async () => {
    const { compactDirectory: compactBuilt } = (await import(built.href)) as typeof import('./index.js');
    const dir = join(root, 'pipeline');
    makeData(dir);
    // More files than workers, so that files are parsed while others are written.
    const day = join(dir, '2026-11-22');
    for (let copy = 0; copy < 4; copy++) {
      writeFileSync(join(day, `traces-2026-11-22T12-0${copy}-00.000.jsonl`), readFileSync(join(day, 'traces-2026-11-22T11-00-00.000.jsonl')));
    }
    const old = new Date(Date.now() - 60_000);
    for (const file of readdirSync(day)) utimesSync(join(day, file), old, old);
    const before = await snapshot([dir]);
    const result = await compactBuilt(dir, { threads: 2 });
    expect(result.compacted).toHaveLength(7);
    expect(result.failed).toEqual([]);
    // Everything but the two live files (3 spans with 3 span events, 1 log event).
    expect(result.rows).toBe(before.spans.length + before.events.length - 7);
    const after = await snapshot([dir]);
    expect(after.attached.files).toEqual({ raw: 2, parquet: 7 });
    // As sets: some span events share a time (the fixture's nanosecond strings come from doubles), so their order is not fixed.
    const rows = (list: Record<string, unknown>[]) => list.map((row) => JSON.stringify(row)).sort();
    expect(rows(after.spans)).toEqual(rows(before.spans));
    expect(rows(after.events)).toEqual(rows(before.events));
    expect(after.attached.badLines).toEqual(before.attached.badLines);
  }, 30_000);
});
