import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDataset } from '../data/dataset.js';
import { writeSyntheticDataset, type SyntheticResult } from '../data/synthetic.js';
import { compactCommand } from './compact.js';
import { endsStatement, sqlCommand } from './sql.js';
import { withMemoryDuckDB, withRecipe } from '../../test/duckdb.js';

let dir: string;
let data: SyntheticResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'abtel-sql-'));
  data = await writeSyntheticDataset(dir, {
    conversations: 300,
    seed: 3,
    linesPerFile: 2,
    recordsPerLine: 100,
    badLines: 1,
    evaluations: [{ name: 'helpfulness', mean: { control: 3.5 }, sampleRate: 0.5 }],
    segments: [{ name: 'plan', values: [{ value: 'free', share: 1 }] }],
  });
  const old = new Date(Date.now() - 60_000);
  for (const name of readdirSync(dir)) utimesSync(join(dir, name), old, old);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: new Writable({ write: (chunk, _e, cb) => ((stdout += String(chunk)), cb()) }),
    stderr: new Writable({ write: (chunk, _e, cb) => ((stderr += String(chunk)), cb()) }),
    env: {},
    cwd: dir,
  };
  return { io, out: () => stdout, err: () => stderr };
}

describe('abtel sql', () => {
  test('-c with --format json prints the rows; bad lines are reported on stderr', async () => {
    const { io, out, err } = capture();
    const code = await sqlCommand.run(['.', '-c', 'SELECT variation, count(*) AS units FROM exposures GROUP BY ALL ORDER BY 1', '--format', 'json'], io);
    expect(code).toBe(0);
    const rows = JSON.parse(out()) as { variation: string; units: number }[];
    const expected = ['control', 'treatment_a', 'treatment_b'].map((variation) => ({
      variation,
      units: data.units!.filter((u) => u.exposed && u.variation === variation).length,
    }));
    expect(rows).toEqual(expected);
    expect(err()).toMatch(/1 unreadable line\(s\) skipped, first at .*traces\.jsonl:\d+/);
  });

  test('table and csv output', async () => {
    const table = capture();
    await sqlCommand.run([dir, '-c', "SELECT 1 AS one, 'a,b' AS text"], table.io);
    expect(table.out()).toBe('one  text\n---  ----\n  1  a,b\n(1 row)\n');
    const csv = capture();
    await sqlCommand.run([dir, '-c', "SELECT 1 AS one, 'a,b' AS text", '--format', 'csv'], csv.io);
    expect(csv.out()).toBe('one,text\r\n1,"a,b"\r\n');
  });

  test('interactive shell reads statements until ";"', async () => {
    const { io, out } = capture();
    const stdin = new PassThrough();
    const running = sqlCommand.run([dir], { ...io, stdin } as never);
    stdin.end('SELECT count(*) AS n\nFROM spans;\n.tables\nSELECT nope;\n.exit\n');
    expect(await running).toBe(0);
    expect(out()).toContain(`${data.spans}`);
    expect(out()).toContain('arm_stats');
  });

  test('-c with several statements prints the last result, whatever the statements are', async () => {
    const two = capture();
    expect(await sqlCommand.run([dir, '-c', "SELECT 'first' AS a; SELECT 'second' AS b", '--format', 'json'], two.io)).toBe(0);
    expect(JSON.parse(two.out())).toEqual([{ b: 'second' }]);
    const created = capture();
    await sqlCommand.run([dir, '-c', 'CREATE TEMP TABLE t AS SELECT 42 AS x; SELECT x FROM t', '--format', 'json'], created.io);
    expect(JSON.parse(created.out())).toEqual([{ x: 42 }]);
    const empty = capture();
    expect(await sqlCommand.run([dir, '-c', ' ; -- nothing'], empty.io)).toBe(0);
    expect(empty.out()).toBe('');
  });

  test('-c stops at the first failing statement and names it', async () => {
    const { io, out } = capture();
    await expect(sqlCommand.run([dir, '-c', 'CREATE TEMP TABLE t AS SELECT 1 AS x; SELECT nope FROM t; SELECT 3 AS three'], io)).rejects.toThrow(
      /SQL error: statement 2 of 3 failed: .*nope.*; the statements after it were not run/,
    );
    expect(out()).toBe('');
    await expect(sqlCommand.run([dir, '-c', 'SELEC 1; SELECT 2'], capture().io)).rejects.toThrow(/SQL error: Parser Error: syntax error at or near "SELEC"/);
  });

  test('interactive shell: several statements on one line print the last result', async () => {
    const { io, out, err } = capture();
    const stdin = new PassThrough();
    const running = sqlCommand.run([dir, '--format', 'csv'], { ...io, stdin } as never);
    stdin.end("SELECT 'first' AS a; SELECT 'second' AS b;\nSELECT 1 AS x; SELECT nope; SELECT 3 AS y;\n");
    expect(await running).toBe(0);
    // Prompts aside, only the last statement's result is printed.
    expect(out().replaceAll('abtel> ', '')).toBe('b\r\nsecond\r\n');
    expect(err()).toMatch(/error: statement 2 of 3 failed: .*nope.*not run/);
  });

  test('piped input prints results only (no prompt in the JSON), a ";" in a string or a comment does not end a statement, .help lists the commands', async () => {
    const { io, out, err } = capture();
    const stdin = new PassThrough();
    const running = sqlCommand.run([dir, '--format', 'json'], { ...io, stdin } as never);
    stdin.end("SELECT 'x;\ny' AS s;\nSELECT 1 AS one -- a note;\n, 2 AS two;\n.help\n");
    expect(await running).toBe(0);
    const printed = out().trim().split(/\n(?=\[)/).map((block) => JSON.parse(block) as unknown);
    expect(printed).toEqual([[{ s: 'x;\ny' }], [{ one: 1, two: 2 }]]);
    expect(err()).not.toMatch(/error/);
    expect(err()).toContain('.tables   list the views and tables');
  });

  test('a SQL error keeps DuckDB\'s hint; a directory without telemetry files says so', async () => {
    await expect(sqlCommand.run([dir, '-c', 'SELECT * FROM exposure'], capture().io)).rejects.toThrow(
      /^SQL error: Catalog Error: Table with name exposure does not exist! Did you mean "exposures.*"\?$/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'abtel-sql-empty-'));
    try {
      const { io, out, err } = capture();
      expect(await sqlCommand.run([empty, '-c', 'SELECT count(*) AS n FROM exposures', '--format', 'csv'], io)).toBe(0);
      expect(out()).toBe('n\r\n0\r\n');
      expect(err()).toContain(`abtel sql: no telemetry files were found in ${empty} (no OTLP JSON Lines, JSON or compacted Parquet files); every view is empty — check the directory`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('endsStatement: a ";" outside strings, quoted names and comments ends a statement', () => {
    expect(endsStatement('SELECT 1;')).toBe(true);
    expect(endsStatement('SELECT 1;  \n')).toBe(true);
    expect(endsStatement('SELECT 1; -- done\n')).toBe(true);
    expect(endsStatement("SELECT 'x;")).toBe(false);
    expect(endsStatement("SELECT 'it''s;'")).toBe(false);
    expect(endsStatement("SELECT 'it''s';")).toBe(true);
    expect(endsStatement('SELECT 1 -- note;\n')).toBe(false);
    expect(endsStatement('SELECT 1 /* ; */')).toBe(false);
    expect(endsStatement('SELECT "a;b" FROM t;')).toBe(true);
    expect(endsStatement('SELECT 1; SELECT')).toBe(false);
  });

  test('interactive shell runs a last statement without ";" when the input ends', async () => {
    const { io, out, err } = capture();
    const stdin = new PassThrough();
    const running = sqlCommand.run([dir, '--format', 'csv'], { ...io, stdin } as never);
    stdin.end("SELECT 'done' AS a;\nSELECT 'unfinished'\n  AS b");
    expect(await running).toBe(0);
    expect(out().replaceAll('abtel> ', '').replaceAll('   ...> ', '')).toBe('a\r\ndone\r\nb\r\nunfinished\r\n');
    expect(err()).not.toContain('error');
  });

  test('metrics files, and metrics lines in other files, are reported as skipped on stderr', async () => {
    const metricsDir = mkdtempSync(join(tmpdir(), 'abtel-sql-metrics-'));
    try {
      const metricsLine = JSON.stringify({ resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [] }] });
      writeFileSync(join(metricsDir, 'metrics.jsonl'), `${metricsLine}\n${metricsLine}\n`);
      const only = capture();
      expect(await sqlCommand.run([metricsDir, '-c', 'SELECT count(*) AS n FROM spans', '--format', 'json'], only.io)).toBe(0);
      expect(JSON.parse(only.out())).toEqual([{ n: 0 }]);
      expect(only.err()).toContain(`abtel sql: skipped ${join(metricsDir, 'metrics.jsonl')}: OTLP metrics (resourceMetrics) are not read by the analysis\n`);
      // A file not named after a signal is read; its metrics lines are skipped and counted.
      writeFileSync(join(metricsDir, 'otlp.jsonl'), `${metricsLine}\n`);
      const mixed = capture();
      await sqlCommand.run([metricsDir, '-c', 'SELECT 1 AS one', '--format', 'json'], mixed.io);
      expect(mixed.err()).toContain(
        `abtel sql: skipped ${join(metricsDir, 'metrics.jsonl')}, ${join(metricsDir, 'otlp.jsonl')} (1 line(s)): OTLP metrics (resourceMetrics) are not read by the analysis\n`,
      );
    } finally {
      rmSync(metricsDir, { recursive: true, force: true });
    }
  });

  test('usage and SQL errors', async () => {
    await expect(sqlCommand.run([], capture().io)).rejects.toThrow(/give the data directory/);
    await expect(sqlCommand.run([dir, '--format', 'xml'], capture().io)).rejects.toThrow(/--format must be one of/);
    await expect(sqlCommand.run([dir, '-c', 'SELECT * FROM nothing_here'], capture().io)).rejects.toThrow(/SQL error: .*nothing_here/);
    const missing = join(dir, 'no-such-dir');
    const notFound = sqlCommand.run([missing, '-c', 'SELECT 1'], capture().io);
    await expect(notFound).rejects.toThrow(`no such file, directory or matching glob: ${missing}; check the path`);
    await expect(notFound).rejects.not.toThrow(/--data/);
    expect(sqlCommand.help).toMatch(/Example:\n\s+abtel sql/);
  });
});

/** Deep equality where floats may differ in the last bits (summation order differs). */
function expectClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof actual === 'number' && typeof expected === 'number') {
    expect(Math.abs(actual - expected), path).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  } else if (Array.isArray(actual) && Array.isArray(expected)) {
    expect(actual.length, path).toBe(expected.length);
    actual.forEach((item, i) => expectClose(item, expected[i], `${path}[${i}]`));
  } else if (actual && expected && typeof actual === 'object' && typeof expected === 'object') {
    expect(Object.keys(actual).sort(), path).toEqual(Object.keys(expected).sort());
    for (const key of Object.keys(actual)) expectClose((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

describe('the SQL files are plain DuckDB SQL', () => {
  test('running apps/analysis/sql/*.sql as the duckdb CLI would (placeholder substituted) gives the same views', async () => {
    const ds = await openDataset({ inputs: [dir] });
    try {
      await withRecipe(dir, async (query) => {
        for (const view of ['arm_stats', 'exposures', 'unit_metrics']) {
          const sql = `SELECT * FROM ${view} ORDER BY ALL`;
          // Float sums may differ in the last bits (summation order); everything else is exact.
          expectClose(await query(sql), await ds.query(sql));
        }
        const bad = await query<{ source_line: number }>("SELECT source_line FROM otlp_bad_lines WHERE line_status = 'invalid'");
        expect(bad.map((b) => b.source_line)).toEqual(data.badLines.map((b) => b.line));
      });
    } finally {
      await ds.close();
    }
  });

  test('the duckdb CLI recipe reads only the JSON Lines files of a compacted directory, never .abtel/', async () => {
    const root = mkdtempSync(join(tmpdir(), 'abtel-sql-recipe-'));
    const [plain, compacted] = [join(root, 'plain'), join(root, 'compacted')];
    try {
      const spec = { conversations: 120, seed: 5, linesPerFile: 2, recordsPerLine: 50, badLines: 1, gzip: true } as const;
      await writeSyntheticDataset(plain, spec);
      cpSync(plain, compacted, { recursive: true });
      const result = capture();
      await compactCommand.run([compacted, '--include-active', '--min-age', '0', '--format', 'json'], result.io);
      expect((JSON.parse(result.out()) as { compacted: string[] }).compacted.length).toBeGreaterThan(0);
      expect(readdirSync(join(compacted, '.abtel')).some((name) => name.endsWith('.jsonl.gz.parquet'))).toBe(true);
      const counts = (data: string): Promise<unknown> =>
        withRecipe(data, (query) =>
          query(
            `SELECT (SELECT count(*) FROM otlp_spans_all) AS spans, (SELECT count(*) FROM otlp_events_all) AS events,
                    (SELECT count(*) FROM otlp_bad_lines) AS bad_lines, (SELECT count(*) FROM exposures) AS exposures,
                    (SELECT count(*) FROM unit_metrics) AS unit_metrics,
                    (SELECT count(*) FROM otlp_spans_all WHERE source_file LIKE '%.abtel%') AS from_abtel_dir`,
          ),
        );
      const before = await counts(plain);
      expect(before).toEqual([expect.objectContaining({ bad_lines: 1, from_abtel_dir: 0 })]);
      expect(await counts(compacted)).toEqual(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('00_otlp.sql is the same file as @abtel/files sql/otlp.sql', () => {
    const here = readFileSync(new URL('../../sql/00_otlp.sql', import.meta.url), 'utf8');
    const files = readFileSync(new URL('../../../../packages/files/sql/otlp.sql', import.meta.url), 'utf8');
    expect(here).toBe(files);
  });
});

/** Where `abtel compact` writes the Parquet of `path`. */
const compactedAt = (path: string): string => `${join(dirname(path), '.abtel', basename(path))}.parquet`;

describe('abtel compact', () => {
  test('compacts rotated files, then reports them up to date', async () => {
    const first = capture();
    expect(await compactCommand.run([dir, '--format', 'json'], first.io)).toBe(0);
    const result = JSON.parse(first.out()) as { compacted: string[]; skipped: unknown[] };
    expect(result.compacted.length).toBe(data.files.traces.length + data.files.logs.length - 2);
    expect(result.skipped).toHaveLength(2);
    const second = capture();
    await compactCommand.run([dir], second.io);
    expect(second.out()).toMatch(/compacted 0 file\(s\).*\d+ already up to date; 2 skipped\n/);
    expect(second.out()).toContain(`  skipped ${result.skipped.map((s) => (s as { file: string }).file).join(', ')}: still being written (the live file)\n`);
    await expect(compactCommand.run([], capture().io)).rejects.toThrow(/exactly one data directory/);
    // abtel sql still sees everything (Parquet + the live files).
    const sql = capture();
    await sqlCommand.run([dir, '-c', 'SELECT count(*) AS n FROM spans', '--format', 'json'], sql.io);
    expect(JSON.parse(sql.out())).toEqual([{ n: data.spans }]);
  });

  test('refuses a file with a usage error naming it and the fix, and writes nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'abtel-compact-file-'));
    try {
      // Prose, not OTLP: compacted, every line would have been kept as a bad-line record.
      writeFileSync(join(root, 'README.md'), '# abtel\n\nA/B tests for LLM features.\n'.repeat(50));
      const run = capture();
      const error = await compactCommand.run(['README.md', '--min-age', '0'], { ...run.io, cwd: root }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        code: 'usage',
        message: 'abtel compact: README.md is a file, not a data directory; give the directory the collector writes to (its --dir), e.g. abtel compact ./data',
      });
      expect(readdirSync(root)).toEqual(['README.md']);
      expect(run.out()).toBe('');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('says how many files were compacted again because their Parquet had an older layout, and why', async () => {
    // What the release before the assignment_ids column left: its Parquet, a manifest without the column list.
    const manifestPath = join(dir, '.abtel', readdirSync(join(dir, '.abtel')).find((name) => /^traces-.*\.manifest\.json$/.test(name))!);
    const { columns: _columns, ...entry } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { source: string; parquet: string; columns?: string[] };
    await withMemoryDuckDB((connection) =>
      connection.run(`COPY (SELECT * EXCLUDE (assignment_ids) FROM read_parquet('${entry.parquet}')) TO '${entry.parquet}.old' (FORMAT parquet)`),
    );
    renameSync(`${entry.parquet}.old`, entry.parquet);
    writeFileSync(manifestPath, JSON.stringify(entry));
    const text = capture();
    expect(await compactCommand.run([dir], text.io)).toBe(0);
    expect(text.out()).toMatch(/^abtel compact: compacted 1 file\(s\)/);
    expect(text.out()).toContain(`\n  recompacted 1 of them, ${entry.source}: Parquet of an older layout (without assignment_ids)\n`);
    const json = capture();
    await compactCommand.run([dir, '--format', 'json'], json.io);
    expect(JSON.parse(json.out())).toMatchObject({ compacted: [], recompacted: [] });
  });

  test('a rotated file gzipped after compaction: its old Parquet is removed and named, and nothing is counted twice', async () => {
    const plain = data.files.traces.find((path) => existsSync(compactedAt(path)))!;
    const oldParquet = compactedAt(plain);
    writeFileSync(`${plain}.gz`, gzipSync(readFileSync(plain)));
    rmSync(plain);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${plain}.gz`, old, old);
    const text = capture();
    expect(await compactCommand.run([dir], text.io)).toBe(0);
    expect(text.out()).toMatch(/^abtel compact: compacted 1 file\(s\)/);
    expect(text.out()).toContain(
      `\n  removed ${oldParquet}: superseded: the file was compressed (.gz) after it was compacted, and the .gz has Parquet of its own with the same data\n`,
    );
    expect(existsSync(oldParquet)).toBe(false);
    const sql = capture();
    await sqlCommand.run([dir, '-c', 'SELECT count(*) AS n FROM spans', '--format', 'json'], sql.io);
    expect(JSON.parse(sql.out())).toEqual([{ n: data.spans }]);
  });

  test('rotated files deleted once compacted still count: abtel sql reads their Parquet', async () => {
    const compactedPlain = data.files.traces.filter((path) => existsSync(path) && existsSync(compactedAt(path)));
    expect(compactedPlain.length).toBeGreaterThan(1);
    for (const path of compactedPlain) rmSync(path);
    const sql = capture();
    await sqlCommand.run([dir, '-c', 'SELECT count(*) AS n FROM spans', '--format', 'json'], sql.io);
    expect(JSON.parse(sql.out())).toEqual([{ n: data.spans }]);
  });
});
