import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExperimentDefinition, assign, bucketSql, sqlString, variationSql, type MetricDefinition } from '@abtel/core';
import { openDataset, type Dataset } from './dataset.js';
import { prepareExperiment } from './prepare.js';
import { armMetricStats, excludedUnits, guardrailWindows, health, judgeTrend, metricStatsSql, population, segmentMix, timelineBucketSeconds } from './stats.js';
import { writeSyntheticDataset, type SyntheticResult, type SyntheticSpec, type SyntheticUnit } from './synthetic.js';
import { independentQuantileArm } from '../../test/quantile-reference.js';

/**
 * A synthetic data set of `experiment` (its key and weights), written before a describe's tests
 * with a dataset opened on it, and removed after them. The fields are set in `beforeAll`.
 */
function experimentData(
  experiment: ExperimentDefinition,
  spec: Omit<SyntheticSpec, 'experimentKey' | 'variations'>,
): { dir: string; data: SyntheticResult; ds: Dataset } {
  const made = {} as { dir: string; data: SyntheticResult; ds: Dataset };
  beforeAll(async () => {
    made.dir = mkdtempSync(join(tmpdir(), `abtel-stats-${experiment.key}-`));
    made.data = await writeSyntheticDataset(made.dir, {
      ...spec,
      experimentKey: experiment.key,
      variations: experiment.variations.map((v) => ({ key: v.key, weight: v.weight })),
    });
    made.ds = await openDataset({ inputs: [made.dir] });
  });
  afterAll(async () => {
    await made.ds?.close();
    if (made.dir) rmSync(made.dir, { recursive: true, force: true });
  });
  return made;
}

const definition = ExperimentDefinition.parse({
  key: 'support-prompt',
  version: 1,
  description: 'synthetic',
  owner: 'test',
  surface: 'prompt',
  unit: 'conversation',
  state: 'running',
  control: 'control',
  variations: [
    { key: 'control', weight: 1, config: {} },
    { key: 'treatment', weight: 1, config: {} },
  ],
  segments: ['plan'],
});

let dir: string;
let data: SyntheticResult;
let ds: Dataset;
let units: SyntheticUnit[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'abtel-stats-'));
  data = await writeSyntheticDataset(dir, {
    conversations: 1500,
    seed: 7,
    variations: definition.variations.map((v) => ({ key: v.key, weight: v.weight })),
    assign: (id) => assign(definition, { id }).variation ?? 'control',
    callsPerConversation: 3,
    outcomes: [
      { name: 'resolved', kind: 'binary', rate: { control: 0.3, treatment: 0.4 } },
      { name: 'csat', kind: 'value', mean: { control: 3.5, treatment: 3.8 }, integer: true, coverage: 0.5 },
    ],
    evaluations: [{ name: 'helpfulness', mean: { control: 3.4, treatment: 3.7 }, sampleRate: 0.5 }],
    segments: [{ name: 'plan', values: [{ value: 'free', share: 0.6 }, { value: 'pro', share: 0.4 }] }],
    duplicateExposureRate: 0.05,
    unexposedConversations: 20,
    orphanOutcomes: 7,
    exposuresWithoutCall: 11,
    linesPerFile: 3,
    recordsPerLine: 50,
    badLines: 2,
  });
  units = data.units!.filter((u) => u.exposed);
  ds = await openDataset({ inputs: [dir] });
});

afterAll(async () => {
  await ds?.close();
  rmSync(dir, { recursive: true, force: true });
});

function byArm<T>(fn: (arm: SyntheticUnit[]) => T): Record<string, T> {
  return Object.fromEntries(definition.variations.map((v) => [v.key, fn(units.filter((u) => u.variation === v.key))]));
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('sufficient statistics equal an independent computation over the generated records', () => {
  test('binary outcome, missing = 0', async () => {
    const metric: MetricDefinition = { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' };
    const arms = await armMetricStats(ds, definition, metric);
    const expected = byArm((arm) => ({ units: arm.length, sum: sum(arm.map((u) => u.outcomes.resolved ?? 0)) }));
    for (const arm of arms) {
      expect(arm.units).toBe(expected[arm.variation]!.units);
      expect(arm.n).toBe(expected[arm.variation]!.units);
      expect(arm.sum).toBe(expected[arm.variation]!.sum);
      expect(arm.sumSquares).toBe(expected[arm.variation]!.sum);
    }
  });
  test('mean outcome, missing excluded (integral values arrive as intValue)', async () => {
    const metric: MetricDefinition = { name: 'csat', kind: 'mean', from: { outcome: 'csat' }, direction: 'increase' };
    const arms = await armMetricStats(ds, definition, metric);
    const expected = byArm((arm) => {
      const values = arm.map((u) => u.outcomes.csat).filter((v): v is number => v !== undefined);
      return { n: values.length, sum: sum(values), sumSquares: sum(values.map((v) => v * v)) };
    });
    for (const arm of arms) {
      expect(arm.n).toBe(expected[arm.variation]!.n);
      expect(arm.sum).toBeCloseTo(expected[arm.variation]!.sum, 9);
      expect(arm.sumSquares).toBeCloseTo(expected[arm.variation]!.sumSquares, 6);
    }
  });
  test('a call value no call carries reads 0 values, although the per-unit sums are 0', async () => {
    const metric: MetricDefinition = { name: 'absent', kind: 'sum', from: { span_attribute: 'no.such.attribute' }, direction: 'decrease' };
    const arms = await armMetricStats(ds, definition, metric);
    expect(arms.length).toBeGreaterThan(0);
    for (const arm of arms) {
      expect(arm.valuesRead).toBe(0);
      expect(arm.sum).toBe(0);
      expect(arm.n).toBe(arm.units);
    }
  });

  test('ratio over calls: latency per call', async () => {
    const metric: MetricDefinition = { name: 'latency', kind: 'ratio', from: { span_value: 'duration_ms' }, direction: 'decrease' };
    const arms = await armMetricStats(ds, definition, metric);
    const expected = byArm((arm) => {
      const withCalls = arm.filter((u) => u.calls.length > 0);
      const y = withCalls.map((u) => sum(u.calls.map((c) => c.durationMs)));
      const n = withCalls.map((u) => u.calls.length);
      return { n: withCalls.length, sum: sum(y), denom: sum(n), cross: sum(y.map((v, i) => v * n[i]!)), sumSquares: sum(y.map((v) => v * v)) };
    });
    for (const arm of arms) {
      const e = expected[arm.variation]!;
      expect(arm.n).toBe(e.n);
      expect(arm.sum).toBeCloseTo(e.sum, 6);
      expect(arm.sumSquares / e.sumSquares).toBeCloseTo(1, 12);
      expect(arm.denomSum).toBe(e.denom);
      expect(arm.crossSum! / e.cross).toBeCloseTo(1, 12);
      // Every call carries a duration: the values read are the calls.
      expect(arm.valuesRead).toBe(e.denom);
    }
  });
  test('sum over calls: cost per conversation (units without calls count as 0)', async () => {
    const metric: MetricDefinition = { name: 'cost', kind: 'sum', from: { span_attribute: 'abtel.usage.cost_usd' }, direction: 'decrease' };
    const arms = await armMetricStats(ds, definition, metric);
    const expected = byArm((arm) => ({ n: arm.length, sum: sum(arm.map((u) => sum(u.calls.map((c) => c.costUsd)))) }));
    for (const arm of arms) {
      expect(arm.n).toBe(expected[arm.variation]!.n);
      expect(arm.sum).toBeCloseTo(expected[arm.variation]!.sum, 9);
    }
  });
  test('quantile: quantile_cont and the asymptotic interval statistics in DuckDB, no event values read', async () => {
    const metric: MetricDefinition = { name: 'p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease' };
    const arms = await armMetricStats(ds, definition, metric);
    expect(arms).toHaveLength(2);
    for (const arm of arms) {
      const perUnit = units.filter((u) => u.variation === arm.variation).map((u) => u.calls.map((c) => c.durationMs));
      const expected = independentQuantileArm(perUnit, 0.95);
      expect(arm.quantile).toBeCloseTo(expected.value, 6);
      expect(arm.samples).toBeUndefined();
      const got = arm.quantileArm!;
      expect(got).toBeDefined();
      for (const key of ['q', 'n', 'events', 'sumI', 'sumISquares', 'sumNSquares', 'sumIN'] as const) expect(got[key]).toBe(expected[key]);
      for (const key of ['value', 'lower', 'upper'] as const) expect(got[key]).toBeCloseTo(expected[key], 6);
      expect(got.lower).toBeLessThan(got.value);
      expect(got.upper).toBeGreaterThan(got.value);
    }
  });
  test('quantile with interval: bootstrap: per-unit event values, no asymptotic statistics', async () => {
    const metric: MetricDefinition = { name: 'p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease', interval: 'bootstrap' };
    const arms = await armMetricStats(ds, definition, metric);
    for (const arm of arms) {
      const perUnit = units.filter((u) => u.variation === arm.variation && u.calls.length > 0).map((u) => u.calls.map((c) => c.durationMs).sort((a, b) => a - b));
      expect(arm.quantileArm).toBeUndefined();
      expect(arm.samples!.map((unit) => [...unit].sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]! || a.length - b.length)).toEqual(
        perUnit.sort((a, b) => a[0]! - b[0]! || a.length - b.length),
      );
    }
  });
  test('quantile: an arm below the asymptotic minimum (50 units) gets event values for the bootstrap, in every arm of its comparison', async () => {
    const metric: MetricDefinition = { name: 'p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease' };
    // Units first exposed in a short range: a few dozen per arm.
    const times = units.map((u) => u.exposedAtMs).sort((a, b) => a - b);
    const [from, to] = [new Date(times[0]!).toISOString(), new Date(times[60]! + 1).toISOString()];
    const arms = await armMetricStats(ds, definition, metric, { from, to });
    const inRange = units.filter((u) => u.exposedAtMs >= times[0]! && u.exposedAtMs <= times[60]!);
    for (const arm of arms) {
      const perUnit = inRange.filter((u) => u.variation === arm.variation && u.calls.length > 0);
      expect(perUnit.length).toBeLessThan(50);
      expect(arm.quantileArm).toBeUndefined();
      expect(arm.samples!.flat().length).toBe(perUnit.reduce((n, u) => n + u.calls.length, 0));
    }
  });
  test('segments and mix', async () => {
    const mix = await segmentMix(ds, definition, 'plan');
    for (const row of mix) {
      expect(row.units).toBe(units.filter((u) => u.variation === row.variation && u.segments.plan === row.value).length);
    }
    const metric: MetricDefinition = { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' };
    const arms = await armMetricStats(ds, definition, metric, { segment: 'plan' });
    expect(arms).toHaveLength(4);
    for (const arm of arms) {
      const group = units.filter((u) => u.variation === arm.variation && u.segments.plan === arm.segment);
      expect(arm.units).toBe(group.length);
      expect(arm.sum).toBe(sum(group.map((u) => u.outcomes.resolved ?? 0)));
    }
  });
});

describe('the exposure timeline bucket', () => {
  test('is the smallest of the ladder that gives at most 60 buckets', () => {
    expect(timelineBucketSeconds(0)).toBe(1);
    expect(timelineBucketSeconds(10)).toBe(1);
    expect(timelineBucketSeconds(60)).toBe(1);
    expect(timelineBucketSeconds(61)).toBe(5);
    expect(timelineBucketSeconds(6 * 3600)).toBe(900);
    expect(timelineBucketSeconds(7 * 86_400)).toBe(6 * 3600);
    expect(timelineBucketSeconds(90 * 86_400)).toBe(7 * 86_400);
    expect(timelineBucketSeconds(10 * 365 * 86_400)).toBe(7 * 86_400);
  });
});

describe('population and health', () => {
  test('exposed units, duplicates removed, never-exposed excluded', async () => {
    const result = await population(ds, definition);
    expect(result.exposed).toEqual(byArm((arm) => arm.length));
    expect(result.duplicateExposures).toBe(units.filter((u) => u.exposureCount === 2).length);
    expect(result.multipleExposureUnits).toBe(0);
    expect(result.timeline.length).toBeGreaterThan(0);
    // The timeline ends at each arm's exposed count, in buckets of the size its span calls for.
    for (const [variation, exposed] of Object.entries(result.exposed)) {
      expect(result.timeline.filter((point) => point.variation === variation).at(-1)?.cumulative).toBe(exposed);
    }
    const buckets = [...new Set(result.timeline.map((point) => Date.parse(point.bucket)))].sort((a, b) => a - b);
    const size = timelineBucketSeconds((Date.parse(result.lastExposure!) - Date.parse(result.firstExposure!)) / 1000) * 1000;
    expect(buckets.length).toBeLessThanOrEqual(61);
    for (const bucket of buckets) expect(bucket % size).toBe(0);
    expect(await excludedUnits(ds, definition)).toBe(data.units!.filter((u) => !u.exposed).length);
    expect(await excludedUnits(ds, definition)).toBe(20);
  });
  test('assignment audit, exposures without a call, orphan outcomes, bad lines', async () => {
    const result = await health(ds, definition);
    expect(result.assignmentChecked).toBe(units.length);
    expect(result.assignmentMismatches).toBe(0);
    expect(result.exposuresWithoutCall).toBe(11);
    expect(result.outcomesWithoutExposure).toBe(7);
    expect(result.badLines).toBe(2);
    expect(ds.badLines.map((b) => [b.file, b.line])).toEqual(data.badLines.map((b) => [b.file, b.line]));
    // The newest event or span end, read from every span (health prunes the files by their statistics).
    const [newest] = await ds.query<{ last: string }>('SELECT greatest((SELECT max(time) FROM events), (SELECT max(end_time) FROM spans)) AS last');
    expect(result.lastEventTime).toBe(newest!.last);
    const callEnds = units.flatMap((u) => u.calls.map((c) => c.startMs + c.durationMs));
    expect(Date.parse(result.lastEventTime!)).toBeGreaterThanOrEqual(Math.max(...callEnds) - 1);
  });
  test('judge trend and guardrail windows', async () => {
    const trend = await judgeTrend(ds, definition, 24 * 60);
    const n = sum(trend.map((t) => t.n));
    expect(n).toBe(units.filter((u) => u.evaluations.helpfulness !== undefined).length);
    const metric: MetricDefinition = { name: 'errors', kind: 'ratio', from: { span_value: 'error' }, direction: 'decrease' };
    const windows = await guardrailWindows(ds, definition, metric, 60);
    expect(windows.length).toBeGreaterThan(20);
    const calls = sum(windows.flatMap((w) => w.stats.map((s) => s.denomSum ?? 0)));
    expect(calls).toBe(sum(units.map((u) => u.calls.length)));
  });
});

describe('the materialised working set gives what the plain views give', () => {
  // metricStatsSql is the SQL a user runs over the views in the duckdb CLI; armMetricStats and
  // guardrailWindows read the per-experiment tables instead. Both must agree exactly (sums up to
  // the order of floating-point addition), quantile samples included.
  const metrics: MetricDefinition[] = [
    { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' },
    { name: 'csat', kind: 'mean', from: { outcome: 'csat' }, direction: 'increase', covariate: { outcome: 'resolved' } },
    { name: 'cost', kind: 'sum', from: { span_attribute: 'abtel.usage.cost_usd' }, direction: 'decrease', cap: { percentile: 90 } },
    { name: 'calls', kind: 'count', from: { span_value: 'calls' }, direction: 'decrease' },
    { name: 'any_error', kind: 'binary', from: { span_value: 'error' }, direction: 'decrease' },
    { name: 'errors', kind: 'ratio', from: { span_value: 'error' }, direction: 'decrease', window: { hours: 1 } },
    { name: 'latency', kind: 'ratio', from: { span_value: 'duration_ms' }, direction: 'decrease' },
    { name: 'p90', kind: 'quantile', quantile: 0.9, from: { span_value: 'duration_ms' }, direction: 'decrease' },
    // Heavy ties: whole token counts, and 0/1 errors (the estimate's events fill the outer ranks).
    { name: 'tokens_p75', kind: 'quantile', quantile: 0.75, from: { span_value: 'output_tokens' }, direction: 'decrease' },
    { name: 'errors_p99', kind: 'quantile', quantile: 0.99, from: { span_value: 'error' }, direction: 'decrease' },
    // A low level: no room for a bound below the outer levels, so quantile_cont over all events.
    { name: 'p02', kind: 'quantile', quantile: 0.02, from: { span_value: 'duration_ms' }, direction: 'decrease' },
    { name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' },
  ];
  type Row = Record<string, unknown> & { samples: number[][] | null };
  const close = (a: unknown, b: unknown): void => {
    if (typeof a === 'number' && typeof b === 'number') expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));
    else expect(a).toEqual(b);
  };

  test.each(metrics.map((metric) => [metric.name, metric] as const))('%s, per arm and per segment', async (_, metric) => {
    for (const options of [{}, { segment: 'plan' }]) {
      const viaViews = await ds.query<Row>(metricStatsSql(definition, metric, options));
      const prepared = await armMetricStats(ds, definition, metric, options);
      expect(prepared).toHaveLength(viaViews.length);
      for (const row of viaViews) {
        const arm = prepared.find((a) => a.variation === row.variation && (a.segment ?? null) === row.segment)!;
        close(arm.units, row.units);
        close(arm.n, row.n);
        close(arm.sum, row.sum);
        close(arm.sumSquares, row.sum_squares);
        if (metric.kind === 'ratio') close(arm.crossSum, row.cross_sum);
        if (metric.covariate) close(arm.covariateCrossSum, row.covariate_cross_sum);
        if (metric.kind === 'quantile') {
          close(arm.quantile, row.quantile);
          // The view SQL lists each unit's values; the sufficient statistics are recomputed from them.
          const expected = independentQuantileArm(row.samples ?? [], metric.quantile!);
          const got = arm.quantileArm!;
          expect(got).toBeDefined();
          for (const key of ['n', 'events', 'sumI', 'sumISquares', 'sumNSquares', 'sumIN', 'value', 'lower', 'upper'] as const) close(got[key], expected[key]);
          expect(arm.samples).toBeUndefined();
        }
      }
    }
  });
  test('guardrail windows by call time: a quantile per window, no interval statistics', async () => {
    const metric = metrics.find((m) => m.name === 'p90')!;
    const viaViews = await ds.query<Row & { window_start: string }>(metricStatsSql(definition, metric, { windowMinutes: 60 }));
    const windows = await guardrailWindows(ds, definition, metric, 60);
    expect(windows.reduce((n, w) => n + w.stats.length, 0)).toBe(viaViews.length);
    for (const row of viaViews) {
      const arm = windows.find((w) => w.windowStart === row.window_start)!.stats.find((a) => a.variation === row.variation)!;
      close(arm.n, row.n);
      close(arm.sum, row.sum);
      close(arm.quantile, row.quantile);
      expect(arm.samples).toBeUndefined();
      expect(arm.quantileArm).toBeUndefined();
    }
  });
  test("segment values equal the exposures view's segments column", async () => {
    const expected = await ds.query<{ value: string; variation: string; units: number }>(
      `SELECT coalesce(json_extract_string(segments, '$.plan'), '(none)') AS value, variation, count(*) AS units
       FROM exposures WHERE experiment_key = ${sqlString(definition.key)} GROUP BY ALL ORDER BY value, variation`,
    );
    expect(expected.length).toBe(4);
    expect(await segmentMix(ds, definition, 'plan')).toEqual(expected);
  });
  test('the assignment audit counts what the SQL hash recomputes, also when the salt changed', async () => {
    const resalted = ExperimentDefinition.parse({ ...definition, salt: 'another-salt' });
    const salt = sqlString('another-salt');
    const [expected] = await ds.query<{ checked: number; mismatches: number }>(
      `SELECT count(*) AS checked,
              count(*) FILTER (WHERE ${variationSql(resalted, bucketSql(salt, 'unit_id'))} IS DISTINCT FROM variation) AS mismatches
       FROM exposures WHERE experiment_key = ${sqlString(definition.key)}`,
    );
    const result = await health(ds, resalted);
    expect(expected!.mismatches).toBeGreaterThan(100);
    expect(result.assignmentChecked).toBe(expected!.checked);
    expect(result.assignmentMismatches).toBe(expected!.mismatches);
  });
});

describe('quantile metrics per segment: a small arm sends only its own comparison to the bootstrap', () => {
  // A segment where the treatment is rare (weights 0.9 / 0.1 inside it): that segment's arms get
  // per-unit event values; the large segment keeps the asymptotic statistics alone.
  const segmented = ExperimentDefinition.parse({ ...definition, key: 'segmented', segments: ['tier'] });
  const segmentedData = experimentData(segmented, {
    conversations: 700,
    seed: 21,
    callsPerConversation: 3,
    outcomes: [{ name: 'resolved', kind: 'binary', rate: { control: 0.3, treatment: 0.3 } }],
    segments: [{ name: 'tier', values: [{ value: 'big', share: 0.8 }, { value: 'small', share: 0.2, weights: { control: 0.9, treatment: 0.1 } }] }],
  });

  test('big: asymptotic statistics, no values; small: values for both arms, statistics where the arm is large enough', async () => {
    const metric: MetricDefinition = { name: 'p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease' };
    const arms = await armMetricStats(segmentedData.ds, segmented, metric, { segment: 'tier' });
    const exposed = segmentedData.data.units!.filter((u) => u.exposed && u.calls.length > 0);
    for (const arm of arms) {
      const perUnit = exposed.filter((u) => u.variation === arm.variation && u.segments.tier === arm.segment).map((u) => u.calls.map((c) => c.durationMs));
      const expected = independentQuantileArm(perUnit, 0.95);
      if (arm.segment === 'big') {
        expect(perUnit.length).toBeGreaterThanOrEqual(50);
        expect(arm.samples).toBeUndefined();
        for (const key of ['n', 'events', 'sumI', 'sumISquares', 'sumNSquares', 'sumIN'] as const) expect(arm.quantileArm![key]).toBe(expected[key]);
        for (const key of ['lower', 'upper'] as const) expect(arm.quantileArm![key]).toBeCloseTo(expected[key], 6);
      } else {
        expect(arm.samples!.flat().length).toBe(expected.events);
        if (perUnit.length >= 50) expect(arm.quantileArm!.sumI).toBe(expected.sumI);
        else expect(arm.quantileArm).toBeUndefined();
      }
    }
    const small = arms.filter((arm) => arm.segment === 'small');
    expect(small.map((arm) => arm.quantileArm === undefined)).toEqual([false, true]);
  });
});

describe('exposure attributes the units table does not keep are joined back', () => {
  // Units keep only the segments asked for and the prepared metrics' covariate attributes; a
  // segment or covariate read later comes from the exposures view. Both ways must give what the
  // plain views give, and the covariate must actually read the attribute (numbers, not 0).
  const tenured = ExperimentDefinition.parse({ ...definition, key: 'tenured', segments: ['plan'] });
  const metric: MetricDefinition = {
    name: 'resolved',
    kind: 'binary',
    from: { outcome: 'resolved' },
    direction: 'increase',
    covariate: { attribute: 'tenure' },
  };
  const tenureData = experimentData(tenured, {
    conversations: 400,
    seed: 5,
    callsPerConversation: 2,
    outcomes: [{ name: 'resolved', kind: 'binary', rate: { control: 0.3, treatment: 0.4 } }],
    segments: [
      { name: 'plan', values: [{ value: 'free', share: 0.6 }, { value: 'pro', share: 0.4 }] },
      { name: 'tenure', values: [{ value: '1', share: 0.5 }, { value: '3', share: 0.3 }, { value: '12', share: 0.2 }] },
    ],
  });

  test.each([
    ['not kept (joined back)', [] as MetricDefinition[], [] as string[]],
    ['kept by prepareExperiment', [metric], ['plan', 'tenure']],
  ])('%s', async (_, prepareMetrics, segments) => {
    // A dataset of its own per case: the working set is prepared once per dataset.
    const ds = await openDataset({ inputs: [tenureData.dir] });
    try {
      const prepared = await prepareExperiment(ds, tenured, prepareMetrics, segments);
      expect(prepared.unitAttributes.has('abtel.segment.tenure')).toBe(segments.includes('tenure'));
      const arms = await armMetricStats(ds, tenured, metric, { segment: 'tenure' });
      const viaViews = await ds.query<Record<string, number | string | null>>(metricStatsSql(tenured, metric, { segment: 'tenure' }));
      expect(arms).toHaveLength(viaViews.length);
      const exposed = tenureData.data.units!.filter((u) => u.exposed);
      for (const row of viaViews) {
        const arm = arms.find((a) => a.variation === row.variation && a.segment === row.segment)!;
        expect(arm.n).toBe(row.n);
        expect(arm.covariateSum).toBeCloseTo(row.covariate_sum as number, 9);
        // Independently: every unit of this segment value carries it as its covariate.
        const group = exposed.filter((u) => u.variation === arm.variation && u.segments.tenure === arm.segment);
        expect(arm.covariateSum).toBe(group.length * Number(arm.segment));
      }
      const mix = await segmentMix(ds, tenured, 'tenure');
      for (const row of mix) {
        expect(row.units).toBe(exposed.filter((u) => u.variation === row.variation && u.segments.tenure === row.value).length);
      }
    } finally {
      await ds.close();
    }
  });
});

describe('quantiles from the largest events: a subsample bound at scale', () => {
  // 2 × ≈ 4,500 units: the bound comes from every 2nd unit, not from all of them. The estimate and
  // the asymptotic statistics must still be exact: equal to quantile_cont over the views and to an
  // independent computation from each unit's values; and quantile_cont over all events is skipped.
  const scaled = ExperimentDefinition.parse({ ...definition, key: 'scaled', segments: [] });
  const scaledData = experimentData(scaled, { conversations: 9000, seed: 11, callsPerConversation: 2, outcomes: [] });

  test.each([0.5, 0.95, 0.99])('p%s', async (level) => {
    const metric: MetricDefinition = { name: 'latency', kind: 'quantile', quantile: level, from: { span_value: 'duration_ms' }, direction: 'decrease' };
    const statements: string[] = [];
    const query = scaledData.ds.query;
    scaledData.ds.query = (sql, params) => {
      statements.push(sql);
      return query(sql, params);
    };
    let arms;
    try {
      arms = await armMetricStats(scaledData.ds, scaled, metric);
    } finally {
      scaledData.ds.query = query;
    }
    expect(statements.some((sql) => sql.includes('% 2 = 0'))).toBe(true);
    expect(statements.some((sql) => /quantile_cont[\s\S]*NOT IN \(1, 2\)/.test(sql))).toBe(true);
    const viaViews = await scaledData.ds.query<{ variation: string; quantile: number; samples: number[][] }>(metricStatsSql(scaled, metric));
    for (const row of viaViews) {
      const arm = arms.find((a) => a.variation === row.variation)!;
      expect(arm.n).toBeGreaterThan(2000);
      expect(arm.quantile).toBeCloseTo(row.quantile, 9);
      const expected = independentQuantileArm(row.samples, level);
      for (const key of ['n', 'events', 'sumI', 'sumISquares', 'sumNSquares', 'sumIN'] as const) expect(arm.quantileArm![key]).toBe(expected[key]);
      for (const key of ['value', 'lower', 'upper'] as const) expect(arm.quantileArm![key]).toBeCloseTo(expected[key], 9);
    }
  });
});
