import { afterAll, beforeAll, expect, test } from 'vitest';
import { ExperimentDefinition, MetricDefinition } from '@abtel/core';
import { armMetricStats, health, metricStatsSql } from './stats.js';
import { kv, otlpFixture, str as s, type OtlpFixture } from '../../test/otlp.js';

// A user-level experiment whose outcomes and judge scores come from another service that knows
// only the conversation id (a feedback webhook): no abtel.assignment.ids, no unit of their own.
// Each event belongs to the user the conversation's own telemetry names: the user's first
// conversation has the exposure, later ones only calls (exposures are emitted once per user).
// A conversation id whose calls name two users, or that has no telemetry at all, attributes
// nothing. The expected numbers below are counted by hand from the events listed here.
const T0 = Date.parse('2026-11-22T10:00:00Z');

const pricing = ExperimentDefinition.parse({
  key: 'pricing',
  version: 1,
  owner: 'test',
  surface: 'prompt',
  unit: 'user',
  state: 'running',
  control: 'a',
  variations: [
    { key: 'a', weight: 1 },
    { key: 'b', weight: 1 },
  ],
});
const resolvedSum = MetricDefinition.parse({ name: 'resolved', kind: 'sum', from: { outcome: 'resolved' }, direction: 'increase' });
const helpfulness = MetricDefinition.parse({ name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' });

let spanCounter = 0;
const at = (minute: number) => `${T0 + minute * 60_000}000000`;

/** The attributes @abtel/node stamps for `user` in `variation` of pricing, in `conversation`. */
const stamp = (conversation: string, user: string, variation: string) => [
  kv('gen_ai.conversation.id', s(conversation)),
  kv('abtel.experiment.key', s('pricing')),
  kv('abtel.experiment.variation', s(variation)),
  kv('abtel.experiment.version', { intValue: 1 }),
  kv('abtel.assignment.unit', s('user')),
  kv('abtel.assignment.id', s(user)),
];

/** A chat span of `conversation`, stamped by @abtel/node for `user` in `variation` of pricing. */
function call(conversation: string, user: string, variation: string, minute: number) {
  spanCounter += 1;
  return {
    traceId: spanCounter.toString(16).padStart(32, '0'),
    spanId: spanCounter.toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: at(minute),
    endTimeUnixNano: at(minute + 0.01),
    attributes: [kv('gen_ai.operation.name', s('chat')), kv('gen_ai.request.model', s('gpt-4o')), ...stamp(conversation, user, variation)],
  };
}

function exposure(conversation: string, user: string, variation: string, minute: number) {
  return {
    timeUnixNano: at(minute),
    eventName: 'abtel.exposure',
    attributes: stamp(conversation, user, variation),
  };
}

/** What recordOutcome writes in a service that knows only the conversation (and maybe the experiment). */
function outcome(conversation: string, value: number, minute: number, experimentKey?: string, name = 'resolved') {
  const attributes = [kv('gen_ai.conversation.id', s(conversation)), kv('abtel.outcome.name', s(name)), kv('abtel.outcome.value', { intValue: value })];
  if (experimentKey !== undefined) attributes.push(kv('abtel.experiment.key', s(experimentKey)));
  return { timeUnixNano: at(minute), eventName: 'abtel.outcome', attributes };
}

function score(conversation: string, value: number, minute: number) {
  return {
    timeUnixNano: at(minute),
    eventName: 'gen_ai.evaluation.result',
    attributes: [
      kv('gen_ai.conversation.id', s(conversation)),
      kv('gen_ai.evaluation.name', s('helpfulness')),
      kv('gen_ai.evaluation.score.value', { intValue: value }),
      kv('abtel.evaluation.source', s('human')),
    ],
  };
}

let fixture: OtlpFixture;

beforeAll(async () => {
  fixture = await otlpFixture('abtel-conversation-units-', {
    spans: [
      // u1 (arm a): c1 with the exposure, c2 later with calls only.
      call('c1', 'u1', 'a', 1),
      call('c1', 'u1', 'a', 2),
      call('c2', 'u1', 'a', 60),
      // u2 (arm b): c3 with the exposure, c4 later.
      call('c3', 'u2', 'b', 3),
      call('c4', 'u2', 'b', 61),
      // c5: a conversation id reused by both users.
      call('c5', 'u1', 'a', 62),
      call('c5', 'u2', 'b', 63),
    ],
    records: [
      exposure('c1', 'u1', 'a', 1),
      exposure('c3', 'u2', 'b', 3),
      // Before the exposures (minutes 1 and 3): a pre-treatment covariate.
      outcome('c1', 7, 0, undefined, 'pre'),
      outcome('c3', 3, 0, undefined, 'pre'),
      outcome('c1', 1, 10),
      outcome('c2', 1, 70),
      outcome('c2', 1, 71),
      outcome('c3', 0, 10),
      outcome('c4', 1, 70),
      // Unattributable: two users; no telemetry (named for pricing, so counted); no telemetry and
      // naming no experiment (belongs to no conversation of pricing, so not counted).
      outcome('c5', 1, 70),
      outcome('c6', 1, 70, 'pricing'),
      outcome('c7', 1, 70),
      score('c2', 4, 72),
      score('c4', 2, 72),
      score('c4', 5, 73),
      score('c5', 1, 72),
    ],
  });
});
afterAll(async () => {
  await fixture?.close();
});

test('outcomes with the conversation id alone count for the user the conversation names, in abtel and over the views', async () => {
  // u1 (a): c1 1 + c2 1 + 1 = 3; u2 (b): c3 0 + c4 1 = 1.
  const expected = [
    { variation: 'a', units: 1, sum: 3 },
    { variation: 'b', units: 1, sum: 1 },
  ];
  const arms = await armMetricStats(fixture.ds, pricing, resolvedSum);
  expect(arms.map(({ variation, units, sum }) => ({ variation, units, sum }))).toEqual(expected);
  const viaViews = await fixture.ds.query<{ variation: string; units: number; sum: number }>(metricStatsSql(pricing, resolvedSum));
  expect(viaViews.map((row) => ({ variation: row.variation, units: Number(row.units), sum: Number(row.sum) })).sort((x, y) => x.variation.localeCompare(y.variation))).toEqual(expected);
});

test('a pre-exposure outcome with the conversation id alone is the unit\'s CUPED covariate, in abtel and over the views', async () => {
  const withCovariate = MetricDefinition.parse({ name: 'resolved', kind: 'sum', from: { outcome: 'resolved' }, direction: 'increase', covariate: { outcome: 'pre' } });
  // u1 (a): pre 7 (c1); u2 (b): pre 3 (c3).
  const arms = await armMetricStats(fixture.ds, pricing, withCovariate);
  expect(arms.map(({ variation, covariateSum }) => ({ variation, covariateSum }))).toEqual([
    { variation: 'a', covariateSum: 7 },
    { variation: 'b', covariateSum: 3 },
  ]);
  const viaViews = await fixture.ds.query<{ variation: string; covariate_sum: number }>(metricStatsSql(pricing, withCovariate));
  expect(viaViews.map((row) => [row.variation, Number(row.covariate_sum)]).sort()).toEqual([
    ['a', 7],
    ['b', 3],
  ]);
});

test('judge scores with the conversation id alone too (abtel, the evaluations view, unit_metrics)', async () => {
  // u1: one score 4 (c2); u2: 2 and 5 (c4), mean 3.5.
  const arms = await armMetricStats(fixture.ds, pricing, helpfulness);
  expect(arms.map(({ variation, units, n, sum }) => ({ variation, units, n, sum }))).toEqual([
    { variation: 'a', units: 1, n: 1, sum: 4 },
    { variation: 'b', units: 1, n: 1, sum: 3.5 },
  ]);
  const rows = await fixture.ds.query<{ conversation_id: string; unit_id: string; experiment_key: string | null; variation: string | null; score: number }>(
    'SELECT conversation_id, unit_id, experiment_key, variation, score FROM evaluations ORDER BY time, conversation_id, score',
  );
  expect(rows.map((row) => [row.conversation_id, row.unit_id, row.experiment_key, row.variation, Number(row.score)])).toEqual([
    ['c2', 'u1', 'pricing', 'a', 4],
    ['c4', 'u2', 'pricing', 'b', 2],
    // c5 names two users: no experiment.
    ['c5', 'c5', null, null, 1],
    ['c4', 'u2', 'pricing', 'b', 5],
  ]);
  const units = await fixture.ds.query<{ unit_id: string; eval_count: number; eval_score_sum: number }>(
    "SELECT unit_id, eval_count, eval_score_sum FROM unit_metrics WHERE experiment_key = 'pricing' ORDER BY unit_id",
  );
  expect(units.map((row) => [row.unit_id, Number(row.eval_count), Number(row.eval_score_sum)])).toEqual([
    ['u1', 1, 4],
    ['u2', 2, 7],
  ]);
});

test('conversation_units names one user per conversation and leaves out the conversation that names two', async () => {
  const rows = await fixture.ds.query<{ experiment_key: string; conversation_id: string; unit_id: string }>('SELECT * FROM conversation_units ORDER BY conversation_id');
  expect(rows.map((row) => [row.experiment_key, row.conversation_id, row.unit_id])).toEqual([
    ['pricing', 'c1', 'u1'],
    ['pricing', 'c2', 'u1'],
    ['pricing', 'c3', 'u2'],
    ['pricing', 'c4', 'u2'],
  ]);
});

test('what stays unattributed is counted: the two-user conversation and the outcome named for pricing without telemetry', async () => {
  expect(await health(fixture.ds, pricing)).toMatchObject({ unattributedOutcomes: 2, unattributedEvaluations: 1 });
});
