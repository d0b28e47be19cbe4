/**
 * Hand-made OTLP JSON Lines for the data-layer tests: attribute builders, and a temporary
 * directory with one traces line and one logs line, opened as a dataset.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, type Dataset } from '../src/data/dataset.js';

/** An OTLP attribute. */
export const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
/** An OTLP string value. */
export const str = (value: string) => ({ stringValue: value });

export interface OtlpFixture {
  readonly dir: string;
  readonly ds: Dataset;
  /** Closes the dataset and removes the directory. */
  close(): Promise<void>;
}

/**
 * Writes `spans` to `traces.jsonl` and `records` to `logs.jsonl` (one OTLP line each, only those
 * given) in a new temporary directory named after `prefix`, and opens a dataset over it.
 * @example
 * const fixture = await otlpFixture('abtel-prepare-', { records: [exposure] });
 * await fixture.ds.query('SELECT * FROM exposures');
 * await fixture.close();
 */
export async function otlpFixture(prefix: string, data: { spans?: readonly unknown[]; records?: readonly unknown[] }): Promise<OtlpFixture> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (data.spans) writeFileSync(join(dir, 'traces.jsonl'), `${JSON.stringify({ resourceSpans: [{ resource: {}, scopeSpans: [{ scope: {}, spans: data.spans }] }] })}\n`);
  if (data.records) writeFileSync(join(dir, 'logs.jsonl'), `${JSON.stringify({ resourceLogs: [{ resource: {}, scopeLogs: [{ scope: {}, logRecords: data.records }] }] })}\n`);
  const ds = await openDataset({ inputs: [dir] });
  return {
    dir,
    ds,
    close: async () => {
      await ds.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
