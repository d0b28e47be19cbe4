import { describe, expect, it } from 'vitest';
import type { MetricDefinition } from '@abtel/core';
import { buildReport } from './build.js';
import type { ArmStatsInput, BuildReportInputs } from './inputs.js';

const metrics: MetricDefinition[] = [
  { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' },
  { name: 'cost', kind: 'mean', from: { span_value: 'cost_usd' }, direction: 'decrease', threshold: { value: 0.01 }, consecutiveWindows: 1, action: 'review' },
];

const binary = (variation: string, n: number, successes: number): ArmStatsInput => ({ variation, units: n, n, sum: successes, sumSquares: successes });

function inputs(resolved: ArmStatsInput[], overrides: Partial<BuildReportInputs> = {}): BuildReportInputs {
  const exposed = Object.fromEntries(resolved.map((arm) => [arm.variation, arm.units]));
  return {
    experiment: {
      key: 'three-arms',
      version: 1,
      state: 'running',
      unit: 'conversation',
      control: 'a',
      variations: resolved.map((arm) => ({ key: arm.variation, weight: 1 })),
      metrics: { primary: 'resolved', guardrails: ['cost'] },
    },
    metrics,
    generatedAt: '2026-11-20T12:00:00.000Z',
    population: { exposed, duplicateExposures: 0, multipleExposureUnits: 0, timeline: [] },
    health: { assignmentMismatches: 0, assignmentChecked: 0, exposuresWithoutCall: 0, outcomesWithoutExposure: 0, lastEventTime: '2026-11-20T11:59:00.000Z', badLines: 0 },
    // The guardrail measured in every arm with units (its own tests below take it away).
    metricStats: { resolved, cost: resolved.map((arm) => ({ variation: arm.variation, units: arm.units, n: arm.n, sum: 0.02 * arm.n, sumSquares: 0.0005 * arm.n })) },
    guardrails: [],
    segments: [],
    judgeTrend: [],
    badLines: [],
    ...overrides,
  };
}

describe('decision with several variations', () => {
  it('ships the variation with the largest significant improvement', () => {
    const report = buildReport(inputs([binary('a', 2000, 600), binary('b', 2000, 690), binary('c', 2000, 760)]));
    expect(report.comparisons.map((c) => c.variation)).toEqual(['b', 'c']);
    expect(report.decision.recommendation).toBe('ship');
    expect(report.decision.winner).toBe('c');
    expect(report.decision.reasons).toHaveLength(2);
  });

  it('never ships a variation that is significantly worse', () => {
    const report = buildReport(inputs([binary('a', 2000, 700), binary('b', 2000, 600)]));
    expect(report.comparisons[0]!.metrics[0]!.better).toBe(false);
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons.join(' ')).toMatch(/significantly worse/);
  });

  it('a review action blocks shipping that variation but does not pause', () => {
    const cost = (variation: string, mean: number): ArmStatsInput => ({ variation, units: 100, n: 100, sum: 100 * mean, sumSquares: 100 * mean * mean + 99 * 0.0001 });
    const report = buildReport(
      inputs([binary('a', 2000, 600), binary('b', 2000, 700)], {
        metricStats: { resolved: [binary('a', 2000, 600), binary('b', 2000, 700)], cost: [cost('a', 0.02), cost('b', 0.04)] },
        guardrails: [{ metric: 'cost', windowMinutes: 60, windows: [{ windowStart: '2026-11-20T10:00:00.000Z', stats: [cost('a', 0.02), cost('b', 0.04)] }] }],
      }),
    );
    expect(report.guardrails[0]!.actionTriggered).toBe(true);
    expect(report.guardrails[0]!.action).toBe('review');
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons.join(' ')).toMatch(/action review/);
  });

  it('never ships with a guardrail that has no data: an objective one is a telemetry gap', () => {
    const primary = [binary('a', 2000, 600), binary('b', 2000, 760)];
    const noCost = (variation: string): ArmStatsInput => ({ variation, units: 2000, n: 0, sum: 0, sumSquares: 0 });
    // Logs only (exposures and outcomes), no traces: no unit has a call, so cost is never measured.
    const report = buildReport(
      inputs(primary, {
        metricStats: { resolved: primary, cost: [noCost('a'), noCost('b')] },
        health: { assignmentMismatches: 0, assignmentChecked: 0, exposuresWithoutCall: 4000, outcomesWithoutExposure: 0, lastEventTime: '2026-11-20T11:59:00.000Z', badLines: 0 },
      }),
    );
    expect(report.comparisons[0]!.metrics[0]!.significant).toBe(true);
    // The call metric is shown as not measured, not as 0 against 0.
    const cost = report.comparisons[0]!.metrics.find((metric) => metric.name === 'cost')!;
    expect(cost).toMatchObject({ absoluteDiff: null, pValue: null, ci95: [null, null], note: 'not measured: none of the exposed units has a gen_ai call in the data read' });
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons).toEqual([
      'telemetry gap: none of the 4000 exposed units has a gen_ai call in the data read, so guardrail(s) cost were never measured and cannot stop a harmful variation: include the traces (the collector writes them next to the logs)',
    ]);
    // Calls in the control only: the treatment's service is not traced.
    const oneArm = buildReport(
      inputs(primary, { metricStats: { resolved: primary, cost: [{ variation: 'a', units: 2000, n: 1500, sum: 30, sumSquares: 0.7 }, noCost('b')] } }),
    );
    expect(oneArm.decision.recommendation).toBe('pause');
    expect(oneArm.decision.reasons).toEqual([
      "telemetry gap: guardrail cost has no data in b (2000 exposed unit(s)), so it cannot stop a harmful variation; check that b's calls are traced and stamped with the experiment",
    ]);
  });

  it('a per-unit sum of call values is not measured when no unit has a call, although every unit counts as 0', () => {
    const tokens: MetricDefinition = { name: 'tokens', kind: 'sum', from: { span_value: 'total_tokens' }, direction: 'decrease' };
    const primary = [binary('a', 2000, 600), binary('b', 2000, 760)];
    const zeros = (variation: string): ArmStatsInput => ({ variation, units: 2000, n: 2000, sum: 0, sumSquares: 0 });
    const base = inputs(primary, {
      health: { assignmentMismatches: 0, assignmentChecked: 0, exposuresWithoutCall: 4000, outcomesWithoutExposure: 0, lastEventTime: '2026-11-20T11:59:00.000Z', badLines: 0 },
    });
    const report = buildReport({
      ...base,
      experiment: { ...base.experiment, metrics: { primary: 'resolved', guardrails: ['tokens'] } },
      metrics: [...metrics, tokens],
      metricStats: { resolved: primary, tokens: [zeros('a'), zeros('b')] },
    });
    expect(report.comparisons[0]!.metrics.find((metric) => metric.name === 'tokens')).toMatchObject({ pValue: null, variant: { n: 2000, value: null } });
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons[0]).toMatch(/^telemetry gap: none of the 4000 exposed units has a gen_ai call in the data read, so guardrail\(s\) tokens were never measured/);
  });

  it('a call guardrail that no call carries (cost without a price table) is a telemetry gap, not "costs nothing"', () => {
    const primary = [binary('a', 2000, 600), binary('b', 2000, 760)];
    const zeroCost = (variation: string): ArmStatsInput => ({ variation, units: 2000, n: 2000, sum: 0, sumSquares: 0, valuesRead: 0 });
    const report = buildReport(inputs(primary, { metricStats: { resolved: primary, cost: [zeroCost('a'), zeroCost('b')] } }));
    const cost = report.comparisons[0]!.metrics.find((metric) => metric.name === 'cost')!;
    expect(cost).toMatchObject({ pValue: null, absoluteDiff: null, variant: { n: 2000, value: null }, note: 'not measured: no gen_ai call in the data carries cost_usd' });
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons).toEqual([
      'telemetry gap: guardrail cost is not measured: no gen_ai call in the data carries cost_usd, so it cannot stop a harmful variation; check that the instrumentation records it',
    ]);
    // One value read in one arm: measured (a real zero cost elsewhere is possible).
    const measured = buildReport(inputs(primary, { metricStats: { resolved: primary, cost: [zeroCost('a'), { ...zeroCost('b'), valuesRead: 1 }] } }));
    expect(measured.decision.recommendation).toBe('ship');
  });

  it('waits for judge scores before shipping past a judge-score guardrail without any', () => {
    const judged: MetricDefinition = { name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' };
    const primary = [binary('a', 2000, 600), binary('b', 2000, 760)];
    const base = inputs(primary);
    const report = buildReport({
      ...base,
      experiment: { ...base.experiment, metrics: { primary: 'resolved', guardrails: ['helpfulness'] } },
      metrics: [...metrics, judged],
      metricStats: { resolved: primary, helpfulness: [{ variation: 'a', units: 2000, n: 40, sum: 30, sumSquares: 25 }, { variation: 'b', units: 2000, n: 0, sum: 0, sumSquares: 0 }] },
    });
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons).toEqual(['primary metric resolved is better in b, but guardrail helpfulness has no judge scores in b yet']);
    // With scores in both arms it ships.
    const scored = buildReport({
      ...base,
      experiment: { ...base.experiment, metrics: { primary: 'resolved', guardrails: ['helpfulness'] } },
      metrics: [...metrics, judged],
      metricStats: { resolved: primary, helpfulness: [{ variation: 'a', units: 2000, n: 40, sum: 30, sumSquares: 25 }, { variation: 'b', units: 2000, n: 35, sum: 27, sumSquares: 22 }] },
    });
    expect(scored.decision.recommendation).toBe('ship');
  });

  it('before the first planned look, the reason says so rather than quoting a p-value', () => {
    // 760 vs 600 of 2000 is p < 1e-6, but 4,000 of 10,000 planned units is before the first look at 50 %.
    const base = inputs([binary('a', 2000, 600), binary('b', 2000, 760)]);
    const report = buildReport({ ...base, experiment: { ...base.experiment, analysis: { alpha: 0.05, looks: [0.5, 1], plannedUnits: 10_000 } } });
    expect(report.comparisons[0]!.metrics[0]!.sequential!.status).toBe('before_first_look');
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons).toEqual([
      'primary metric resolved in b: the first planned look (at 50% of 10000 planned units) is not reached yet (4000 exposed, 40%); the result is read at the looks only',
    ]);
    // At the first look (5,000 of 10,000): the Lan–DeMets O'Brien–Fleming-type boundary at information 0.5 is 2.963 (see build.test.ts).
    const looked = inputs([binary('a', 2500, 750), binary('b', 2500, 780)]);
    const atLook = buildReport({ ...looked, experiment: { ...looked.experiment, analysis: { alpha: 0.05, looks: [0.5, 1], plannedUnits: 10_000 } } });
    expect(atLook.comparisons[0]!.metrics[0]!.sequential!.status).toBe('continue');
    expect(atLook.decision.reasons[0]).toMatch(/^primary metric resolved does not cross the boundary in b: \|z\| = 0\.\d+ < 2\.96 at look 1 of 2$/);
  });

  it('a judge or outcome guardrail without data in the control holds back every variation, not only the first', () => {
    const judged: MetricDefinition = { name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' };
    const csat: MetricDefinition = { name: 'csat', kind: 'mean', from: { outcome: 'csat' }, direction: 'increase' };
    const primary = [binary('a', 2000, 600), binary('b', 2000, 700), binary('c', 2000, 760)];
    const scored = (variation: string, n: number): ArmStatsInput => ({ variation, units: 2000, n, sum: 0.8 * n, sumSquares: 0.7 * n });
    const base = inputs(primary);
    const report = buildReport({
      ...base,
      experiment: { ...base.experiment, metrics: { primary: 'resolved', guardrails: ['helpfulness', 'csat'] } },
      metrics: [...metrics, judged, csat],
      metricStats: { resolved: primary, helpfulness: [scored('a', 0), scored('b', 30), scored('c', 30)], csat: [scored('a', 50), scored('b', 50), scored('c', 0)] },
    });
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons).toEqual([
      'primary metric resolved is better in b, but guardrail helpfulness has no judge scores in a yet',
      'primary metric resolved is better in c, but guardrail helpfulness has no judge scores in a yet',
      'primary metric resolved is better in c, but guardrail csat has no outcomes in c yet',
    ]);
  });

  it('ships the measured winner and says that a variation with a larger lift waits for its guardrail data', () => {
    const judged: MetricDefinition = { name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' };
    const primary = [binary('a', 2000, 600), binary('b', 2000, 700), binary('c', 2000, 760)];
    const scored = (variation: string, n: number): ArmStatsInput => ({ variation, units: 2000, n, sum: 0.8 * n, sumSquares: 0.7 * n });
    const base = inputs(primary);
    const report = buildReport({
      ...base,
      // Listed twice: the reason is given once.
      experiment: { ...base.experiment, metrics: { primary: 'resolved', guardrails: ['helpfulness', 'helpfulness'] } },
      metrics: [...metrics, judged],
      metricStats: { resolved: primary, helpfulness: [scored('a', 30), scored('b', 30), scored('c', 0)] },
    });
    expect(report.decision.recommendation).toBe('ship');
    expect(report.decision.winner).toBe('b');
    expect(report.decision.reasons.slice(1)).toEqual(['primary metric resolved is better in c, but guardrail helpfulness has no judge scores in c yet']);
  });

  it('a registered guardrail without any statistics cannot stop harm: a telemetry gap', () => {
    const report = buildReport(inputs([binary('a', 2000, 600), binary('b', 2000, 760)], { metricStats: { resolved: [binary('a', 2000, 600), binary('b', 2000, 760)] } }));
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons).toEqual(['telemetry gap: guardrail cost has no statistics, so it cannot stop a harmful variation; check that metric cost is defined and its data read']);
  });

  it('a secondary binary metric too small for its z-test is not significant after the adjustment either, and stays out of it', () => {
    const secondary: MetricDefinition = { name: 'escalated', kind: 'binary', from: { outcome: 'escalated' }, direction: 'decrease' };
    const other: MetricDefinition = { name: 'reopened', kind: 'binary', from: { outcome: 'reopened' }, direction: 'decrease' };
    const primary = [binary('a', 2000, 600), binary('b', 2000, 640)];
    const base = inputs(primary);
    const report = buildReport({
      ...base,
      experiment: { ...base.experiment, metrics: { primary: 'resolved', guardrails: ['cost'], secondary: ['escalated', 'reopened'] } },
      metrics: [...metrics, secondary, other],
      metricStats: {
        ...base.metricStats,
        escalated: [binary('a', 2000, 0), binary('b', 2000, 12)],
        reopened: [binary('a', 2000, 100), binary('b', 2000, 150)],
      },
    });
    const [escalated, reopened] = ['escalated', 'reopened'].map((name) => report.comparisons[0]!.metrics.find((metric) => metric.name === name)!);
    expect(escalated!.pValue!).toBeLessThan(0.001);
    expect(escalated!.significant).toBe(false);
    expect(escalated!.pAdjustedBH).toBeNull();
    // The family is cost (p = 1: the same mean in both arms) and reopened, not escalated: Holm doubles
    // reopened's p (it would triple it with escalated in the family).
    expect(reopened!.pAdjustedHolm).toBeCloseTo(2 * reopened!.pValue!, 12);
  });

  it('a primary metric read from the calls says it was not measured when the data has no call', () => {
    const latency: MetricDefinition = { name: 'latency', kind: 'mean', from: { span_value: 'duration_ms' }, direction: 'decrease' };
    const base = inputs([binary('a', 2000, 600), binary('b', 2000, 760)], {
      health: { assignmentMismatches: 0, assignmentChecked: 0, exposuresWithoutCall: 4000, outcomesWithoutExposure: 0, lastEventTime: '2026-11-20T11:59:00.000Z', badLines: 0 },
    });
    const report = buildReport({
      ...base,
      experiment: { ...base.experiment, metrics: { primary: 'latency' } },
      metrics: [...metrics, latency],
      metricStats: { latency: [{ variation: 'a', units: 2000, n: 0, sum: 0, sumSquares: 0 }, { variation: 'b', units: 2000, n: 0, sum: 0, sumSquares: 0 }] },
    });
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons).toEqual(['primary metric latency is not measured in b: none of the exposed units has a gen_ai call in the data read; include the traces']);
  });

  it('a binary result too small for its z-test is not "efficacy" at a sequential look, and a segment that small gets no interval or p', () => {
    // 0 of 40 against 12 of 40: z = 3.9 crosses the first look's boundary (2.96), but the control has no success.
    const base = inputs([binary('a', 40, 0), binary('b', 40, 12)], {
      segments: [
        {
          segment: 'plan',
          mix: [
            { value: 'pro', variation: 'a', units: 20 },
            { value: 'pro', variation: 'b', units: 20 },
            { value: 'free', variation: 'a', units: 20 },
            { value: 'free', variation: 'b', units: 20 },
          ],
          stats: [
            { ...binary('a', 20, 0), segment: 'pro' },
            { ...binary('b', 20, 6), segment: 'pro' },
            { ...binary('a', 20, 0), segment: 'free' },
            { ...binary('b', 20, 6), segment: 'free' },
          ],
        },
      ],
    });
    const report = buildReport({ ...base, experiment: { ...base.experiment, analysis: { alpha: 0.05, looks: [0.5, 1], plannedUnits: 160 } } });
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(Math.abs(primary.sequential!.z!)).toBeGreaterThan(primary.sequential!.boundaryZ!);
    expect(primary.sequential!.status).toBe('continue');
    expect(report.decision.recommendation).toBe('continue');
    // The reason is the sample size, not a boundary |z| does cross.
    expect(report.decision.reasons).toEqual(['primary metric resolved has too few events in b or a to test yet (5 successes and 5 failures per arm)']);
    const row = report.segments[0]!.rows.find((candidate) => candidate.value === 'pro')!;
    expect(row).toMatchObject({ baseline: { n: 20, value: 0 }, variant: { n: 20, value: 0.3 }, ci95: [null, null], pValue: null });
    expect(row.absoluteDiff).toBeCloseTo(0.3, 12);
  });

  it('a primary binary metric with too few events is not tested yet, and never ships', () => {
    const report = buildReport(inputs([binary('a', 3, 0), binary('b', 3, 3)]));
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(primary.pValue!).toBeLessThan(0.05);
    expect(primary.significant).toBe(false);
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons).toEqual(['primary metric resolved has too few events in b or a to test yet (5 successes and 5 failures per arm)']);
  });

  it('says that no file was read when --data holds none, rather than that the telemetry has a gap', () => {
    const report = buildReport(inputs([binary('a', 0, 0), binary('b', 0, 0)], { data: { inputs: ['./telemetri'], files: { raw: 0, parquet: 0 } } }));
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons).toEqual([
      "telemetry gap: no telemetry files were found in ./telemetri (no OTLP JSON Lines, JSON or compacted Parquet files); check --data: it takes the collector's directory (or files or globs in it)",
    ]);
    // Files read, no exposure of this experiment in them: the usual reason.
    const read = buildReport(inputs([binary('a', 0, 0), binary('b', 0, 0)], { data: { inputs: ['./telemetry'], files: { raw: 3, parquet: 0 } } }));
    expect(read.decision.reasons).toEqual(['telemetry gap: no exposures found for this experiment in the data']);
  });

  it('no exposures at all is a telemetry gap', () => {
    const report = buildReport(inputs([binary('a', 0, 0), binary('b', 0, 0)]));
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons.join(' ')).toMatch(/no exposures/);
    expect(report.comparisons[0]!.metrics[0]!.note).toBe('an arm has no units');
  });

  it('a metric whose data the test rejects gets a note; the rest of the report stands', () => {
    // a "binary" outcome reported with values above 1: more successes than units
    const report = buildReport(inputs([binary('a', 100, 130), binary('b', 100, 40)]));
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(primary.pValue).toBeNull();
    expect(primary.note).toMatch(/^not computed: /);
    expect(primary.bayes).toBeUndefined();
    expect(report.decision.recommendation).toBe('continue');
  });

  it('the reason prints p with enough digits to read correctly against alpha', () => {
    // 101 vs 129 of 1000: pooled z = 0.028 / √(0.115·0.885·2/1000) = 1.963, p = 0.0497, which two digits round to 0.05.
    const report = buildReport(inputs([binary('a', 1000, 101), binary('b', 1000, 129)]));
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(primary.pValue!).toBeGreaterThan(0.0495);
    expect(primary.pValue!).toBeLessThan(0.05);
    expect(report.decision.recommendation).toBe('ship');
    expect(report.decision.reasons[0]).toContain('p = 0.0497 < alpha 0.05');
    expect(report.decision.reasons[0]).not.toContain('p = 0.05 ');
  });
});
