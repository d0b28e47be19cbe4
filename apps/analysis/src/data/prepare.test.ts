import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ExperimentDefinition } from '@abtel/core';
import { openDataset, type Dataset } from './dataset.js';
import { prepareExperiment } from './prepare.js';
import { health } from './stats.js';

// The prepared units restate the exposures view's first exposure per unit (earliest by time, then
// by variation) and its counts: they must agree row for row, also for the cases the synthetic
// generator does not produce — a unit exposed to two variations, two exposures at the same instant.
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
const s = (v: string) => ({ stringValue: v });
const T0 = Date.parse('2026-11-22T10:00:00Z');

const definition = ExperimentDefinition.parse({
  key: 'exp',
  version: 2,
  owner: 'test',
  surface: 'prompt',
  state: 'running',
  control: 'a',
  variations: [
    { key: 'a', weight: 1 },
    { key: 'b', weight: 1 },
  ],
  segments: ['plan'],
});

let dir: string;
let ds: Dataset;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'abtel-prepare-'));
  const exposure = (conversation: string, variation: string, at: number, plan: string, version = 2) => ({
    timeUnixNano: `${at}000000`,
    eventName: 'abtel.exposure',
    attributes: [
      kv('gen_ai.conversation.id', s(conversation)),
      kv('abtel.experiment.key', s('exp')),
      kv('abtel.experiment.variation', s(variation)),
      kv('abtel.experiment.version', { intValue: version }),
      kv('abtel.segment.plan', s(plan)),
      kv('feature_flag.key', s('exp')),
    ],
  });
  const records = [
    exposure('c1', 'a', T0, 'free'),
    exposure('c1', 'a', T0 + 5000, 'pro'), // a duplicate: the first one's segment counts
    exposure('c2', 'b', T0 + 1000, 'pro', 1),
    exposure('c2', 'a', T0 + 2000, 'free'), // two variations: first by time
    exposure('c3', 'b', T0 + 3000, 'pro'),
    exposure('c3', 'a', T0 + 3000, 'free'), // same instant: first by variation
    exposure('c4', 'b', T0 + 4000, 'free'),
  ];
  writeFileSync(join(dir, 'logs.jsonl'), `${JSON.stringify({ resourceLogs: [{ resource: {}, scopeLogs: [{ scope: {}, logRecords: records }] }] })}\n`);
  ds = await openDataset({ inputs: [dir] });
});

afterAll(async () => {
  await ds?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("prepared units equal the exposures view's rows, with only the kept attributes", async () => {
  const { units, unitAttributes } = await prepareExperiment(ds, definition);
  expect([...unitAttributes]).toEqual(['abtel.segment.plan']);
  const columns = 'unit_id, conversation_id, variation, experiment_version, first_exposure_time, exposure_count, variation_count';
  const prepared = await ds.query(`SELECT unit_index, ${columns}, attributes FROM ${units} ORDER BY unit_index`);
  const viaView = await ds.query(
    `SELECT ${columns}, json_object('plan', json_extract_string(attributes, '$."abtel.segment.plan"')) AS plan
     FROM exposures WHERE experiment_key = 'exp' ORDER BY unit_id`,
  );
  expect(prepared.map(({ attributes, unit_index, ...row }) => row)).toEqual(viaView.map(({ plan, ...row }) => row));
  expect(prepared.map((row) => row.unit_index)).toEqual([1, 2, 3, 4]);
  expect(prepared.map((row) => [row.unit_id, row.variation, row.exposure_count, row.variation_count])).toEqual([
    ['c1', 'a', 2, 1],
    ['c2', 'b', 2, 2],
    ['c3', 'a', 2, 2],
    ['c4', 'b', 1, 1],
  ]);
  expect(prepared.map((row) => row.attributes)).toEqual([
    { 'abtel.segment.plan': 'free' },
    { 'abtel.segment.plan': 'pro' },
    { 'abtel.segment.plan': 'free' },
    { 'abtel.segment.plan': 'free' },
  ]);
  expect(viaView.map((row) => (row.plan as { plan: string }).plan)).toEqual(['free', 'pro', 'free', 'free']);
});

test('without calls or spans, the newest event is the newest exposure', async () => {
  expect((await health(ds, definition)).lastEventTime).toBe(new Date(T0 + 5000).toISOString());
});
