import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { attachOtlp, detectFormat, LINE_READER_OPTIONS, linesSql, queryRows, sqlString } from './index.js';

const FIXTURES = new URL('../../../../shared/fixtures/otlp/', import.meta.url).pathname;
const fixture = (name: string): string => join(FIXTURES, name);

/** The flattened rows with attributes rendered as JSON, as the analysis `spans`/`events` views do. */
const SPANS = `SELECT * EXCLUDE (stripped_attributes, extra_attributes) REPLACE (CAST(resource_attributes AS JSON) AS resource_attributes),
  otlp_span_attributes(extra_attributes, stripped_attributes, conversation_id, experiment_key, variation, assignment_unit, assignment_id, operation_name, request_model, response_model, response_id, error_type) AS attributes FROM otlp_spans_all`;
const EVENTS = 'SELECT * REPLACE (CAST(attributes AS JSON) AS attributes) FROM otlp_events_all';

let dir: string;
let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'abtel-files-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(inputs: string[]) {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  return attachOtlp(connection, { inputs });
}
afterEach(() => {
  connection?.closeSync();
  instance?.closeSync();
});

describe('every public OTLP fixture reads correctly', () => {
  test('file exporter traces: empty ids → NULL, no kind → 0, status code 2, span events', async () => {
    const attached = await open([fixture('otel-spec-file-exporter-example-traces.jsonl')]);
    expect(attached.badLineCount).toBe(0);
    const spans = await queryRows<Record<string, unknown>>(connection, `${SPANS} ORDER BY start_time, name`);
    expect(spans).toHaveLength(8);
    const first = spans[0]!;
    expect(first).toMatchObject({
      name: 'operationA',
      trace_id: null,
      span_id: null,
      kind: 0,
      status_code: 2,
      status_message: 'status-cancelled',
      start_time: '2020-02-11T20:26:12.000Z',
      end_time: '2020-02-11T20:26:13.000Z',
      // Every row carries its file and line.
      source_line: 1,
      resource_attributes: { 'resource-attr': 'resource-attr-val-1' },
      attributes: {},
    });
    expect(first.duration_ms).toBeCloseTo(1000.000468, 6);
    expect(spans.filter((s) => s.name === 'operationB').every((s) => s.status_code === 0)).toBe(true);
    const events = await queryRows<Record<string, unknown>>(connection, `${EVENTS} ORDER BY time, event_name`);
    expect(events).toHaveLength(8);
    expect(events.find((e) => e.event_name === 'event-with-attr')).toMatchObject({ event_name: 'event-with-attr', origin: 'span_event', attributes: { 'span-event-attr': 'span-event-attr-val' } });
  });

  test('file exporter logs: intValue as a JSON string is a number; records without an event name are not events', async () => {
    const attached = await open([fixture('otel-spec-file-exporter-example-logs.jsonl')]);
    expect(attached.badLineCount).toBe(0);
    await connection.run(`CREATE VIEW abtel_log_lines AS ${linesSql(attached.rawFiles)}`);
    const records = await queryRows<{ attrs: Record<string, unknown>; trace_id: string | null }>(
      connection,
      'SELECT otlp_attributes_json(attribute_list) AS attrs, trace_id FROM otlp_log_records(\'abtel_log_lines\') ORDER BY source_line',
    );
    expect(records).toHaveLength(8);
    expect(records[0]).toEqual({ attrs: { app: 'server', instance_num: 1 }, trace_id: '08040201000000000000000000000000' });
    expect(records[1]!.trace_id).toBeNull();
    expect(await queryRows(connection, EVENTS)).toHaveLength(0);
  });

  test('metrics lines are skipped clearly, never read as spans or logs', async () => {
    const attached = await open([fixture('otel-spec-file-exporter-example-metrics.jsonl')]);
    expect(attached.skipped).toEqual([
      { file: fixture('otel-spec-file-exporter-example-metrics.jsonl'), lines: 0, reason: expect.stringContaining('metrics') },
    ]);
    // The same lines in a file whose name does not say what it holds: skipped line by line.
    const mixed = join(dir, 'otlp-mixed.jsonl');
    writeFileSync(mixed, readFileSync(fixture('otel-spec-file-exporter-example-metrics.jsonl')));
    connection.closeSync();
    instance.closeSync();
    const again = await open([mixed]);
    expect(again.badLineCount).toBe(0);
    expect(again.skipped).toEqual([{ file: mixed, lines: 4, reason: expect.stringContaining('metrics') }]);
    // An empty metrics file (a collector creates its files up front) skips nothing, so says nothing.
    const empty = join(dir, 'metrics.jsonl');
    writeFileSync(empty, '');
    connection.closeSync();
    instance.closeSync();
    expect((await open([empty])).skipped).toEqual([]);
  });

  test('pretty-printed trace document: UPPERCASE ids lower-cased, scope and resource', async () => {
    const attached = await open([fixture('otlp-proto-examples-trace.json')]);
    expect(attached.badLineCount).toBe(0);
    expect(attached.rawFiles[0]!.format).toBe('document');
    const [span] = await queryRows<Record<string, unknown>>(connection, SPANS);
    expect(span).toMatchObject({
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
      parent_span_id: 'eee19b7ec3c1b173',
      kind: 2,
      service_name: 'my.service',
      scope_name: 'my.library',
      duration_ms: 1000,
      attributes: { 'my.span.attr': 'some value' },
      source_line: 1,
    });
  });

  test('pretty-printed logs document: every AnyValue kind keeps its type', async () => {
    const attached = await open([fixture('otlp-proto-examples-logs.json')]);
    await connection.run(`CREATE VIEW abtel_log_lines AS ${linesSql(attached.rawFiles)}`);
    const [record] = await queryRows<{ attrs: Record<string, unknown>; span_id: string }>(
      connection,
      "SELECT otlp_attributes_json(attribute_list) AS attrs, span_id FROM otlp_log_records('abtel_log_lines')",
    );
    expect(record!.span_id).toBe('eee19b7ec3c1b174');
    expect(record!.attrs).toEqual({
      'string.attribute': 'some string',
      'boolean.attribute': true,
      'int.attribute': 10,
      'double.attribute': 637.704,
      'array.attribute': ['many', 'values'],
      'map.attribute': { values: [{ key: 'some.map.key', value: { stringValue: 'some value' } }] },
    });
  });

  test('event document: top-level eventName makes an event', async () => {
    await open([fixture('otlp-proto-examples-events.json')]);
    const events = await queryRows<Record<string, unknown>>(connection, EVENTS);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event_name: 'browser.page_view',
      origin: 'log',
      time: '2018-12-13T14:51:00.300Z',
      attributes: { 'event.attribute': 'some event attribute' },
    });
  });

  test('a whole directory of fixtures at once', async () => {
    const attached = await open([FIXTURES]);
    expect(attached.badLineCount).toBe(0);
    expect(attached.files.raw).toBe(5 + 0 + 1 - 1 + 0);
    const [counts] = await queryRows<{ spans: number; events: number }>(
      connection,
      'SELECT (SELECT count(*) FROM otlp_spans_all) AS spans, (SELECT count(*) FROM otlp_events_all) AS events',
    );
    expect(counts).toEqual({ spans: 9, events: 9 });
  });
});

describe('bad lines', () => {
  test('torn and invalid lines are skipped, counted and reported with file and line; the rest is read', async () => {
    const traces = readFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), 'utf8').trimEnd().split('\n');
    const torn = traces[1]!.slice(0, 100);
    const file = join(dir, 'traces-bad.jsonl');
    writeFileSync(file, [traces[0], torn, '', 'not json at all', '{"hello": "world"}', traces[2], `${traces[3]!.slice(0, 50)}`].join('\n'));
    const attached = await open([file]);
    expect(attached.badLineCount).toBe(4);
    expect(attached.badLines.map((b) => [b.file, b.line])).toEqual([
      [file, 2],
      [file, 4],
      [file, 5],
      [file, 7],
    ]);
    expect(attached.badLines[0]!.reason).toMatch(/not valid JSON/);
    expect(attached.badLines[2]!.reason).toMatch(/not a well-formed OTLP/);
    const rows = await queryRows<{ n: number; names: string[] }>(
      connection,
      'SELECT count(*) AS n, list(DISTINCT name ORDER BY name) AS names FROM otlp_spans_all',
    );
    expect(rows[0]).toEqual({ n: 4, names: ['operationA', 'operationB'] });
  });

  test('malformed OTLP lines are counted and listed as bad, like [1,2]; the lines around them are read', async () => {
    const traces = readFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), 'utf8').trimEnd().split('\n');
    const zz = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: 'b7ad6b7169203331', name: 42 }] }] }] };
    const file = join(dir, 'traces-malformed.jsonl');
    writeFileSync(file, [traces[0], '{"resourceSpans": 5}', '[1,2]', JSON.stringify(zz), '{"resourceLogs": {"scopeLogs": []}}', traces[2]].join('\n'));
    const attached = await open([file]);
    expect(attached.badLineCount).toBe(4);
    expect(attached.badLines.map((b) => [b.line, b.reason])).toEqual([
      [2, expect.stringMatching(/^valid JSON but not a well-formed OTLP/)],
      [3, expect.stringMatching(/^valid JSON but not a well-formed OTLP/)],
      [4, expect.stringMatching(/^valid JSON but not a well-formed OTLP/)],
      [5, expect.stringMatching(/^valid JSON but not a well-formed OTLP/)],
    ]);
    const rows = await queryRows<{ n: number; lines: number[] }>(connection, 'SELECT count(*) AS n, list(DISTINCT source_line ORDER BY source_line) AS lines FROM otlp_spans_all');
    expect(rows[0]).toEqual({ n: 4, lines: [1, 6] });
  });

  test('gzip input reads like the plain file, bad lines included', async () => {
    const plain = readFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), 'utf8');
    const file = join(dir, 'traces-2026.jsonl.gz');
    writeFileSync(file, gzipSync(Buffer.from(`${plain}{"resourceSpans": [\n`)));
    const attached = await open([file]);
    expect(attached.badLines).toEqual([{ file, line: 5, reason: expect.stringMatching(/not valid JSON/) }]);
    const [row] = await queryRows<{ n: number }>(connection, 'SELECT count(*) AS n FROM otlp_spans_all');
    expect(row!.n).toBe(8);
  });

  test('a missing input is a clear error', async () => {
    const missing = join(dir, 'nope');
    const error = await open([missing]).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({ code: 'not_found' });
    // It names the path and does not presume how it was given (sql takes it as an argument, not --data).
    expect((error as Error).message).toBe(`no such file, directory or matching glob: ${missing}; check the path`);
  });

  test('symbolic links in a directory are followed: to files, and to directories once (a link cycle ends)', async () => {
    const linked = mkdtempSync(join(tmpdir(), 'abtel-links-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'abtel-link-targets-'));
    try {
      copyFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), join(elsewhere, 'traces.jsonl'));
      mkdirSync(join(elsewhere, 'older'));
      copyFileSync(fixture('otel-spec-file-exporter-example-logs.jsonl'), join(elsewhere, 'older', 'logs.jsonl'));
      symlinkSync(join(elsewhere, 'traces.jsonl'), join(linked, 'current.jsonl'));
      symlinkSync(join(elsewhere, 'older'), join(linked, 'older'));
      symlinkSync(linked, join(elsewhere, 'older', 'back')); // a cycle: linked/older/back → linked
      symlinkSync(join(elsewhere, 'gone.jsonl'), join(linked, 'broken.jsonl'));
      // A link next to the file it points to (log rotation's "current") is read once, as the file.
      copyFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), join(linked, 'traces-0001.jsonl'));
      symlinkSync(join(linked, 'traces-0001.jsonl'), join(linked, 'latest.jsonl'));
      const attached = await open([linked, join(linked, 'traces-0001.jsonl')]);
      expect(attached.files.raw).toBe(3);
      expect(attached.rawFiles.map((file) => file.path.slice(linked.length + 1)).sort()).toEqual(['current.jsonl', 'older/logs.jsonl', 'traces-0001.jsonl']);
      const [spans] = await queryRows<{ n: number }>(connection, 'SELECT count(*) AS n FROM otlp_spans_all');
      expect(spans!.n).toBeGreaterThan(0);
      const [events] = await queryRows<{ n: number }>(connection, 'SELECT count(*) AS n FROM otlp_events_all');
      expect(events!.n).toBeGreaterThan(0);
    } finally {
      rmSync(linked, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('globs select files', async () => {
    copyFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), join(dir, 'traces-glob-1.jsonl'));
    const attached = await open([join(dir, 'traces-glob-*.jsonl')]);
    expect(attached.files.raw).toBe(1);
  });
});

describe('DuckDB values become plain JSON values', () => {
  test('BIGINT/HUGEINT → number, TIMESTAMP → ISO, JSON → parsed, lists and structs recursively', async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    const [row] = await queryRows<Record<string, unknown>>(
      connection,
      `SELECT 9007199254740991::BIGINT AS big, 12::HUGEINT AS huge, count(*) AS n, TIMESTAMP '2026-11-22 10:00:00.123' AS t,
              '{"a": [1, 2]}'::JSON AS j, [1::BIGINT, 2::BIGINT] AS l, {'x': 3::BIGINT} AS s, 1.5::DECIMAL(10, 2) AS d
       FROM range(3)`,
    );
    expect(row).toEqual({ big: 9007199254740991, huge: 12, n: 3, t: '2026-11-22T10:00:00.123Z', j: { a: [1, 2] }, l: [1, 2], s: { x: 3 }, d: 1.5 });
    expect(typeof row!.n).toBe('number');
  });
});

describe('very long lines', () => {
  test('a 17 MB line is read like any other (the loader sizes its line limit to the longest row), not an abort', async () => {
    const traces = readFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), 'utf8').trimEnd().split('\n');
    const long = traces[0]!.replace('"name":"operationA"', `"name":"${'x'.repeat(17 * 1024 * 1024)}"`);
    const file = join(dir, 'traces-long.jsonl');
    writeFileSync(file, [long, traces[1], 'torn {'].join('\n'));
    const attached = await open([file]);
    expect(attached.badLines).toEqual([{ file, line: 3, reason: expect.stringMatching(/not valid JSON/) }]);
    const [row] = await queryRows<{ n: number; longest: number }>(connection, 'SELECT count(*) AS n, max(strlen(name)) AS longest FROM otlp_spans_all');
    expect(row).toEqual({ n: 4, longest: 17 * 1024 * 1024 });
  });

  test('a torn first line longer than 64 KB: the file is JSON Lines, that line is reported and the rest is read', async () => {
    const traces = readFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), 'utf8').trimEnd().split('\n');
    const long = traces[0]!.replace('"name":"operationA"', `"name":"${'x'.repeat(100 * 1024)}"`);
    const file = join(dir, 'traces-torn-long-first.jsonl');
    writeFileSync(file, [long.slice(0, 80 * 1024), traces[1], traces[0]].join('\n'));
    expect(detectFormat(file, false)).toBe('jsonl');
    const attached = await open([file]);
    expect(attached.rawFiles[0]!.format).toBe('jsonl');
    expect(attached.badLines).toEqual([{ file, line: 1, reason: expect.stringMatching(/not valid JSON/) }]);
    const [row] = await queryRows<{ n: number }>(connection, 'SELECT count(*) AS n FROM otlp_spans_all');
    expect(row!.n).toBeGreaterThan(0);
  });
});

describe('the SQL-only path (sql/otlp.sql, for the duckdb CLI) gives the same rows', () => {
  test('spans and events of the fixtures and of abtel-shaped lines equal what attachOtlp reads', async () => {
    const traces = readFileSync(fixture('otel-spec-file-exporter-example-traces.jsonl'), 'utf8');
    const kv = (key: string, value: unknown) => ({ key, value });
    const abtel = {
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', { stringValue: 'svc' })] },
          scopeSpans: [
            {
              scope: { name: 'lib' },
              spans: [
                {
                  traceId: '0AF7651916CD43DD8448EB211C8031AB',
                  spanId: '00F067AA0BA902CD',
                  name: 'chat',
                  startTimeUnixNano: '1795000000000000000',
                  endTimeUnixNano: '1795000000500000000',
                  attributes: [
                    kv('gen_ai.conversation.id', { stringValue: 'c1' }),
                    kv('gen_ai.request.model', { stringValue: 'm' }),
                    kv('abtel.experiment.version', { intValue: '2' }),
                    kv('gen_ai.usage.input_tokens', { intValue: 12 }),
                    kv('error.type', { intValue: '500' }),
                    kv('gen_ai.conversation.id', { stringValue: 'duplicate' }),
                    kv('abtel.experiments', { arrayValue: { values: [{ stringValue: 'a=b' }] } }),
                    kv('abtel.assignment.ids', { arrayValue: { values: [{ stringValue: 'a=user-1' }] } }),
                  ],
                  events: [{ timeUnixNano: '1795000000100000000', name: 'abtel.exposure', attributes: [kv('abtel.segment.plan', { stringValue: 'pro' })] }],
                },
              ],
            },
          ],
        },
      ],
    };
    const file = join(dir, 'traces-sql-path.jsonl');
    writeFileSync(file, `${traces}${JSON.stringify(abtel)}\n`);
    await open([file]);
    const columns = `* EXCLUDE (stripped_attributes, extra_attributes, source_line) REPLACE (CAST(resource_attributes AS JSON) AS resource_attributes),
      otlp_span_attributes(extra_attributes, stripped_attributes, conversation_id, experiment_key, variation, assignment_unit, assignment_id,
        operation_name, request_model, response_model, response_id, error_type) AS attributes, CAST(extra_attributes AS JSON) AS extra, stripped_attributes`;
    const ours = await queryRows(connection, `SELECT ${columns} FROM otlp_spans_all ORDER BY start_time, name, span_id`);
    await connection.run(`CREATE VIEW sql_lines AS ${linesSql([{ path: file, signal: 'traces', format: 'jsonl', gzip: false, size: 0, mtimeMs: 0 }])}`);
    const sql = await queryRows(
      connection,
      `SELECT ${columns} FROM (SELECT * EXCLUDE (span_events, line_status) FROM otlp_spans('sql_lines') WHERE line_status IS NULL) ORDER BY start_time, name, span_id`,
    );
    expect(sql).toEqual(ours);
    expect(ours.at(-1)).toMatchObject({ assignment_ids: ['a=user-1'], conversation_id: 'c1', error_type: '500', stripped_attributes: 1 | 64, attributes: { 'gen_ai.conversation.id': 'c1', 'error.type': 500, 'gen_ai.usage.input_tokens': 12 } });
    const ourEvents = await queryRows(connection, 'SELECT * EXCLUDE (source_line) FROM otlp_events_all ORDER BY time, event_name');
    await connection.run("CREATE TABLE sql_spans AS FROM otlp_spans('sql_lines')");
    await connection.run("CREATE VIEW sql_span_event_records AS FROM otlp_span_event_records('sql_spans')");
    const fromSql = await queryRows(connection, "SELECT * EXCLUDE (source_line) FROM otlp_event_rows('sql_span_event_records') ORDER BY time, event_name");
    expect(fromSql).toEqual(ourEvents);
  });
});

/** The rows of one file as both paths give them. */
interface BothReads {
  library: { spans: Record<string, unknown>[]; events: Record<string, unknown>[]; bad: Record<string, unknown>[] };
  sql: { spans: Record<string, unknown>[]; events: Record<string, unknown>[]; spanMarkers: Record<string, unknown>[]; logMarkers: Record<string, unknown>[] };
}

/** Span columns compared between the paths: every column, attributes as typed JSON. */
const SPAN_COLUMNS = `* EXCLUDE (stripped_attributes, extra_attributes) REPLACE (CAST(resource_attributes AS JSON) AS resource_attributes),
  otlp_span_attributes(extra_attributes, stripped_attributes, conversation_id, experiment_key, variation, assignment_unit, assignment_id,
    operation_name, request_model, response_model, response_id, error_type) AS attributes, CAST(extra_attributes AS JSON) AS extra, stripped_attributes`;

/** Event columns compared between the paths (attributes as typed JSON: the paths write 1.0 and 1 alike). */
const EVENT_COLUMNS = '* REPLACE (CAST(attributes AS JSON) AS attributes)';

/**
 * Reads `file` with abtel's reader (attachOtlp) and with the SQL-only macros of sql/otlp.sql over
 * its lines, numbered as apps/analysis/sql/01_sources.sql numbers them for the duckdb CLI.
 */
async function readBothWays(db: DuckDBConnection, file: string): Promise<BothReads> {
  await attachOtlp(db, { inputs: [file] });
  await db.run(`CREATE OR REPLACE TABLE sql_lines AS
    SELECT filename AS source_file, row_number() OVER () AS source_line, line FROM read_csv(${sqlString(file)}, ${LINE_READER_OPTIONS}, filename=true)`);
  await db.run("CREATE OR REPLACE TABLE sql_spans AS FROM otlp_spans('sql_lines')");
  await db.run("CREATE OR REPLACE TABLE sql_log_records AS FROM otlp_log_records('sql_lines')");
  await db.run("CREATE OR REPLACE VIEW sql_span_event_records AS FROM otlp_span_event_records('sql_spans')");
  return {
    library: {
      spans: await queryRows(db, `SELECT ${SPAN_COLUMNS} FROM otlp_spans_all ORDER BY ALL`),
      events: await queryRows(db, `SELECT ${EVENT_COLUMNS} FROM otlp_events_all ORDER BY ALL`),
      bad: await queryRows(db, 'SELECT source_file, source_line, line_status FROM otlp_bad_lines ORDER BY ALL'),
    },
    sql: {
      spans: await queryRows(db, `SELECT ${SPAN_COLUMNS} FROM (SELECT * EXCLUDE (span_events, line_status) FROM sql_spans WHERE line_status IS NULL) ORDER BY ALL`),
      events: await queryRows(
        db,
        `SELECT ${EVENT_COLUMNS} FROM (FROM otlp_event_rows('sql_log_records') UNION ALL BY NAME FROM otlp_event_rows('sql_span_event_records')) ORDER BY ALL`,
      ),
      spanMarkers: await queryRows(db, 'SELECT * FROM sql_spans WHERE line_status IS NOT NULL ORDER BY source_line'),
      logMarkers: await queryRows(db, 'SELECT * FROM sql_log_records WHERE line_status IS NOT NULL ORDER BY source_line'),
    },
  };
}

/** Marker rows as (file, line, status), the columns otlp_bad_lines has. */
const markers = (rows: Record<string, unknown>[]) => rows.map((row) => ({ source_file: row.source_file, source_line: row.source_line, line_status: row.line_status }));

describe('the SQL-only path refuses exactly the malformed OTLP lines the library refuses (internal/otlp-shape.ts)', () => {
  let counter = 0;
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const SPAN = 'b7ad6b7169203331';
  const kv = (key: string, value: unknown) => ({ key, value });
  const span = (fields: Record<string, unknown>) => ({
    traceId: TRACE,
    spanId: SPAN,
    name: 'chat',
    startTimeUnixNano: '1795000000000000000',
    endTimeUnixNano: '1795000000500000000',
    attributes: [kv('gen_ai.conversation.id', { stringValue: 'c1' }), kv('gen_ai.usage.input_tokens', { intValue: '12' })],
    events: [{ timeUnixNano: '1795000000100000000', name: 'abtel.exposure', attributes: [kv('abtel.experiment.key', { stringValue: 'exp' })] }],
    ...fields,
  });
  const traces = (spans: unknown) => ({ resourceSpans: [{ resource: { attributes: [kv('service.name', { stringValue: 'svc' })] }, scopeSpans: [{ scope: { name: 'lib' }, spans }] }] });
  const record = (fields: Record<string, unknown>) => ({
    timeUnixNano: '1795000000200000000',
    eventName: 'abtel.outcome',
    traceId: TRACE,
    attributes: [kv('abtel.outcome.value', { doubleValue: 1 })],
    ...fields,
  });
  const logs = (logRecords: unknown) => ({ resourceLogs: [{ scopeLogs: [{ scope: { name: 'lib' }, logRecords }] }] });
  /** Row tuples [source_line, …] in line order, then by their text. */
  const byLine = (rows: unknown[][]) => rows.sort((a, b) => Number(a[0]) - Number(b[0]) || String(a).localeCompare(String(b)));
  const text = (line: unknown) => (typeof line === 'string' ? line : JSON.stringify(line));
  /**
   * The signals a line carries (its resourceSpans / resourceLogs is there and not null): each
   * macro marks the bad lines that carry its signal, both mark those that carry neither, and a
   * line that carries only the other signal is not theirs (no rows), as for a good line.
   */
  const carries = (line: unknown): { spans: boolean; logs: boolean } => {
    const root = JSON.parse(text(line)) as Record<string, unknown>;
    const spans = root.resourceSpans !== undefined && root.resourceSpans !== null;
    const logs = root.resourceLogs !== undefined && root.resourceLogs !== null;
    return spans || logs ? { spans, logs } : { spans: true, logs: true };
  };

  /** A file of `lines` (objects as JSON, strings as they are). */
  const fileOf = (name: string, lines: unknown[]): string => {
    const file = join(dir, `${name}.jsonl`);
    writeFileSync(file, `${lines.map(text).join('\n')}\n`);
    return file;
  };

  // Every malformed case of otlp-shape.test.ts and flatten.test.ts, the changeset's, and lines
  // where the SQL path's own shortcuts could go wrong (json_transform reads 5 as no list and 42
  // as "42"; a key spelt with a \u escape hides from a text search).
  const malformed: [string, unknown][] = [
    ['resourceSpans not an array (the changeset)', { resourceSpans: 5 }],
    ['resourceSpans an object', { resourceSpans: {} }],
    ['resourceSpans not an array, next to metrics', { resourceSpans: 5, resourceMetrics: [] }],
    ['resourceSpans item null', { resourceSpans: [null] }],
    ['resourceSpans item an array', { resourceSpans: [[{ scopeSpans: [] }]] }],
    ['scopeSpans not an array', { resourceSpans: [{ scopeSpans: { spans: [] } }] }],
    ['scopeSpans item a number', { resourceSpans: [{ scopeSpans: [3] }] }],
    ['spans not an array', { resourceSpans: [{ scopeSpans: [{ spans: 'none' }] }] }],
    ['span not an object', traces([7])],
    ['span null', traces([span({}), null])],
    ['spans nested in an array', traces([[span({})]])],
    ['traceId not hex', traces([span({ traceId: 'zz' })])],
    ['traceId of the wrong length', traces([span({ traceId: TRACE.slice(2) })])],
    ['traceId with a trailing space', traces([span({ traceId: `${TRACE.slice(1)} ` })])],
    ['spanId not hex', traces([span({ spanId: 'b7ad6b716920333g' })])],
    ['spanId not a string', traces([span({ spanId: 12 })])],
    ['spanId a number of 16 digits', traces([span({ spanId: 1234567890123456 })])],
    ['parentSpanId not hex', traces([span({ parentSpanId: 'parent' })])],
    ['name not a string', traces([span({ name: 42 })])],
    ['name an object', traces([span({ name: { text: 'chat' } })])],
    ['the changeset: traceId "zz" and name 42', traces([span({ traceId: 'zz', name: 42 })])],
    ['otlp-shape.test: upper-case trace id, name 42', traces([span({ traceId: TRACE.toUpperCase(), name: 42 })])],
    ['span events not an array', traces([span({ events: {} })])],
    ['span event not an object', traces([span({ events: ['x'] })])],
    ['span event name not a string', traces([span({ events: [{ name: 1 }] })])],
    ['span event name a boolean, after a good event', traces([span({ events: [{ name: 'ok' }, { name: true }] })])],
    ['a bad span after a good one', traces([span({ spanId: '00f067aa0ba902b7' }), span({ traceId: 'zz' })])],
    ['good spans, malformed logs on the same line', { ...traces([span({})]), resourceLogs: 5 }],
    ['good spans, a malformed log record on the same line', { ...traces([span({})]), ...logs([record({ traceId: 'zz' })]) }],
    ['good spans, a key spelt with a \\u escape', `${text(traces([span({})])).slice(0, -1)},"resource\\u004cogs":5}`],
    ['resourceLogs not an array', { resourceLogs: 5 }],
    ['scopeLogs not an array', { resourceLogs: [{ scopeLogs: 'x' }] }],
    ['scopeLogs item not an object', { resourceLogs: [{ scopeLogs: [3] }] }],
    ['logRecords not an array', { resourceLogs: [{ scopeLogs: [{ logRecords: {} }] }] }],
    ['otlp-shape.test: log record not an object after an empty one', { resourceLogs: [{ scopeLogs: [{ logRecords: [{}, 'x'] }] }] }],
    ['log record traceId not hex', logs([record({ traceId: 'zz' })])],
    ['log record spanId of the wrong length', logs([record({ spanId: 'abc' })])],
    ['log record eventName not a string', logs([record({ eventName: 42 })])],
    ['log record eventName an object', logs([record({ eventName: {} })])],
    ['good logs, malformed spans on the same line', { ...logs([record({})]), resourceSpans: [{ scopeSpans: [{ spans: [7] }] }] }],
  ];

  test.each(malformed)('%s: marked not_otlp once by the macro of each signal it carries, the lines around it read as the library reads them', async (_name, line) => {
    const good = traces([span({})]);
    const goodLog = logs([record({ traceId: TRACE.toUpperCase(), spanId: '' })]);
    const file = fileOf(`sql-malformed-${counter++}`, [good, line, goodLog]);
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    const read = await readBothWays(connection, file);
    const marker = { source_file: file, source_line: 2, line_status: 'not_otlp' };
    expect(read.library.bad).toEqual([marker]);
    // One marker row from each macro whose signal the line carries, every data column NULL (as
    // for any marker row: the attribute objects of an empty list are '{}', a log marker's origin
    // is 'log'); together, exactly the library's bad line.
    const signals = carries(line);
    const nullSpan = Object.fromEntries(Object.keys(read.sql.spanMarkers[0] ?? {}).map((key) => [key, null]));
    expect(read.sql.spanMarkers).toEqual(signals.spans ? [{ ...nullSpan, extra_attributes: '{}', resource_attributes: '{}', ...marker }] : []);
    const nullRecord = Object.fromEntries(Object.keys(read.sql.logMarkers[0] ?? {}).map((key) => [key, null]));
    expect(read.sql.logMarkers).toEqual(signals.logs ? [{ ...nullRecord, origin: 'log', ...marker }] : []);
    // The good lines: the same rows as the library's, and not vacuously (line 1's span and its
    // event, line 3's log event).
    expect(read.sql.spans).toEqual(read.library.spans);
    expect(read.sql.events).toEqual(read.library.events);
    expect(read.library.spans.map((row) => [row.source_line, row.name])).toEqual([[1, 'chat']]);
    expect(read.library.events.map((row) => [row.source_line, row.event_name])).toEqual([
      [1, 'abtel.exposure'],
      [3, 'abtel.outcome'],
    ]);
  });

  test('a bare null line (valid JSON, no object): not_otlp from both macros, as the library has it', async () => {
    const file = fileOf(`sql-null-${counter++}`, [traces([span({})]), null, logs([record({})])]);
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    const read = await readBothWays(connection, file);
    const marker = { source_file: file, source_line: 2, line_status: 'not_otlp' };
    expect(read.library.bad).toEqual([marker]);
    expect(markers(read.sql.spanMarkers)).toEqual([marker]);
    expect(markers(read.sql.logMarkers)).toEqual([marker]);
    expect(read.sql.spans).toEqual(read.library.spans);
    expect(read.sql.events).toEqual(read.library.events);
  });

  test('absent, null and empty lists and ids, upper-case and escaped hex, numeric-looking strings: read as the library reads them', async () => {
    const lines = [
      { resourceSpans: [] },
      { resourceSpans: null, resourceLogs: [] },
      { resourceSpans: [{ scopeSpans: null }] },
      { resourceSpans: [{}] },
      { resourceSpans: [{ scopeSpans: [{}] }] },
      traces(null),
      traces([span({ parentSpanId: '', events: null })]),
      traces([span({ traceId: '', spanId: '', name: null })]),
      traces([{}, span({ spanId: '00f067aa0ba902b7', events: [{}, { name: null }] })]),
      traces([span({ traceId: TRACE.toUpperCase(), spanId: SPAN.toUpperCase(), parentSpanId: null, name: '42' })]),
      // \u escapes in a hex id and in a key: JSON.parse reads them as hex and as "name".
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"\\u0030af7651916cd43dd8448eb211c80319c","spanId":"${SPAN}","n\\u0061me":"escaped"}]}]}]}`,
      logs([record({ traceId: '', spanId: null }), record({ eventName: null, attributes: [kv('event.name', { stringValue: 'from.attribute' })] })]),
      logs([record({ traceId: TRACE.toUpperCase(), spanId: SPAN.toUpperCase(), eventName: 'true' }), { body: { stringValue: 'plain log' } }]),
      { ...traces([span({ spanId: '00f067aa0ba902b8' })]), ...logs([record({})]) },
    ];
    const file = fileOf('sql-defaults', lines);
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    const read = await readBothWays(connection, file);
    expect(read.library.bad).toEqual([]);
    expect(read.sql.spanMarkers).toEqual([]);
    expect(read.sql.logMarkers).toEqual([]);
    expect(read.sql.spans).toEqual(read.library.spans);
    expect(read.sql.events).toEqual(read.library.events);
    expect(byLine(read.library.spans.map((row) => [row.source_line, row.trace_id, row.span_id, row.name]))).toEqual([
      [7, TRACE, SPAN, 'chat'],
      [8, null, null, null],
      [9, null, null, null],
      [9, TRACE, '00f067aa0ba902b7', 'chat'],
      [10, TRACE, SPAN, '42'],
      [11, TRACE, SPAN, 'escaped'],
      [14, TRACE, '00f067aa0ba902b8', 'chat'],
    ]);
    expect(byLine(read.library.events.map((row) => [row.source_line, row.event_name]))).toEqual([
      [8, 'abtel.exposure'],
      [10, 'abtel.exposure'],
      [12, 'abtel.outcome'],
      [12, 'from.attribute'],
      [13, 'true'],
      [14, 'abtel.exposure'],
      [14, 'abtel.outcome'],
    ]);
  });

  // Lines drawn around the rule's edges (each list, item, id and name well-formed most of the
  // time, otherwise absent, null, of another JSON type or malformed): the SQL path marks the lines
  // the library reports and reads the others into the same rows.
  const maybe = <T>(good: fc.Arbitrary<T>, ...bad: unknown[]): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: fc.constantFrom(undefined, null) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
  const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`));
  const id = (length: number) =>
    maybe(fc.oneof({ weight: 9, arbitrary: hex(length) }, { weight: 1, arbitrary: fc.constant('') }), 'zz', 7, Number('1'.repeat(16)), '0'.repeat(length - 1), true, {}, ['0'.repeat(length)]);
  const name = maybe(fc.oneof(fc.constantFrom('chat', '42', 'true', '', 'é "q"'), fc.string({ maxLength: 6 })), 42, false, {}, ['x']);
  const list = (item: fc.Arbitrary<unknown>) =>
    maybe(fc.array(fc.oneof({ weight: 20, arbitrary: item }, { weight: 1, arbitrary: fc.constantFrom(null, 7, 'x', [], [{}]) }), { maxLength: 3 }), 5, 'x', {}, true);
  const time = fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String);
  const anySpan = fc.record(
    { traceId: id(32), spanId: id(16), parentSpanId: id(16), name, startTimeUnixNano: time, events: list(fc.record({ name, timeUnixNano: time }, { requiredKeys: [] })) },
    { requiredKeys: [] },
  );
  const anyRecord = fc.record({ traceId: id(32), spanId: id(16), eventName: name, timeUnixNano: time }, { requiredKeys: [] });
  const anyTraces = list(fc.record({ scopeSpans: list(fc.record({ spans: list(anySpan) }, { requiredKeys: [] })) }, { requiredKeys: [] }));
  const anyLogs = list(fc.record({ scopeLogs: list(fc.record({ logRecords: list(anyRecord) }, { requiredKeys: [] })) }, { requiredKeys: [] }));
  const anyLine = fc.oneof(
    { weight: 4, arbitrary: anyTraces.map((resourceSpans) => ({ resourceSpans })) },
    { weight: 4, arbitrary: anyLogs.map((resourceLogs) => ({ resourceLogs })) },
    { weight: 1, arbitrary: fc.tuple(anyTraces, anyLogs).map(([resourceSpans, resourceLogs]) => ({ resourceSpans, resourceLogs })) },
    { weight: 1, arbitrary: fc.tuple(anyTraces, fc.constant([])).map(([resourceSpans, resourceMetrics]) => ({ resourceSpans, resourceMetrics })) },
  );

  test('property: random lines near the rule are marked and read as the library marks and reads them', async () => {
    let read = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyLine, { minLength: 1, maxLength: 6 }), async (lines) => {
        const file = fileOf(`sql-property-${counter++}`, lines);
        const db = await DuckDBInstance.create(':memory:');
        const conn = await db.connect();
        try {
          const both = await readBothWays(conn, file);
          const lineOf = (row: Record<string, unknown>) => lines[Number(row.source_line) - 1];
          expect(markers(both.sql.spanMarkers)).toEqual(both.library.bad.filter((row) => carries(lineOf(row)).spans));
          expect(markers(both.sql.logMarkers)).toEqual(both.library.bad.filter((row) => carries(lineOf(row)).logs));
          expect(both.sql.spans).toEqual(both.library.spans);
          expect(both.sql.events).toEqual(both.library.events);
          refused += both.library.bad.filter((row) => row.line_status === 'not_otlp').length;
          read += lines.length - both.library.bad.length;
        } finally {
          conn.closeSync();
          db.closeSync();
        }
      }),
      { numRuns: 60 },
    );
    // Not vacuous: both kinds of line occur (about half of each over these runs).
    expect(read).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  }, 60_000);
});
