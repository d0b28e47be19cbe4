import { DuckDBInstance, listValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentDefinition, bucketOf, bucketSql, sqlString, variationForBucket, variationSql } from './index.js';

let instance: DuckDBInstance;
let connection: Awaited<ReturnType<DuckDBInstance['connect']>>;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

async function bucketsInDuckDb(salt: string, ids: string[]): Promise<{ id: string; bucket: number }[]> {
  const reader = await connection.runAndReadAll(
    `SELECT id, ${bucketSql('$salt', 'id')} AS bucket FROM (SELECT unnest($ids) AS id, generate_subscripts($ids, 1) AS n) ORDER BY n`,
    { salt, ids: listValue(ids) },
  );
  return reader.getRowObjectsJS() as { id: string; bucket: number }[];
}

describe('bucketSql', () => {
  it('gives exactly the JavaScript bucket in real DuckDB for thousands of ids', async () => {
    const ids = [
      ...Array.from({ length: 3000 }, (_, i) => `conv-${i}`),
      ...fc.sample(fc.string({ unit: 'grapheme', maxLength: 40 }), { numRuns: 2000, seed: 42 }),
      ...fc.sample(fc.uuid(), { numRuns: 500, seed: 7 }),
      'héllo-😀',
      '日本語',
      '',
    ];
    for (const salt of ['support-persona', 'layer:support-bot', 'ünïcode-sält', "o'brien"]) {
      const rows = await bucketsInDuckDb(salt, ids);
      expect(rows.length).toBe(ids.length);
      const mismatches = rows.filter((row) => row.bucket !== bucketOf(salt, row.id));
      expect(mismatches).toEqual([]);
    }
  });

  it('accepts a quoted literal salt', async () => {
    const reader = await connection.runAndReadAll(`SELECT ${bucketSql(sqlString("o'brien"), sqlString('conv-1'))} AS bucket`);
    expect(reader.getRowObjectsJS()).toEqual([{ bucket: bucketOf("o'brien", 'conv-1') }]);
  });

  it('works on a column of a table, and variationSql agrees with variationForBucket', async () => {
    const def = ExperimentDefinition.parse({
      key: 'three-arm',
      version: 1,
      owner: 'qa',
      surface: 'prompt',
      state: 'running',
      variations: [
        { key: 'a', weight: 1 },
        { key: 'b', weight: 1 },
        { key: 'c', weight: 1 },
      ],
      control: 'a',
    });
    await connection.run(`CREATE OR REPLACE TABLE units AS SELECT 'conv-' || i AS unit_id FROM range(20000) t(i)`);
    const reader = await connection.runAndReadAll(
      `SELECT unit_id, ${variationSql(def, bucketSql(sqlString(def.salt), 'unit_id'))} AS planned FROM units`,
    );
    const rows = reader.getRowObjectsJS() as { unit_id: string; planned: string }[];
    expect(rows.length).toBe(20000);
    const mismatches = rows.filter((row) => row.planned !== variationForBucket(def, bucketOf(def.salt, row.unit_id)));
    expect(mismatches).toEqual([]);
    expect(new Set(rows.map((row) => row.planned))).toEqual(new Set(['a', 'b', 'c']));
  });
});
