import { expect, test } from 'vitest';
import { DuckDBInstance } from '@abtel/files';
import { bucketKeySql, bucketStartSql } from './time-bucket.js';

test("integer buckets equal DuckDB's time_bucket, before and after its origin, for several widths", async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const minutes of [1, 7, 60, 90, 1440]) {
      // 200,001 timestamps 7.78 s apart around 1970 and around 2000-01-03, bucket edges included.
      const reader = await connection.runAndReadAll(
        `WITH t AS (
           SELECT base + to_microseconds(i * 7777777) AS t
           FROM (VALUES (TIMESTAMP '1969-12-31 23:59:59.999999'), (TIMESTAMP '2000-01-03 00:00:00'), (TIMESTAMP '2026-11-22 10:00:00')) b(base),
                range(-100000, 100001) r(i)
           UNION ALL SELECT TIMESTAMP '2000-01-03 00:00:00' + to_microseconds(k * ${minutes * 60_000_000} + d)
           FROM range(-3, 4) r(k), (VALUES (-1), (0), (1)) d(d))
         SELECT count(*) AS n,
                count(*) FILTER (WHERE time_bucket(INTERVAL '${minutes} minutes', t) IS DISTINCT FROM ${bucketStartSql(bucketKeySql('t', minutes), minutes)}) AS differ
         FROM t`,
      );
      const [row] = reader.getRowObjects();
      expect(Number(row!.n)).toBe(600_024);
      expect(Number(row!.differ)).toBe(0);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
});
