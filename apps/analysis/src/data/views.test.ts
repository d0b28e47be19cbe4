import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openDataset, type Dataset } from './dataset.js';

// Hand-written OTLP lines for the cases the synthetic generator does not produce: an evaluation
// that names only the response id, span-event exposures for a user-level unit, an OpenFeature
// flag evaluation, a whole-number double sent as intValue next to a double.
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
const s = (v: string) => ({ stringValue: v });
const ns = (ms: number) => `${ms}000000`;
const T0 = Date.parse('2026-11-22T10:00:00Z');

let dir: string;
let ds: Dataset;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'abtel-views-'));
  const span = (id: string, conversation: string, user: string, responseId: string, at: number, events: unknown[] = []) => ({
    traceId: 'AB'.repeat(16),
    spanId: id.toUpperCase(),
    name: 'chat',
    kind: 'SPAN_KIND_CLIENT',
    startTimeUnixNano: ns(at),
    endTimeUnixNano: ns(at + 500),
    attributes: [
      kv('gen_ai.operation.name', s('chat')),
      kv('gen_ai.conversation.id', s(conversation)),
      kv('gen_ai.response.id', s(responseId)),
      kv('abtel.experiment.key', s('exp-user')),
      kv('abtel.experiment.variation', s('b')),
      kv('abtel.assignment.id', s(user)),
      kv('abtel.experiments', { arrayValue: { values: [s('exp-user=b'), s('other=a')] } }),
      kv('gen_ai.usage.input_tokens', { intValue: 100 }),
    ],
    events,
    status: { code: 'STATUS_CODE_ERROR' },
  });
  const exposure = { timeUnixNano: ns(T0), name: 'abtel.exposure', attributes: [kv('abtel.segment.plan', s('pro'))] };
  const traces = {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', s('agent'))] },
        scopeSpans: [{ scope: { name: 'x' }, spans: [span('00000000000000a1', 'c1', 'u1', 'r1', T0, [exposure]), span('00000000000000a2', 'c2', 'u1', 'r2', T0 + 60_000)] }],
      },
    ],
  };
  const record = (name: string, at: number, attributes: unknown[]) => ({ timeUnixNano: ns(at), eventName: name, attributes });
  const logs = {
    resourceLogs: [
      {
        resource: {},
        scopeLogs: [
          {
            scope: {},
            logRecords: [
              record('gen_ai.evaluation.result', T0 + 1000, [kv('gen_ai.evaluation.name', s('helpfulness')), kv('gen_ai.evaluation.score.value', { intValue: '4' }), kv('gen_ai.response.id', s('r2'))]),
              record('abtel.outcome', T0 + 2000, [kv('abtel.assignment.id', s('u1')), kv('abtel.outcome.name', s('spend')), kv('abtel.outcome.value', { doubleValue: 2.5 })]),
              record('abtel.outcome', T0 + 3000, [kv('abtel.assignment.id', s('u1')), kv('abtel.outcome.name', s('spend')), kv('abtel.outcome.value', { intValue: 3 })]),
              record('feature_flag.evaluation', T0, [kv('feature_flag.key', s('new-checkout')), kv('feature_flag.result.variant', s('on')), kv('feature_flag.context.id', s('acct-9'))]),
            ],
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'traces-1.jsonl'), `${JSON.stringify(traces)}\n`);
  writeFileSync(join(dir, 'logs-1.jsonl'), `${JSON.stringify(logs)}\n`);
  ds = await openDataset({ inputs: [dir] });
});

afterAll(async () => {
  await ds?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a span-event exposure for a user-level unit: one exposure, segments, context from the span', async () => {
  const rows = await ds.query('SELECT experiment_key, unit_id, conversation_id, variation, exposure_count, segments FROM exposures');
  expect(rows).toEqual([{ experiment_key: 'exp-user', unit_id: 'u1', conversation_id: 'c1', variation: 'b', exposure_count: 1, segments: { plan: 'pro' } }]);
});

test('spans: upper-case ids lower-cased, enum names, string arrays, typed attribute JSON', async () => {
  const [span] = await ds.query<Record<string, unknown>>("SELECT span_id, kind, status_code, experiments, attributes FROM spans WHERE conversation_id = 'c1'");
  expect(span).toMatchObject({ span_id: '00000000000000a1', kind: 3, status_code: 2, experiments: ['exp-user=b', 'other=a'] });
  expect((span!.attributes as Record<string, unknown>)['gen_ai.usage.input_tokens']).toBe(100);
  const calls = await ds.query('SELECT unit_id, is_error FROM gen_ai_calls ORDER BY start_time');
  expect(calls).toEqual([
    { unit_id: 'u1', is_error: 1 },
    { unit_id: 'u1', is_error: 1 },
  ]);
});

test('an evaluation naming only the response id reaches its arm through the call', async () => {
  const rows = await ds.query('SELECT conversation_id, unit_id, name, score, experiment_key, variation FROM evaluations');
  expect(rows).toEqual([{ conversation_id: 'c2', unit_id: 'u1', name: 'helpfulness', score: 4, experiment_key: 'exp-user', variation: 'b' }]);
  const [unit] = await ds.query('SELECT calls, eval_count, eval_score_sum FROM unit_metrics');
  expect(unit).toEqual({ calls: 2, eval_count: 1, eval_score_sum: 4 });
});

test('outcomes: doubleValue and intValue both numbers; feature-flag exposures only for registered flags', async () => {
  expect(await ds.query('SELECT unit_id, name, value FROM outcomes ORDER BY time')).toEqual([
    { unit_id: 'u1', name: 'spend', value: 2.5 },
    { unit_id: 'u1', name: 'spend', value: 3 },
  ]);
  expect(await ds.query("SELECT count(*) AS n FROM exposures WHERE experiment_key = 'checkout'")).toEqual([{ n: 0 }]);
  await ds.connection.run("INSERT INTO exposure_flags VALUES ('new-checkout', 'checkout')");
  expect(await ds.query("SELECT unit_id, variation FROM exposures WHERE experiment_key = 'checkout'")).toEqual([{ unit_id: 'acct-9', variation: 'on' }]);
});
