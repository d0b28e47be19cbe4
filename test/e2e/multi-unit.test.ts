/**
 * Two experiments of different units on the same conversations, through the real pipeline: an
 * app started with `node --import @abtel/node/register` (the real SDK and openai client) routes
 * `persona` (per conversation) and `pricing` (per user) in alternating order; abtel's collector
 * writes the files; the analysis attributes every call, outcome and judge score to its unit in
 * each experiment (outcomes and scores recorded in the conversation's context, and an outcome
 * recorded after it with only the conversation id, and one recorded by another service, a process
 * with no definitions and no memory of the assignments, that knows only the conversation id). The
 * expected numbers come from the agent's own summary and from the span durations parsed from the
 * collector's files here, not from the analysis.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentDefinition, MetricDefinition } from '@abtel/core';
import { startCollector, type RunningCollector } from '@abtel/collector';
import { startModelServer, type ModelServer } from '@abtel/demo';
import { armMetricStats, health, judgeTrend, openDataset, prepareExperiment, type Dataset } from '@abtel/analysis/data';
import { FIXTURES, REPO_ROOT, recorded, removeTempDirs, requireBuilt, runNode, summaryOf, tempDir, type RecordedSpan } from './helpers.js';

afterAll(removeTempDirs);

interface Conversation {
  conversationId: string;
  userId: string;
  order: ('persona' | 'pricing')[];
  calls: number;
  variations: Record<'persona' | 'pricing', string>;
  /** Recorded inside the conversation's context. */
  resolved: boolean;
  /** Recorded after the context ended, with only the conversation id. */
  converted: boolean;
  /** The judge score of each call, recorded inside the context by response id. */
  scores: number[];
}

const definition = (key: string, unit: 'conversation' | 'user') =>
  ExperimentDefinition.parse({
    key,
    version: 1,
    owner: 'e2e',
    surface: 'prompt',
    unit,
    state: 'running',
    control: 'a',
    variations: [
      { key: 'a', weight: 1 },
      { key: 'b', weight: 1 },
    ],
  });
const persona = definition('persona', 'conversation');
const pricing = definition('pricing', 'user');
/** Each experiment with the unit it randomises, read from a conversation of the agent's summary. */
const experimentUnits = [
  [persona, (c: Conversation) => c.conversationId],
  [pricing, (c: Conversation) => c.userId],
] as const;

describe('two experiments of different units, real SDK → collector → analysis', () => {
  let collector: RunningCollector;
  let model: ModelServer;
  let dir: string;
  let conversations: Conversation[];
  /** The chat spans in the collector's files. */
  let spans: RecordedSpan[];
  /** The `renewed` outcomes the feedback service recorded, and what the collector received of them. */
  let renewedOf: Map<string, boolean>;
  let renewedEvents: { attributes: Record<string, unknown> }[];
  let ds: Dataset;

  beforeAll(async () => {
    requireBuilt(join(REPO_ROOT, 'packages', 'node', 'dist', 'register.js'));
    dir = await tempDir('multi-unit');
    const experiments = await tempDir('multi-unit-experiments');
    for (const def of [persona, pricing]) await writeFile(join(experiments, `${def.key}.yaml`), JSON.stringify(def));
    await mkdir(join(dir, 'data'));
    collector = await startCollector({ host: '127.0.0.1', port: 0, dir: join(dir, 'data') });
    model = await startModelServer({ seed: 'multi-unit', latencyScale: 0, failures: false });
    const run = await runNode(['--import', '@abtel/node/register', join(FIXTURES, 'multi-unit-agent.mjs')], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'multi-unit', ABTEL_EXPERIMENTS: experiments, MODEL_URL: model.baseURL },
      timeoutMs: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    conversations = summaryOf<{ conversations: Conversation[] }>(run.stdout).conversations;
    // The feedback service: every third conversation renewed (some users in none, some in one).
    renewedOf = new Map(conversations.map((c, i) => [c.conversationId, i % 3 === 1]));
    const feedback = await runNode(['--import', '@abtel/node/register', join(FIXTURES, 'feedback-service.mjs')], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'feedback', FEEDBACK: JSON.stringify([...renewedOf].map(([conversationId, renewed]) => ({ conversationId, renewed }))) },
      timeoutMs: 30_000,
    });
    expect(feedback.stderr).toBe('');
    expect(feedback.code).toBe(0);
    await collector.close();
    const files = await recorded(join(dir, 'data'));
    spans = files.spans.filter((span) => span.name.startsWith('chat'));
    renewedEvents = files.events.filter((event) => event.name === 'abtel.outcome' && event.attributes['abtel.outcome.name'] === 'renewed');
    ds = await openDataset({ inputs: [join(dir, 'data')] });
  }, 120_000);
  afterAll(async () => {
    await ds?.close();
    await model?.close();
    await collector?.close();
  });

  it('stamps every chat span with each experiment\'s unit id in abtel.assignment.ids, in routing order', () => {
    const total = conversations.reduce((sum, c) => sum + c.calls, 0);
    expect(spans).toHaveLength(total);
    for (const c of conversations) {
      const mine = spans.filter((span) => span.attributes['gen_ai.conversation.id'] === c.conversationId);
      expect(mine).toHaveLength(c.calls);
      const unitOf = { persona: c.conversationId, pricing: c.userId };
      for (const span of mine) {
        expect(span.attributes['abtel.experiment.key']).toBe(c.order[0]);
        expect(span.attributes['abtel.experiments']).toEqual(c.order.map((key) => `${key}=${c.variations[key]}`));
        expect(span.attributes['abtel.assignment.ids']).toEqual(c.order.map((key) => `${key}=${unitOf[key]}`));
      }
    }
  });

  it("each experiment's per-unit calls and latency sums equal the agent's calls and the files' durations", async () => {
    for (const [def, unitOf] of experimentUnits) {
      const expected = new Map<string, { calls: number; durationMs: number }>();
      for (const c of conversations) {
        const unit = unitOf(c);
        const entry = expected.get(unit) ?? { calls: 0, durationMs: 0 };
        entry.calls += c.calls;
        for (const span of spans) if (span.attributes['gen_ai.conversation.id'] === c.conversationId) entry.durationMs += span.durationMs;
        expected.set(unit, entry);
      }
      const prepared = await prepareExperiment(ds, def);
      const duration = prepared.callColumns.get('duration_ms')!;
      const rows = await ds.query<{ unit_id: string; variation: string; calls: number; duration: number }>(
        `SELECT x.unit_id, x.variation, count(c.u) AS calls, coalesce(sum(c.${duration}), 0) AS duration
         FROM ${prepared.units} x LEFT JOIN ${prepared.calls} c ON c.u = x.unit_index GROUP BY ALL ORDER BY x.unit_id`,
      );
      expect(rows.map((row) => row.unit_id)).toEqual([...expected.keys()].sort());
      for (const row of rows) {
        const want = expected.get(row.unit_id)!;
        expect({ key: def.key, unit: row.unit_id, calls: row.calls }).toEqual({ key: def.key, unit: row.unit_id, calls: want.calls });
        expect(row.duration).toBeCloseTo(want.durationMs, 6);
        const variation = conversations.find((c) => unitOf(c) === row.unit_id)!.variations[def.key as 'persona' | 'pricing'];
        expect(row.variation).toBe(variation);
      }
      expect((await health(ds, def)).unattributedCalls).toBe(0);
    }
  });

  it("each experiment's outcome rates and judge score means per arm equal the agent's records", async () => {
    const resolved = MetricDefinition.parse({ name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' });
    const converted = MetricDefinition.parse({ name: 'converted', kind: 'binary', from: { outcome: 'converted' }, direction: 'increase' });
    const helpfulness = MetricDefinition.parse({ name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' });
    for (const [def, unitOf] of experimentUnits) {
      const key = def.key as 'persona' | 'pricing';
      // Per unit, by hand: binary = any of its conversations; mean = the mean of its scores.
      const units = new Map<string, { variation: string; resolved: boolean; converted: boolean; scores: number[] }>();
      for (const c of conversations) {
        const unit = units.get(unitOf(c)) ?? { variation: c.variations[key], resolved: false, converted: false, scores: [] };
        unit.resolved ||= c.resolved;
        unit.converted ||= c.converted;
        unit.scores.push(...c.scores);
        units.set(unitOf(c), unit);
      }
      const arm = (variation: string) => [...units.values()].filter((u) => u.variation === variation);
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      for (const [metric, valueOf] of [
        [resolved, (u: { resolved: boolean }) => (u.resolved ? 1 : 0)],
        [converted, (u: { converted: boolean }) => (u.converted ? 1 : 0)],
      ] as const) {
        const stats = await armMetricStats(ds, def, metric);
        expect(stats.map((s) => ({ key, metric: metric.name, variation: s.variation, units: s.units, sum: s.sum }))).toEqual(
          ['a', 'b'].map((variation) => ({ key, metric: metric.name, variation, units: arm(variation).length, sum: arm(variation).reduce((sum, u) => sum + valueOf(u), 0) })),
        );
      }
      const judged = await armMetricStats(ds, def, helpfulness);
      for (const s of judged) {
        const unitMeans = arm(s.variation).map((u) => mean(u.scores));
        expect({ key, variation: s.variation, n: s.n }).toEqual({ key, variation: s.variation, n: unitMeans.length });
        expect(s.sum, `${key} ${s.variation} Σ unit mean score`).toBeCloseTo(unitMeans.reduce((a, b) => a + b, 0), 9);
      }
      // The judge trend over one window spanning the run: every score, in its unit's arm.
      const trend = await judgeTrend(ds, def, 24 * 60);
      const byArm = new Map<string, { n: number; sum: number }>();
      for (const row of trend) {
        const entry = byArm.get(row.variation) ?? { n: 0, sum: 0 };
        entry.n += Number(row.n);
        entry.sum += Number(row.n) * row.mean;
        byArm.set(row.variation, entry);
      }
      for (const variation of ['a', 'b']) {
        const scores = arm(variation).flatMap((u) => u.scores);
        expect({ key, variation, n: byArm.get(variation)?.n ?? 0 }).toEqual({ key, variation, n: scores.length });
        expect(byArm.get(variation)?.sum ?? 0).toBeCloseTo(scores.reduce((a, b) => a + b, 0), 9);
      }
      expect(await health(ds, def)).toMatchObject({ unattributedOutcomes: 0, unattributedEvaluations: 0, outcomesWithoutExposure: 0 });
    }
  });

  it("outcomes another service recorded with the conversation id alone count for each experiment's unit, the user's included", async () => {
    // They reached the collector with nothing but the conversation: no units, no experiment.
    expect(renewedEvents).toHaveLength(conversations.length);
    for (const event of renewedEvents) {
      expect(event.attributes['abtel.assignment.ids']).toBeUndefined();
      expect(event.attributes['abtel.experiment.key']).toBeUndefined();
    }
    const renewed = MetricDefinition.parse({ name: 'renewed', kind: 'binary', from: { outcome: 'renewed' }, direction: 'increase' });
    for (const [def, unitOf] of experimentUnits) {
      const key = def.key as 'persona' | 'pricing';
      // Per unit, by hand: renewed in any of its conversations.
      const units = new Map<string, { variation: string; renewed: boolean }>();
      for (const c of conversations) {
        const unit = units.get(unitOf(c)) ?? { variation: c.variations[key], renewed: false };
        unit.renewed ||= renewedOf.get(c.conversationId)!;
        units.set(unitOf(c), unit);
      }
      const stats = await armMetricStats(ds, def, renewed);
      expect(stats.map((s) => ({ key, variation: s.variation, units: s.units, sum: s.sum }))).toEqual(
        ['a', 'b'].map((variation) => {
          const arm = [...units.values()].filter((u) => u.variation === variation);
          return { key, variation, units: arm.length, sum: arm.filter((u) => u.renewed).length };
        }),
      );
      expect(await health(ds, def)).toMatchObject({ unattributedOutcomes: 0 });
    }
  });
});
