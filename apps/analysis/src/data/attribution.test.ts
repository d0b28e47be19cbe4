import { afterAll, beforeAll, expect, test } from 'vitest';
import { ExperimentDefinition } from '@abtel/core';
import type { Dataset } from './dataset.js';
import { prepareExperiment } from './prepare.js';
import { health } from './stats.js';
import { kv, otlpFixture, str as s, type OtlpFixture } from '../../test/otlp.js';

// Two experiments whose units share ids (conversation ids reused by another experiment, as a user
// id would be in two user-level experiments): each experiment's calls and freshness must come from
// the spans that carry it, not from every span with the unit's id.
const T0 = Date.parse('2026-11-22T10:00:00Z');
const DAY = 86_400_000;

const definition = ExperimentDefinition.parse({
  key: 'exp',
  version: 1,
  owner: 'test',
  surface: 'prompt',
  state: 'running',
  control: 'a',
  variations: [
    { key: 'a', weight: 1 },
    { key: 'b', weight: 1 },
  ],
});

let fixture: OtlpFixture;
let ds: Dataset;
let spanCounter = 0;

/** A chat span of `conversation` at `at` (ms), stamped with `stamp` (key, variation, experiments list). */
function chat(conversation: string, at: number, stamp: { key?: string; variation?: string; experiments?: string[] }) {
  spanCounter += 1;
  const attributes = [kv('gen_ai.operation.name', s('chat')), kv('gen_ai.request.model', s('gpt-4o')), kv('gen_ai.conversation.id', s(conversation))];
  if (stamp.key !== undefined) attributes.push(kv('abtel.experiment.key', s(stamp.key)));
  if (stamp.variation !== undefined) attributes.push(kv('abtel.experiment.variation', s(stamp.variation)));
  if (stamp.experiments !== undefined) attributes.push(kv('abtel.experiments', { arrayValue: { values: stamp.experiments.map(s) } }));
  return {
    traceId: spanCounter.toString(16).padStart(32, '0'),
    spanId: spanCounter.toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: `${at}000000`,
    endTimeUnixNano: `${at + 500}000000`,
    attributes,
  };
}

function exposure(conversation: string, key: string, variation: string, at: number) {
  return {
    timeUnixNano: `${at}000000`,
    eventName: 'abtel.exposure',
    attributes: [
      kv('gen_ai.conversation.id', s(conversation)),
      kv('abtel.experiment.key', s(key)),
      kv('abtel.experiment.variation', s(variation)),
      kv('abtel.experiment.version', { intValue: 1 }),
    ],
  };
}

beforeAll(async () => {
  const spans = [
    chat('c1', T0 + 1000, { key: 'exp', variation: 'a' }),
    chat('c1', T0 + 2000, { key: 'exp', variation: 'a' }),
    // exp as the second experiment of the conversation: only in abtel.experiments.
    chat('c2', T0 + 3000, { key: 'first', variation: 'x', experiments: ['first=x', 'exp=b'] }),
    // Before the assignment: no experiment stamped, not the treatment's.
    chat('c3', T0 + 500, {}),
    // Days later, the same ids in another experiment only.
    chat('c1', T0 + 3 * DAY, { key: 'other', variation: 'y' }),
    chat('c1', T0 + 3 * DAY + 1000, { key: 'other', variation: 'y' }),
    chat('c2', T0 + 3 * DAY + 2000, { key: 'other', variation: 'y' }),
  ];
  const records = [
    exposure('c1', 'exp', 'a', T0),
    exposure('c2', 'exp', 'b', T0 + 100),
    exposure('c3', 'exp', 'a', T0 + 200),
    exposure('c1', 'other', 'y', T0 + 3 * DAY - 1000),
    exposure('c2', 'other', 'y', T0 + 3 * DAY - 500),
  ];
  fixture = await otlpFixture('abtel-attribution-', { spans, records });
  ds = fixture.ds;
});

afterAll(() => fixture?.close());

test("a unit's calls are those that carry the experiment (key or abtel.experiments), in the analysis and in unit_metrics", async () => {
  const { units, calls } = await prepareExperiment(ds, definition);
  const perUnit = await ds.query(
    `SELECT x.unit_id, count(c.u) AS calls FROM ${units} x LEFT JOIN ${calls} c ON c.u = x.unit_index GROUP BY ALL ORDER BY x.unit_id`,
  );
  expect(perUnit).toEqual([
    { unit_id: 'c1', calls: 2 },
    { unit_id: 'c2', calls: 1 },
    { unit_id: 'c3', calls: 0 },
  ]);
  const view = await ds.query(`SELECT experiment_key, unit_id, calls FROM unit_metrics ORDER BY experiment_key, unit_id`);
  expect(view).toEqual([
    { experiment_key: 'exp', unit_id: 'c1', calls: 2 },
    { experiment_key: 'exp', unit_id: 'c2', calls: 1 },
    { experiment_key: 'exp', unit_id: 'c3', calls: 0 },
    { experiment_key: 'other', unit_id: 'c1', calls: 2 },
    { experiment_key: 'other', unit_id: 'c2', calls: 1 },
  ]);
});

test("freshness is the experiment's own newest data, not another experiment's in the same files", async () => {
  // exp's newest: the end of c2's call at T0 + 3000 (+ 500 ms); other's data runs 3 days later.
  expect((await health(ds, definition)).lastEventTime).toBe(new Date(T0 + 3500).toISOString());
  const other = ExperimentDefinition.parse({ ...definition, key: 'other', control: 'y', variations: [{ key: 'y', weight: 1 }, { key: 'z', weight: 1 }] });
  expect((await health(ds, other)).lastEventTime).toBe(new Date(T0 + 3 * DAY + 2500).toISOString());
  const none = ExperimentDefinition.parse({ ...definition, key: 'none' });
  expect((await health(ds, none)).lastEventTime).toBeUndefined();
});
