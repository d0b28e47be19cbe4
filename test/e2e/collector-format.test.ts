/**
 * The real Collector's file format: the public OTLP fixtures (the specification's file-exporter
 * examples and the opentelemetry-proto examples) read directly, and the same requests sent through
 * abtel's collector and read from the files it wrote, give the same `spans` and `events` views.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '@abtel/collector';
import { openDataset, type Dataset } from '@abtel/analysis';
import { OTLP_FIXTURES, tempDir, removeTempDirs } from './helpers.js';

afterAll(removeTempDirs);

const FILE_EXPORTER_FIXTURES = { traces: 'otel-spec-file-exporter-example-traces.jsonl', logs: 'otel-spec-file-exporter-example-logs.jsonl' } as const;
const REQUEST_FIXTURES = { traces: ['otlp-proto-examples-trace.json'], logs: ['otlp-proto-examples-logs.json', 'otlp-proto-examples-events.json'] } as const;

async function rows(ds: Dataset, sql: string): Promise<unknown[]> {
  return ds.query(sql);
}

describe("the real Collector's file format", () => {
  let direct: Dataset;
  let viaCollector: Dataset;

  beforeAll(async () => {
    const directDir = await tempDir('fixtures-direct');
    const collectorDir = await tempDir('fixtures-collector');
    // What the Collector's file exporter writes: the spec examples as they are, and each
    // proto example request as the one line the exporter would write for it.
    for (const [signal, file] of Object.entries(FILE_EXPORTER_FIXTURES)) await copyFile(join(OTLP_FIXTURES, file), join(directDir, `${signal}.jsonl`));
    for (const [signal, files] of Object.entries(REQUEST_FIXTURES)) {
      const lines = await Promise.all(files.map(async (file) => JSON.stringify(JSON.parse(await readFile(join(OTLP_FIXTURES, file), 'utf8')))));
      await writeFile(join(directDir, `${signal}-examples.jsonl`), `${lines.join('\n')}\n`);
    }

    const collector = await startCollector({ host: '127.0.0.1', port: 0, dir: collectorDir, log: () => undefined });
    try {
      const post = async (signal: 'traces' | 'logs', body: string): Promise<void> => {
        const response = await fetch(`${collector.url}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect(response.status, await response.text()).toBe(200);
      };
      for (const [signal, file] of Object.entries(FILE_EXPORTER_FIXTURES) as ['traces' | 'logs', string][]) {
        for (const line of (await readFile(join(OTLP_FIXTURES, file), 'utf8')).split('\n')) if (line.trim()) await post(signal, line);
      }
      // The pretty-printed request bodies go in as they are, the way an exporter would send them.
      for (const [signal, files] of Object.entries(REQUEST_FIXTURES) as ['traces' | 'logs', readonly string[]][]) {
        for (const file of files) await post(signal, await readFile(join(OTLP_FIXTURES, file), 'utf8'));
      }
    } finally {
      await collector.close();
    }
    direct = await openDataset({ inputs: [directDir] });
    viaCollector = await openDataset({ inputs: [collectorDir] });
  });

  afterAll(async () => {
    await direct?.close();
    await viaCollector?.close();
  });

  it('gives the same spans view', async () => {
    const sql = 'SELECT * EXCLUDE (source_file, source_line) FROM spans ORDER BY trace_id, span_id, name';
    const a = await rows(direct, sql);
    expect(a.length).toBeGreaterThan(0);
    expect(await rows(viaCollector, sql)).toEqual(a);
  });

  it('gives the same events view (log records with an event name and span events)', async () => {
    const sql = 'SELECT * EXCLUDE (source_file, source_line) FROM events ORDER BY time, event_name, trace_id, span_id, CAST(attributes AS VARCHAR)';
    const a = await rows(direct, sql);
    expect(a.length).toBeGreaterThan(0);
    expect(await rows(viaCollector, sql)).toEqual(a);
  });

  it('reads no bad lines from either', () => {
    expect(direct.badLineCount).toBe(0);
    expect(viaCollector.badLineCount).toBe(0);
  });
});
