import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { attachOtlp, detectFormat, linesSql, queryRows } from './index.js';

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
