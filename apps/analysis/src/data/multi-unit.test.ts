/**
 * A conversation in two experiments of different units: `persona` randomises conversations,
 * `pricing` randomises users. Whichever was routed first in a conversation is its primary
 * experiment: the one `abtel.assignment.unit` / `abtel.assignment.id` describe. The OTLP JSON
 * Lines are written as the Collector's `file` exporter writes them, in three shapes: new
 * telemetry (`abtel.assignment.ids` on every span in both experiments), and old telemetry without
 * it (where a second experiment's unit can only be recovered when it is the conversation, or of
 * the primary's kind). The expected numbers are counted here from the generated calls, never
 * from the analysis' own output.
 *
 * Each conversation also records outcomes and judge scores: `resolved` (per conversation, naming no
 * experiment), `upgraded` (per user, naming pricing), a `helpfulness` score per call either from
 * inside the conversation (conversation id) or from a judge that knows only the call's response id.
 * New telemetry: the events in the conversation carry `abtel.assignment.ids` like the spans. Old
 * telemetry: they carry only the conversation, so pricing (per user) attributes them through the
 * conversation's own telemetry: the user's first conversation (its pricing exposure) and the
 * conversations where pricing is primary (their spans' assignment id); the rest stay unattributed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactFile } from '@abtel/files';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExperimentDefinition, MetricDefinition } from '@abtel/core';
import { seededRandom } from '@abtel/stats';
import { analyze } from '../analyze/analyze.js';
import { openDataset, type Dataset } from './dataset.js';
import { prepareExperiment } from './prepare.js';
import { armMetricStats, health, judgeTrend, metricStatsSql } from './stats.js';
import { withRecipe } from '../../test/duckdb.js';
import { kv, str as s } from '../../test/otlp.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const list = (values: string[]) => ({ arrayValue: { values: values.map(s) } });
const ns = (ms: number) => `${ms}000000`;

type Key = 'persona' | 'pricing';

/** One generated gen_ai call: the truth the analysis must reproduce. */
interface Call {
  conversation: string;
  user: string;
  /** The experiment routed first in the conversation (the span's abtel.experiment.key). */
  primary: Key;
  durationMs: number;
  costUsd: number;
  error: boolean;
  /** helpfulness score of the call, and whether the judge named only its response id (else its conversation). */
  score: number;
  byResponse: boolean;
}

/** One generated outcome event. */
interface Outcome {
  conversation: string;
  user: string;
  name: 'resolved' | 'upgraded';
  value: number;
  /** The experiment the outcome names itself. */
  experimentKey?: Key;
}

interface Generated {
  dir: string;
  calls: Call[];
  outcomes: Outcome[];
  /** persona variation per conversation, pricing variation per user. */
  personaOf: Map<string, string>;
  pricingOf: Map<string, string>;
}

/**
 * Writes traces and logs for `users` users with 1–3 conversations each and 1–4 calls per
 * conversation. `withIds`: the spans carry `abtel.assignment.ids` (new @abtel/node).
 */
function generate(seed: number, withIds: boolean, users = 16): Generated {
  const dir = mkdtempSync(join(tmpdir(), 'abtel-multi-unit-'));
  // Seeded, so that every run writes the same data.
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const calls: Call[] = [];
  const outcomes: Outcome[] = [];
  const personaOf = new Map<string, string>();
  const pricingOf = new Map<string, string>();
  const spans: unknown[] = [];
  const records: unknown[] = [];
  let spanCounter = 0;
  let t = T0;
  for (let u = 1; u <= users; u++) {
    const user = `user-${String(u).padStart(2, '0')}`;
    const pricing = pick(['q-control', 'q-treatment']);
    pricingOf.set(user, pricing);
    const conversations = 1 + Math.floor(next() * 3);
    for (let c = 1; c <= conversations; c++) {
      const conversation = `conv-${user}-${c}`;
      const persona = pick(['p-control', 'p-treatment']);
      personaOf.set(conversation, persona);
      const primary: Key = next() < 0.5 ? 'persona' : 'pricing';
      const order: Key[] = primary === 'persona' ? ['persona', 'pricing'] : ['pricing', 'persona'];
      const variationOf = (key: Key) => (key === 'persona' ? persona : pricing);
      const unitIdOf = (key: Key) => (key === 'persona' ? conversation : user);
      t += 10_000;
      // The exposures, as @abtel/node emits them: each with its own experiment's attributes.
      const exposure = (key: Key) => {
        const attributes = [
          kv('gen_ai.conversation.id', s(conversation)),
          kv('abtel.experiment.key', s(key)),
          kv('abtel.experiment.variation', s(variationOf(key))),
          kv('abtel.experiment.version', { intValue: '1' }),
          kv('abtel.assignment.unit', s(key === 'persona' ? 'conversation' : 'user')),
        ];
        if (key === 'pricing') attributes.push(kv('abtel.assignment.id', s(user)));
        records.push({ timeUnixNano: ns(t), observedTimeUnixNano: ns(t), eventName: 'abtel.exposure', attributes, traceId: '', spanId: '' });
      };
      exposure('persona');
      // A user's pricing exposure once (the first conversation), as the exposure dedupe does.
      if (c === 1) exposure('pricing');
      const n = 1 + Math.floor(next() * 4);
      for (let i = 0; i < n; i++) {
        const call: Call = {
          conversation,
          user,
          primary,
          durationMs: 100 + Math.floor(next() * 1900),
          costUsd: Math.round(next() * 10_000) / 1_000_000,
          error: next() < 0.2,
          score: 1 + Math.floor(next() * 5),
          byResponse: next() < 0.5,
        };
        calls.push(call);
        spanCounter += 1;
        t += 1000;
        const attributes = [
          kv('gen_ai.operation.name', s('chat')),
          kv('gen_ai.request.model', s('gpt-4o-mini')),
          kv('gen_ai.conversation.id', s(conversation)),
          kv('abtel.experiment.key', s(primary)),
          kv('abtel.experiment.variation', s(variationOf(primary))),
          kv('abtel.experiment.version', { intValue: '1' }),
          kv('abtel.assignment.unit', s(primary === 'persona' ? 'conversation' : 'user')),
        ];
        if (primary === 'pricing') attributes.push(kv('abtel.assignment.id', s(user)));
        attributes.push(kv('abtel.experiments', list(order.map((key) => `${key}=${variationOf(key)}`))));
        if (withIds) attributes.push(kv('abtel.assignment.ids', list(order.map((key) => `${key}=${unitIdOf(key)}`))));
        attributes.push(kv('abtel.usage.cost_usd', { doubleValue: call.costUsd }));
        const responseId = `resp-${spanCounter}`;
        attributes.push(kv('gen_ai.response.id', s(responseId)));
        spans.push({
          traceId: spanCounter.toString(16).padStart(32, '0'),
          spanId: spanCounter.toString(16).padStart(16, '0'),
          name: 'chat gpt-4o-mini',
          kind: 3,
          startTimeUnixNano: ns(t),
          endTimeUnixNano: ns(t + call.durationMs),
          attributes,
          status: call.error ? { code: 2, message: 'rate limited' } : {},
        });
        // The judge score: from the conversation's context (its id, and its units in new
        // telemetry), or from a judge that names only the response.
        const evaluation = [
          kv('gen_ai.evaluation.name', s('helpfulness')),
          kv('gen_ai.evaluation.score.value', { intValue: String(call.score) }),
          kv('abtel.evaluation.source', s('online')),
        ];
        if (call.byResponse) evaluation.push(kv('gen_ai.response.id', s(responseId)));
        else {
          evaluation.push(kv('gen_ai.conversation.id', s(conversation)));
          if (withIds) evaluation.push(kv('abtel.assignment.ids', list(order.map((key) => `${key}=${unitIdOf(key)}`))));
        }
        records.push({ timeUnixNano: ns(t + 5000), eventName: 'gen_ai.evaluation.result', attributes: evaluation, traceId: '', spanId: '' });
      }
      // Outcomes as recordOutcome writes them: the conversation, and its units in new telemetry.
      const outcome = (o: Outcome) => {
        outcomes.push(o);
        const attributes = [
          kv('gen_ai.conversation.id', s(conversation)),
          kv('abtel.outcome.name', s(o.name)),
          kv('abtel.outcome.value', { intValue: String(o.value) }),
        ];
        if (o.experimentKey !== undefined) attributes.push(kv('abtel.experiment.key', s(o.experimentKey)));
        if (withIds) attributes.push(kv('abtel.assignment.ids', list(order.map((key) => `${key}=${unitIdOf(key)}`))));
        records.push({ timeUnixNano: ns(t + 6000), eventName: 'abtel.outcome', attributes, traceId: '', spanId: '' });
      };
      outcome({ conversation, user, name: 'resolved', value: next() < 0.6 ? 1 : 0 });
      if (c === 1) outcome({ conversation, user, name: 'upgraded', value: next() < 0.4 ? 1 : 0, experimentKey: 'pricing' });
    }
  }
  // Batches of 20 per line, as an exporter sends them.
  const lines = (items: unknown[], wrap: (batch: unknown[]) => unknown): string => {
    let out = '';
    for (let i = 0; i < items.length; i += 20) out += `${JSON.stringify(wrap(items.slice(i, i + 20)))}\n`;
    return out;
  };
  const resource = { attributes: [kv('service.name', s('support-agent'))] };
  writeFileSync(join(dir, 'traces.jsonl'), lines(spans, (batch) => ({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-openai' }, spans: batch }] }] })));
  writeFileSync(join(dir, 'logs.jsonl'), lines(records, (batch) => ({ resourceLogs: [{ resource, scopeLogs: [{ scope: { name: '@abtel/node' }, logRecords: batch }] }] })));
  return { dir, calls, outcomes, personaOf, pricingOf };
}

interface UnitTotals {
  calls: number;
  durationMs: number;
  costUsd: number;
  errors: number;
}

/** Per-unit totals of `calls` counted by hand, keyed by `unitOf` (calls it maps to undefined are left out). */
function totals(calls: readonly Call[], unitOf: (call: Call) => string | undefined): Map<string, UnitTotals> {
  const out = new Map<string, UnitTotals>();
  for (const call of calls) {
    const unit = unitOf(call);
    if (unit === undefined) continue;
    const t = out.get(unit) ?? { calls: 0, durationMs: 0, costUsd: 0, errors: 0 };
    t.calls += 1;
    t.durationMs += call.durationMs;
    t.costUsd += call.costUsd;
    t.errors += call.error ? 1 : 0;
    out.set(unit, t);
  }
  return out;
}

const definitions = {
  persona: ExperimentDefinition.parse({
    key: 'persona',
    version: 1,
    owner: 'test',
    surface: 'persona',
    unit: 'conversation',
    state: 'running',
    control: 'p-control',
    variations: [
      { key: 'p-control', weight: 1 },
      { key: 'p-treatment', weight: 1 },
    ],
  }),
  pricing: ExperimentDefinition.parse({
    key: 'pricing',
    version: 1,
    owner: 'test',
    surface: 'prompt',
    unit: 'user',
    state: 'running',
    control: 'q-control',
    variations: [
      { key: 'q-control', weight: 1 },
      { key: 'q-treatment', weight: 1 },
    ],
  }),
} as const;

const latencyPerCall = MetricDefinition.parse({ name: 'latency_per_call', kind: 'ratio', from: { span_value: 'duration_ms' }, direction: 'decrease' });
const costPerUnit = MetricDefinition.parse({ name: 'cost', kind: 'sum', from: { span_value: 'cost_usd' }, direction: 'decrease' });
const errorRate = MetricDefinition.parse({ name: 'error_rate', kind: 'ratio', from: { span_value: 'error' }, direction: 'decrease' });
const resolved = MetricDefinition.parse({ name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' });
const upgraded = MetricDefinition.parse({ name: 'upgraded', kind: 'binary', from: { outcome: 'upgraded' }, direction: 'increase' });
const helpfulness = MetricDefinition.parse({ name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' });

/**
 * Per arm, by hand: units, Σ of the binary per-unit value of outcome `name` (1 when any of the
 * unit's attributed outcomes of that name is > 0) over the arm's exposed units.
 */
function binaryArms(
  outcomes: readonly Outcome[],
  name: string,
  unitOf: (o: Outcome) => string | undefined,
  units: ReadonlyMap<string, string>,
): Map<string, { units: number; sum: number }> {
  const positive = new Set(outcomes.filter((o) => o.name === name && o.value > 0).map(unitOf).filter((u) => u !== undefined));
  const out = new Map<string, { units: number; sum: number }>();
  for (const [unit, variation] of units) {
    const arm = out.get(variation) ?? { units: 0, sum: 0 };
    arm.units += 1;
    arm.sum += positive.has(unit) ? 1 : 0;
    out.set(variation, arm);
  }
  return out;
}

/** Count and sum per key, added up over `items` (items whose key is undefined are left out). */
function nAndSum<T>(items: Iterable<T>, entryOf: (item: T) => [key: string | undefined, n: number, sum: number]): Map<string, { n: number; sum: number }> {
  const out = new Map<string, { n: number; sum: number }>();
  for (const item of items) {
    const [key, n, sum] = entryOf(item);
    if (key === undefined) continue;
    const entry = out.get(key) ?? { n: 0, sum: 0 };
    entry.n += n;
    entry.sum += sum;
    out.set(key, entry);
  }
  return out;
}

/** Per unit, by hand: the attributed scores (count, sum). */
function scoresByUnit(calls: readonly Call[], unitOf: (call: Call) => string | undefined): Map<string, { n: number; sum: number }> {
  return nAndSum(calls, (call) => [unitOf(call), 1, call.score]);
}

/** Per-unit calls, duration and cost sums of the analysis' working set for `def`. */
async function workingSet(ds: Dataset, def: ExperimentDefinition): Promise<Map<string, UnitTotals>> {
  const prepared = await prepareExperiment(ds, def, [latencyPerCall, costPerUnit, errorRate]);
  const column = (expression: string) => prepared.callColumns.get(expression)!;
  const rows = await ds.query<{ unit_id: string; calls: number; duration: number; cost: number; errors: number }>(
    `SELECT x.unit_id, count(c.u) AS calls, coalesce(sum(c.${column('duration_ms')}), 0) AS duration,
            coalesce(sum(c.${column('cost_usd')}), 0) AS cost, coalesce(sum(c.${column('is_error')}), 0) AS errors
     FROM ${prepared.units} x LEFT JOIN ${prepared.calls} c ON c.u = x.unit_index GROUP BY ALL`,
  );
  return new Map(rows.map((r) => [r.unit_id, { calls: r.calls, durationMs: r.duration, costUsd: r.cost, errors: r.errors }]));
}

/** The same from the unit_metrics view of a connection (abtel's, or the plain duckdb recipe's). */
async function unitMetrics(query: (sql: string) => Promise<Record<string, unknown>[]>, key: string): Promise<Map<string, UnitTotals>> {
  const rows = await query(
    `SELECT unit_id, calls, duration_ms_sum, cost_usd_sum, errors FROM unit_metrics WHERE experiment_key = '${key}'`,
  );
  return new Map(
    rows.map((r) => [
      String(r.unit_id),
      { calls: Number(r.calls), durationMs: Number(r.duration_ms_sum), costUsd: Number(r.cost_usd_sum), errors: Number(r.errors) },
    ]),
  );
}

/** Every exposed unit with its expected totals (zeros for a unit none of whose calls can be attributed). */
function expectTotals(actual: Map<string, UnitTotals>, expected: Map<string, UnitTotals>, units: Iterable<string>): void {
  const wanted = new Map<string, UnitTotals>();
  for (const unit of units) wanted.set(unit, expected.get(unit) ?? { calls: 0, durationMs: 0, costUsd: 0, errors: 0 });
  expect([...actual.keys()].sort()).toEqual([...wanted.keys()].sort());
  for (const [unit, want] of wanted) {
    const got = actual.get(unit)!;
    expect({ unit, calls: got.calls, durationMs: got.durationMs, errors: got.errors }).toEqual({ unit, calls: want.calls, durationMs: want.durationMs, errors: want.errors });
    expect(got.costUsd, `${unit} cost`).toBeCloseTo(want.costUsd, 12);
  }
}

/** Per-arm Σ duration and Σ calls of the latency ratio, by hand. */
function armTotals(calls: readonly Call[], unitOf: (call: Call) => string | undefined, variationOf: (unit: string) => string): Map<string, { sum: number; calls: number }> {
  const out = new Map<string, { sum: number; calls: number }>();
  for (const [unit, t] of totals(calls, unitOf)) {
    const arm = out.get(variationOf(unit)) ?? { sum: 0, calls: 0 };
    arm.sum += t.durationMs;
    arm.calls += t.calls;
    out.set(variationOf(unit), arm);
  }
  return out;
}

describe.each([
  { name: 'new telemetry (abtel.assignment.ids)', withIds: true, seed: 11 },
  { name: 'old telemetry (no abtel.assignment.ids)', withIds: false, seed: 12 },
])('two experiments of different units on the same conversations: $name', ({ withIds, seed }) => {
  let data: Generated;
  let ds: Dataset;
  beforeAll(async () => {
    data = generate(seed, withIds);
    ds = await openDataset({ inputs: [data.dir] });
  });
  afterAll(async () => {
    await ds?.close();
    rmSync(data.dir, { recursive: true, force: true });
  });

  // persona is per conversation: always attributable (its own unit id when primary; the
  // conversation id when second).
  const personaUnit = (call: Call) => call.conversation;
  // pricing is per user: with abtel.assignment.ids always; without, only where it is primary
  // (persona's unit, the conversation, is not of pricing's kind).
  const pricingUnit = (call: Call) => (withIds || call.primary === 'pricing' ? call.user : undefined);

  // Old telemetry: the conversations whose own telemetry names their pricing user: the user's first
  // conversation (its pricing exposure names the user) and those where pricing is primary (their
  // spans' abtel.assignment.id is the user).
  const pricingUserKnownIn = (conversation: string) =>
    conversation.endsWith('-1') || data.calls.some((call) => call.conversation === conversation && call.primary === 'pricing');
  // Outcomes: resolved names no experiment, upgraded names pricing (so never persona's). persona's
  // unit is the conversation the outcome names; pricing's is the user: from abtel.assignment.ids,
  // or (old outcomes name no user) the user their conversation's telemetry names.
  const personaOutcomeUnit = (o: Outcome) => (o.experimentKey === 'pricing' ? undefined : o.conversation);
  const pricingOutcomeUnit = (o: Outcome) => (o.experimentKey !== 'persona' && (withIds || pricingUserKnownIn(o.conversation)) ? o.user : undefined);
  // Scores: by conversation, or through the call their response id names (whose conversation and
  // units are the call's); in old telemetry the user their conversation's telemetry names.
  const personaScoreUnit = (call: Call) => call.conversation;
  const pricingScoreUnit = (call: Call) => (withIds || pricingUserKnownIn(call.conversation) ? call.user : undefined);
  // What stays unattributed in pricing (old telemetry).
  const unattributedOutcomes = () => (withIds ? 0 : data.outcomes.filter((o) => o.experimentKey !== 'persona' && pricingOutcomeUnit(o) === undefined).length);
  const unattributedScores = () => (withIds ? 0 : data.calls.filter((call) => pricingScoreUnit(call) === undefined).length);
  const experimentsToCheck = () =>
    [
      [definitions.persona, personaOutcomeUnit, personaScoreUnit, data.personaOf],
      [definitions.pricing, pricingOutcomeUnit, pricingScoreUnit, data.pricingOf],
    ] as const;

  test('per-arm outcome rates of both experiments equal the generated outcomes (working set and the views\' SQL)', async () => {
    for (const [def, outcomeUnit, , variations] of experimentsToCheck()) {
      for (const metric of [resolved, upgraded]) {
        const expected = binaryArms(data.outcomes, metric.name, outcomeUnit, variations);
        const arms = await armMetricStats(ds, def, metric);
        expect(arms.map((arm) => ({ key: def.key, metric: metric.name, variation: arm.variation, units: arm.units, sum: arm.sum }))).toEqual(
          [...expected].sort(([a], [b]) => a.localeCompare(b)).map(([variation, want]) => ({ key: def.key, metric: metric.name, variation, ...want })),
        );
        // The SQL a user runs over the views says the same.
        const viaViews = await ds.query<{ variation: string; units: number; sum: number }>(metricStatsSql(def, metric));
        expect(viaViews.map((row) => [row.variation, Number(row.units), Number(row.sum)]).sort()).toEqual(arms.map((arm) => [arm.variation, arm.units, arm.sum]).sort());
      }
    }
    if (withIds) {
      // The outcomes attribute to pricing at all (the defect: every pricing unit read 0).
      expect(binaryArms(data.outcomes, 'resolved', pricingOutcomeUnit, data.pricingOf).get('q-control')!.sum).toBeGreaterThan(0);
    }
  });

  test('per-arm judge score means and the judge trend of both experiments equal the generated scores', async () => {
    for (const [def, , scoreUnit, variations] of experimentsToCheck()) {
      const perUnit = scoresByUnit(data.calls, scoreUnit);
      const arms = await armMetricStats(ds, def, helpfulness);
      for (const arm of arms) {
        const means = [...perUnit].filter(([unit]) => variations.get(unit) === arm.variation).map(([, t]) => t.sum / t.n);
        expect({ key: def.key, variation: arm.variation, n: arm.n }).toEqual({ key: def.key, variation: arm.variation, n: means.length });
        expect(arm.sum, `${def.key} ${arm.variation} Σ unit means`).toBeCloseTo(means.reduce((a, b) => a + b, 0), 9);
      }
      const trend = await judgeTrend(ds, def, 7 * 24 * 60);
      const byArm = nAndSum(trend, (row) => [row.variation, Number(row.n), Number(row.n) * row.mean]);
      const expected = nAndSum(perUnit, ([unit, t]) => [variations.get(unit)!, t.n, t.sum]);
      expect([...byArm.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [variation, want] of expected) {
        expect({ key: def.key, variation, n: byArm.get(variation)!.n }).toEqual({ key: def.key, variation, n: want.n });
        expect(byArm.get(variation)!.sum).toBeCloseTo(want.sum, 9);
      }
    }
  });

  test('per-unit judge scores in unit_metrics, abtel\'s and the plain duckdb recipe\'s, equal the generated scores', async () => {
    const check = async (query: (sql: string) => Promise<Record<string, unknown>[]>) => {
      for (const [def, , scoreUnit, variations] of experimentsToCheck()) {
        const perUnit = scoresByUnit(data.calls, scoreUnit);
        const rows = await query(`SELECT unit_id, eval_count, eval_score_sum FROM unit_metrics WHERE experiment_key = '${def.key}' ORDER BY unit_id`);
        expect(rows.map((row) => [row.unit_id, Number(row.eval_count), Number(row.eval_score_sum)])).toEqual(
          [...variations.keys()].sort().map((unit) => [unit, perUnit.get(unit)?.n ?? 0, perUnit.get(unit)?.sum ?? 0]),
        );
      }
    };
    await check((sql) => ds.query(sql));
    await withRecipe(data.dir, async (query) => {
      await check(query);
      const sql = 'SELECT * FROM evaluations ORDER BY ALL';
      expect(await query(sql)).toEqual(await ds.query(sql));
    });
  });

  test('outcomes and scores that cannot be attributed are counted (and only those)', async () => {
    const outcomes = unattributedOutcomes();
    const evaluations = unattributedScores();
    if (!withIds) expect(outcomes * evaluations).toBeGreaterThan(0);
    expect(await health(ds, definitions.pricing)).toMatchObject({ unattributedOutcomes: outcomes, unattributedEvaluations: evaluations, outcomesWithoutExposure: 0 });
    expect(await health(ds, definitions.persona)).toMatchObject({ unattributedOutcomes: 0, unattributedEvaluations: 0, outcomesWithoutExposure: 0 });
  });

  test('the data has both orders (each experiment is second in some conversations)', () => {
    const primaries = new Set(data.calls.map((call) => call.primary));
    expect(primaries).toEqual(new Set(['persona', 'pricing']));
  });

  test('per-unit calls, latency, errors and cost of each experiment equal the generated calls (working set and unit_metrics)', async () => {
    expectTotals(await workingSet(ds, definitions.persona), totals(data.calls, personaUnit), data.personaOf.keys());
    expectTotals(await workingSet(ds, definitions.pricing), totals(data.calls, pricingUnit), data.pricingOf.keys());
    const query = (sql: string) => ds.query(sql);
    expectTotals(await unitMetrics(query, 'persona'), totals(data.calls, personaUnit), data.personaOf.keys());
    expectTotals(await unitMetrics(query, 'pricing'), totals(data.calls, pricingUnit), data.pricingOf.keys());
  });

  test('per-arm latency per call and cost of the second experiment equal the generated calls', async () => {
    for (const [def, unitOf, variationOf] of [
      [definitions.persona, personaUnit, (unit: string) => data.personaOf.get(unit)!],
      [definitions.pricing, pricingUnit, (unit: string) => data.pricingOf.get(unit)!],
    ] as const) {
      const expected = armTotals(data.calls, unitOf, variationOf);
      const arms = await armMetricStats(ds, def, latencyPerCall);
      for (const arm of arms) {
        const want = expected.get(arm.variation) ?? { sum: 0, calls: 0 };
        expect({ key: def.key, variation: arm.variation, sum: arm.sum, calls: arm.denomSum }).toEqual({ key: def.key, variation: arm.variation, sum: want.sum, calls: want.calls });
      }
      const cost = await armMetricStats(ds, def, costPerUnit);
      for (const arm of cost) {
        const want = [...totals(data.calls, unitOf)].filter(([unit]) => variationOf(unit) === arm.variation).reduce((sum, [, t]) => sum + t.costUsd, 0);
        expect(arm.sum, `${def.key} ${arm.variation} cost`).toBeCloseTo(want, 12);
      }
    }
  });

  test('calls that cannot be attributed are counted (and only those)', async () => {
    const unattributable = withIds ? 0 : data.calls.filter((call) => call.primary === 'persona').length;
    if (!withIds) expect(unattributable).toBeGreaterThan(0);
    expect((await health(ds, definitions.pricing)).unattributedCalls).toBe(unattributable);
    expect((await health(ds, definitions.persona)).unattributedCalls).toBe(0);
  });

  test('compacted to Parquet, the same per-unit numbers', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'abtel-multi-unit-parquet-'));
    try {
      for (const name of ['traces.jsonl', 'logs.jsonl']) {
        writeFileSync(join(copy, name), readFileSync(join(data.dir, name)));
        expect((await compactFile(join(copy, name))).parquetPath).toBeDefined();
      }
      const compacted = await openDataset({ inputs: [copy] });
      try {
        expect(compacted.files).toEqual({ raw: 0, parquet: 2 });
        expectTotals(await workingSet(compacted, definitions.persona), totals(data.calls, personaUnit), data.personaOf.keys());
        expectTotals(await workingSet(compacted, definitions.pricing), totals(data.calls, pricingUnit), data.pricingOf.keys());
        for (const [def, outcomeUnit, , variations] of experimentsToCheck()) {
          const expected = binaryArms(data.outcomes, 'resolved', outcomeUnit, variations);
          const arms = await armMetricStats(compacted, def, resolved);
          expect(arms.map((arm) => [arm.variation, arm.units, arm.sum])).toEqual([...expected].sort(([a], [b]) => a.localeCompare(b)).map(([v, w]) => [v, w.units, w.sum]));
        }
        expect(await health(compacted, definitions.pricing)).toMatchObject(await health(ds, definitions.pricing));
      } finally {
        await compacted.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('the plain duckdb recipe gives the same unit_metrics', async () => {
    await withRecipe(data.dir, async (query) => {
      expectTotals(await unitMetrics(query, 'persona'), totals(data.calls, personaUnit), data.personaOf.keys());
      expectTotals(await unitMetrics(query, 'pricing'), totals(data.calls, pricingUnit), data.pricingOf.keys());
      // Cost sums rounded: a floating-point sum depends on the order rows arrive in, which two
      // connections (one reading flattened rows, one parsing the JSON) need not share.
      const sql = 'SELECT * REPLACE (round(cost_usd_sum, 12) AS cost_usd_sum) FROM unit_metrics ORDER BY ALL';
      expect(await query(sql)).toEqual(await ds.query(sql));
    });
  });

  test('the report warns about the calls it could not attribute, with their number and the fix', async () => {
    const experiments = join(data.dir, 'experiments');
    mkdirSync(experiments);
    writeFileSync(join(experiments, 'pricing.yaml'), JSON.stringify({ ...definitions.pricing, metrics: { primary: 'latency_per_call', guardrails: ['error_rate'], definitions: [latencyPerCall, errorRate] } }));
    try {
      const report = await analyze({ data: [join(data.dir, '*.jsonl')], experiments, experiment: 'pricing', now: new Date(T0 + 86_400_000) });
      const warning = report.warnings.find((text) => text.includes('gen_ai call(s)'));
      const eventsWarning = report.warnings.find((text) => text.includes('outcome(s)') && text.includes('abtel.assignment.ids'));
      if (withIds) {
        expect(warning).toBeUndefined();
        expect(eventsWarning).toBeUndefined();
      } else {
        const outcomes = unattributedOutcomes();
        const evaluations = unattributedScores();
        expect(eventsWarning).toBe(
          `${outcomes} outcome(s) and ${evaluations} evaluation(s) of pricing (unit user) name no user of it (no abtel.assignment.ids entry for pricing, and their conversation's exposures and calls name no single user of it): they are left out of its outcome and evaluation metrics; upgrade @abtel/node where recordOutcome and recordEvaluation run (their events then carry abtel.assignment.ids), and where a conversation's units are not known (another service) pass attributes: { 'abtel.assignment.ids': ['pricing=<user id>'] } to recordOutcome`,
        );
        const n = data.calls.filter((call) => call.primary === 'persona').length;
        expect(warning).toBe(
          `${n} gen_ai call(s) carry pricing (unit user) as a second experiment of a conversation whose primary experiment has another unit, and name no unit of pricing: they are left out of its call metrics and guardrails; upgrade @abtel/node on the agents so that spans carry abtel.assignment.ids`,
        );
      }
    } finally {
      rmSync(experiments, { recursive: true, force: true });
    }
  });
});
