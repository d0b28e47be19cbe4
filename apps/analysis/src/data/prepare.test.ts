import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExperimentDefinition } from '@abtel/core';
import { openDataset, type Dataset } from './dataset.js';
import { prepareExperiment } from './prepare.js';
import { health } from './stats.js';
import { kv, otlpFixture, str as s, type OtlpFixture } from '../../test/otlp.js';

// The prepared units restate the exposures view's first exposure per unit (earliest by time, then
// by variation) and its counts: they must agree row for row, also for the cases the synthetic
// generator does not produce — a unit exposed to two variations, two exposures at the same instant.
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

let fixture: OtlpFixture;
let ds: Dataset;

beforeAll(async () => {
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
  fixture = await otlpFixture('abtel-prepare-', { records });
  ds = fixture.ds;
});

afterAll(() => fixture?.close());

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

// The same agreement for feature-flag exposures (a flag's variant may be missing; abtel exposures
// of the experiment count too) and for exposures tied on time and variation that differ in
// conversation, version and segments: a user exposed in three conversations at the same instant.
describe('prepared units against the exposures view: flags and complete ties', () => {
  const flagged = ExperimentDefinition.parse({
    key: 'checkout',
    version: 3,
    owner: 'test',
    surface: 'prompt',
    state: 'running',
    unit: 'account',
    control: 'off',
    variations: [
      { key: 'off', weight: 1 },
      { key: 'on', weight: 1 },
    ],
    exposure: { source: 'feature_flag', flagKey: 'new-checkout' },
    segments: ['plan', 'region'],
  });
  const tied = ExperimentDefinition.parse({ ...definition, key: 'exp-user', unit: 'user', segments: ['plan', 'region'] });
  let tieDir: string;
  let tieDs: Dataset;

  beforeAll(async () => {
    tieDir = mkdtempSync(join(tmpdir(), 'abtel-prepare-ties-'));
    const record = (name: string, at: number, attributes: unknown[]) => ({ timeUnixNano: `${at}000000`, eventName: name, attributes });
    const flag = (context: string, variant: string | undefined, at: number, plan: string, flagKey = 'new-checkout') =>
      record('feature_flag.evaluation', at, [
        kv('feature_flag.key', s(flagKey)),
        ...(variant === undefined ? [] : [kv('feature_flag.result.variant', s(variant))]),
        kv('feature_flag.context.id', s(context)),
        kv('gen_ai.conversation.id', s(`conv-${context}-${at}`)),
        kv('abtel.experiment.version', { intValue: at - T0 }),
        kv('abtel.segment.plan', s(plan)),
      ]);
    const exposure = (key: string, unit: string, conversation: string, variation: string, at: number, version: number, plan: string, region: string) =>
      record('abtel.exposure', at, [
        kv('gen_ai.conversation.id', s(conversation)),
        kv('abtel.assignment.id', s(unit)),
        kv('abtel.assignment.unit', s(key === 'checkout' ? 'account' : 'user')),
        kv('abtel.experiment.key', s(key)),
        kv('abtel.experiment.variation', s(variation)),
        kv('abtel.experiment.version', { intValue: version }),
        kv('abtel.segment.plan', s(plan)),
        kv('abtel.segment.region', s(region)),
      ]);
    const records: unknown[] = [
      flag('acct-1', 'on', T0, 'pro'),
      flag('acct-1', 'off', T0, 'free'), // same instant: first by variation
      flag('acct-2', undefined, T0, 'free'), // no variant, but the earliest
      flag('acct-2', 'on', T0 + 1000, 'pro'),
      flag('acct-3', 'off', T0 + 100, 'pro'),
      exposure('checkout', 'acct-3', 'conv-x', 'on', T0 + 500, 3, 'free', 'eu'), // abtel exposures of a flag experiment count too
      flag('acct-4', 'on', T0, 'pro', 'other-flag'), // not the experiment's flag
    ];
    // Complete ties: the same time and variation, differing in everything else.
    for (let user = 0; user < 400; user += 1) {
      for (let copy = 0; copy < 3; copy += 1) {
        records.push(exposure('exp-user', `u${user}`, `c${user}-${copy}`, user % 2 ? 'b' : 'a', T0 + user, copy + 1, ['free', 'pro', 'team'][copy]!, ['eu', 'us', 'ap'][(copy + user) % 3]!));
      }
    }
    const lines = [];
    // Several lines, so that DuckDB may read them in parallel (in no fixed order).
    for (let start = 0; start < records.length; start += 50) {
      lines.push(JSON.stringify({ resourceLogs: [{ resource: {}, scopeLogs: [{ scope: {}, logRecords: records.slice(start, start + 50) }] }] }));
    }
    writeFileSync(join(tieDir, 'logs.jsonl'), `${lines.reverse().join('\n')}\n`);
    tieDs = await openDataset({ inputs: [tieDir] });
  });

  afterAll(async () => {
    await tieDs?.close();
    rmSync(tieDir, { recursive: true, force: true });
  });

  const columns = 'unit_id, conversation_id, variation, experiment_version, first_exposure_time, exposure_count, variation_count';
  async function compare(def: ExperimentDefinition): Promise<Record<string, unknown>[]> {
    const { units, unitAttributes } = await prepareExperiment(tieDs, def);
    expect([...unitAttributes]).toEqual(['abtel.segment.plan', 'abtel.segment.region']);
    const prepared = await tieDs.query(`SELECT ${columns}, attributes FROM ${units} ORDER BY unit_index`);
    const viaView = await tieDs.query(
      `SELECT ${columns}, json_object('abtel.segment.plan', json_extract(attributes, '$."abtel.segment.plan"'),
                                      'abtel.segment.region', json_extract(attributes, '$."abtel.segment.region"')) AS attributes
       FROM exposures WHERE experiment_key = ${`'${def.key}'`} ORDER BY unit_id`,
    );
    expect(prepared).toEqual(viaView);
    return prepared;
  }

  test('feature-flag exposures', async () => {
    const rows = await compare(flagged);
    expect(rows.map((row) => [row.unit_id, row.variation, row.exposure_count, row.variation_count])).toEqual([
      ['acct-1', 'off', 2, 2],
      ['acct-2', null, 2, 1],
      ['acct-3', 'off', 2, 2],
    ]);
  });

  test('exposures tied on time and variation', async () => {
    const rows = await compare(tied);
    expect(rows).toHaveLength(400);
    expect(rows.every((row) => row.exposure_count === 3 && row.variation_count === 1)).toBe(true);
    // The tie-break after time and variation is the conversation: c<user>-0 and its version 1.
    expect(rows.filter((row) => row.conversation_id !== `c${String(row.unit_id).slice(1)}-0` || row.experiment_version !== 1)).toEqual([]);
  });
});
