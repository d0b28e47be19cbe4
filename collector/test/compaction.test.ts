/** Background compaction of rotated files into Parquet with @abtel/files, off the request path. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import { postJson, tempDir } from './helpers.js';

const traces = (count: number, offset: number) => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [
        {
          scope: { name: 'test' },
          spans: Array.from({ length: count }, (_, index) => ({
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: (offset + index + 1).toString(16).padStart(16, '0'),
            name: 'chat',
            startTimeUnixNano: '1790000000000000000',
            endTimeUnixNano: '1790000000500000000',
            attributes: [{ key: 'gen_ai.conversation.id', value: { stringValue: `conv-${index}` } }],
          })),
        },
      ],
    },
  ],
});

describe('background compaction', () => {
  it('a shutdown with rotated files still queued for compaction says so once, not as a failure per file', async () => {
    const dir = await tempDir();
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, compaction: true, progress: false, log: (line) => messages.push(line) });
    let queued = 0;
    try {
      for (let file = 0; file < 8; file++) {
        expect((await postJson(`${collector.url}/v1/traces`, traces(50, file * 50))).status).toBe(200);
        await collector.rotate();
        queued += 1;
      }
    } finally {
      await collector.close();
    }
    expect(queued).toBe(8);
    const stats = collector.stats();
    expect(stats.background.compactionFailed).toBe(0);
    expect(messages.filter((line) => /compaction of .* failed/.test(line))).toEqual([]);
    // DuckDB takes long enough to load that the shutdown stops most of the queue.
    const left = 8 - stats.background.compacted;
    const summary = messages.filter((line) => line.includes('not compacted before the shutdown'));
    if (left > 0) expect(summary).toEqual([`${left} rotated file(s) were not compacted before the shutdown; \`abtel compact ${dir}\` compacts what is missing`]);
    else expect(summary).toEqual([]);
  });

  it('gzips, then flattens each rotated file into Parquet; the request path is unaffected', async () => {
    const dir = await tempDir();
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, compaction: true, rotation: { gzip: true }, progress: false, log: (line) => messages.push(line) });
    try {
      for (let batch = 0; batch < 4; batch++) expect((await postJson(`${collector.url}/v1/traces`, traces(25, batch * 25))).status).toBe(200);
      await collector.rotate();
      // Requests keep being answered while compaction runs.
      expect((await postJson(`${collector.url}/v1/traces`, traces(5, 1000))).status).toBe(200);
      await collector.idle();
      const stats = collector.stats();
      expect(messages.filter((line) => /failed/.test(line))).toEqual([]);
      expect(stats.background).toMatchObject({ gzipped: 1, compacted: 1, compactionFailed: 0, compactedRows: 100 });
      const files = (await readdir(dir, { recursive: true })).map(String);
      const parquet = files.filter((name) => name.endsWith('.parquet'));
      expect(parquet).toHaveLength(1);
      expect(files.some((name) => /^traces-.*\.jsonl\.gz$/.test(name))).toBe(true);
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        const reader = await connection.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${join(dir, parquet[0]!).replace(/'/g, "''")}')`);
        expect(Number(reader.getRowObjects()[0]!.n)).toBeGreaterThanOrEqual(100);
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    } finally {
      await collector.close();
    }
  });

  it('gzip turned on later: earlier rotated files are compressed and compacted again, and the Parquet of their plain names is removed, saying so', async () => {
    const dir = await tempDir();
    const plainRun = await startCollector({ port: 0, dir, compaction: true, progress: false, log: () => undefined });
    try {
      expect((await postJson(`${plainRun.url}/v1/traces`, traces(20, 0))).status).toBe(200);
      await plainRun.rotate();
      await plainRun.idle();
      expect(plainRun.stats().background).toMatchObject({ compacted: 1, compactionFailed: 0 });
    } finally {
      await plainRun.close();
    }
    const rotated = (await readdir(dir)).find((name) => /^traces-.*\.jsonl$/.test(name))!;
    const oldParquet = join(dir, '.abtel', `${rotated}.parquet`);
    expect(await readdir(join(dir, '.abtel'))).toContain(`${rotated}.parquet`);

    const messages: string[] = [];
    const gzipRun = await startCollector({ port: 0, dir, compaction: true, rotation: { gzip: true }, progress: false, log: (line) => messages.push(line) });
    try {
      await gzipRun.idle();
      expect(gzipRun.stats().background).toMatchObject({ gzipped: 1, compacted: 1, compactionFailed: 0, compactedRows: 20 });
    } finally {
      await gzipRun.close();
    }
    expect(messages).toContain(`compacted ${join(dir, `${rotated}.gz`)}; removed ${oldParquet}, the Parquet of the same file before it was compressed`);
    expect((await readdir(join(dir, '.abtel'))).sort()).toEqual([`${rotated}.gz.manifest.json`, `${rotated}.gz.parquet`]);
  });
});
